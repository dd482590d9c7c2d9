"""The request-case pages, the statistics pages and the cases API on the real stack: role checks,
forms with CSRF, service refusals shown as messages, the statutory clock and its explanation,
scoping searches, collection onto the case's hold, and a bundle whose hashes match the share."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from cases.collection import collect
from cases.export import ExportSettings
from cases.export_jobs import request_export
from devstack.stack import LocalStack
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.models import AuditEvent, Case
from foi_core.settings import Settings
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.integration.test_records_web import Officer, _settle, _text, _token
from tests.records import PASSWORD, RecordsBed

FILES = {
    "Contracts/Bus shelters/contract.txt": b"Bus shelter maintenance contract with Acme Ltd.\n",
    "Contracts/Bus shelters/variation.txt": b"Variation to the bus shelter contract, 2024.\n",
    "Contracts/Bus shelters/invoice.txt": b"Invoice: bus shelter cleaning, March.\n",
    "Contracts/Parks/mowing.txt": b"Grass mowing contract for parks.\n",
    "Contracts/Bus shelters/scan.pdf": b"%PDF-1.4 not really a pdf: bus shelter scan",
}
MOWING = "Contracts/Parks/mowing.txt"
HOSTILE = "<script>alert(1)</script>"
NEW_CASE = {
    "regime": "FOIA",
    "received-day": "18",
    "received-month": "12",
    "received-year": "2025",
    "title": "Bus shelter contract",
    "request_text": f"All contracts for bus shelter maintenance since 2020. {HOSTILE}",
    "requester_name": "A. Journalist",
    "requester_contact": "journalist@example.org",
    "assigned_to": "olive",
}


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "cases-web")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    for path, data in FILES.items():
        bed.write(path, data)
    bed.crawl()
    yield bed
    workspace.cleanup()


@pytest.fixture
def app(bed: RecordsBed) -> Flask:
    with transaction(bed.runtime.sessions) as session:
        create_user(session, "ada", "admin", PASSWORD, [])
    return create_app(bed.settings)


def _created(response: TestResponse) -> str:
    assert response.status_code == 302, _text(response)
    found = re.search(r"/cases/([A-Z]+-\d{4}-\d{4})$", response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)


def _date(day: dt.date, prefix: str = "on") -> dict[str, str]:
    return {
        f"{prefix}-day": str(day.day),
        f"{prefix}-month": str(day.month),
        f"{prefix}-year": str(day.year),
    }


def _share_path(bed: RecordsBed, unc: str) -> str:
    """The path below the workspace of a file named by its UNC path."""
    return unc.split(bed.source + "\\", 1)[1].replace("\\", "/")


def _audited(bed: RecordsBed, action: str) -> list[AuditEvent]:
    with bed.runtime.sessions() as session:
        return list(
            session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
        )


def test_only_case_workers_reach_any_case_route(app: Flask) -> None:
    olive, clerk, ada = Officer(app, "olive"), Officer(app, "clerk"), Officer(app, "ada")
    reference = _created(olive.post("/cases", **NEW_CASE))
    values = {"reference": reference, "filename": "bundle.zip"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("cases", "case_evidence", "statistics"):
            continue
        built = rule.build({name: values.get(name, 1) for name in rule.arguments})
        assert built is not None
        url = built[1]
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = clerk.get(url) if method == "GET" else clerk.post(url)
            assert response.status_code == 403, (method, url)
            checked += 1
    assert checked >= 20
    for method, url in [
        ("GET", "/api/v1/cases"),
        ("POST", "/api/v1/cases"),
        ("GET", f"/api/v1/cases/{reference}"),
        ("POST", f"/api/v1/cases/{reference}/transitions"),
        ("GET", f"/api/v1/cases/{reference}/documents"),
        ("POST", f"/api/v1/cases/{reference}/searches"),
        ("POST", f"/api/v1/cases/{reference}/exports"),
        ("GET", "/api/v1/statistics"),
    ]:
        response = app.test_client().open(url, method=method, headers=_token(app, "clerk"))
        assert response.status_code == 403 and response.is_json, url
    # The nav offers cases and statistics to the roles that may use them.
    assert ">Cases</a>" in _text(olive.get("/")) and ">Cases</a>" not in _text(clerk.get("/"))
    # Only admins change the calendar every deadline is counted on.
    assert olive.get("/cases/non-working-days").status_code == 403
    assert ada.get("/cases/non-working-days").status_code == 200
    assert olive.get("/cases/FOI-2025-9999").status_code == 404
    assert olive.get("/cases/not a reference").status_code == 404
    # A form without its token is refused whatever the role.
    assert olive.client.post("/cases", data=NEW_CASE).status_code == 400


def test_new_case_shows_its_deadline_and_follows_the_workflow(app: Flask, bed: RecordsBed) -> None:
    olive = Officer(app, "olive")
    bad = olive.post("/cases", **{**NEW_CASE, "received-day": "31", "received-month": "2"})
    assert bad.status_code == 400 and "must be a real date" in _text(bad)
    assert 'value="journalist@example.org"' not in _text(bad)  # a textarea keeps it instead
    assert "journalist@example.org" in _text(bad)
    empty = olive.post(
        "/cases", **{"received-day": "1", "received-month": "2", "received-year": "20x5"}
    )
    body = _text(empty)
    assert empty.status_code == 400 and "There is a problem" in body
    for message in (
        "Choose whether",
        "Enter a short title",
        "must be a real date, in numbers",
        "Enter the request as",
        "Enter the requester&#39;s name",
    ):
        assert message in body
    future = olive.post(
        "/cases", **{**NEW_CASE, **_date(dt.date.today() + dt.timedelta(days=3), "received")}
    )
    assert future.status_code == 400 and "The received date is in the future" in _text(future)
    ancient = olive.post("/cases", **{**NEW_CASE, "received-year": "1066"})
    assert ancient.status_code == 400 and "the calendar covers" in _text(ancient)

    reference = _created(olive.post("/cases", **NEW_CASE))
    assert reference == "FOI-2025-0001"
    page = _text(olive.get(f"/cases/{reference}"))
    # The worked example, with the day-by-day count: excluded days named, tagged by nation.
    assert re.search(r'id="due-date">Wednesday 21 January 2026<', page)
    assert "Christmas Day" in page and "New Year Holiday" in page
    assert '<strong class="tag tag--nation">SCT</strong>' in page
    assert '<strong class="tag tag--nation">UK</strong>' in page
    assert "Fri 09 Jan 2026" in page and "ICO Line to Take 47" in page
    assert re.search(r'id="internal-target">Wednesday 14 January 2026<', page)
    assert "journalist@example.org" in page and HOSTILE not in page
    assert [e.target for e in _audited(bed, "case_view")] == [f"case:{reference}"]

    dashboard = _text(olive.get("/cases"))
    assert reference in dashboard and "case-row--overdue" in dashboard
    assert "journalist@example.org" not in dashboard  # contact details only on the case page
    assert "My open cases (1)" in dashboard

    url = f"/cases/{reference}/transitions"
    forged = olive.post(url, to="pi_extension", **_date(dt.date(2025, 12, 19)))
    assert forged.status_code == 400 and "cannot become pi extension" in _text(forged)
    no_outcome = olive.post(url, to="responded", **_date(dt.date(2026, 1, 20)))
    assert no_outcome.status_code == 400 and "Choose the outcome" in _text(no_outcome)
    no_exemption = olive.post(url, to="responded", outcome="part", **_date(dt.date(2026, 1, 20)))
    assert no_exemption.status_code == 400 and "must name the exemptions" in _text(no_exemption)
    bad_date = olive.post(
        url, to="in_progress", **{"on-day": "40", "on-month": "1", "on-year": "2026"}
    )
    assert bad_date.status_code == 400 and "must be a real date" in _text(bad_date)

    assert (
        olive.post(url, to="clarification_requested", **_date(dt.date(2025, 12, 19))).status_code
        == 302
    )
    stopped = _text(olive.get(f"/cases/{reference}"))
    assert "Clock stopped: awaiting clarification since Friday 19 December 2025" in stopped
    assert "Clarification received: restart the clock" in stopped
    assert "Record the response" not in stopped  # only the allowed next steps are offered
    assert olive.post(url, to="in_progress", **_date(dt.date(2026, 1, 5))).status_code == 302
    resumed = _text(olive.get(f"/cases/{reference}"))
    assert re.search(r'id="due-date">Monday 2 February 2026<', resumed)
    done = olive.post(
        url,
        to="responded",
        outcome="part",
        exemptions=["s.43", "s.40"],
        **_date(dt.date(2026, 1, 30)),
    )
    assert done.status_code == 302
    answered = _text(olive.get(f"/cases/{reference}"))
    assert "Answered in time" in answered and "relying on s.43, s.40" in answered

    sar = _created(olive.post("/cases", **{**NEW_CASE, "regime": "SAR", "title": "My records"}))
    assert sar == "SAR-2025-0001"
    sar_page = _text(olive.get(f"/cases/{sar}"))
    assert "Monday 19 January 2026" in sar_page and "Stop the clock" in sar_page
    assert "FOI-2025-0001" in sar_page and "Same requester" in sar_page
    no_reason = olive.post(
        f"/cases/{sar}/transitions",
        to="stop_clock",
        stop_reason="x",
        **_date(dt.date(2025, 12, 20)),
    )
    assert no_reason.status_code == 400 and "Choose why the clock stops" in _text(no_reason)
    identity = olive.post(
        f"/cases/{sar}/transitions",
        to="stop_clock",
        stop_reason="identity verification",
        **_date(dt.date(2025, 12, 20)),
    )
    assert identity.status_code == 302
    assert "awaiting identity verification since" in _text(olive.get(f"/cases/{sar}"))

    # Linking by hand, and time logged towards the s.12 estimate.
    missing = olive.post(f"/cases/{reference}/links", other="FOI-2025-0099")
    assert missing.status_code == 400 and "There is no other case" in _text(missing)
    stranger = {**NEW_CASE, "requester_name": "B. Other", "requester_contact": ""}
    unrelated = _created(olive.post("/cases", **stranger))
    assert olive.post(f"/cases/{reference}/links", other=unrelated).status_code == 302
    assert "Same topic" in _text(olive.get(f"/cases/{reference}"))
    nonsense = olive.post(f"/cases/{reference}/time", minutes="a while")
    assert nonsense.status_code == 400 and "Enter the time in minutes" in _text(nonsense)
    too_long = olive.post(f"/cases/{reference}/time", minutes="2000")
    assert too_long.status_code == 400 and "between 1 minute and 24 hours" in _text(too_long)
    assert olive.post(f"/cases/{reference}/time", minutes="1:30").status_code == 302
    estimate = _text(olive.get(f"/cases/{reference}"))
    assert re.search(r'id="estimate-cost">£37.50<', estimate) and "90 minutes logged" in estimate
    with bed.runtime.sessions() as session:
        assert (
            session.execute(
                select(Case.logged_minutes).where(Case.reference == reference)
            ).scalar_one()
            == 90
        )


def test_collect_hold_and_export_a_bundle_matching_the_share(app: Flask, bed: RecordsBed) -> None:
    olive = Officer(app, "olive")
    reference = _created(olive.post("/cases", **NEW_CASE))
    searches = f"/cases/{reference}/searches"
    syntax = olive.post(searches, query='q="unclosed')
    assert syntax.status_code == 400 and "cannot be run" in _text(syntax)
    assert olive.post(searches, query="").status_code == 400
    assert olive.post(searches, query="http://x/?q=bus+shelter").status_code == 302
    page = _text(olive.get(f"/cases/{reference}"))
    assert re.search(r'class="search-hits">4<', page) and "Damaged: 1" in page
    assert "<q>bus shelter</q>" in page and 'href="/?q=bus+shelter"' in page
    assert "4 matching document(s)" in page  # the adequacy statement

    # The search page's "Add every result to a request case", then a document page's.
    chooser = olive.get("/cases/collect?query=q%3Dbus%2Bshelter")
    assert chooser.status_code == 200 and f"{reference}: Bus shelter contract" in _text(chooser)
    unchosen = olive.post("/cases/collect", query="q=bus+shelter")
    assert unchosen.status_code == 400 and "Choose the case" in _text(unchosen)
    collected = olive.post("/cases/collect", query="q=bus+shelter", case=reference)
    assert collected.status_code == 302
    assert collected.headers["Location"].endswith(f"/cases/{reference}#documents")
    flashed = _text(olive.get(f"/cases/{reference}"))
    assert "4 documents collected into" in flashed and "now on the case&#39;s legal hold" in flashed
    mowing = bed.doc_id(MOWING)
    closed = _created(olive.post("/cases", **{**NEW_CASE, "title": "Withdrawn request"}))
    assert (
        olive.post(
            f"/cases/{closed}/transitions", to="closed", **_date(dt.date(2025, 12, 19))
        ).status_code
        == 302
    )
    assert f'id="case-{closed}"' not in _text(olive.get(f"/cases/collect?doc_id={mowing}"))
    refused = olive.post("/cases/collect", doc_id=mowing, case=closed)
    assert refused.status_code == 400 and "Choose the case" in _text(refused)
    assert "mowing.txt" in _text(olive.get(f"/cases/collect?doc_id={mowing}"))
    assert olive.get(f"/cases/collect?doc_id={'0' * 40}").status_code == 404
    one = olive.post("/cases/collect", doc_id=mowing, case=reference)
    assert one.status_code == 302
    assert "1 document collected" in _text(olive.get(f"/cases/{reference}"))
    search_id = re.search(rf"/cases/{reference}/searches/(\d+)/collect", page)
    assert search_id
    again = olive.post(f"/cases/{reference}/searches/{search_id.group(1)}/collect")
    assert again.status_code == 302
    assert "already collected" in _text(olive.get(f"/cases/{reference}"))

    _settle(bed)
    page = _text(olive.get(f"/cases/{reference}"))
    assert "Collected documents (5)" in page and page.count("tag tag--held") == 5
    assert "\\Contracts\\Bus shelters\\contract.txt" in page
    doc_page = _text(olive.get(f"/documents/{mowing}"))
    assert f"Case {reference}" in doc_page and f'href="/cases/{reference}"' in doc_page

    remove = f"/cases/{reference}/documents/remove"
    no_reason = olive.post(remove, doc_id=mowing, reason=" ")
    assert no_reason.status_code == 400 and "Say why" in _text(no_reason)
    assert olive.post(remove, doc_id=mowing, reason="About parks, not shelters").status_code == 302
    page = _text(olive.get(f"/cases/{reference}"))
    assert "Collected documents (4)" in page and "About parks, not shelters" in page

    exported = olive.post(f"/cases/{reference}/exports")
    assert exported.status_code == 302
    page = _text(olive.get(f"/cases/{reference}"))
    assert "is being prepared (4 documents)" in page
    page = _finished_bundles(olive, reference)
    assert "4 of 4 included" in page
    links = re.findall(rf'href="(/cases/{reference}/exports/\d+/[^"]+)"', page)
    part = next(link for link in links if link.endswith(".zip"))
    assert any(link.endswith("-manifest.csv") for link in links)
    download = olive.get(part)
    body = download.get_data()
    download.close()  # the response holds the file open (send_file)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        assert bundle.testzip() is None
        rows = list(csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode("utf-8-sig"))))
        assert len(rows) == 4
        for row in rows:
            on_share = bed.workspace.disk(_share_path(bed, row["unc"])).read_bytes()
            assert row["sha256"] == hashlib.sha256(on_share).hexdigest()
            assert bundle.read(row["archive_path"]) == on_share
    export_url = part.rsplit("/", 1)[0]
    assert olive.get(f"{export_url}/..%2Frecords.db").status_code == 404
    assert olive.get(f"{export_url}/nothing.zip").status_code == 404
    assert olive.get(f"/cases/{reference}/exports/999/x.zip").status_code == 404
    assert [e.details["file"] for e in _audited(bed, "case_export_download")] == [
        part.rsplit("/", 1)[1]
    ]

    statement = olive.get(f"/cases/{reference}/adequacy.txt")
    assert (
        statement.mimetype == "text/plain"
        and "attachment" in statement.headers["Content-Disposition"]
    )
    assert "4 document(s) were collected" in statement.get_data(as_text=True)


def test_statistics_table_chart_csv_and_drill_down(app: Flask, bed: RecordsBed) -> None:
    olive = Officer(app, "olive")
    assert "There are no cases yet" in _text(olive.get("/statistics"))
    late = _created(olive.post("/cases", **NEW_CASE))
    olive.post(
        f"/cases/{late}/transitions", to="responded", outcome="full", **_date(dt.date(2026, 2, 2))
    )
    on_time = _created(
        olive.post("/cases", **{**NEW_CASE, "regime": "EIR", "title": "Air quality"})
    )
    olive.post(
        f"/cases/{on_time}/transitions",
        to="responded",
        outcome="not_held",
        **_date(dt.date(2026, 1, 2)),
    )
    _created(olive.post("/cases", **{**NEW_CASE, "title": "Still open"}))

    page = _text(olive.get("/statistics"))
    assert "<svg" in page and "Requests answered in time" in page and "<script" not in page
    drill = "/statistics/cases?quarter=2025+Q4&amp;regime=FOIA&amp;measure=late"
    assert drill in page
    listed = _text(olive.get(drill.replace("&amp;", "&")))
    assert late in listed and on_time not in listed and "Requests answered late (1)" in listed
    every = _text(olive.get("/statistics/cases?quarter=2025 Q4&regime=All&measure=received"))
    assert "Requests received (3)" in every
    assert (
        olive.get("/statistics/cases?quarter=2025 Q4&regime=FOIA&measure=lost").status_code == 404
    )
    assert (
        olive.get("/statistics/cases?quarter=1999 Q4&regime=FOIA&measure=late").status_code == 404
    )
    assert olive.get("/statistics/cases?quarter=soon&regime=FOIA&measure=late").status_code == 404

    table = olive.get("/statistics.csv")
    assert table.mimetype == "text/csv" and "attachment" in table.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(table.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["Quarter received", "Regime"]
    assert rows[1][:8] == ["2025 Q4", "FOIA", "2", "1", "0", "1", "1", "0.0"]
    assert rows[2][:8] == ["2025 Q4", "EIR", "1", "1", "1", "0", "0", "100.0"]


def test_admin_adds_and_withdraws_a_non_working_day(app: Flask, bed: RecordsBed) -> None:
    olive, ada = Officer(app, "olive"), Officer(app, "ada")
    reference = _created(olive.post("/cases", **NEW_CASE))
    form = {**_date(dt.date(2026, 1, 12), "day"), "name": "Proclamation"}
    nowhere = ada.post("/cases/non-working-days", **form)
    assert nowhere.status_code == 400 and "Choose where" in _text(nowhere)
    added = ada.post("/cases/non-working-days", nations=["UK"], **form)
    assert added.status_code == 302
    listing = _text(ada.get("/cases/non-working-days"))
    assert "1 open case has its due date recalculated" in listing and "In force" in listing
    page = _text(olive.get(f"/cases/{reference}"))
    assert "Thursday 22 January 2026" in page and "Proclamation" in page
    version = re.search(r"/cases/non-working-days/(\d+)/withdraw", listing)
    assert version
    assert ada.post(f"/cases/non-working-days/{version.group(1)}/withdraw").status_code == 302
    assert "withdrawn as an extra non-working day" in _text(ada.get("/cases/non-working-days"))
    assert "Wednesday 21 January 2026" in _text(olive.get(f"/cases/{reference}"))
    assert _audited(bed, "non_working_day_change")


def _finished_bundles(client: Officer, reference: str) -> str:
    """The case page once no bundle is still being written (they run on a thread)."""
    deadline = time.monotonic() + 60
    while True:
        page = _text(client.get(f"/cases/{reference}"))
        if "Being prepared" not in page and "Waiting to start" not in page:
            return page
        assert time.monotonic() < deadline, "the bundle was not written in time"
        time.sleep(0.2)


def test_a_bundle_is_not_served_before_it_is_finished(app: Flask, bed: RecordsBed) -> None:
    olive = Officer(app, "olive")
    reference = _created(olive.post("/cases", **NEW_CASE))
    with bed.runtime.sessions() as session:
        case_id = session.execute(select(Case.id).where(Case.reference == reference)).scalar_one()
    collect(bed.records, case_id, [bed.doc_id(MOWING)], actor="olive")
    queued = request_export(
        bed.records, ExportSettings.from_settings(bed.settings), case_id, actor="olive"
    )
    assert "Waiting to start" in _text(olive.get(f"/cases/{reference}"))
    # Even a file that happens to be there is not served from an unfinished bundle.
    Path(queued.directory).mkdir(parents=True)
    (Path(queued.directory) / f"{queued.name}.zip").write_bytes(b"PK")
    assert olive.get(f"/cases/{reference}/exports/{queued.id}/{queued.name}.zip").status_code == 404
    again = olive.post(f"/cases/{reference}/exports")
    assert again.status_code == 400 and "still being prepared" in _text(again)


def test_api_cases_documents_searches_exports_and_statistics(app: Flask, bed: RecordsBed) -> None:
    client = app.test_client()
    olive = _token(app, "olive")

    def call(method: str, url: str, **kwargs: Any) -> TestResponse:
        response = client.open(url, method=method, headers=olive, **kwargs)
        assert response.is_json or response.mimetype == "text/csv", (url, response.status_code)
        return response

    body = {
        "regime": "FOIA",
        "received": "2025-12-18",
        "title": "Bus shelters",
        "request_text": "Contracts please",
        "requester_name": "A. Journalist",
    }
    for bad, message in [
        (None, "JSON object"),
        ({**body, "received": "18/12/2025"}, "YYYY-MM-DD"),
        ({**body, "received": "2025-02-31"}, "YYYY-MM-DD"),
        ({**body, "title": 7}, "title must be a string"),
        ({**body, "title": " "}, "required: title"),
        ({**body, "regime": "FOI"}, "unknown regime"),
        ({**body, "assigned_to": "clerk"}, "FOI officer"),
        ({**body, "received": "1066-10-14"}, "calendar covers"),
    ]:
        refused = call("POST", "/api/v1/cases", json=bad)
        assert refused.status_code == 400 and message in refused.get_json()["message"], bad
    created = call("POST", "/api/v1/cases", json=body)
    assert created.status_code == 201
    case = created.get_json()
    reference = case["reference"]
    assert case["due"] == "2026-01-21" and case["deadline"]["due"] == "2026-01-21"
    assert "in_progress" in case["allowed_transitions"]
    assert call("GET", "/api/v1/cases/FOI-2025-0404").status_code == 404
    assert call("GET", "/api/v1/cases/nonsense").status_code == 404
    shown = call("GET", f"/api/v1/cases/{reference}").get_json()
    assert shown["requester_name"] == "A. Journalist"
    listed = call("GET", "/api/v1/cases?status=open").get_json()
    assert [c["reference"] for c in listed["cases"]] == [reference]
    assert call("GET", "/api/v1/cases?status=sideways").status_code == 400
    assert call("GET", "/api/v1/cases?page=0").status_code == 400

    moves = f"/api/v1/cases/{reference}/transitions"
    assert call("POST", moves, json={"to": "flying", "on": "2026-01-02"}).status_code == 400
    assert call("POST", moves, json={"to": "in_progress"}).status_code == 400
    assert (
        call(
            "POST", moves, json={"to": "responded", "on": "2026-01-02", "exemptions": "s.40"}
        ).status_code
        == 400
    )
    refused = call("POST", moves, json={"to": "pi_extension", "on": "2026-01-02"})
    assert refused.status_code == 400 and "cannot become" in refused.get_json()["message"]
    moved = call("POST", moves, json={"to": "in_progress", "on": "2026-01-02"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "in_progress"

    searched = call("POST", f"/api/v1/cases/{reference}/searches", json={"query": "bus shelter"})
    assert searched.status_code == 201 and searched.get_json()["hits"] == 4
    assert searched.get_json()["not_searchable"] == {"Damaged": 1}
    syntax = call("POST", f"/api/v1/cases/{reference}/searches", json={"query": 'q="unclosed'})
    assert syntax.status_code == 400 and "cannot be run" in syntax.get_json()["message"]
    listing = call("GET", f"/api/v1/cases/{reference}/searches").get_json()
    assert len(listing["searches"]) == 1 and "bus shelter" in listing["adequacy"]

    documents = f"/api/v1/cases/{reference}/documents"
    bad_bodies: list[dict[str, Any]] = [
        {},
        {"doc_ids": "x"},
        {"doc_ids": ["nope"]},
        {"doc_ids": [], "query": "x"},
        {"query": 5},
    ]
    for bad in bad_bodies:
        assert call("POST", documents, json=bad).status_code == 400, bad
    unknown = call("POST", documents, json={"doc_ids": ["0" * 40]})
    assert unknown.status_code == 400 and "not in the index" in unknown.get_json()["message"]
    by_query = call("POST", documents, json={"query": "q=bus+shelter"})
    assert by_query.status_code == 201 and by_query.get_json()["collected"] == 4
    by_id = call("POST", documents, json={"doc_ids": [bed.doc_id(MOWING)]})
    assert by_id.get_json()["collected"] == 1 and by_id.get_json()["hold_id"]
    items = call("GET", documents).get_json()
    assert items["total"] == 5 and all(i["held"] for i in items["items"])
    assert call("GET", f"{documents}?page=x").status_code == 400

    exported = call("POST", f"/api/v1/cases/{reference}/exports")
    assert exported.status_code == 202
    assert exported.headers["Location"].endswith(f"/api/v1/cases/{reference}/exports")
    assert exported.get_json()["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 60
    while (bundle := call("GET", f"/api/v1/cases/{reference}/exports").get_json()["exports"][0])[
        "status"
    ] in ("queued", "running"):
        assert time.monotonic() < deadline, "the bundle was not written in time"
        time.sleep(0.2)
    assert bundle["status"] == "done" and bundle["error"] == ""
    assert bundle["counts"]["included"] == 5 and bundle["counts"]["mismatched"] == 0
    assert bundle["parts"] and any(f.endswith("manifest.json") for f in bundle["metadata_files"])
    assert (
        call("GET", f"/api/v1/cases/{reference}/exports").get_json()["exports"][0]["id"]
        == bundle["id"]
    )
    other = call("POST", "/api/v1/cases", json={**body, "requester_name": "B"}).get_json()
    empty = call("POST", f"/api/v1/cases/{other['reference']}/exports")
    assert empty.status_code == 400 and "no collected documents" in empty.get_json()["message"]

    stats = call("GET", "/api/v1/statistics").get_json()
    foia = next(r for r in stats["rows"] if r["regime"] == "FOIA")
    assert foia["quarter"] == "2025 Q4" and foia["received"] == 2 and foia["open"] == 2
    assert sorted(foia["cases"]["received"]) == sorted([reference, other["reference"]])
    csv_table = call("GET", "/api/v1/statistics?format=csv")
    assert csv_table.status_code == 200 and b"Quarter received" in csv_table.data
    assert call("GET", "/api/v1/statistics?format=xml").status_code == 400
    with bed.runtime.sessions() as session:
        views = session.execute(
            select(AuditEvent).where(AuditEvent.action == "case_view")
        ).scalars()
        assert [v.details for v in views] == [{"via": "api"}]


def test_a_part_under_another_regime_from_the_case_page(app: Flask) -> None:
    olive = Officer(app, "olive")
    reference = _created(olive.post("/cases", **NEW_CASE))
    bad = olive.post(f"/cases/{reference}/parts", part_regime="XYZ")
    assert bad.status_code == 400 and "Choose FOIA, EIR or SAR" in _text(bad)
    made = olive.post(f"/cases/{reference}/parts", part_regime="EIR")
    assert made.status_code == 302 and made.headers["Location"].endswith("/cases/EIR-2025-0001")
    page = _text(olive.get(f"/cases/{reference}"))
    assert "EIR-2025-0001" in page and "Part of the same request" in page
    twice = olive.post(f"/cases/{reference}/parts", part_regime="EIR")
    assert twice.status_code == 400 and "already has a EIR part" in _text(twice)
