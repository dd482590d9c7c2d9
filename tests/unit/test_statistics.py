"""Quarterly statistics checked against hand counts, and their CSV and SVG renderings."""

from __future__ import annotations

import csv
import io
import itertools
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.statistics import (
    CSV_HEADER,
    CaseFacts,
    StatisticsInputError,
    StatRow,
    quarterly_statistics,
    statistics_chart_svg,
    statistics_csv,
)

SVG = "{http://www.w3.org/2000/svg}"
_ids = itertools.count(1)


def _case(
    received: date,
    *,
    regime: str = "FOIA",
    due: date | None = None,
    responded: date | None = None,
    case_id: int | None = None,
) -> CaseFacts:
    number = next(_ids) if case_id is None else case_id
    if due is None and responded is not None:
        due = received + timedelta(days=28)
    return CaseFacts(number, f"{regime}-{number:04d}", regime, received, due, responded)


def _row(rows: list[StatRow], quarter: str, regime: str) -> StatRow:
    (row,) = [r for r in rows if (r.quarter, r.regime) == (quarter, regime)]
    return row


def test_quarter_is_that_of_the_received_date() -> None:
    cases = [
        _case(date(2025, 12, 31), case_id=1),
        _case(date(2026, 1, 1), case_id=2),
        _case(date(2026, 3, 31), case_id=3),
        _case(date(2026, 4, 1), case_id=4),
    ]

    rows = quarterly_statistics(cases)

    assert _row(rows, "2025 Q4", "FOIA").cases["received"] == (1,)
    assert _row(rows, "2026 Q1", "FOIA").cases["received"] == (2, 3)
    assert _row(rows, "2026 Q2", "FOIA").cases["received"] == (4,)


def test_rows_run_quarter_by_quarter_with_every_regime_and_a_total() -> None:
    rows = quarterly_statistics(
        [_case(date(2026, 1, 5), regime="SAR"), _case(date(2026, 7, 5), regime="EIR")]
    )

    assert [(row.quarter, row.regime) for row in rows] == [
        (quarter, regime)
        for quarter in ("2026 Q1", "2026 Q2", "2026 Q3")
        for regime in ("FOIA", "EIR", "SAR", "All")
    ]
    empty = _row(rows, "2026 Q2", "All")
    assert (empty.received, empty.percentage, empty.average_days) == (0, None, None)


def test_answering_on_the_due_date_is_in_time_and_a_day_later_is_late() -> None:
    due = date(2026, 2, 3)
    on_the_day = _case(date(2026, 1, 6), due=due, responded=due)
    day_late = _case(date(2026, 1, 6), due=due, responded=due + timedelta(days=1))
    early = _case(date(2026, 1, 6), due=due, responded=date(2026, 1, 20))

    row = _row(quarterly_statistics([on_the_day, day_late, early]), "2026 Q1", "FOIA")

    assert (row.answered, row.in_time, row.late) == (3, 2, 1)
    assert row.cases["in_time"] == tuple(sorted((on_the_day.id, early.id)))
    assert row.cases["late"] == (day_late.id,)


def test_open_cases_count_as_received_but_not_in_the_percentage() -> None:
    answered = _case(date(2026, 5, 1), regime="EIR", responded=date(2026, 5, 11))
    still_open = _case(date(2026, 5, 2), regime="EIR", due=date(2026, 6, 1))
    no_deadline_yet = _case(date(2026, 5, 3), regime="EIR")

    row = _row(quarterly_statistics([answered, still_open, no_deadline_yet]), "2026 Q2", "EIR")

    assert (row.received, row.answered, row.open) == (3, 1, 2)
    assert row.percentage == 100.0
    assert row.cases["open"] == (still_open.id, no_deadline_yet.id)


def test_percentage_and_average_days_over_answered_cases() -> None:
    received = date(2026, 1, 10)
    due = date(2026, 2, 6)
    cases = [
        _case(received, regime="SAR", due=due, responded=date(2026, 1, 20)),  # 10 days
        _case(received, regime="SAR", due=due, responded=date(2026, 2, 6)),  # 27 days
        _case(received, regime="SAR", due=due, responded=date(2026, 2, 12)),  # 33 days, late
        _case(received, regime="SAR", due=due),
    ]

    row = _row(quarterly_statistics(cases), "2026 Q1", "SAR")

    assert row.percentage == pytest.approx(200 / 3)
    assert row.average_days == pytest.approx(70 / 3)


def test_nothing_answered_gives_no_percentage_or_average() -> None:
    row = _row(quarterly_statistics([_case(date(2026, 1, 10))]), "2026 Q1", "FOIA")

    assert (row.percentage, row.average_days) == (None, None)


def test_total_row_adds_up_the_regimes_and_drills_down_to_all_their_cases() -> None:
    cases = [
        _case(date(2026, 1, 5), regime="FOIA", case_id=10, responded=date(2026, 1, 9)),
        _case(date(2026, 2, 5), regime="EIR", case_id=11, responded=date(2026, 4, 30)),
        _case(date(2026, 3, 5), regime="SAR", case_id=12),
    ]

    total = _row(quarterly_statistics(cases), "2026 Q1", "All")

    assert (total.received, total.answered, total.in_time, total.late, total.open) == (
        3,
        2,
        1,
        1,
        1,
    )
    assert total.percentage == 50.0
    assert total.average_days == pytest.approx((4 + 84) / 2)
    assert dict(total.cases) == {
        "received": (10, 11, 12),
        "answered": (10, 11),
        "in_time": (10,),
        "late": (11,),
        "open": (12,),
    }


def test_no_cases_gives_no_rows() -> None:
    assert quarterly_statistics([]) == []


def test_every_uncountable_case_is_reported_at_once() -> None:
    cases = [
        CaseFacts(1, "X-1", "FOI", date(2026, 1, 5), None, None),
        CaseFacts(2, "X-2", "FOIA", date(2026, 1, 5), None, date(2026, 1, 9)),
        CaseFacts(3, "X-3", "EIR", date(2026, 1, 5), date(2026, 2, 2), date(2026, 1, 4)),
        CaseFacts(3, "X-3b", "EIR", date(2026, 1, 5), None, None),
    ]

    with pytest.raises(StatisticsInputError) as caught:
        quarterly_statistics(cases)

    message = str(caught.value)
    assert "case 1 (X-1): unknown regime 'FOI'" in message
    assert "case 2 (X-2): answered but has no due date" in message
    assert "case 3 (X-3): responded 2026-01-04 before received 2026-01-05" in message
    assert "case 3 (X-3b): listed more than once" in message


def _parse_svg(svg: str) -> ET.Element:
    # The chart is this module's own output under test, not untrusted input; the stdlib parser
    # is exactly what a browser-independent well-formedness check needs.
    return ET.fromstring(svg)  # noqa: S314


def _parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_a_bom_a_defining_header_and_blanks_for_none() -> None:
    cases = [
        _case(date(2026, 1, 5), responded=date(2026, 1, 8)),
        _case(date(2026, 1, 6), responded=date(2026, 3, 1)),
        _case(date(2026, 1, 7), responded=date(2026, 1, 9)),
    ]

    data = statistics_csv(quarterly_statistics(cases))

    assert data.startswith(b"\xef\xbb\xbf")
    header, foia, eir, sar, total = _parse_csv(data)
    assert tuple(header) == CSV_HEADER
    assert "answered in time \u00f7 answered \u00d7 100" in header[7]
    assert foia == ["2026 Q1", "FOIA", "3", "3", "2", "1", "0", "66.7", "19.7"]
    assert eir == ["2026 Q1", "EIR", "0", "0", "0", "0", "0", "", ""]
    assert sar[7:] == ["", ""]
    assert total[:2] == ["2026 Q1", "All"]


def test_csv_rounds_half_up_as_people_do() -> None:
    # 1 of 16 answered in time is 6.25%, exactly halfway: a reader expects 6.3.
    cases = [_case(date(2026, 1, 5), responded=date(2026, 1, 6))] + [
        _case(date(2026, 1, 5), due=date(2026, 1, 6), responded=date(2026, 1, 7)) for _ in range(15)
    ]

    _, foia, *_ = _parse_csv(statistics_csv(quarterly_statistics(cases)))

    assert foia[7] == "6.3"


def test_csv_of_no_rows_is_just_the_header() -> None:
    assert _parse_csv(statistics_csv([])) == [list(CSV_HEADER)]


def _sample_rows() -> list[StatRow]:
    return quarterly_statistics(
        [
            _case(date(2026, 1, 5), regime="FOIA", responded=date(2026, 1, 8)),
            _case(date(2026, 1, 5), regime="EIR", due=date(2026, 1, 6), responded=date(2026, 2, 1)),
            _case(date(2026, 4, 5), regime="SAR", responded=date(2026, 4, 8)),
        ]
    )


def test_chart_is_well_formed_accessible_and_self_contained() -> None:
    svg = statistics_chart_svg(_sample_rows())

    root = _parse_svg(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Requests answered in time"
    assert desc is not None and desc.text is not None
    assert "2026 Q1: FOIA 100.0% (1 of 1 answered in time), EIR 0.0%" in desc.text
    assert "2026 Q2: FOIA no requests answered" in desc.text
    labelled_by = (root.get("aria-labelledby") or "").split()
    assert labelled_by == [title.get("id"), desc.get("id")]
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {"script", "style", "foreignObject", "image"}
        assert "style" not in element.attrib
        assert not any("href" in name for name in element.attrib)
    texts = {"".join(element.itertext()) for element in root.iter(f"{SVG}text")}
    assert {"FOIA", "EIR", "SAR", "2026 Q1", "2026 Q2", "Quarter received"} <= texts


def test_chart_is_deterministic() -> None:
    assert statistics_chart_svg(_sample_rows()) == statistics_chart_svg(_sample_rows())


def test_chart_escapes_hostile_text() -> None:
    hostile = 'Q1 <script>alert(1)</script> & "quoted" \x00\x1b end'
    rows = [*_sample_rows()]
    rows[0] = replace(rows[0], quarter="<img src=x onerror=alert(2)>")

    svg = statistics_chart_svg(rows, title=hostile)

    root = _parse_svg(svg)
    assert "<script>" not in svg and "<img" not in svg
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == 'Q1 <script>alert(1)</script> & "quoted"  end'
    assert not any(element.tag.endswith("script") for element in root.iter())


def test_chart_of_no_rows_says_so() -> None:
    root = _parse_svg(statistics_chart_svg([]))

    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == "No requests in this period."
    texts = ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]
    assert "No requests in this period" in texts


_regimes = st.sampled_from(["FOIA", "EIR", "SAR"])


@st.composite
def _facts(draw: st.DrawFn, case_id: int) -> CaseFacts:
    received = draw(st.dates(date(2024, 1, 1), date(2027, 12, 31)))
    due = draw(st.none() | st.integers(0, 60).map(lambda n: received + timedelta(days=n)))
    responded = None
    if due is not None:
        responded = draw(st.none() | st.integers(0, 90).map(lambda n: received + timedelta(days=n)))
    return CaseFacts(case_id, f"REF-{case_id}", draw(_regimes), received, due, responded)


@st.composite
def _case_lists(draw: st.DrawFn) -> list[CaseFacts]:
    size = draw(st.integers(0, 30))
    return [draw(_facts(case_id)) for case_id in range(size)]


@settings(max_examples=150, deadline=None)
@given(_case_lists())
def test_counts_are_consistent_with_each_other_and_with_their_cases(
    cases: list[CaseFacts],
) -> None:
    rows = quarterly_statistics(cases)

    for row in rows:
        assert row.in_time + row.late == row.answered
        assert row.answered + row.open == row.received
        for key in ("received", "answered", "in_time", "late", "open"):
            assert len(row.cases[key]) == getattr(row, key)
        if row.answered:
            assert row.percentage == pytest.approx(row.in_time / row.answered * 100)
        else:
            assert row.percentage is None
    regime_rows = [row for row in rows if row.regime != "All"]
    assert sorted(i for row in regime_rows for i in row.cases["received"]) == sorted(
        case.id for case in cases
    )
    for quarter in {row.quarter for row in rows}:
        parts = [row for row in regime_rows if row.quarter == quarter]
        total = _row(rows, quarter, "All")
        assert total.received == sum(row.received for row in parts)
        assert total.in_time == sum(row.in_time for row in parts)
    assert len(_parse_csv(statistics_csv(rows))) == len(rows) + 1
    _parse_svg(statistics_chart_svg(rows))


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_any_title_gives_a_well_formed_chart(title: str) -> None:
    _parse_svg(statistics_chart_svg(_sample_rows(), title=title))
    _parse_svg(statistics_chart_svg([], title=title))
