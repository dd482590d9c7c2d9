"""A held file renamed or moved at source keeps its identity (the SMB file id) on the real
stack: its holds, hold membership, preservation, case collections and old links follow it to
the new path, also when it was changed on the way, and for what is embedded in it."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from cases.collection import collect
from cases.export import ExportSettings
from cases.export_jobs import export_case
from cases.service import create_case
from devstack.stack import LocalStack
from foi_core.models import CaseDocument, HeldDocument, PreservationTask, SourceChange
from foi_core.settings import Settings
from retention.classify import report, save_schedule
from retention.holds import add_scope, create_hold, holds_by_root
from retention.preservation import run_pending
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.integration.test_holds import _sign_in
from tests.records import RecordsBed

LETTER = "Cases/Smith/letter to Mrs Smith.txt"
NOTES = "Cases/Smith/Notes/site visit.txt"
OTHER = "Cases/Jones/letter.txt"
PACK = "Cases/Smith/evidence pack.zip"
OLD = datetime(2010, 1, 1, tzinfo=UTC)
# Everything is long past its disposal date: only a hold keeps a file out of "eligible".
SCHEDULE = """
version: "moves-1"
classes:
  - id: ALL
    name: Everything
    authority: "Move test"
    match: {paths: ["**"]}
    retention: 1 year
    trigger: last_modified
    action: destroy
    sign_off: signed_off
"""


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "moves")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    bed.write(LETTER, b"Dear Mrs Smith, about your housing repair.\n", modified=OLD)
    bed.write(NOTES, b"Site visit: damp in the kitchen.\n", modified=OLD)
    bed.write(OTHER, b"Dear Mr Jones, about your parking permit.\n", modified=OLD)
    bed.write(PACK, _zip({"inner/photo log.txt": b"Photo log: mould behind the boiler.\n"}))
    bed.crawl()
    yield bed
    workspace.cleanup()


def _client(bed: RecordsBed) -> FlaskClient:
    client = create_app(bed.settings).test_client()
    _sign_in(client, "olive")
    return client


def _members(bed: RecordsBed, hold_id: int) -> dict[str, HeldDocument]:
    with bed.runtime.sessions() as session:
        rows = session.execute(
            select(HeldDocument).where(HeldDocument.hold_id == hold_id)
        ).scalars()
        return {row.root_id: row for row in rows}


def _tasks(bed: RecordsBed, root_id: str) -> list[PreservationTask]:
    with bed.runtime.sessions() as session:
        return list(
            session.execute(
                select(PreservationTask).where(PreservationTask.root_id == root_id)
            ).scalars()
        )


def _case(bed: RecordsBed) -> int:
    case = create_case(
        bed.runtime.sessions,
        regime="FOIA",
        received=dt.date(2026, 1, 5),
        title="Smith repairs",
        request_text="Everything about the Smith housing repair.",
        requester_name="A. Journalist",
        actor="olive",
        prefix_spec="FOIA=FOI,EIR=EIR,SAR=SAR",
        target_days=20,
    )
    return case.id


def _redirects(client: FlaskClient, old_id: str, new_id: str) -> None:
    for suffix in ("", "/download"):
        response = client.get(f"/documents/{old_id}{suffix}")
        assert response.status_code == 302, (old_id, suffix, response.status_code)
        assert response.headers["Location"].endswith(f"/documents/{new_id}{suffix}")


def _assert_held_here(bed: RecordsBed, client: FlaskClient, path: str, hold_ids: set[int]) -> None:
    """Everything a records manager looks at says this file, at this path, is held and kept."""
    doc_id = bed.doc_id(path)
    doc = bed.doc(doc_id)
    assert doc["path"] == path and doc["held"] is True
    assert set(doc["hold_ids"]) == {str(h) for h in hold_ids}
    for hold_id in hold_ids:
        member = _members(bed, hold_id)[doc_id]
        assert (member.path, member.doc_id) == (path, doc_id)
    tasks = _tasks(bed, doc_id)
    assert tasks and {t.status for t in tasks} == {"preserved"}
    assert {t.path for t in tasks} == {path}
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "No hold covers this file" not in page
    assert "NOT preserved" not in page and "not preserved" not in page


def test_renamed_and_moved_held_files_keep_hold_preservation_cases_and_links(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    save_schedule(records, SCHEDULE, actor="rita")
    hold = create_hold(records, name="Smith claim", reason="Claim", owner="rita", actor="rita")
    for path in (LETTER, NOTES):
        add_scope(records, hold, kind="item", doc_id=bed.doc_id(path), actor="rita")
    case_id = _case(bed)
    collect(records, case_id, [bed.doc_id(LETTER)], actor="olive")
    assert run_pending(records).failed == 0
    with bed.runtime.sessions() as session:
        case_hold = holds_by_root(session, [bed.doc_id(LETTER)])[bed.doc_id(LETTER)]
    assert report(records, date.today()).eligible == 1  # OTHER only
    old_letter, old_notes = bed.doc_id(LETTER), bed.doc_id(NOTES)

    renamed = "Cases/Smith/letter to Mrs Smith (final).txt"
    moved = "Archive/2026/site visit.txt"
    bed.workspace.move(LETTER, renamed)
    bed.workspace.move(NOTES, moved)
    counts = bed.crawl()
    assert counts.renamed == 2 and counts.deleted == 0

    client = _client(bed)
    _assert_held_here(bed, client, renamed, set(case_hold))
    _assert_held_here(bed, client, moved, {hold})
    assert old_letter not in _members(bed, hold) and old_notes not in _members(bed, hold)
    assert _tasks(bed, old_letter) == [] and _tasks(bed, old_notes) == []
    assert report(records, date.today()).eligible == 1  # still OTHER only
    _redirects(client, old_letter, bed.doc_id(renamed))
    _redirects(client, old_notes, bed.doc_id(moved))
    results = client.get("/", query_string={"q": "damp kitchen"}).get_data(as_text=True)
    assert f"/documents/{bed.doc_id(moved)}" in results and old_notes not in results
    assert "On hold" in results and "Deleted at source" not in results
    with bed.runtime.sessions() as session:
        [row] = session.execute(
            select(CaseDocument).where(CaseDocument.case_id == case_id)
        ).scalars()
        assert (row.doc_id, row.root_id) == (bed.doc_id(renamed), bed.doc_id(renamed))
        changes = list(session.execute(select(SourceChange)).scalars())
        assert {c.change for c in changes} == {"moved"} and all(c.preserved for c in changes)

    export = export_case(
        records, ExportSettings(tmp_path / "exports", 30, 2 * 1024**3), case_id, actor="olive"
    )
    assert export.counts["included"] == 1 and export.counts["mismatched"] == 0


def test_moving_into_and_out_of_a_held_folder(bed: RecordsBed) -> None:
    records = bed.records
    hold = create_hold(records, name="Smith folder", reason="SAR", owner="rita", actor="rita")
    add_scope(records, hold, kind="folder", source=bed.source, folder="Cases/Smith", actor="rita")
    assert run_pending(records).failed == 0
    old_letter, old_other = bed.doc_id(LETTER), bed.doc_id(OTHER)
    assert bed.doc(old_other)["held"] is False

    into, out = "Cases/Smith/from Jones.txt", "Closed/letter to Mrs Smith.txt"
    bed.workspace.move(OTHER, into)
    bed.workspace.move(LETTER, out)
    bed.crawl()
    assert run_pending(records).failed == 0

    client = _client(bed)
    # Moved out of the folder: the hold froze it, and it stays held where it went.
    _assert_held_here(bed, client, out, {hold})
    # Moved in: it joins the folder's hold.
    _assert_held_here(bed, client, into, {hold})
    members = _members(bed, hold)
    assert old_letter not in members and old_other not in members
    _redirects(client, old_letter, bed.doc_id(out))
    _redirects(client, old_other, bed.doc_id(into))


def test_a_held_file_moved_and_changed_keeps_its_held_version(bed: RecordsBed) -> None:
    records = bed.records
    original = bed.workspace.disk(LETTER).read_bytes()
    hold = create_hold(records, name="Smith", reason="SAR", owner="rita", actor="rita")
    add_scope(records, hold, kind="item", doc_id=bed.doc_id(LETTER), actor="rita")
    assert run_pending(records).failed == 0
    old_id = bed.doc_id(LETTER)
    inode = bed.workspace.disk(LETTER).stat().st_ino

    moved = "Archive/letter to Mrs Smith.txt"
    bed.workspace.move(LETTER, moved)
    bed.workspace.write(moved, b"Dear Mrs Smith, EDITED after it was moved.\n")
    assert bed.workspace.disk(moved).stat().st_ino == inode  # the same file
    bed.crawl()

    new_id = bed.doc_id(moved)
    current = bed.doc(new_id)
    assert "EDITED" in current["content"] and current["held"] is True
    with bed.runtime.sessions() as session:
        changed = session.execute(
            select(SourceChange).where(SourceChange.change == "changed")
        ).scalar_one()
        assert changed.root_id == new_id and changed.preserved
        assert holds_by_root(session, [new_id, changed.version_doc_id]) == {
            new_id: [hold],
            changed.version_doc_id: [hold],
        }
        assert holds_by_root(session, [old_id]) == {}
    version = bed.doc(changed.version_doc_id)
    assert version["version_of"] == new_id and version["held"] is True
    assert "about your housing repair" in version["content"]
    assert version["sha256"] == hashlib.sha256(original).hexdigest()
    with records.store.open(version["sha256"]) as stored:
        assert stored.read() == original
    # The new content is owed and preserved too, under the file's new id.
    assert {t.sha256 for t in _tasks(bed, new_id) if t.status == "preserved"} == {
        hashlib.sha256(original).hexdigest(),
        current["sha256"],
    }
    client = _client(bed)
    _redirects(client, old_id, new_id)
    page = client.get(f"/documents/{new_id}").get_data(as_text=True)
    assert "held version" in page and "NOT preserved" not in page


def test_old_links_follow_several_moves_for_embedded_documents_too(bed: RecordsBed) -> None:
    records = bed.records
    [child] = [
        hit["_source"]
        for hit in records.es.search(
            index=records.names.read_alias,
            query={"term": {"root_id": bed.doc_id(PACK)}},
            size=10,
        )["hits"]["hits"]
        if hit["_source"]["kind"] == "embedded"
    ]
    case_id = _case(bed)
    collect(records, case_id, [child["doc_id"]], actor="olive")
    first_root, first_child = bed.doc_id(PACK), child["doc_id"]

    bed.workspace.move(PACK, "Evidence/pack.zip")
    bed.crawl()
    second_root = bed.doc_id("Evidence/pack.zip")
    final = "Evidence/2026/pack (sent).zip"
    bed.workspace.move("Evidence/pack.zip", final)
    bed.crawl()

    final_root = bed.doc_id(final)
    [final_child] = [
        hit["_source"]
        for hit in records.es.search(
            index=records.names.read_alias, query={"term": {"root_id": final_root}}, size=10
        )["hits"]["hits"]
        if hit["_source"]["kind"] == "embedded"
    ]
    assert final_child["held"] is True and final_child["embedded_path"] == child["embedded_path"]
    client = _client(bed)
    for old in (first_root, second_root):
        _redirects(client, old, final_root)
    response = client.get(f"/documents/{first_child}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/documents/{final_child['doc_id']}")
    with bed.runtime.sessions() as session:
        [row] = session.execute(
            select(CaseDocument).where(CaseDocument.case_id == case_id)
        ).scalars()
        assert (row.doc_id, row.root_id) == (final_child["doc_id"], final_root)
        [member] = session.execute(select(HeldDocument)).scalars()
        assert (member.root_id, member.doc_id) == (final_root, final_child["doc_id"])
    # A document that never existed is still simply not found.
    assert client.get(f"/documents/{'0' * 40}").status_code == 404
