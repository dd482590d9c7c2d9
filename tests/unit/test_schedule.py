"""Retention schedules: validation reports every problem (unknown sources, triggers and sign-off
values among them), globs keep to folder boundaries, disposal dates follow each trigger from the
share's own timestamps (with month-end clamping and the 31 March year end) and from dates inside
the file only when a class asks for them, and a class not signed off is never disposable."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from retention.globs import glob_regex
from retention.schedule import (
    NOT_SIGNED_OFF,
    Action,
    Classification,
    Match,
    Period,
    Schedule,
    ScheduleError,
    Trigger,
    financial_year_end,
    load_schedule,
    load_schedule_file,
    seed_schedule_text,
)

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
# The share's last-write time, and a date a template left inside the file (years earlier).
MODIFIED = "2019-05-03T10:11:12+00:00"
EMBEDDED = "2013-01-02T08:00:00+00:00"
_DROP = object()


def a_class(**fields: Any) -> dict[str, Any]:
    """A valid class; pass a field as _DROP to leave it out."""
    base: dict[str, Any] = {
        "id": "C1",
        "name": "Class one",
        "authority": "Test authority",
        "match": {"paths": ["**"]},
        "retention": "6 years",
        "trigger": "last_modified",
        "action": "destroy",
        "sign_off": "signed_off",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not _DROP}


def schedule_text(*classes: object, **top: Any) -> str:
    body = {"version": "t-1", "title": "Test schedule", "classes": list(classes), **top}
    return yaml.safe_dump({k: v for k, v in body.items() if v is not _DROP}, sort_keys=False)


def schedule(*classes: dict[str, Any]) -> Schedule:
    return load_schedule(schedule_text(*classes))


def problems(text: str) -> list[str]:
    with pytest.raises(ScheduleError) as caught:
        load_schedule(text)
    return caught.value.problems


def doc(path: str = "Any/file.pdf", **fields: Any) -> dict[str, Any]:
    """A file document as indexed: the share's times, and the file's own (embedded) ones."""
    return {
        "source": "shares",
        "path": path,
        "share_modified": MODIFIED,
        "modified": EMBEDDED,
        **fields,
    }


def matched(match: dict[str, Any], document: dict[str, Any]) -> bool:
    return schedule(a_class(match=match)).classify(document) is not None


# --- Loading ------------------------------------------------------------------------------


def test_a_valid_schedule_loads_with_its_text() -> None:
    text = schedule_text(
        a_class(sign_off="signed_off"), a_class(id="C2", retention="18m", sign_off=_DROP)
    )
    loaded = load_schedule(text)
    assert (loaded.version, loaded.title, loaded.text) == ("t-1", "Test schedule", text)
    first, second = loaded.classes
    assert first.id == "C1" and first.signed_off and first.period == Period(years=6)
    assert first.trigger is Trigger.LAST_MODIFIED and first.action is Action.DESTROY
    assert first.match == Match(paths=("**",))
    assert second.period == Period(months=18) and not second.signed_off
    assert loaded.get("C2") is second


def test_get_an_absent_class_raises_key_error() -> None:
    with pytest.raises(KeyError):
        schedule(a_class()).get("NOPE")


def test_title_is_optional() -> None:
    assert load_schedule(schedule_text(a_class(), title=_DROP)).title == ""


@pytest.mark.parametrize(
    ("written", "period"),
    [
        ("6 years", Period(years=6)),
        ("1 year", Period(years=1)),
        ("18 months", Period(months=18)),
        ("1 month", Period(months=1)),
        ("90 days", Period(days=90)),
        ("1 day", Period(days=1)),
        ("6y", Period(years=6)),
        ("18m", Period(months=18)),
        ("90d", Period(days=90)),
        (" 6 YEARS ", Period(years=6)),
        ("0 days", Period()),
    ],
)
def test_period_spellings(written: str, period: Period) -> None:
    assert schedule(a_class(retention=written)).classes[0].period == period


def test_permanent_retention_has_no_period() -> None:
    loaded = schedule(a_class(retention="permanent", action="permanent"))
    assert loaded.classes[0].period is None and loaded.classes[0].action is Action.PERMANENT


def test_bad_period_names_the_class_and_suggests_a_spelling() -> None:
    classes = [a_class(id=f"X{i}") for i in range(2)] + [a_class(id="HR-DISC", retention="6 yrs")]
    assert problems(schedule_text(*classes)) == [
        "classes[2] (HR-DISC).retention: '6 yrs' is not a period; "
        "use e.g. '6 years', '18 months', 'permanent'"
    ]


@pytest.mark.parametrize("written", ["six years", 6, "", "6 years 2 months", "-1 years", None])
def test_other_bad_periods(written: object) -> None:
    [problem] = problems(schedule_text(a_class(retention=written)))
    assert problem.startswith("classes[0] (C1).retention: ") and "is not a period" in problem


def test_absurdly_long_period_is_rejected() -> None:
    [problem] = problems(schedule_text(a_class(retention="500 years")))
    assert "over 200 years" in problem and "permanent" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (schedule_text(a_class(), versoin="x"), "versoin: unknown key; did you mean 'version'?"),
        (
            schedule_text(a_class(retension="6 years")),
            "classes[0] (C1).retension: unknown key; did you mean 'retention'?",
        ),
        (
            schedule_text(a_class(match={"path": ["HR/**"]})),
            "classes[0] (C1).match.path: unknown key; did you mean 'paths'?",
        ),
        (
            schedule_text(a_class(match={"metadata": {"autors": "*Smith*"}})),
            "classes[0] (C1).match.metadata.autors: unknown key; did you mean 'authors'?",
        ),
    ],
)
def test_unknown_keys_are_errors(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_unknown_trigger_action_and_sign_off() -> None:
    text = schedule_text(a_class(trigger="weekly", action="shred", sign_off="yes please"))
    assert problems(text) == [
        "classes[0] (C1).trigger: 'weekly' is not a trigger; use last_modified, created, "
        "financial_year_end, case_closed, embedded_modified, embedded_created",
        "classes[0] (C1).action: 'shred' is not an action; use destroy, review, permanent",
        "classes[0] (C1).sign_off: 'yes please' is not required or signed_off",
    ]


def test_permanent_action_needs_permanent_retention() -> None:
    assert problems(schedule_text(a_class(action="permanent"))) == [
        "classes[0] (C1).action: 'permanent' with retention '6 years': "
        "both must be permanent, or neither"
    ]


def test_permanent_retention_needs_permanent_action() -> None:
    assert problems(schedule_text(a_class(retention="permanent", action="review"))) == [
        "classes[0] (C1).action: 'review' with retention 'permanent': "
        "both must be permanent, or neither"
    ]


def test_duplicate_ids_are_errors_whatever_their_case() -> None:
    text = schedule_text(a_class(), a_class(id="C2"), a_class(id="c1"))
    assert problems(text) == ["classes[2] (c1).id: already used by classes[0]"]


@pytest.mark.parametrize("match", [{}, None])
def test_empty_match_would_match_everything(match: object) -> None:
    assert problems(schedule_text(a_class(match=match))) == [
        "classes[0] (C1).match: is empty, so it would match every document; add criteria"
    ]


def test_missing_match_is_an_error() -> None:
    [problem] = problems(schedule_text(a_class(match=_DROP)))
    assert problem.startswith("classes[0] (C1).match: ")


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"paths": 5}, "match.paths: expected text, got 5; put it in quotes"),
        ({"paths": ["HR/**", 1]}, "match.paths[1]: expected text, got 1; put it in quotes"),
        ({"paths": []}, "match.paths: is empty; list at least one value or remove the key"),
        ({"paths": {"a": "b"}}, "match.paths: expected text, got a mapping"),
        ({"sources": [False]}, "match.sources[0]: expected text, got false; put it in quotes"),
        ({"mime_types": [""]}, "match.mime_types[0]: is empty"),
        ({"metadata": {"title": [True]}}, "match.metadata.title[0]: expected text, got true"),
        ({"metadata": "title"}, "match.metadata: expected a mapping of"),
        ({"metadata": {}}, "match.metadata: is empty; name at least one field"),
        ({"paths": ["/HR/**"]}, "match.paths[0]: must be relative to the share, using '/'"),
        ({"paths": ["HR\\Policies\\*"]}, "match.paths[0]: must be relative to the share"),
        ({"extensions": [".pdf"]}, "match.extensions[0]: write 'pdf', no dot"),
        (["HR/**"], "match: expected a mapping of sources, paths"),
    ],
)
def test_bad_match_criteria(match: object, expected: str) -> None:
    [problem] = problems(schedule_text(a_class(match=match)))
    assert problem.startswith(f"classes[0] (C1).{expected}")


@pytest.mark.parametrize("field", ["id", "name", "authority"])
def test_required_text_fields(field: str) -> None:
    assert problems(schedule_text(a_class(**{field: _DROP}))) == [
        f"classes[0]{'' if field == 'id' else ' (C1)'}.{field}: missing"
    ]


def test_blank_name_and_bad_id_characters() -> None:
    assert problems(schedule_text(a_class(id="FIN BR", name="  "))) == [
        "classes[0] (FIN BR).id: use only letters, digits, '_', '.' and '-'",
        "classes[0] (FIN BR).name: is empty",
    ]


def test_unquoted_version_number_asks_for_quotes() -> None:
    assert problems(schedule_text(a_class(), version=2026)) == [
        "version: expected text, got 2026; put it in quotes"
    ]


def test_unquoted_date_version_asks_for_quotes() -> None:
    text = schedule_text(a_class()).replace("version: t-1", "version: 2026-11-01")
    assert problems(text) == ["version: expected text, got 2026-11-01; put it in quotes"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the schedule: expected a mapping, got nothing"),
        ("- a\n- b\n", "the schedule: expected a mapping, got a list"),
    ],
)
def test_schedule_must_be_a_mapping(text: str, expected: str) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize("classes", [[], "FIN-BR", _DROP])
def test_classes_must_be_a_non_empty_list(classes: object) -> None:
    [problem] = problems(schedule_text(classes=classes))
    assert problem.startswith("classes: expected a list of at least one class")


def test_version_is_required() -> None:
    assert problems(schedule_text(a_class(), version=_DROP)) == ["version: missing"]


def test_a_class_that_is_not_a_mapping() -> None:
    [problem] = problems(schedule_text("FIN-BR"))
    assert problem.startswith("classes[0]: expected a mapping of id, name, authority")


def test_yaml_syntax_error_gives_line_and_column() -> None:
    text = 'version: "1"\nclasses:\n  - id: [unclosed\n    name: x\n'
    [problem] = problems(text)
    assert problem.startswith("YAML syntax error at line 4, column 9: ")


def test_yaml_duplicate_key_is_a_syntax_error_with_its_line() -> None:
    text = schedule_text(a_class()).replace(
        "retention: 6 years", "retention: 6 years\n  retention: 1 day"
    )
    [problem] = problems(text)
    assert problem.startswith("YAML syntax error at line 11, column 3: duplicate key 'retention'")


def test_every_problem_is_reported_together() -> None:
    text = schedule_text(
        a_class(retention="6 yrs"),
        a_class(id="C2", trigger="weekly", colour="red"),
        a_class(id="C1"),
        version=7,
    )
    with pytest.raises(ScheduleError) as caught:
        load_schedule(text)
    assert caught.value.problems == [
        "version: expected text, got 7; put it in quotes",
        "classes[0] (C1).retention: '6 yrs' is not a period; "
        "use e.g. '6 years', '18 months', 'permanent'",
        "classes[1] (C2).colour: unknown key; use id, name, authority, match, retention, "
        "trigger, action, sign_off",
        "classes[1] (C2).trigger: 'weekly' is not a trigger; use last_modified, created, "
        "financial_year_end, case_closed, embedded_modified, embedded_created",
        "classes[2] (C1).id: already used by classes[0]",
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)
    assert isinstance(caught.value, ValueError)


def test_load_schedule_file(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(schedule_text(a_class()), encoding="utf-8")
    assert load_schedule_file(path).classes[0].id == "C1"


def test_load_schedule_file_prefixes_problems_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(schedule_text(a_class(action="shred")), encoding="utf-8")
    with pytest.raises(ScheduleError) as caught:
        load_schedule_file(path)
    assert caught.value.problems[0].startswith(f"{path}: classes[0] (C1).action: 'shred'")


def test_missing_schedule_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ScheduleError, match=r"absent\.yaml: cannot read the schedule"):
        load_schedule_file(path)


def test_schedule_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScheduleError, match=r"latin1\.yaml: the schedule is not UTF-8 text"):
        load_schedule_file(path)


# --- Matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("Finance/**", "Finance/a.xlsx", True),
        ("Finance/**", "Finance/2024/Q1/a.xlsx", True),
        ("Finance/**", "Financial/a.xlsx", False),
        ("Finance/**", "HR/Finance/a.xlsx", False),
        ("Planning/**/Decision notice.pdf", "Planning/Decision notice.pdf", True),
        ("Planning/**/Decision notice.pdf", "Planning/A/B/Decision notice.pdf", True),
        ("**/Leases/**", "Leases/a.pdf", True),
        ("**/Leases/**", "Estates/Property/Leases/a.pdf", True),
        ("HR/*", "HR/a.docx", True),
        ("HR/*", "HR/Recruitment/a.docx", False),
        ("HR/*/*.docx", "HR/Policies/a.docx", True),
        ("HR/*.docx", "HR/Policies/a.docx", False),
        ("HR/?.docx", "HR/a.docx", True),
        ("HR/?.docx", "HR/ab.docx", False),
        ("HR?a.docx", "HR/a.docx", False),
        ("finance/BUSINESS rates/**", "Finance/Business Rates/x.xlsx", True),
        ("Reports/[draft]*", "Reports/[draft] budget.docx", True),
        ("Reports/[draft]*", "Reports/d budget.docx", False),
        ("Café/*", "CAFÉ/menu.txt", True),
    ],
)
def test_path_globs(glob: str, path: str, expected: bool) -> None:
    assert bool(glob_regex(glob, path=True).fullmatch(path)) is expected
    assert matched({"paths": [glob]}, doc(path)) is expected


def test_non_path_globs_let_star_cross_slashes() -> None:
    assert glob_regex("*rates*", path=False).fullmatch("Business RATES 2024/25")
    assert not glob_regex("*rates*", path=True).fullmatch("Business RATES 2024/25")


@pytest.mark.parametrize(
    ("match", "fields", "expected"),
    [
        ({"sources": ["Finance"]}, {"source": "FINANCE"}, True),
        ({"sources": ["finance", "hr"]}, {"source": "hr"}, True),
        ({"sources": ["finance"]}, {"source": "finance-archive"}, False),
        ({"sources": ["fin*"]}, {"source": "finance"}, False),
        ({"extensions": ["PDF", "xlsx"]}, {"extension": "pdf"}, True),
        ({"extensions": ["pdf"]}, {"extension": "docx"}, False),
        ({"mime_types": ["image/*"]}, {"mime_type": "image/png"}, True),
        ({"mime_types": ["image/*"]}, {"mime_type": "application/pdf"}, False),
        ({"mime_types": ["APPLICATION/PDF"]}, {"mime_type": "application/pdf"}, True),
        ({"metadata": {"title": "*rates*"}}, {"title": "Business Rates 2024/25"}, True),
        ({"metadata": {"authors": "*Finance*"}}, {"authors": ["J Smith", "finance team"]}, True),
        ({"metadata": {"authors": "*Finance*"}}, {"authors": ["J Smith", "HR"]}, False),
        ({"metadata": {"authors": "*Finance*"}}, {"authors": []}, False),
        ({"metadata": {"authors": ["*Smith*", "*Jones*"]}}, {"authors": ["A Jones"]}, True),
        ({"metadata": {"title": "*", "authors": "*"}}, {"title": "t"}, False),
    ],
)
def test_criteria(match: dict[str, Any], fields: dict[str, Any], expected: bool) -> None:
    assert matched(match, doc(**fields)) is expected


def test_all_criteria_must_match() -> None:
    match = {"paths": ["Finance/**"], "extensions": ["xlsx"]}
    assert matched(match, doc("Finance/a.xlsx", extension="xlsx"))
    assert not matched(match, doc("Finance/a.pdf", extension="pdf"))
    assert not matched(match, doc("HR/a.xlsx", extension="xlsx"))


@pytest.mark.parametrize(
    ("match", "field"),
    [
        ({"sources": ["*"]}, "source"),
        ({"paths": ["**"]}, "path"),
        ({"extensions": ["pdf"]}, "extension"),
        ({"mime_types": ["*"]}, "mime_type"),
        ({"metadata": {"title": "*"}}, "title"),
    ],
)
def test_a_missing_or_null_field_does_not_match(match: dict[str, Any], field: str) -> None:
    assert not matched(match, {field: None})
    assert not matched(match, {})


def class_ids(loaded: Schedule, *documents: dict[str, Any]) -> list[str | None]:
    results = [loaded.classify(document) for document in documents]
    return [result.class_id if result else None for result in results]


def test_first_matching_class_wins() -> None:
    specific = a_class(id="DN", match={"paths": ["Planning/**/*decision notice*"]})
    general = a_class(id="APP", match={"paths": ["Planning/**"]})
    notice = doc("Planning/Applications/24-01234-FUL/Decision notice.pdf")
    other = doc("Planning/Applications/24-01234-FUL/Heritage statement.docx")
    assert class_ids(schedule(specific, general), notice, other) == ["DN", "APP"]
    assert class_ids(schedule(general, specific), notice, other) == ["APP", "APP"]


def test_no_matching_class_is_a_gap() -> None:
    only_hr = schedule(a_class(match={"paths": ["HR/**"]}))
    assert only_hr.classify(doc("Finance/a.xlsx")) is None


# --- Disposal dates -----------------------------------------------------------------------


def classify(
    doc_: dict[str, Any], *, case_closed: date | None = None, **fields: Any
) -> Classification:
    result = schedule(a_class(**fields)).classify(doc_, case_closed=case_closed)
    assert result is not None
    return result


def test_last_modified_trigger() -> None:
    result = classify(doc(), id="HR-REC", name="Recruitment")
    assert result == Classification(
        class_id="HR-REC",
        class_name="Recruitment",
        action=Action.DESTROY,
        authority="Test authority",
        disposal_date=date(2025, 5, 3),
        reason="HR-REC Recruitment: destroy 6 years after last modification on the share "
        "(last written 2019-05-03) → 2025-05-03",
        rule="destroy 6 years after last modification on the share",
        trigger_date=date(2019, 5, 3),
        signed_off=True,
    )
    assert result.disposable


def test_created_trigger() -> None:
    created = doc(share_created="2018-01-31T09:00:00Z", created="2011-01-01T00:00:00Z")
    result = classify(created, trigger="created", retention="1 month")
    assert result.disposal_date == date(2018, 2, 28)
    assert result.reason == (
        "C1 Class one: destroy 1 month after creation on the share (created 2018-01-31) "
        "→ 2018-02-28"
    )


def test_financial_year_end_trigger() -> None:
    result = classify(
        doc(), id="FIN-BR", name="Business rates records", trigger="financial_year_end"
    )
    assert result.disposal_date == date(2026, 3, 31)
    assert result.reason == (
        "FIN-BR Business rates records: destroy 6 years after the end of the financial year of "
        "last modification on the share (last written 2019-05-03; year ended 2020-03-31) "
        "→ 2026-03-31"
    )
    assert result.trigger_date == date(2020, 3, 31)


@pytest.mark.parametrize(
    ("modified", "year_end"),
    [
        ("2020-03-31T23:59:59+00:00", date(2020, 3, 31)),
        ("2020-04-01T00:00:00+01:00", date(2021, 3, 31)),
        ("2020-01-01T00:00:00+00:00", date(2020, 3, 31)),
        ("2020-12-31T12:00:00+00:00", date(2021, 3, 31)),
        # The date as written, not converted to UTC (which would make it 1 April).
        ("2020-03-31T23:30:00-05:00", date(2020, 3, 31)),
    ],
)
def test_financial_year_end_boundary(modified: str, year_end: date) -> None:
    result = classify(
        doc(share_modified=modified), trigger="financial_year_end", retention="0 days"
    )
    assert result.disposal_date == year_end
    assert f"year ended {year_end}" in result.reason


def test_case_closed_trigger_with_a_closure_date() -> None:
    result = classify(doc(), case_closed=date(2021, 6, 30), trigger="case_closed")
    assert result.disposal_date == date(2027, 6, 30)
    assert result.reason == (
        "C1 Class one: destroy 6 years after case closure (closed 2021-06-30) → 2027-06-30"
    )


def test_case_closed_trigger_awaits_closure() -> None:
    result = classify(doc(), trigger="case_closed")
    assert result.disposal_date is None
    assert result.reason == (
        "C1 Class one: destroy 6 years after case closure; awaiting case closure, "
        "so no disposal date yet"
    )


def test_closure_date_is_ignored_by_other_triggers() -> None:
    assert classify(doc(), case_closed=date(2030, 1, 1)).disposal_date == date(2025, 5, 3)


def test_permanent_class_keeps_permanently() -> None:
    result = classify(doc(), retention="permanent", action="permanent", name="Decision notices")
    assert result.disposal_date is None and result.action is Action.PERMANENT
    assert result.reason == "C1 Decision notices: keep permanently"


def test_review_action_is_reported() -> None:
    result = classify(doc(), action="review", retention="15 years")
    assert result.action is Action.REVIEW
    assert result.reason.startswith("C1 Class one: review 15 years after last modification")


@pytest.mark.parametrize("modified", [None, "", "not a date", 20190503, _DROP])
@pytest.mark.parametrize("trigger", ["last_modified", "financial_year_end"])
def test_missing_share_date_gives_no_date_and_never_falls_back(
    modified: object, trigger: str
) -> None:
    """A document indexed before share times were recorded has only the file's own date,
    which must not stand in for the share's."""
    document = {k: v for k, v in doc(share_modified=modified).items() if v is not _DROP}
    result = classify(document, trigger=trigger)
    assert result.disposal_date is None and result.trigger_date is None
    assert result.reason.endswith(
        "the share's time is not recorded for this file (indexed before it was: crawl again "
        "with `foi crawl --full`), so no disposal date"
    )


def test_disposal_date_beyond_the_calendar() -> None:
    result = classify(doc(share_modified="9999-06-01T00:00:00Z"))
    assert result.disposal_date is None and "after the year 9999" in result.reason


def test_missing_created_date() -> None:
    result = classify(doc(share_created=None, created=EMBEDDED), trigger="created")
    assert result.disposal_date is None and "not recorded" in result.reason


def test_date_objects_are_accepted() -> None:
    stamped = datetime(2019, 5, 3, 23, 0, tzinfo=UTC)
    assert classify(doc(share_modified=stamped)).disposal_date == date(2025, 5, 3)
    assert classify(doc(share_modified=date(2019, 5, 3))).disposal_date == date(2025, 5, 3)


# --- Share timestamps, not dates inside the file --------------------------------------------


def test_a_file_written_today_with_an_old_date_inside_is_not_due() -> None:
    """The defect: a .docx written today carrying a 2013 date inside was destroyed under a
    "2 years after last modification" class."""
    today = "2026-11-20T09:00:00+00:00"
    result = classify(doc(share_modified=today, modified=EMBEDDED), retention="2 years")
    assert result.disposal_date == date(2028, 11, 20)
    assert result.trigger_date == date(2026, 11, 20)
    assert "2013" not in result.reason and "last written 2026-11-20" in result.reason


@pytest.mark.parametrize(
    ("trigger", "field", "words"),
    [
        ("embedded_modified", "modified", "modified, by the file's own metadata,"),
        ("embedded_created", "created", "created, by the file's own metadata,"),
    ],
)
def test_a_class_may_ask_for_the_date_inside_the_file(trigger: str, field: str, words: str) -> None:
    result = classify(doc(**{field: EMBEDDED}), trigger=trigger, retention="2 years")
    assert result.disposal_date == date(2015, 1, 2)
    assert result.trigger_date == date(2013, 1, 2)
    assert result.rule.startswith("destroy 2 years after the ")
    assert f"({words} 2013-01-02)" in result.reason


def test_an_embedded_trigger_says_when_the_file_records_no_date_of_its_own() -> None:
    # The indexer gives a file with no date of its own the share's time in `modified`.
    result = classify(doc(modified=MODIFIED), trigger="embedded_modified")
    assert result.disposal_date == date(2025, 5, 3)
    assert "the file records no date of its own; last written on the share 2019-05-03" in (
        result.reason
    )


# --- Sign-off ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sign_off", ["required", _DROP])
def test_a_class_not_signed_off_is_dated_but_never_disposable(sign_off: object) -> None:
    loaded = schedule(a_class(sign_off=sign_off), a_class(id="C2", match={"paths": ["X/**"]}))
    result = loaded.classify(doc())
    assert result is not None and result.disposal_date == date(2025, 5, 3)
    assert not result.signed_off and not result.disposable
    assert result.reason.endswith(f"→ 2025-05-03; {NOT_SIGNED_OFF}")
    assert loaded.disposable_classes == ("C2",)


def test_only_signed_off_destroy_classes_are_disposable() -> None:
    loaded = schedule(
        a_class(id="D"),
        a_class(id="R", action="review"),
        a_class(id="P", action="permanent", retention="permanent"),
    )
    assert loaded.disposable_classes == ("D",)
    unsigned_review = schedule(a_class(action="review", sign_off="required")).classify(doc())
    assert unsigned_review is not None and NOT_SIGNED_OFF not in unsigned_review.reason


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "true"), ("Signed off", "'Signed off'"), ("yes", "'yes'"), (1, "1"), (None, "nothing")],
)
def test_sign_off_takes_only_its_two_values(value: object, shown: str) -> None:
    assert problems(schedule_text(a_class(sign_off=value))) == [
        f"classes[0] (C1).sign_off: {shown} is not required or signed_off"
    ]


# --- Registered sources -------------------------------------------------------------------


def test_a_misspelt_source_is_an_error_naming_the_closest() -> None:
    text = schedule_text(a_class(match={"sources": ["planning", "Planing"]}))
    with pytest.raises(ScheduleError) as caught:
        load_schedule(text, sources=["planning", "hr"])
    assert caught.value.problems == [
        "classes[0] (C1).match.sources[1]: 'Planing' is not a registered source; "
        "did you mean 'planning'?"
    ]


def test_an_unknown_source_lists_the_registered_ones() -> None:
    text = schedule_text(a_class(match={"sources": ["finance"]}))
    with pytest.raises(ScheduleError) as caught:
        load_schedule(text, sources=["planning", "hr"])
    assert caught.value.problems == [
        "classes[0] (C1).match.sources[0]: 'finance' is not a registered source; "
        "the sources are hr, planning"
    ]
    with pytest.raises(ScheduleError, match="no source is registered yet"):
        load_schedule(text, sources=[])


def test_sources_match_whatever_their_case_and_are_not_checked_without_a_list() -> None:
    text = schedule_text(a_class(match={"sources": ["PLANNING"]}))
    assert load_schedule(text, sources=["planning"]).classes[0].match.sources == ("PLANNING",)
    assert load_schedule(text).classes[0].match.sources == ("PLANNING",)


def test_the_schedule_hash_is_of_its_text() -> None:
    text = schedule_text(a_class())
    assert load_schedule(text).sha256 == hashlib.sha256(text.encode()).hexdigest()


# --- Periods and financial years -----------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        (Period(years=1), date(2024, 2, 29), date(2025, 2, 28)),
        (Period(years=4), date(2024, 2, 29), date(2028, 2, 29)),
        (Period(months=1), date(2024, 1, 31), date(2024, 2, 29)),
        (Period(months=1), date(2023, 1, 31), date(2023, 2, 28)),
        (Period(months=2), date(2020, 12, 31), date(2021, 2, 28)),
        (Period(months=18), date(2019, 8, 31), date(2021, 2, 28)),
        (Period(months=3), date(2024, 3, 31), date(2024, 6, 30)),
        (Period(days=90), date(2024, 1, 1), date(2024, 3, 31)),
        (Period(years=1, months=1, days=1), date(2024, 1, 31), date(2025, 3, 1)),
        (Period(), date(2024, 5, 5), date(2024, 5, 5)),
    ],
)
def test_period_add_to(period: Period, start: date, expected: date) -> None:
    assert period.add_to(start) == expected


@pytest.mark.parametrize(
    ("period", "text"),
    [
        (Period(years=6), "6 years"),
        (Period(years=1), "1 year"),
        (Period(months=18), "18 months"),
        (Period(days=1), "1 day"),
        (Period(years=1, months=6), "1 year 6 months"),
        (Period(), "0 days"),
    ],
)
def test_period_str(period: Period, text: str) -> None:
    assert str(period) == text


def test_negative_period_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        Period(years=-1)


@given(
    start=DATES,
    years=st.integers(0, 200),
    months=st.integers(0, 2400),
    days=st.integers(0, 73_000),
)
def test_adding_a_period_never_goes_backwards(
    start: date, years: int, months: int, days: int
) -> None:
    result = Period(years, months, days).add_to(start)
    assert result >= start
    assert result - Period(years, months).add_to(start) == timedelta(days=days)


@given(start=DATES, months=st.integers(0, 2400))
def test_adding_months_keeps_the_day_or_clamps_to_month_end(start: date, months: int) -> None:
    result = Period(months=months).add_to(start)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    next_day = result + timedelta(days=1)
    assert result.day == start.day or (result.day < start.day and next_day.day == 1)


@given(day=DATES)
def test_financial_year_end_is_the_next_31_march_within_a_year(day: date) -> None:
    end = financial_year_end(day)
    assert (end.month, end.day) == (3, 31)
    assert day <= end < Period(years=1).add_to(day)


# --- The seed schedule --------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Schedule:
    return load_schedule(seed_schedule_text())


def test_seed_validates_and_needs_sign_off(seed: Schedule) -> None:
    assert seed.version and "sign-off" in seed.title
    assert len(seed.classes) >= 15
    assert not any(record_class.signed_off for record_class in seed.classes)
    assert seed.text == seed_schedule_text()


def test_seed_reads_the_same_as_the_packaged_file(seed: Schedule) -> None:
    packaged = Path(__file__).parents[2] / "retention" / "seed_schedule.yaml"
    assert load_schedule_file(packaged) == seed


@pytest.mark.parametrize(
    ("path", "class_id"),
    [
        ("Finance/Business Rates/Business rates schedule 2024-25.xlsx", "FIN-BR"),
        ("Finance/Budget/Medium Term Financial Strategy 2024-25 to 2026-27.pdf", "FIN-BUD"),
        ("Finance/Transparency/Supplier payments over £500/2024-04 Payments.xlsx", "FIN-TRANS"),
        ("Finance/Benefits/Claims/HB-2023-0001.pdf", "FIN-BEN"),
        ("Planning/Applications/24-01234-FUL/Decision notice.pdf", "PLAN-DN"),
        ("Planning/Applications/24-01234-FUL/Neighbour objection - 16 Mill Lane.txt", "PLAN-APP"),
        ("Planning/Applications/23-02311-OUT/Appeal statement.pdf", "PLAN-APPEAL"),
        ("Planning/Applications/23-02311-OUT/Section 106 heads of terms.docx", "PLAN-S106"),
        ("Planning/Pre-application advice/PRE-24-0112 Riverside Wharf/Notes.txt", "PLAN-PRE"),
        ("Planning/Enforcement/ENF-24-0045 Orchard Close/Site visit notes.txt", "PLAN-ENF"),
        ("Planning/Local Plan/Call for sites 2024 responses.xlsx", "PLAN-LP"),
        ("HR/Recruitment/2024/Senior Planning Officer/Job description.docx", "HR-STAFF"),
        ("HR/Policies/Flexible working policy.docx", "HR-POL"),
        ("Democratic Services/Committees/Cabinet/2024-02-07/Minutes.pdf", "DEM-COM"),
        ("Democratic Services/Member enquiries/2024/Street lighting.eml", "DEM-ENQ"),
        ("Democratic Services/Standards/2023/Complaint CC-01.docx", "GOV-COC"),
        ("Housing/Repairs/Complaints/2024/HC-2024-0217 Flat 3/Tenant complaint.eml", "HOU-COMP"),
        ("Housing/Allocations/Nominations agreement - Northbridge Homes.pdf", "CON-CONTRACT"),
        ("Estates/Leases/Unit 4 Market Hall.pdf", "CON-LEASE"),
        ("Estates/Market Hall lease.pdf", "CON-LEASE"),
        ("Environmental Health/Noise/EH-NC-24-0088 27 Willow Crescent/Complaint.eml", "EH-NOISE"),
        ("Environmental Health/Food Safety/Inspection programme 2024-25.xlsx", "EH-FOOD"),
        ("Environmental Health/Licensing/Pavement licences/Café licence – résumé.txt", "EH-LIC"),
        ("FOI/2024/FOI-2024-0456 Public toilet cleaning contract/Request.eml", "FOI-REQ"),
    ],
)
def test_seed_classifies_representative_paths(seed: Schedule, path: str, class_id: str) -> None:
    result = seed.classify(doc(path))
    assert result is not None and result.class_id == class_id


@pytest.mark.parametrize(
    "path",
    ["Housing/Repairs/Repairs performance Q1 2024-25.xlsx", "Communications/Press release.docx"],
)
def test_seed_leaves_gaps_unclassified(seed: Schedule, path: str) -> None:
    assert seed.classify(doc(path)) is None


def test_seed_business_rates_working(seed: Schedule) -> None:
    result = seed.classify(doc("Finance/Business Rates/2019/Rates roll.xlsx"))
    assert result is not None and result.disposal_date == date(2026, 3, 31)
    assert result.reason == (
        "FIN-BR Business rates records: destroy 6 years after the end of the financial year of "
        "last modification on the share (last written 2019-05-03; year ended 2020-03-31) "
        f"→ 2026-03-31; {NOT_SIGNED_OFF}"
    )
    assert not result.disposable and seed.disposable_classes == ()
