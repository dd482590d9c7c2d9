"""Records management's side of the crawl (implements `ingest.keeping.RecordKeeping`).

- Every document written carries its file's unreleased hold ids, and every file its record
  class, disposal date and reason under the schedule in force.
- Before a held file's documents are overwritten with different content, they are kept as a
  held version (`version_of` the file), its content already in the preservation store, with
  the ACL that content was indexed with (the crawl narrows it when the file's ACL changes, and
  never loosens it: `ingest.permissions`); the change is recorded and audited. A held file
  deleted or moved at source is recorded and audited the same way.
- Identity follows the SMB file id and creation time (`ingest.moves.moved_from`): a file
  moved or renamed at source takes everything keyed by its document ids (holds,
  preservation, changes at source, held versions, case collections) to its new ids, held or
  not. A new file given a deleted file's file id (an inode the file system reused) takes
  nothing: the deleted file is recorded deleted at source, its records stay with it.
- After each crawl the folder and query holds are re-applied, the current content of every
  held file of the source is owed a copy, and owed copies are made.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from foi_core import audit
from foi_core.db import transaction
from foi_core.models import (
    CaseDocument,
    FileState,
    HeldDocument,
    PreservationTask,
    SourceChange,
)
from indexer.annotations import copy_as_version, repoint_versions
from ingest.keeping import FileMove
from retention.classify import closed_cases, current_schedule, retention_fields
from retention.context import Records
from retention.holds import apply_scopes, holds_by_root
from retention.preservation import OwedCopy, enqueue, enqueue_many, run_pending
from retention.schedule import Schedule

log = logging.getLogger(__name__)
# How long a process trusts its copy of the schedule before looking for a newer one.
SCHEDULE_TTL_S = 60.0


@dataclass
class RecordKeeper:
    records: Records
    source: str
    _schedule: Schedule | None = field(default=None, init=False)
    _loaded_at: float = field(default=float("-inf"), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def schedule(self) -> Schedule | None:
        with self._lock:
            if time.monotonic() - self._loaded_at > SCHEDULE_TTL_S:
                with self.records.sessions() as session:
                    self._schedule = current_schedule(session)
                self._loaded_at = time.monotonic()
            return self._schedule

    def annotate(self, documents: list[dict[str, Any]]) -> None:
        roots = sorted({str(d.get("root_id") or d["doc_id"]) for d in documents})
        with self.records.sessions() as session:
            held = holds_by_root(session, roots)
            closed = closed_cases(session, roots)
        schedule = self.schedule()
        for doc in documents:
            ids = sorted({str(h) for h in held.get(doc.get("root_id") or doc["doc_id"], ())})
            doc["hold_ids"], doc["held"] = ids, bool(ids)
            if doc.get("kind") == "file":
                doc.update(retention_fields(schedule, doc, closed.get(doc["doc_id"])))

    def before_replace(self, root_id: str, old_sha256: str, new_sha256: str) -> None:
        with self.records.sessions() as session:
            hold_ids = holds_by_root(session, [root_id]).get(root_id, [])
        if not hold_ids:
            return
        now = datetime.now(UTC)
        kept = copy_as_version(
            self.records.es, self.records.names, root_id, old_sha256, now.isoformat(), hold_ids
        )
        preserved = bool(old_sha256) and self.records.store.has(old_sha256)
        with transaction(self.records.sessions) as session:
            member = session.execute(
                select(HeldDocument).where(HeldDocument.root_id == root_id).limit(1)
            ).scalar_one_or_none()
            path = member.path if member else ""
            if kept is not None:
                already = set(
                    session.execute(
                        select(HeldDocument.hold_id).where(HeldDocument.root_id == kept)
                    ).scalars()
                )
                for hold_id in set(hold_ids) - already:
                    session.add(
                        HeldDocument(
                            hold_id=hold_id,
                            root_id=kept,
                            doc_id=kept,
                            source_name=self.source,
                            path=path,
                            sha256=old_sha256,
                        )
                    )
                # The version's bytes are the held original: owe them under its own id too.
                enqueue(session, kept, self.source, path, old_sha256)
            if _already_recorded(session, root_id, old_sha256, new_sha256):
                # The same change, recorded by an earlier try of this file (a retry after a
                # transient failure replays the whole file): one record, one alert.
                return
            session.add(
                SourceChange(
                    root_id=root_id,
                    version_doc_id=kept or "",
                    source_name=self.source,
                    path=path,
                    change="changed",
                    old_sha256=old_sha256,
                    new_sha256=new_sha256,
                    preserved=preserved,
                )
            )
            audit.record(
                session,
                actor="crawler",
                action="held_changed_at_source",
                target=f"doc:{root_id}",
                outcome=audit.Outcome.OK if preserved else audit.Outcome.FAILED,
                details={
                    "path": path,
                    "holds": hold_ids,
                    "old_sha256": old_sha256,
                    "new_sha256": new_sha256,
                    "version": kept,
                    "original_preserved": preserved,
                },
            )
        if not preserved:
            log.error("held file %s changed at source before its original was preserved", path)

    def moved(self, move: FileMove) -> None:
        """Everything keyed by the file's old ids follows it to the new ones, in one
        transaction: hold membership (of released holds too: it is the same file's history),
        owed and made copies, changes found at source, case collections; then its held
        versions in the index. Called before the file's documents are written under the new
        ids, so they are written held. A held file's move is recorded and audited."""
        old, new = move.old_root_id, move.new_root_id
        with transaction(self.records.sessions) as session:
            hold_ids = holds_by_root(session, [old]).get(old, [])
            self._rekey_members(session, move)
            self._rekey_tasks(session, move)
            session.execute(
                update(SourceChange).where(SourceChange.root_id == old).values(root_id=new)
            )
            self._rekey_cases(session, move)
            if hold_ids:
                preserved = bool(move.sha256) and self.records.store.has(move.sha256)
                session.add(
                    SourceChange(
                        root_id=new,
                        source_name=self.source,
                        path=move.new_path,
                        change="moved",
                        old_sha256=move.sha256,
                        new_sha256=move.sha256,
                        preserved=preserved,
                    )
                )
                audit.record(
                    session,
                    actor="crawler",
                    action="held_moved_at_source",
                    target=f"doc:{new}",
                    details={
                        "from_doc": old,
                        "path": move.new_path,
                        "holds": hold_ids,
                        "original_preserved": preserved,
                    },
                )
        repoint_versions(self.records.es, self.records.names, old, new)

    @staticmethod
    def _rekey_members(session: Session, move: FileMove) -> None:
        rows = (
            session.execute(select(HeldDocument).where(HeldDocument.root_id == move.old_root_id))
            .scalars()
            .all()
        )
        taken = set(
            session.execute(
                select(HeldDocument.hold_id).where(HeldDocument.root_id == move.new_root_id)
            ).scalars()
        )
        for row in rows:
            # Membership rows are never deleted: where the new id is a member already (a
            # file once at the new path), the old row stays as history.
            if row.hold_id not in taken:
                row.root_id, row.path = move.new_root_id, move.new_path
                row.doc_id = move.ids.get(row.doc_id, row.doc_id)

    @staticmethod
    def _rekey_tasks(session: Session, move: FileMove) -> None:
        rows = (
            session.execute(
                select(PreservationTask).where(PreservationTask.root_id == move.old_root_id)
            )
            .scalars()
            .all()
        )
        owed = set(
            session.execute(
                select(PreservationTask.sha256).where(PreservationTask.root_id == move.new_root_id)
            ).scalars()
        )
        for row in rows:
            if row.sha256 not in owed:  # else that content is owed under the new id already
                row.root_id, row.path = move.new_root_id, move.new_path

    @staticmethod
    def _rekey_cases(session: Session, move: FileMove) -> None:
        rows = (
            session.execute(
                select(CaseDocument).where(
                    (CaseDocument.root_id == move.old_root_id)
                    | CaseDocument.doc_id.in_(list(move.ids))
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            doc_id = move.ids.get(row.doc_id, row.doc_id)
            twin = session.execute(
                select(CaseDocument.id).where(
                    CaseDocument.case_id == row.case_id, CaseDocument.doc_id == doc_id
                )
            ).scalar_one_or_none()
            if twin is not None and twin != row.id:
                # The case holds the document under its new id already: one entry is enough.
                row.removed, row.removed_by = True, "crawler"
                row.removed_reason = f"moved at source; collected again as {doc_id}"
                continue
            row.doc_id = doc_id
            if row.root_id == move.old_root_id:
                row.root_id = move.new_root_id

    def deleted_at_source(self, root_ids: Sequence[str]) -> None:
        with self.records.sessions() as session:
            held = holds_by_root(session, list(root_ids))
            facts = {
                m.root_id: m
                for m in session.execute(
                    select(HeldDocument).where(HeldDocument.root_id.in_(list(held)))
                ).scalars()
            }
        if not held:
            return
        with transaction(self.records.sessions) as session:
            for root, hold_ids in held.items():
                member = facts.get(root)
                sha = member.sha256 if member else ""
                preserved = bool(sha) and self.records.store.has(sha)
                session.add(
                    SourceChange(
                        root_id=root,
                        source_name=self.source,
                        path=member.path if member else "",
                        change="deleted",
                        old_sha256=sha,
                        preserved=preserved,
                    )
                )
                audit.record(
                    session,
                    actor="crawler",
                    action="held_deleted_at_source",
                    target=f"doc:{root}",
                    outcome=audit.Outcome.OK if preserved else audit.Outcome.FAILED,
                    details={
                        "path": member.path if member else "",
                        "holds": hold_ids,
                        "original_preserved": preserved,
                    },
                )

    def crawl_finished(self, source: str, run_id: int) -> None:
        apply_scopes(self.records, actor="crawler")
        self._owe_current_content(source)
        report = run_pending(self.records, source=source, actor="crawler")
        if report.failed:
            log.error("%d held files of %s could not be preserved", report.failed, source)

    def _owe_current_content(self, source: str) -> None:
        """A held file that changed is still held: its new content is owed a copy too."""
        with transaction(self.records.sessions) as session:
            members = (
                session.execute(
                    select(HeldDocument.root_id).where(HeldDocument.source_name == source)
                )
                .scalars()
                .all()
            )
            held = holds_by_root(session, list(set(members)))
            if not held:
                return
            states = session.execute(
                select(FileState).where(
                    FileState.source_name == source,
                    FileState.doc_id.in_(list(held)),
                    FileState.deleted.is_(False),
                )
            ).scalars()
            enqueue_many(
                session,
                [
                    OwedCopy(state.doc_id, source, state.path, state.sha256, state.size)
                    for state in states
                    if state.sha256
                ],
            )


def build_keeper(records: Records, source: str) -> RecordKeeper:
    return RecordKeeper(records, source)


def _already_recorded(session: Session, root_id: str, old_sha256: str, new_sha256: str) -> bool:
    """Whether the latest change recorded for this file is this very change."""
    latest = session.execute(
        select(SourceChange)
        .where(SourceChange.root_id == root_id)
        .order_by(SourceChange.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return (
        latest is not None
        and latest.change == "changed"
        and latest.old_sha256 == old_sha256
        and latest.new_sha256 == new_sha256
    )
