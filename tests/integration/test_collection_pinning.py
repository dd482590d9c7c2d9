"""Collecting files the crawl could not hash (too large to read, access denied), on the real
stack: such a file is pinned at collection by hashing what the share holds then, with a
preservation copy of exactly that owed; one that cannot be read then is collected unpinned,
and a bundle gives an error row for it, never whatever bytes the share holds at export."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cases.collection import collect
from cases.export_jobs import export_case
from devstack.stack import LocalStack
from foi_core.models import AuditEvent, CaseDocument, PreservationStatus, PreservationTask
from foi_core.settings import Settings
from retention.preservation import run_pending
from tests.fixtures import ShareWorkspace
from tests.integration.test_bundle_integrity import (
    _bundle,
    _csv,
    _manifest,
    _new_case,
    _settings,
    _sha,
)
from tests.records import RecordsBed

MAX_FILE_BYTES = 256
LEDGER = "Finance/ledger.csv"
NOTE = "Finance/note.txt"
DENIED = "Finance/locked.csv"
COLLECTED = b"supplier,amount\n" + b"".join(
    f"Acme Bus Shelters Ltd,{100 + n}.00\n".encode() for n in range(20)
)
EDITED = COLLECTED.replace(b"Acme", b"Edited after collection")
NOTE_BYTES = b"A note small enough to be read and hashed by the crawl.\n"
LOCKED = b"supplier,amount\nLocked Ltd,1.00\n"


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "pinning")
    small = dataclasses.replace(settings, max_file_bytes=MAX_FILE_BYTES)
    bed = RecordsBed.build(stack, workspace, small, tmp_path, index_prefix)
    bed.write(LEDGER, COLLECTED)
    bed.write(NOTE, NOTE_BYTES)
    bed.write(DENIED, LOCKED)
    workspace.disk(DENIED).chmod(0o000)  # the service account is refused by the share
    bed.crawl()
    yield bed
    workspace.disk(DENIED).chmod(0o644)
    workspace.cleanup()


def _rows(bed: RecordsBed, case_id: int) -> dict[str, CaseDocument]:
    with bed.runtime.sessions() as session:
        found = session.execute(select(CaseDocument).where(CaseDocument.case_id == case_id))
        return {row.doc_id: row for row in found.scalars()}


def _collect_entry(bed: RecordsBed) -> AuditEvent:
    with bed.runtime.sessions() as session:
        return session.execute(
            select(AuditEvent).where(AuditEvent.action == "case_collect")
        ).scalar_one()


def test_the_crawl_could_not_hash_these_files(bed: RecordsBed) -> None:
    assert len(COLLECTED) > MAX_FILE_BYTES >= len(NOTE_BYTES)
    ledger, denied = bed.doc(bed.doc_id(LEDGER)), bed.doc(bed.doc_id(DENIED))
    assert (ledger["status"], ledger["sha256"]) == ("too_large", "")
    assert (denied["status"], denied["sha256"]) == ("access_denied", "")
    assert bed.doc(bed.doc_id(NOTE))["sha256"] == _sha(NOTE_BYTES)


def test_a_too_large_file_is_pinned_at_collection_and_disclosed_as_collected(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    case = _new_case(bed)
    ledger, note = bed.doc_id(LEDGER), bed.doc_id(NOTE)
    assert collect(records, case.id, [ledger, note], actor="olive") == 2

    rows = _rows(bed, case.id)
    written = dt.datetime.fromtimestamp(bed.workspace.disk(LEDGER).stat().st_mtime, dt.UTC)
    assert rows[ledger].sha256 == _sha(COLLECTED)
    recorded = rows[ledger].share_modified
    assert recorded is not None
    pinned_at = recorded.replace(tzinfo=dt.UTC)
    assert pinned_at == written.replace(microsecond=0)
    assert rows[note].sha256 == _sha(NOTE_BYTES)
    entry = _collect_entry(bed)
    # Only the file the crawl could not hash was read at collection.
    assert entry.details["hashed_at_collection"] == [ledger]
    assert entry.details["not_pinned"] == {}
    with bed.runtime.sessions() as session:
        owed = session.execute(
            select(PreservationTask).where(
                PreservationTask.root_id == ledger, PreservationTask.sha256 == _sha(COLLECTED)
            )
        ).scalar_one()
    assert owed.status == PreservationStatus.PENDING and owed.size == len(COLLECTED)
    run_pending(records)
    assert records.store.has(_sha(COLLECTED))

    bed.write(LEDGER, EDITED)
    export = export_case(records, _settings(tmp_path), case.id, actor="olive")
    with _bundle(export) as bundle:
        row = _manifest(bundle)[ledger]
        disclosed = bundle.read(row["archive_path"])
        errors = _csv(bundle.read("errors.csv"))
    assert disclosed == COLLECTED
    assert row["sha256"] == row["collected_sha256"] == _sha(COLLECTED)
    assert row["origin"] == "preservation store"
    assert row["source_state"] == "changed at source since collection"
    assert row["share_sha256"] == _sha(EDITED)
    assert row["hash_matches"] == "True" and row["error"] == ""
    assert dt.datetime.fromisoformat(row["share_modified"]) == pinned_at
    assert [(e["doc_id"], e["included"]) for e in errors] == [(ledger, "yes")]
    assert export.counts["included"] == 2 and export.counts["failed"] == 0


def test_a_too_large_file_changed_before_its_copy_is_an_error_not_the_edited_bytes(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    case = _new_case(bed)
    ledger = bed.doc_id(LEDGER)
    collect(records, case.id, [ledger], actor="olive")
    bed.write(LEDGER, EDITED)  # before any preservation copy was made

    export = export_case(records, _settings(tmp_path), case.id, actor="olive")
    with _bundle(export) as bundle:
        documents = [n for n in bundle.namelist() if n.startswith("documents/")]
        row = _manifest(bundle)[ledger]
    assert documents == []
    assert export.counts["included"] == 0 and export.counts["failed"] == 1
    assert row["collected_sha256"] == _sha(COLLECTED) and row["sha256"] == ""
    assert "not in the preservation store" in row["error"]


def test_a_file_unreadable_at_collection_is_never_disclosed(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    case = _new_case(bed)
    denied, note = bed.doc_id(DENIED), bed.doc_id(NOTE)
    assert collect(records, case.id, [denied, note], actor="olive") == 2

    rows = _rows(bed, case.id)
    assert (rows[denied].sha256, rows[denied].share_modified) == ("", None)
    entry = _collect_entry(bed)
    assert entry.details["hashed_at_collection"] == []
    assert "access denied" in entry.details["not_pinned"][denied]

    # Readable by the time of export: still not disclosed, as which version was collected is
    # not known.
    bed.workspace.disk(DENIED).chmod(0o644)
    export = export_case(records, _settings(tmp_path), case.id, actor="olive")
    with _bundle(export) as bundle:
        manifest = _manifest(bundle)
        documents = [n for n in bundle.namelist() if n.startswith("documents/")]
        errors = _csv(bundle.read("errors.csv"))
    row = manifest[denied]
    assert len(documents) == 1 and manifest[note]["origin"] == "share"
    assert row["origin"] == "" and row["sha256"] == "" and row["archive_path"] == ""
    assert row["error"].startswith("not pinned at collection: access denied to ")
    assert [(e["doc_id"], e["included"]) for e in errors] == [(denied, "no")]
    assert export.counts["included"] == 1 and export.counts["failed"] == 1
    with bed.runtime.sessions() as session:
        exported = session.execute(
            select(AuditEvent).where(AuditEvent.action == "case_export")
        ).scalar_one()
    assert exported.outcome == "failed"
