"""Legal holds on the real stack: by item, folder and query; copy-on-hold preservation; files
changed or deleted at source; two-person release."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from devstack.stack import LocalStack
from foi_core.audit import verify_chain
from foi_core.db import transaction
from foi_core.models import AuditEvent, HeldDocument, Hold, PreservationTask, SourceChange
from foi_core.settings import Settings
from foi_core.tokens import create_token
from retention.holds import (
    HoldError,
    ReleaseRefused,
    add_scope,
    create_hold,
    holds_by_root,
)
from retention.preservation import run_pending
from retention.release import approve_release, request_release
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.records import PASSWORD, RecordsBed

LETTER = "Cases/Smith/letter to Mrs Smith.txt"
NOTES = "Cases/Smith/Notes/site visit.txt"
OTHER = "Cases/Jones/letter.txt"
WHARF = "Planning/Riverside wharf report.txt"
UNRELATED = "Planning/Bus shelters.txt"
# Not a PDF inside: its content cannot be read, and its name carries one of the held
# search's words (not both, so only the conservative rule takes it).
BROKEN = "Planning/riverside-scan.pdf"


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "holds")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    bed.write(LETTER, b"Dear Mrs Smith, about your housing repair.\n")
    bed.write(NOTES, b"Site visit: damp in the kitchen.\n")
    bed.write(OTHER, b"Dear Mr Jones, about your parking permit.\n")
    bed.write(WHARF, b"The riverside wharf regeneration scheme: cost report.\n")
    bed.write(UNRELATED, b"Bus shelter maintenance schedule.\n")
    bed.write(BROKEN, b"%PDF-1.7\n\x00\x01 this is not really a PDF at all")
    bed.crawl()
    yield bed
    workspace.cleanup()


def _members(bed: RecordsBed, hold_id: int) -> dict[str, HeldDocument]:
    with bed.runtime.sessions() as session:
        rows = session.execute(
            select(HeldDocument).where(HeldDocument.hold_id == hold_id)
        ).scalars()
        return {row.path: row for row in rows}


def test_hold_by_item_folder_and_query_and_later_matches_join(bed: RecordsBed) -> None:
    records = bed.records
    hold = create_hold(
        records, name="Smith litigation", reason="Claim 2026/77", owner="rita", actor="rita"
    )
    assert add_scope(records, hold, kind="item", doc_id=bed.doc_id(OTHER), actor="rita") == 1
    assert (
        add_scope(
            records, hold, kind="folder", source=bed.source, folder="Cases/Smith", actor="rita"
        )
        == 2
    )
    joined = add_scope(records, hold, kind="query", query="q=riverside+wharf", actor="rita")
    members = _members(bed, hold)
    assert set(members) == {OTHER, LETTER, NOTES, WHARF, BROKEN}
    assert joined == 2
    # The unreadable scan matched by name only: held, conservatively.
    assert members[BROKEN].conservative and not members[WHARF].conservative
    assert bed.doc(bed.doc_id(LETTER))["hold_ids"] == [str(hold)]
    assert bed.doc(bed.doc_id(UNRELATED))["held"] is False

    # Content indexed later joins the folder and query holds at the end of the crawl.
    bed.write("Cases/Smith/reply.txt", b"Reply from Mrs Smith.\n")
    bed.write("Planning/Wharf/minutes.txt", b"Minutes: riverside wharf land sale agreed.\n")
    bed.crawl()
    members = _members(bed, hold)
    assert {"Cases/Smith/reply.txt", "Planning/Wharf/minutes.txt"} <= set(members)
    assert bed.doc(bed.doc_id("Planning/Wharf/minutes.txt"))["held"] is True
    with bed.runtime.sessions() as session:
        actions = [e.action for e in session.execute(select(AuditEvent)).scalars()]
        assert actions.count("hold_add") == 3 and "hold_join" in actions
        assert verify_chain(session).ok


def test_bad_scopes_are_refused_with_a_reason(bed: RecordsBed) -> None:
    records = bed.records
    hold = create_hold(records, name="H", reason="r", owner="rita", actor="rita")
    with pytest.raises(HoldError, match="not in the index"):
        add_scope(records, hold, kind="item", doc_id="0" * 40, actor="rita")
    with pytest.raises(HoldError, match="cannot be used"):
        add_scope(records, hold, kind="query", query="q=%22unclosed", actor="rita")
    with pytest.raises(HoldError, match="would hold everything"):
        add_scope(records, hold, kind="query", query="q=", actor="rita")
    with pytest.raises(HoldError, match="already exists"):
        create_hold(records, name="H", reason="r", owner="rita", actor="rita")


def test_held_file_edited_and_deleted_at_source_stays_retrievable(bed: RecordsBed) -> None:
    records = bed.records
    original_letter = (bed.workspace.disk(LETTER)).read_bytes()
    original_notes = (bed.workspace.disk(NOTES)).read_bytes()
    hold = create_hold(records, name="Smith", reason="SAR", owner="rita", actor="rita")
    add_scope(records, hold, kind="folder", source=bed.source, folder="Cases/Smith", actor="rita")
    report = run_pending(records)
    assert (report.preserved, report.failed) == (2, 0)
    for data in (original_letter, original_notes):
        sha = hashlib.sha256(data).hexdigest()
        with records.store.open(sha) as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == sha

    bed.write(LETTER, b"Dear Mrs Smith, EDITED after the hold was placed.\n")
    bed.workspace.remove(NOTES)
    bed.crawl()

    letter_id = bed.doc_id(LETTER)
    with bed.runtime.sessions() as session:
        changes = {c.change: c for c in session.execute(select(SourceChange)).scalars()}
        assert set(changes) == {"changed", "deleted"}
        assert changes["changed"].preserved and changes["deleted"].preserved
        version_id = changes["changed"].version_doc_id
        # The new content of a held file is held and preserved too.
        tasks = (
            session.execute(select(PreservationTask).where(PreservationTask.root_id == letter_id))
            .scalars()
            .all()
        )
        assert {t.status for t in tasks} == {"preserved"} and len(tasks) == 2
        assert holds_by_root(session, [version_id, letter_id]) == {
            version_id: [hold],
            letter_id: [hold],
        }
    version = bed.doc(version_id)
    assert version["version_of"] == letter_id and version["held"] is True
    assert "Dear Mrs Smith, about your housing repair." in version["content"]
    assert version["sha256"] == hashlib.sha256(original_letter).hexdigest()
    assert "EDITED" in bed.doc(letter_id)["content"]
    deleted = bed.doc(bed.doc_id(NOTES))
    assert deleted["deleted"] is True and deleted["held"] is True
    with records.store.open(deleted["sha256"]) as stored:
        assert stored.read() == original_notes


def test_release_needs_a_reason_and_a_second_person(bed: RecordsBed) -> None:
    records = bed.records
    hold = create_hold(records, name="Jones", reason="FOI-2026-0001", owner="rita", actor="rita")
    add_scope(records, hold, kind="item", doc_id=bed.doc_id(OTHER), actor="rita")
    with pytest.raises(HoldError, match="reason"):
        request_release(records, hold, actor="rita", reason="  ")
    with pytest.raises(ReleaseRefused, match="nobody has asked"):
        approve_release(records, hold, approver="rob")
    request_release(records, hold, actor="rita", reason="Request closed, no appeal")
    with pytest.raises(ReleaseRefused, match="someone other than"):
        approve_release(records, hold, approver="rita")
    assert bed.doc(bed.doc_id(OTHER))["held"] is True
    approve_release(records, hold, approver="rob")
    with bed.runtime.sessions() as session:
        row = session.get_one(Hold, hold)
        assert (row.status, row.released_by, row.release_requested_by) == (
            "released",
            "rob",
            "rita",
        )
        assert holds_by_root(session, [bed.doc_id(OTHER)]) == {}
        denied = session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "hold_release_approve", AuditEvent.outcome == "denied"
            )
        ).scalar_one()
        assert denied.actor == "rita"
    assert bed.doc(bed.doc_id(OTHER))["held"] is False
    with pytest.raises(HoldError, match="released"):
        add_scope(records, hold, kind="item", doc_id=bed.doc_id(LETTER), actor="rita")


def test_a_file_in_two_holds_stays_held_until_both_are_released(bed: RecordsBed) -> None:
    records = bed.records
    first = create_hold(records, name="A", reason="a", owner="rita", actor="rita")
    second = create_hold(records, name="B", reason="b", owner="rita", actor="rita")
    for hold in (first, second):
        add_scope(records, hold, kind="item", doc_id=bed.doc_id(LETTER), actor="rita")
    request_release(records, first, actor="rita", reason="done")
    approve_release(records, first, approver="rob")
    assert bed.doc(bed.doc_id(LETTER))["hold_ids"] == [str(second)]
    request_release(records, second, actor="rob", reason="done")
    approve_release(records, second, approver="rita")
    assert bed.doc(bed.doc_id(LETTER))["held"] is False


def _sign_in(client: FlaskClient, username: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(True))
    assert token
    response = client.post(
        "/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 302


def test_document_pages_show_holds_and_download_held_originals(bed: RecordsBed) -> None:
    records = bed.records
    original_letter = bed.workspace.disk(LETTER).read_bytes()
    original_notes = bed.workspace.disk(NOTES).read_bytes()
    hold = create_hold(
        records,
        name="Smith claim",
        reason="SAR",
        owner="rita",
        actor="rita",
        case_ref="SAR-2026-0007",
    )
    add_scope(records, hold, kind="folder", source=bed.source, folder="Cases/Smith", actor="rita")
    run_pending(records)
    bed.write(LETTER, b"Rewritten letter\n")
    bed.workspace.remove(NOTES)
    bed.crawl()
    with bed.runtime.sessions() as session:
        version_id = session.execute(
            select(SourceChange.version_doc_id).where(SourceChange.change == "changed")
        ).scalar_one()

    app = create_app(bed.settings)
    client = app.test_client()
    _sign_in(client, "olive")
    page = client.get(f"/documents/{bed.doc_id(LETTER)}").get_data(as_text=True)
    assert "Smith claim" in page and "SAR-2026-0007" in page and "held version" in page
    version_page = client.get(f"/documents/{version_id}").get_data(as_text=True)
    assert "This is a <strong>held version</strong>" in version_page

    # The held version downloads from the preservation store, byte for byte the original.
    held = client.get(f"/documents/{version_id}/download")
    assert held.status_code == 200
    assert (
        hashlib.sha256(held.get_data()).hexdigest() == hashlib.sha256(original_letter).hexdigest()
    )
    assert client.get(f"/documents/{bed.doc_id(LETTER)}/download").get_data() == (
        b"Rewritten letter\n"
    )
    gone = client.get(f"/documents/{bed.doc_id(NOTES)}/download")
    assert gone.status_code == 200 and gone.get_data() == original_notes
    # Held files deleted at source are still found by search, marked as held.
    results = client.get("/", query_string={"q": "damp kitchen"}).get_data(as_text=True)
    assert "site visit" in results and "On hold" in results and "Deleted at source" in results

    api_token = _token(bed, "olive")
    body = client.get(
        f"/api/v1/documents/{bed.doc_id(NOTES)}", headers={"Authorization": f"Bearer {api_token}"}
    ).get_json()
    assert body["held"] is True and body["hold_ids"] == [str(hold)]
    state = body["records_management"]
    assert state["holds"][0]["case"] == "SAR-2026-0007"
    assert state["source_changes"][0]["change"] == "deleted"
    with bed.runtime.sessions() as session:
        downloads = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "download"))
            .scalars()
            .all()
        )
        assert [d.details["origin"] for d in downloads] == [
            "preservation store",
            "share",
            "preservation store",
        ]


def _token(bed: RecordsBed, username: str) -> str:
    with transaction(bed.runtime.sessions) as session:
        return create_token(session, username, "test")
