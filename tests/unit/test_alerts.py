"""The preservation-failure e-mail's text (retention.alerts.compose): pure."""

from __future__ import annotations

from retention.alerts import MAX_LISTED, Failure, compose, gist


def _failure(n: int, path: str = "", error: str = "access denied") -> Failure:
    return Failure(n, "housing", path or f"Tenancy/file {n}.docx", error, 2, ("SAR Smith",))


def test_one_message_per_records_manager_naming_each_file_its_error_and_hold() -> None:
    alerts = compose([_failure(1)], ["rita@council.gov.uk", "rex@council.gov.uk"], "Anytown")
    assert [a.to for a in alerts] == ["rita@council.gov.uk", "rex@council.gov.uk"]
    [subject] = {a.subject for a in alerts}
    assert subject == "Action needed: 1 held file could not be preserved"
    body = alerts[0].body
    assert "FOI records service of Anytown" in body
    assert "- housing: Tenancy/file 1.docx" in body
    assert "Error: access denied" in body and "Holds: SAR Smith" in body
    assert "Attempts so far: 2" in body


def test_many_failures_are_counted_and_the_list_is_capped() -> None:
    failures = [_failure(n) for n in range(MAX_LISTED + 7)]
    [alert] = compose(failures, ["rita@council.gov.uk"], "")
    assert alert.subject == f"Action needed: {MAX_LISTED + 7} held files could not be preserved"
    assert alert.body.count("\n- housing:") == MAX_LISTED
    assert "... and 7 more (see the hold pages)." in alert.body


def test_names_and_errors_cannot_break_the_layout() -> None:
    [alert] = compose(
        [_failure(1, path="Tenancy/evil\nBcc: x@y.z.docx", error="line one\r\nline two")],
        ["rita@council.gov.uk"],
        "",
    )
    assert "- housing: Tenancy/evil Bcc: x@y.z.docx" in alert.body
    assert "Error: line one line two" in alert.body


def test_the_gist_of_an_error_leaves_out_its_changing_numbers() -> None:
    full = "preservation store /srv/p has {} MiB free; 3 MiB needed plus a 64 MiB reserve"
    assert gist(full.format(12)) == gist(full.format(9)) == gist(full.format("1,024"))
    assert gist("access denied") != gist("preservation store full")
