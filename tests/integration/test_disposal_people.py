"""Who may decide a destruction (issue 12, item 13), on the real stack.

By default (`FOI_DISPOSAL_APPROVALS=2`) a destruction always rests on two different people's
decisions: two records managers approve, neither of them the batch's builder, and the executor
is a records manager who did not build it (an approver may execute). One person may build,
approve and execute only under `FOI_DISPOSAL_APPROVALS=1`, and then the retention pages and the
certificate say so. Refusals are audited as denied in the web app, the API and the CLI, each
with a message that says who must act instead. The batch review page and the API show each
item's rule, trigger date and the share's and the file's own dates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.test import TestResponse

from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.models import AuditEvent, DisposalBatch
from foi_core.settings import Settings
from foi_core.tokens import create_token
from retention.classify import save_schedule
from retention.disposal import (
    AnotherPersonNeeded,
    DisposalError,
    approve,
    build_batch,
    execute,
)
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.records import PASSWORD, RecordsBed

SCHEDULE = """version: "people-1"
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
OLD = datetime(2012, 6, 1, tzinfo=UTC)
INSIDE = datetime(2009, 2, 14, 9, 30, tzinfo=UTC)
RATES = "Finance/Rates/rates 2012.docx"
ONE_PERSON = "One-person disposal"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def office_file(text: str, inside: datetime) -> bytes:
    """A .docx whose own metadata says it was created and last modified at `inside`."""
    document = docx.Document()
    document.add_paragraph(text)
    document.core_properties.created = inside.replace(tzinfo=None)
    document.core_properties.modified = inside.replace(tzinfo=None)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_bed(
    stack: LocalStack, settings: Settings, tmp: Path, prefix: str, approvals: int
) -> RecordsBed:
    workspace = ShareWorkspace(stack.samba, "people")
    bed = RecordsBed.build(
        stack, workspace, replace(settings, disposal_approvals=approvals), tmp, prefix
    )
    with transaction(bed.runtime.sessions) as session:
        create_user(session, "reg", "records_manager", PASSWORD, [])
    bed.write(RATES, office_file("Rates account 4471.", INSIDE), modified=OLD)
    bed.write("Finance/Rates/rates 2013.txt", b"Rates account 4472.\n", modified=OLD)
    bed.crawl()
    save_schedule(bed.records, SCHEDULE, actor="rita")
    return bed


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    made = make_bed(stack, settings, tmp_path, index_prefix, approvals=2)
    yield made
    made.workspace.cleanup()


@pytest.fixture
def solo(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    made = make_bed(stack, settings, tmp_path, index_prefix, approvals=1)
    yield made
    made.workspace.cleanup()


def denied(bed: RecordsBed, action: str) -> list[AuditEvent]:
    with bed.runtime.sessions() as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.outcome == "denied")
                .order_by(AuditEvent.id)
            ).scalars()
        )


def certificate_text(bed: RecordsBed, batch_id: int) -> str:
    with bed.runtime.sessions() as session:
        data = session.get_one(DisposalBatch, batch_id).certificate_pdf or b""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


class Browser:
    """A signed-in session that sends the form token with every POST."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        token = _CSRF.search(self.client.get("/login").get_data(as_text=True))
        assert token
        form = {"csrf_token": token.group(1), "username": username, "password": PASSWORD}
        assert self.client.post("/login", data=form).status_code == 302
        found = _CSRF.search(self.client.get("/saved").get_data(as_text=True))
        assert found
        self.token = found.group(1)

    def get(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, url
        return response.get_data(as_text=True)

    def post(self, url: str, **form: Any) -> TestResponse:
        return self.client.post(url, data={"csrf_token": self.token, **form})


def test_two_people_is_the_default() -> None:
    assert Settings.from_env({}).disposal_approvals == 2
    assert Settings().disposal_approvals == 2


def test_nobody_approves_or_executes_their_own_build(bed: RecordsBed) -> None:
    records = bed.records
    batch_id = build_batch(records, actor="rita", today=datetime.now(UTC).date())
    assert batch_id is not None
    with pytest.raises(AnotherPersonNeeded, match="you built batch"):
        approve(records, batch_id, actor="rita")
    with pytest.raises(AnotherPersonNeeded, match="records manager"):
        approve(records, batch_id, actor="olive")
    assert approve(records, batch_id, actor="rob") == "pending"
    with pytest.raises(AnotherPersonNeeded, match="already approved"):
        approve(records, batch_id, actor="rob")
    assert approve(records, batch_id, actor="reg") == "approved"
    with pytest.raises(AnotherPersonNeeded, match="you built batch"):
        execute(records, batch_id, actor="rita")
    with pytest.raises(AnotherPersonNeeded, match="records manager"):
        execute(records, batch_id, actor="olive")
    assert bed.on_share(RATES)
    # An approver may execute: the destruction still had two other people's decisions.
    assert execute(records, batch_id, actor="reg").destroyed == 2
    with bed.runtime.sessions() as session:
        batch = session.get_one(DisposalBatch, batch_id)
        assert (batch.created_by, batch.approved_by, batch.executed_by) == (
            "rita",
            ["rob", "reg"],
            "reg",
        )
    assert ONE_PERSON not in certificate_text(bed, batch_id)


def test_a_scheduled_batch_needs_two_approvers_and_one_may_execute(bed: RecordsBed) -> None:
    records = bed.records
    batch_id = build_batch(records, actor="retention-schedule", today=datetime.now(UTC).date())
    assert batch_id is not None
    assert approve(records, batch_id, actor="rita") == "pending"
    with pytest.raises(DisposalError, match="pending, not approved"):
        execute(records, batch_id, actor="rita")
    assert approve(records, batch_id, actor="rob") == "approved"
    assert execute(records, batch_id, actor="rita").destroyed == 2
    text = certificate_text(bed, batch_id)
    assert "rita (records manager) and rob (records manager)" in text
    assert ONE_PERSON not in text


def test_a_batch_built_for_one_approval_needs_two_once_the_setting_says_two(
    bed: RecordsBed,
) -> None:
    """The setting in force when a decision is made wins over the one the batch was built
    under: lowering the bar after building never lets one person through."""
    solo_records = replace(bed.records, approvals_needed=1)
    batch_id = build_batch(solo_records, actor="retention-schedule", today=datetime.now(UTC).date())
    assert batch_id is not None
    assert approve(solo_records, batch_id, actor="rita") == "approved"
    with pytest.raises(AnotherPersonNeeded, match="two different people"):
        execute(bed.records, batch_id, actor="rita")
    assert bed.on_share(RATES)


def test_refusals_are_audited_and_explained_in_web_api_and_cli(bed: RecordsBed) -> None:
    app = create_app(bed.settings)
    rita = Browser(app, "rita")
    built = rita.post("/retention/batches")
    assert built.status_code == 302
    batch_url = built.headers["Location"]
    batch_id = int(batch_url.rsplit("/", 1)[1])

    own = rita.post(f"{batch_url}/approve")
    assert own.status_code == 400
    assert "You built batch" in own.get_data(as_text=True)
    assert "two other records managers" in own.get_data(as_text=True)

    with transaction(bed.runtime.sessions) as session:
        token = {"Authorization": f"Bearer {create_token(session, 'rita', 'test')}"}
    client = app.test_client()
    api = client.post(f"/api/v1/retention/batches/{batch_id}/approve", headers=token)
    assert api.status_code == 400 and api.is_json
    assert "you built batch" in api.get_json()["message"]

    result = CliRunner().invoke(
        cli, ["retention", "approve", str(batch_id), "--as", "rita"], env=bed.settings.to_env()
    )
    assert result.exit_code != 0 and "you built batch" in result.output

    refusals = denied(bed, "disposal_approve")
    assert [e.actor for e in refusals] == ["rita", "rita", "rita"]
    assert all("you built batch" in e.details["reason"] for e in refusals)

    # Approved by two others, the builder still may not execute, in any channel.
    approve(bed.records, batch_id, actor="rob")
    approve(bed.records, batch_id, actor="reg")
    page = rita.post(f"{batch_url}/execute", confirm="yes")
    assert page.status_code == 400 and "You built batch" in page.get_data(as_text=True)
    unconfirmed = client.post(f"/api/v1/retention/batches/{batch_id}/execute", headers=token)
    assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.get_json()["message"]
    api = client.post(
        f"/api/v1/retention/batches/{batch_id}/execute", headers=token, json={"confirm": True}
    )
    assert api.status_code == 400 and "you built batch" in api.get_json()["message"]
    result = CliRunner().invoke(
        cli, ["retention", "execute", str(batch_id), "--as", "rita"], env=bed.settings.to_env()
    )
    assert result.exit_code != 0 and "you built batch" in result.output
    refusals = denied(bed, "disposal_execute")
    assert [e.actor for e in refusals] == ["rita", "rita", "rita"]
    assert bed.on_share(RATES)

    with transaction(bed.runtime.sessions) as session:
        rob = {"Authorization": f"Bearer {create_token(session, 'rob', 'test')}"}
    done = client.post(
        f"/api/v1/retention/batches/{batch_id}/execute", headers=rob, json={"confirm": True}
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["destroyed"] == 2 and done.get_json()["status"] == "executed"
    assert not bed.on_share(RATES)


def test_one_person_only_by_explicit_setting_with_warnings(solo: RecordsBed) -> None:
    app = create_app(solo.settings)
    rita = Browser(app, "rita")
    assert ONE_PERSON in rita.get("/retention")
    built = rita.post("/retention/batches")
    batch_url = built.headers["Location"]
    batch_id = int(batch_url.rsplit("/", 1)[1])
    assert ONE_PERSON in rita.get(batch_url)
    assert rita.post(f"{batch_url}/approve").status_code == 302
    assert ONE_PERSON in rita.get(f"{batch_url}/execute")
    assert rita.post(f"{batch_url}/execute", confirm="yes").status_code == 302
    assert not solo.on_share(RATES)
    text = certificate_text(solo, batch_id)
    assert ONE_PERSON in text and "FOI_DISPOSAL_APPROVALS=1" in text

    with transaction(solo.runtime.sessions) as session:
        token = {"Authorization": f"Bearer {create_token(session, 'rita', 'test')}"}
    shown = app.test_client().get(f"/api/v1/retention/batches/{batch_id}", headers=token)
    assert shown.get_json()["one_person"] is True


def test_review_page_and_api_show_rule_trigger_and_both_dates(bed: RecordsBed) -> None:
    batch_id = build_batch(bed.records, actor="retention-schedule", today=datetime.now(UTC).date())
    assert batch_id is not None
    app = create_app(bed.settings)
    page = Browser(app, "rob").get(f"/retention/batches/{batch_id}")
    assert "financial year" in page  # the rule applied, in words
    assert "31 Mar 2013" in page  # the date the rule counted from
    assert "1 Jun 2012" in page  # last written on the share
    assert "14 Feb 2009" in page  # the date inside the file, shown apart
    assert "Date inside the file" in page

    with transaction(bed.runtime.sessions) as session:
        token = {"Authorization": f"Bearer {create_token(session, 'rob', 'test')}"}
    shown = app.test_client().get(f"/api/v1/retention/batches/{batch_id}", headers=token)
    body = shown.get_json()
    assert body["one_person"] is False and body["approvals_needed"] == 2
    items = {i["path"]: i for i in body["items"]["items"]}
    docx_item, text_item = items[RATES], items["Finance/Rates/rates 2013.txt"]
    assert "financial year" in docx_item["rule"]
    assert docx_item["trigger_date"] == "2013-03-31"
    assert docx_item["share_modified"].startswith("2012-06-01")
    assert docx_item["embedded_modified"].startswith("2009-02-14")
    assert text_item["embedded_modified"] is None
