"""Disposal: batches of files whose retention has run out, reviewed, approved and executed.

Invariants:
- a held file, a file collected for an open request, and a file whose class is not signed
  off for destruction in the schedule in force are never destroyed: each is checked when the
  batch is built, at every approval and again for each file at execution, under
  `lock_records`, so a hold committed at any moment before the deletion wins
  (`retention.disposal_checks`). Every refusal is audited;
- a file is proposed only if classifying it afresh under the schedule in force, from the
  share's own timestamps, makes it due today (a stale index never decides);
- what is deleted is exactly what was approved: immediately before deleting, through the
  handle that deletes it, the file id, size, last-write time and the SHA-256 of its bytes are
  checked against the item (`retention.verified_delete`); any difference skips the file with
  the reason, audited;
- who decides follows `retention.disposal_checks.people_refusal`: by default two different
  records managers approve, neither of them the builder, and the executor did not build the
  batch; one person alone only under FOI_DISPOSAL_APPROVALS=1 (`Records.approvals_needed`),
  and the certificate then says so;
- what is destroyed leaves a stub in the index (metadata plus when, under which class and
  authority, how) and is listed on a destruction certificate (PDF and CSV) kept with the batch,
  whose counts are the ones `execute` reports;
- a batch is executed once, file by file, each file at most once; a cancel is honoured between
  files, and an interrupted execution is resumed by executing again (`retention.execution`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core import audit
from foi_core.db import transaction
from foi_core.models import BatchStatus, DisposalBatch, DisposalItem, FileState
from indexer.search.disposal import disposal_candidates
from retention.batch_certificate import METHOD, counts, write_certificate
from retention.classify import CLASSIFY_FIELDS, closed_cases, current_schedule, indexed_files
from retention.context import Records, lock_records
from retention.destruction import GONE_AFTER_CLAIM, on_share, record_outcome
from retention.disposal_checks import (
    EXECUTING,
    AnotherPersonNeeded,
    DisposalError,
    approvals_needed,
    batch_for_step,
    open_requests_by_root,
    people_refusal,
    refuse,
)
from retention.execution import DESTROYING, ExecutionReport, batch_items, execute
from retention.holds import holds_by_root
from retention.schedule import Schedule

__all__ = [
    "METHOD",
    "AnotherPersonNeeded",
    "DisposalError",
    "ExecutionReport",
    "approve",
    "build_batch",
    "cancel",
    "exclude",
    "execute",
]

_CANDIDATE_FIELDS = [*CLASSIFY_FIELDS, "unc", "size", "sha256"]
FINAL_OUTCOMES = ("destroyed", "skipped", "failed")


def _open_batches(session: Session) -> set[str]:
    return set(
        session.execute(
            select(DisposalItem.doc_id)
            .join(DisposalBatch, DisposalBatch.id == DisposalItem.batch_id)
            .where(DisposalBatch.status.in_((BatchStatus.PENDING, BatchStatus.APPROVED, EXECUTING)))
        ).scalars()
    )


def build_batch(records: Records, *, actor: str, today: date, ip: str = "") -> int | None:
    """A batch of every eligible file not already in an open batch; None when there is none.

    Eligible: in a signed-off `destroy` class of the schedule in force and due today when
    classified afresh here (from the share's timestamps), not held, not collected for an open
    request, still on the share as crawled, and with its content hashed (what cannot be
    checked before deletion is never proposed)."""
    with records.sessions() as session:
        schedule = current_schedule(session)
    if schedule is None:
        raise DisposalError("no retention schedule is loaded (foi retention schedule load FILE)")
    records.es.indices.refresh(index=records.names.write_alias)
    candidates = list(
        disposal_candidates(
            records.es,
            records.names.read_alias,
            today,
            schedule.disposable_classes,
            _CANDIDATE_FIELDS,
        )
    )
    with transaction(records.sessions) as session:
        roots = [c["doc_id"] for c in candidates]
        kept_out = _open_batches(session) | set(holds_by_root(session, roots))
        kept_out |= set(open_requests_by_root(session, roots))
        closed = closed_cases(session, roots)
        items: list[DisposalItem] = []
        for doc in candidates:
            if doc["doc_id"] in kept_out:
                continue
            item = _item(session, schedule, doc, closed.get(doc["doc_id"]), today)
            if item is not None:
                items.append(item)
        if not items:
            return None
        batch = DisposalBatch(
            schedule_version=schedule.version[:64],
            schedule_sha256=schedule.sha256,
            created_by=actor,
            approvals_needed=records.approvals_needed,
            counts={"items": len(items), "bytes": sum(i.size for i in items)},
        )
        session.add(batch)
        session.flush()
        for item in items:
            item.batch_id = batch.id
            session.add(item)
        audit.record(
            session,
            actor=actor,
            action="disposal_batch_create",
            target=f"batch:{batch.id}",
            ip=ip,
            details={"items": len(items), "bytes": batch.counts["bytes"]},
        )
        return batch.id


def _item(
    session: Session, schedule: Schedule, doc: dict[str, Any], closed: date | None, today: date
) -> DisposalItem | None:
    found = schedule.classify(doc, case_closed=closed)
    if (
        found is None
        or not found.disposable
        or found.disposal_date is None
        or found.disposal_date > today
    ):
        return None  # the index is behind the schedule or the share; re-classification catches up
    state = session.execute(
        select(FileState).where(
            FileState.source_name == doc["source"], FileState.path == doc["path"]
        )
    ).scalar_one_or_none()
    if state is None or state.deleted or not state.sha256 or state.sha256 != doc.get("sha256"):
        return None
    embedded = doc.get("modified")
    return DisposalItem(
        doc_id=doc["doc_id"],
        source_name=doc["source"],
        path=doc["path"],
        unc=doc.get("unc", ""),
        size=state.size,
        mtime_ns=state.mtime_ns,
        file_id=state.file_id,
        sha256=state.sha256,
        modified=_from_ns(state.mtime_ns),
        embedded_modified=(
            _datetime(embedded) if embedded and embedded != doc.get("share_modified") else None
        ),
        class_id=found.class_id,
        class_name=found.class_name,
        authority=found.authority,
        rule=found.rule,
        trigger_date=found.trigger_date,
        disposal_date=found.disposal_date,
    )


def _from_ns(ns: int) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9, UTC) if ns > 0 else None


def _datetime(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def exclude(
    records: Records,
    batch_id: int,
    doc_ids: Sequence[str],
    *,
    actor: str,
    reason: str,
    ip: str = "",
) -> int:
    """Take items out of a batch under review (they stay where they are)."""
    reason = reason.strip()
    if not reason:
        raise DisposalError("say why the items are excluded")
    with transaction(records.sessions) as session:
        batch = batch_for_step(session, batch_id, BatchStatus.PENDING)
        items = (
            session.execute(
                select(DisposalItem).where(
                    DisposalItem.batch_id == batch.id,
                    DisposalItem.doc_id.in_(list(doc_ids)),
                    DisposalItem.excluded.is_(False),
                )
            )
            .scalars()
            .all()
        )
        for item in items:
            item.excluded, item.excluded_by, item.exclude_reason = True, actor, reason[:2000]
        audit.record(
            session,
            actor=actor,
            action="disposal_exclude",
            target=f"batch:{batch.id}",
            ip=ip,
            details={"documents": [i.doc_id for i in items], "reason": reason},
        )
        return len(items)


def approve(records: Records, batch_id: int, *, actor: str, ip: str = "") -> str:
    """Record one approval; returns the batch's status afterwards."""
    with transaction(records.sessions) as session:
        lock_records(session)
        batch = batch_for_step(session, batch_id, BatchStatus.PENDING)
        needed = approvals_needed(batch, records.approvals_needed)
        if why := people_refusal(session, batch, actor, "approve", needed):
            raise AnotherPersonNeeded(why)
        batch.approvals_needed = needed
        items = (
            session.execute(
                select(DisposalItem).where(
                    DisposalItem.batch_id == batch.id, DisposalItem.excluded.is_(False)
                )
            )
            .scalars()
            .all()
        )
        refuse(
            session,
            batch,
            items,
            current_schedule(session),
            actor=actor,
            stage="approval",
            docs=indexed_files(records, [item.doc_id for item in items]),
            today=date.today(),
        )
        batch.approved_by = [*batch.approved_by, actor]
        if len(batch.approved_by) >= batch.approvals_needed:
            batch.status = BatchStatus.APPROVED
            batch.approved_at = datetime.now(UTC)
        audit.record(
            session,
            actor=actor,
            action="disposal_approve",
            target=f"batch:{batch.id}",
            ip=ip,
            details={"approvals": batch.approved_by, "status": batch.status},
        )
        return batch.status


def cancel(records: Records, batch_id: int, *, actor: str, reason: str, ip: str = "") -> int:
    """Cancel a batch under review, approved, or being executed; returns how many of its files
    had been destroyed (none unless it was being executed).

    Cancelling an execution takes the records lock, so it lands between two files: the files
    not yet destroyed are recorded as not destroyed because of the cancel (one an execution had
    claimed is looked for on the share first), and the certificate is written."""
    with transaction(records.sessions) as session:
        lock_records(session)
        batch = batch_for_step(
            session, batch_id, BatchStatus.PENDING, BatchStatus.APPROVED, EXECUTING
        )
        executing = batch.status == EXECUTING
        batch.status, batch.note = BatchStatus.CANCELLED, reason.strip()[:2000]
        details: dict[str, Any] = {"reason": batch.note, "during_execution": executing}
        items = batch_items(session, batch.id) if executing else []
        if executing:
            for item in items:
                if not item.excluded and item.outcome not in FINAL_OUTCOMES:
                    _settle_cancelled(records, session, batch, item, actor)
            details |= counts(items)
            batch.executed_at = datetime.now(UTC)
            batch.counts = {**batch.counts, **counts(items)}
        audit.record(
            session,
            actor=actor,
            action="disposal_cancel",
            target=f"batch:{batch.id}",
            ip=ip,
            details=details,
        )
        if executing:
            write_certificate(session, batch, items, records.organisation)
        return int(details.get("destroyed", 0))


def _settle_cancelled(
    records: Records, session: Session, batch: DisposalBatch, item: DisposalItem, actor: str
) -> None:
    """Record a file of a batch cancelled during its execution that was not yet settled."""
    # A file an execution claimed either has not been deleted yet (and, under the lock this
    # cancel holds, never will be) or was deleted by an execution that stopped: the share
    # says which.
    found = on_share(records, item) if item.outcome == DESTROYING else True
    if found is False:
        record_outcome(records, session, batch, item, actor, "destroyed", GONE_AFTER_CLAIM)
    elif found is None:
        unknown = (
            "its execution was interrupted while destroying it and the share could not be "
            f"checked: see whether it is still at {item.unc}"
        )
        record_outcome(records, session, batch, item, actor, "failed", unknown)
    else:
        item.outcome, item.done_at = "skipped", datetime.now(UTC)
        item.outcome_reason = (
            f"not destroyed: batch {batch.id} was cancelled by {actor} during its execution"
        )
