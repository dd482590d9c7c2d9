"""`foi deadline`: the printed explanation, the JSON shape and one-line errors."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner, Result

from foi_cli.deadline import deadline_command


def run(*args: str) -> Result:
    return CliRunner().invoke(deadline_command, list(args), prog_name="foi deadline")


def assert_one_line_usage_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert fragment in errors[0]


def test_is_a_click_command_named_deadline() -> None:
    assert isinstance(deadline_command, click.Command)
    assert deadline_command.name == "deadline"


def test_foia_worked_example_prints_due_date_and_count() -> None:
    result = run("foia", "2025-12-18")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Due: Wednesday 21 January 2026"
    assert "  Fri 19 Dec 2025  day 1" in lines
    assert any(
        line.startswith("  Wed 21 Jan 2026  day 20") and line.endswith("due") for line in lines
    )
    assert "  Fri 02 Jan 2026          not a working day: New Year Holiday [SCT]" in lines
    assert "  Thu 25 Dec 2025          not a working day: Christmas Day [UK]" in lines
    assert "  Sat 20 Dec 2025          not a working day: Saturday [weekend]" in lines
    assert any(line.startswith("Calendar: uk-working-days-") for line in lines)


@pytest.mark.parametrize(
    ("args", "due"),
    [
        (("FOIA", "2025-12-18", "--extended"), "Due: Wednesday 18 February 2026"),
        (("Eir", "2025-12-18", "--extended"), "Due: Wednesday 18 February 2026"),
        (("sar", "2025-12-18"), "Due: Monday 19 January 2026"),
        (("SAR", "2025-12-18", "--extended"), "Due: Wednesday 18 March 2026"),
        (("foia", "2025-12-18", "--clarified", "2026-01-05"), "Due: Monday 2 February 2026"),
        (
            ("foia", "2025-12-18", "--fee-notice", "2025-12-22", "--fee-paid", "2025-12-23"),
            "Due: Friday 23 January 2026",
        ),
    ],
)
def test_regimes_and_options(args: tuple[str, ...], due: str) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == due


def test_extended_foia_flags_guidance() -> None:
    result = run("foia", "2025-12-18", "--extended")
    assert "ICO guidance, not statute" in result.output


def test_json_shape() -> None:
    result = run("foia", "2025-12-18", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {
        "regime",
        "received",
        "due",
        "working_days",
        "excluded_days",
        "steps",
        "notes",
        "calendar_version",
    } <= set(payload)
    assert payload["regime"] == "FOIA"
    assert payload["received"] == "2025-12-18"
    assert payload["due"] == "2026-01-21"
    assert payload["working_days"] == 20
    assert {
        "date": "2026-01-02",
        "reasons": [{"name": "New Year Holiday", "nations": ["SCT"]}],
    } in payload["excluded_days"]
    assert payload["steps"][-1] == {
        "date": "2026-01-21",
        "day_number": 20,
        "note": "due",
        "reasons": [],
    }
    assert payload["notes"]
    assert payload["calendar_version"].startswith("uk-working-days-")


def test_json_for_sar_has_no_working_day_count() -> None:
    payload = json.loads(run("sar", "2025-12-18", "--json").output)
    assert payload["due"] == "2026-01-19"
    assert payload["working_days"] is None
    assert payload["excluded_days"] == [
        {"date": "2026-01-18", "reasons": [{"name": "Sunday", "nations": ["weekend"]}]}
    ]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("foia", "2025-13-01"), "RECEIVED_DATE"),
        (("foia", "18/12/2025"), "RECEIVED_DATE"),
        (("foia", "2025-12-18", "--clarified", "soon"), "--clarified"),
        (("fio", "2025-12-18"), "REGIME"),
        (("foia", "2025-12-18", "--fee-notice", "2025-12-22"), "--fee-paid"),
        (("foia", "2025-12-18", "--clarified", "2025-12-01"), "before the request"),
        (
            ("foia", "2025-12-18", "--fee-notice", "2025-12-22", "--fee-paid", "2025-12-20"),
            "fee paid",
        ),
        (("sar", "2025-12-18", "--clarified", "2025-12-19"), "clock stops"),
        (("foia", "1850-01-01"), "calendar covers"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_usage_error(run(*args), fragment)
