"""The hold, retention and disposal pages and their JSON API, on the real stack: role checks,
forms with CSRF, service refusals shown as messages, and the destruction certificate."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from devstack.stack import LocalStack
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.models import AuditEvent, Hold, PreservationStatus, PreservationTask
from foi_core.settings import Settings
from foi_core.tokens import create_token
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.records import PASSWORD, RecordsBed

LETTER = "Cases/Smith/letter to Mrs O'Brien & Sons.txt"
NOTES = "Cases/Smith/Notes/site visit.txt"
OTHER = "Cases/Jones/letter.txt"
WHARF = "Planning/Riverside wharf report.txt"
SHELTERS = "Planning/Bus shelters.txt"
OLD = datetime(2012, 6, 1, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"
SCHEDULE = """version: "web-1"
title: "Web test schedule"
classes:
  - id: RATES
    name: Business rates records
    authority: "Local Government Finance Act 1988 (test)"
    match: {paths: ["Finance/Rates/**"]}
    retention: 6 years
    trigger: financial_year_end
    action: destroy
    sign_off: signed_off
"""
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "web")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    bed.write(LETTER, b"Dear Mrs O'Brien, about your housing repair.\n")
    bed.write(NOTES, b"Site visit: damp in the kitchen.\n")
    bed.write(OTHER, b"Dear Mr Jones, about your parking permit.\n")
    bed.write(WHARF, b"The riverside wharf regeneration scheme: cost report.\n")
    bed.write(SHELTERS, b"Bus shelter maintenance schedule.\n")
    for year in (2012, 2013):
        text = f"Rates account {year} {HOSTILE}\n".encode()
        bed.write(f"Finance/Rates/rates {year}.txt", text, modified=OLD.replace(year=year))
    bed.write("Misc/unclassified.txt", b"Nobody classified me.\n", modified=OLD)
    bed.crawl()
    yield bed
    workspace.cleanup()


@pytest.fixture
def app(bed: RecordsBed) -> Flask:
    with transaction(bed.runtime.sessions) as session:
        create_user(session, "ada", "admin", PASSWORD, [])
        # A third records manager: with two approvals, the builder approves nothing.
        create_user(session, "reg", "records_manager", PASSWORD, [])
    # Two approvals, so the same person approving twice meets the service's refusal.
    return create_app(replace(bed.settings, disposal_approvals=2))


class Officer:
    """A signed-in browser session that sends the form token with every POST."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        login = self.client.get("/login").get_data(as_text=True)
        token = _CSRF.search(login)
        assert token
        form = {"csrf_token": token.group(1), "username": username, "password": PASSWORD}
        assert self.client.post("/login", data=form).status_code == 302
        # Signing in starts a new session, so the form token comes from a page after it.
        found = _CSRF.search(self.client.get("/saved").get_data(as_text=True))
        assert found
        self.token = found.group(1)

    def get(self, url: str) -> TestResponse:
        return self.client.get(url)

    def post(self, url: str, **form: Any) -> TestResponse:
        return self.client.post(url, data={"csrf_token": self.token, **form})


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _settle(bed: RecordsBed) -> None:
    """Wait for the app's background copy-on-hold to work off what it was given."""
    pending = select(func.count()).where(PreservationTask.status == PreservationStatus.PENDING)
    for _ in range(120):
        with bed.runtime.sessions() as session:
            if session.execute(pending).scalar_one() == 0:
                return
        time.sleep(0.25)
    pytest.fail("preservation did not finish")


def _hold_id(response: TestResponse) -> int:
    assert response.status_code == 302, _text(response)
    found = re.search(r"/holds/(\d+)(#members)?$", response.headers["Location"])
    assert found
    return int(found.group(1))


def test_roles_decide_who_sees_and_decides(app: Flask) -> None:
    clerk, olive = Officer(app, "clerk"), Officer(app, "olive")
    for url in ("/holds", "/holds/1", "/retention", "/retention/schedule", "/retention/batches/1"):
        assert clerk.get(url).status_code == 403, url
    assert clerk.post("/holds", name="x", reason="y").status_code == 403
    assert "Holds" in _text(olive.get("/holds")) and "Retention</a>" not in _text(olive.get("/"))
    hold = _hold_id(olive.post("/holds", name="Olive's hold", reason="FOI 2026/1"))
    # FOI officers place holds but neither release them nor touch disposal.
    assert olive.post(f"/holds/{hold}/release-request", reason="done").status_code == 403
    assert olive.post(f"/holds/{hold}/release-approve").status_code == 403
    assert olive.get("/retention").status_code == 403
    assert olive.post("/retention/batches").status_code == 403
    assert olive.post("/retention/batches/1/approve").status_code == 403
    assert olive.post("/retention/schedule", schedule=SCHEDULE).status_code == 403
    for url in ("/holds/99999999999999999999", "/retention/batches/99999999999999"):
        assert Officer(app, "rita").get(url).status_code == 404
    # A form without its token is refused whatever the role.
    refused = olive.client.post("/holds", data={"name": "no token", "reason": "r"})
    assert refused.status_code == 400


def test_hold_is_built_preserved_and_released_by_two_people(app: Flask, bed: RecordsBed) -> None:
    rita, rob = Officer(app, "rita"), Officer(app, "rob")
    missing = rita.post("/holds", name="", reason="")
    assert missing.status_code == 400 and "A hold name is required" in _text(missing)
    hold = _hold_id(rita.post("/holds", name="Smith claim", reason="Claim 77", case_ref="C-77"))
    assert "already exists" in _text(rita.post("/holds", name="Smith claim", reason="again"))

    added = rita.post(
        f"/holds/{hold}/scopes", kind="folder", source=bed.source, folder="Cases\\Smith"
    )
    assert added.status_code == 302
    found = rita.post(f"/holds/{hold}/scopes", kind="query", query="riverside wharf")
    assert found.status_code == 302
    bad = rita.post(f"/holds/{hold}/scopes", kind="query", query="q=%22unclosed")
    assert bad.status_code == 400 and "cannot be used" in _text(bad)
    wrong = rita.post(f"/holds/{hold}/scopes", kind="folder", source="nowhere", folder="x")
    assert "Choose the source" in _text(wrong)
    assert "40 letters" in _text(rita.post(f"/holds/{hold}/scopes", kind="item", doc_id="x"))

    _settle(bed)
    page = _text(rita.get(f"/holds/{hold}"))
    assert "Files on hold (3)" in page and page.count("status--preserved") == 3
    assert "O&#39;Brien &amp; Sons" in page and "riverside wharf" in page
    assert f'href="/documents/{bed.doc_id(WHARF)}"' in page

    # A failed copy is shown loudly, with its (escaped) error, and can be retried.
    with transaction(bed.runtime.sessions) as session:
        task = session.execute(
            select(PreservationTask).where(PreservationTask.root_id == bed.doc_id(NOTES))
        ).scalar_one()
        task.status, task.error = PreservationStatus.FAILED, f"share offline {HOSTILE}"
    failing = _text(rita.get(f"/holds/{hold}"))
    assert "Preservation failed for 1 held file" in failing and HOSTILE not in failing
    assert "share offline &lt;script&gt;" in failing
    retried = rita.post(f"/holds/{hold}/preserve")
    assert retried.status_code == 302
    assert "Preservation failed" not in _text(rita.get(f"/holds/{hold}"))

    # The search page's "Hold these results" and the document page's "Hold this document".
    chooser = rita.get("/holds/add-search?query=q%3Dbus%2Bshelter")
    assert chooser.status_code == 200 and "Smith claim" in _text(chooser)
    assert rita.post("/holds/add-search?query=q%3Dbus%2Bshelter").status_code == 400
    assert _hold_id(rita.post("/holds/add-search", query="q=bus+shelter", hold=str(hold))) == hold
    item = f"/holds/add-document?doc_id={bed.doc_id(OTHER)}"
    assert "Jones" in _text(rita.get(item))
    assert _hold_id(rita.post(item, hold=str(hold))) == hold
    assert rita.get(f"/holds/add-document?doc_id={'0' * 40}").status_code == 404
    assert "Files on hold (5)" in _text(rita.get(f"/holds/{hold}"))

    no_reason = rita.post(f"/holds/{hold}/release-request", reason=" ")
    assert no_reason.status_code == 400 and "A reason for the release is required" in _text(
        no_reason
    )
    assert rita.post(f"/holds/{hold}/release-request", reason="Claim settled").status_code == 302
    assert "Approve release" not in _text(rita.get(f"/holds/{hold}"))
    own = rita.post(f"/holds/{hold}/release-approve")
    assert own.status_code == 400 and "someone other than the person" in _text(own)
    assert "Approve release" in _text(rob.get(f"/holds/{hold}"))
    assert rob.post(f"/holds/{hold}/release-approve").status_code == 302
    assert "released by rob" in _text(rob.get(f"/holds/{hold}"))
    with bed.runtime.sessions() as session:
        assert session.get_one(Hold, hold).status == "released"
        actions = set(session.execute(select(AuditEvent.action)).scalars())
    assert {"hold_create", "hold_add", "hold_view", "hold_release_approve"} <= actions


def test_schedule_report_and_disposal_with_certificate(app: Flask, bed: RecordsBed) -> None:
    rita, rob, ada = Officer(app, "rita"), Officer(app, "rob"), Officer(app, "ada")
    reg = Officer(app, "reg")
    early = rita.post("/retention/batches")
    assert early.status_code == 400 and "No retention schedule is loaded" in _text(early)

    broken = SCHEDULE.replace("6 years", "6 yrs")
    refused = rita.post("/retention/schedule", schedule=broken)
    body = _text(refused)
    assert refused.status_code == 400 and "1 problem" in body and "6 yrs" in body
    assert "retention: 6 yrs" in body  # the person's text is kept to fix
    saved = rita.post("/retention/schedule", schedule=SCHEDULE.replace("\n", "\r\n"))
    assert saved.status_code == 302
    schedule_page = _text(rita.get("/retention/schedule"))
    assert "web-1" in schedule_page and "in force" in schedule_page

    overview = _text(rita.get("/retention"))
    assert re.search(r'id="eligible-files">2<', overview)
    assert re.search(r'id="unclassified-files">\d+<', overview) and "Misc" in overview
    assert "RATES" in overview and "Web test schedule" in overview

    built = rita.post("/retention/batches")
    assert built.status_code == 302
    batch_url = built.headers["Location"]
    batch_id = int(batch_url.rsplit("/", 1)[1])
    page = _text(rita.get(batch_url))
    # Sample previews show document text, inert.
    assert "Rates account" in page and HOSTILE not in page and "&lt;script&gt;" in page

    keep = bed.doc_id("Finance/Rates/rates 2013.txt")
    no_reason = rita.post(f"{batch_url}/exclude", doc_id=keep, reason="")
    assert no_reason.status_code == 400 and "Say why" in _text(no_reason)
    assert rita.post(f"{batch_url}/exclude").status_code == 400
    assert rita.post(f"{batch_url}/exclude", doc_id=keep, reason="FOI pending").status_code == 302
    assert "FOI pending" in _text(rita.get(batch_url))

    own = rita.post(f"{batch_url}/approve")
    assert own.status_code == 400 and "You built batch" in _text(own)
    assert rob.post(f"{batch_url}/approve").status_code == 302
    again = rob.post(f"{batch_url}/approve")
    assert again.status_code == 400 and "already approved" in _text(again)
    assert rob.get(f"{batch_url}/execute").status_code == 302  # not approved yet
    assert reg.post(f"{batch_url}/approve").status_code == 302

    confirm = rob.get(f"{batch_url}/execute")
    assert confirm.status_code == 200 and "I confirm the destruction" in _text(confirm)
    unticked = rob.post(f"{batch_url}/execute")
    assert unticked.status_code == 400 and "Tick the box" in _text(unticked)
    assert bed.on_share("Finance/Rates/rates 2012.txt")
    assert rob.post(f"{batch_url}/execute", confirm="yes").status_code == 302
    assert not bed.on_share("Finance/Rates/rates 2012.txt")
    assert bed.on_share("Finance/Rates/rates 2013.txt")

    # Admins see batches and certificates; only records managers decide.
    assert ada.post(f"{batch_url}/cancel", reason="no").status_code == 403
    pdf = ada.get(f"/retention/batches/{batch_id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == (
        f'attachment; filename="destruction-certificate-batch-{batch_id}.pdf"'
    )
    csv = rita.get(f"/retention/batches/{batch_id}/certificate.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    assert "Finance/Rates/rates 2012.txt" in csv.get_data(as_text=True)
    assert rita.get(f"/retention/batches/{batch_id}/certificate.exe").status_code == 404
    with bed.runtime.sessions() as session:
        downloads = session.execute(
            select(AuditEvent).where(AuditEvent.action == "certificate_download")
        ).scalars()
        assert sorted(e.details["format"] for e in downloads) == ["csv", "pdf"]


def _token(app: Flask, username: str) -> dict[str, str]:
    with transaction(app.extensions["foi"].sessions) as session:
        return {"Authorization": f"Bearer {create_token(session, username, 'test')}"}


def test_api_holds_and_report(app: Flask, bed: RecordsBed) -> None:
    client = app.test_client()
    rita, rob, clerk = _token(app, "rita"), _token(app, "rob"), _token(app, "clerk")
    olive = _token(app, "olive")

    def call(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> TestResponse:
        response = client.open(url, method=method, headers=headers, **kwargs)
        assert response.is_json, (url, response.status_code)
        return response

    created = call("POST", "/api/v1/holds", rita, json={"name": "API hold", "reason": "SAR 12"})
    assert created.status_code == 201
    hold = created.get_json()["id"]
    for body, message in [
        (None, "JSON object"),
        ({"name": "x"}, "required: reason"),
        ({"name": 3, "reason": "r"}, "must be strings"),
        ({"name": "API hold", "reason": "r"}, "already exists"),
    ]:
        bad = call("POST", "/api/v1/holds", rita, json=body)
        assert bad.status_code == 400 and message in bad.get_json()["message"]
    assert (
        call("POST", "/api/v1/holds", clerk, json={"name": "n", "reason": "r"}).status_code == 403
    )

    scopes = f"/api/v1/holds/{hold}/scopes"
    folder = {"kind": "folder", "source": bed.source, "folder": "Cases/Smith"}
    added = call("POST", scopes, olive, json=folder)
    assert added.status_code == 201 and added.get_json()["joined"] == 2
    assert call("POST", scopes, rita, json={"kind": "everything"}).status_code == 400
    assert call("POST", scopes, rita, json={"kind": "item", "doc_id": "nope"}).status_code == 400
    syntax = call("POST", scopes, rita, json={"kind": "query", "query": 'q="unclosed'})
    assert syntax.status_code == 400 and "cannot be used" in syntax.get_json()["message"]
    assert call("POST", "/api/v1/holds/999/scopes", rita, json=folder).status_code == 404

    shown = call("GET", f"/api/v1/holds/{hold}", rita).get_json()
    assert shown["files"] == 2 and shown["scopes"][0]["kind"] == "folder"
    assert {m["path"] for m in shown["members"]["items"]} == {LETTER, NOTES}
    assert call("GET", "/api/v1/holds/abc", rita).status_code == 404
    assert call("GET", f"/api/v1/holds/{hold}?page=x", rita).status_code == 400
    assert any(h["id"] == hold for h in call("GET", "/api/v1/holds", olive).get_json()["holds"])

    release = f"/api/v1/holds/{hold}/release-request"
    assert call("POST", release, olive, json={"reason": "done"}).status_code == 403
    assert call("POST", release, rita, json={}).status_code == 400
    assert call("POST", release, rita, json={"reason": "Settled"}).status_code == 200
    own = call("POST", f"/api/v1/holds/{hold}/release-approve", rita)
    assert own.status_code == 400 and "someone other" in own.get_json()["message"]
    approved = call("POST", f"/api/v1/holds/{hold}/release-approve", rob)
    assert approved.get_json()["status"] == "released"

    assert call("GET", "/api/v1/retention/report", olive).status_code == 403
    report = call("GET", "/api/v1/retention/report", rita).get_json()
    assert report["files"] >= 8 and report["schedule_version"] is None
    assert report["unclassified"]["files"] == report["files"]
    assert call("GET", "/api/v1/retention/batches", rita).get_json() == {"batches": []}
    assert call("GET", "/api/v1/retention/batches/7", rita).status_code == 404
