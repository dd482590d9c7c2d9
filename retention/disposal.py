"""Disposal: batches of files whose retention has run out, reviewed, approved and executed.

Invariants:
- a held file is never destroyed: holds are checked when the batch is built, at every
  approval and again for each file at execution, under `lock_records`, so a hold committed
  at any moment before the deletion wins. A refusal is audited as a possible s.77 event;
- a file that changed since the batch was built (size, modification time or file id) is
  skipped and reported, never destroyed on an approval given for other content;
- approvals come from different people (`Records.approvals_needed`), never the batch's
  builder alone when two are required;
- what is destroyed leaves a stub in the index (metadata plus when, under which class and
  authority, how) and is listed on a destruction certificate (PDF and CSV) kept with the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.shares import SourceUnavailable
from crawler.smb import FileVanished, SourceError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import BatchStatus, DisposalBatch, DisposalItem, FileState
from indexer.annotations import destroy
from indexer.scopes import disposal_candidates_query, scan
from retention.certificate import (
    CertificateInfo,
    DestroyedItem,
    SkippedItem,
    certificate_csv,
    certificate_pdf,
)
from retention.classify import current_schedule
from retention.context import Records, lock_records
from retention.holds import holds_by_root

log = logging.getLogger(__name__)
METHOD = "Deleted from the SMB share; content removed from the index; metadata stub kept"
_CANDIDATE_FIELDS = [
    "doc_id",
    "source",
    "path",
    "unc",
    "size",
    "sha256",
    "modified",
    "retention_class",
    "disposal_date",
]


class DisposalError(ValueError):
    """The disposal step cannot be done as asked; the message says why, for the user."""


@dataclass(frozen=True)
class ExecutionReport:
    batch_id: int
    destroyed: int
    skipped: int
    failed: int


def _open_batches(session: Session) -> set[str]:
    return set(
        session.execute(
            select(DisposalItem.doc_id)
            .join(DisposalBatch, DisposalBatch.id == DisposalItem.batch_id)
            .where(DisposalBatch.status.in_((BatchStatus.PENDING, BatchStatus.APPROVED)))
        ).scalars()
    )


def build_batch(records: Records, *, actor: str, today: date, ip: str = "") -> int | None:
    """A batch of every eligible file not already in an open batch; None when there is none."""
    with records.sessions() as session:
        schedule = current_schedule(session)
    if schedule is None:
        raise DisposalError("no retention schedule is loaded (foi retention schedule load FILE)")
    records.es.indices.refresh(index=records.names.write_alias)
    candidates = list(
        scan(
            records.es,
            records.names.read_alias,
            disposal_candidates_query(today),
            _CANDIDATE_FIELDS,
        )
    )
    with transaction(records.sessions) as session:
        taken = _open_batches(session)
        held = holds_by_root(session, [c["doc_id"] for c in candidates])
        items: list[DisposalItem] = []
        for doc in candidates:
            if doc["doc_id"] in taken or doc["doc_id"] in held:
                continue
            state = session.execute(
                select(FileState).where(
                    FileState.source_name == doc["source"], FileState.path == doc["path"]
                )
            ).scalar_one_or_none()
            if state is None or state.deleted:
                continue
            try:
                record_class = schedule.get(doc["retention_class"])
            except KeyError:
                continue  # classified under an older schedule; re-classification catches up
            items.append(
                DisposalItem(
                    doc_id=doc["doc_id"],
                    source_name=doc["source"],
                    path=doc["path"],
                    unc=doc.get("unc", ""),
                    size=int(doc.get("size") or 0),
                    mtime_ns=state.mtime_ns,
                    file_id=state.file_id,
                    sha256=doc.get("sha256") or "",
                    modified=_datetime(doc.get("modified")),
                    class_id=record_class.id,
                    class_name=record_class.name,
                    authority=record_class.authority,
                    disposal_date=date.fromisoformat(str(doc["disposal_date"])[:10]),
                )
            )
        if not items:
            return None
        batch = DisposalBatch(
            schedule_version=schedule.version[:64],
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


def _datetime(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _batch(session: Session, batch_id: int, *statuses: str) -> DisposalBatch:
    batch = session.get(DisposalBatch, batch_id)
    if batch is None:
        raise DisposalError(f"there is no disposal batch {batch_id}")
    if statuses and batch.status not in statuses:
        raise DisposalError(f"batch {batch_id} is {batch.status}, not {' or '.join(statuses)}")
    return batch


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
        batch = _batch(session, batch_id, BatchStatus.PENDING)
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


def _refuse_held(
    session: Session, batch: DisposalBatch, items: Sequence[DisposalItem], actor: str, stage: str
) -> list[DisposalItem]:
    """Exclude and audit every item a hold now covers; returns the rest."""
    held = holds_by_root(session, [i.doc_id for i in items])
    kept: list[DisposalItem] = []
    for item in items:
        if item.doc_id not in held:
            kept.append(item)
            continue
        why = f"held by hold {', '.join(map(str, held[item.doc_id]))} at {stage}"
        if stage == "execution":
            item.outcome, item.outcome_reason, item.done_at = "skipped", why, datetime.now(UTC)
        else:
            item.excluded, item.excluded_by, item.exclude_reason = True, "system", why
        audit.record(
            session,
            actor=actor,
            action="disposal_refused_held",
            target=f"doc:{item.doc_id}",
            outcome=audit.Outcome.DENIED,
            details={
                "batch": batch.id,
                "path": item.path,
                "holds": held[item.doc_id],
                "stage": stage,
                "note": "attempt to dispose of held information (FOIA s.77 risk) refused",
            },
        )
    return kept


def approve(records: Records, batch_id: int, *, actor: str, ip: str = "") -> str:
    """Record one approval; returns the batch's status afterwards."""
    with transaction(records.sessions) as session:
        lock_records(session)
        batch = _batch(session, batch_id, BatchStatus.PENDING)
        if actor in batch.approved_by:
            raise DisposalError("you have already approved this batch; another person must")
        items = (
            session.execute(
                select(DisposalItem).where(
                    DisposalItem.batch_id == batch.id, DisposalItem.excluded.is_(False)
                )
            )
            .scalars()
            .all()
        )
        _refuse_held(session, batch, items, actor, "approval")
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


def cancel(records: Records, batch_id: int, *, actor: str, reason: str, ip: str = "") -> None:
    with transaction(records.sessions) as session:
        batch = _batch(session, batch_id, BatchStatus.PENDING, BatchStatus.APPROVED)
        batch.status, batch.note = BatchStatus.CANCELLED, reason.strip()[:2000]
        audit.record(
            session,
            actor=actor,
            action="disposal_cancel",
            target=f"batch:{batch.id}",
            ip=ip,
            details={"reason": batch.note},
        )


def _destroy_one(records: Records, batch: DisposalBatch, item_id: int, actor: str) -> str:
    """Check and destroy one file under the records lock; returns the item's outcome."""
    with transaction(records.sessions) as session:
        lock_records(session)
        item = session.get_one(DisposalItem, item_id)
        if not _refuse_held(session, batch, [item], actor, "execution"):
            return item.outcome
        now = datetime.now(UTC)
        outcome, reason = "destroyed", ""
        try:
            share = records.shares(item.source_name)
            facts = share.stat(item.path)
            changes = [
                f"{name} {old} → {new}"
                for name, old, new in (
                    ("size", item.size, facts.size),
                    ("modified", item.mtime_ns, facts.mtime_ns),
                )
                if old != new
            ]
            if changes:
                outcome, reason = "skipped", "changed since approval (" + "; ".join(changes) + ")"
            else:
                share.remove(item.path)
        except FileVanished:
            outcome, reason = "skipped", "no longer on the share"
        except (SourceError, SourceUnavailable) as exc:
            outcome, reason = "failed", str(exc)
        if outcome == "destroyed":
            destroy(
                records.es,
                records.names,
                item.doc_id,
                {
                    "destroyed": now.isoformat(),
                    "destruction_class": item.class_id,
                    "destruction_authority": item.authority,
                    "destruction_method": METHOD,
                    "disposal_batch": batch.id,
                },
            )
            state = session.execute(
                select(FileState).where(
                    FileState.source_name == item.source_name, FileState.path == item.path
                )
            ).scalar_one_or_none()
            if state is not None:
                state.deleted = True
        item.outcome, item.outcome_reason, item.done_at = outcome, reason[:2000], now
        audit.record(
            session,
            actor=actor,
            action="disposal_destroy",
            target=f"doc:{item.doc_id}",
            outcome=audit.Outcome.OK if outcome == "destroyed" else audit.Outcome.FAILED,
            details={
                "batch": batch.id,
                "path": item.path,
                "class": item.class_id,
                "outcome": outcome,
                "reason": reason,
            },
        )
        return outcome


def execute(records: Records, batch_id: int, *, actor: str, ip: str = "") -> ExecutionReport:
    with records.sessions() as session:
        batch = _batch(session, batch_id, BatchStatus.APPROVED)
        item_ids = list(
            session.execute(
                select(DisposalItem.id).where(
                    DisposalItem.batch_id == batch.id,
                    DisposalItem.excluded.is_(False),
                    DisposalItem.outcome == "",
                )
            ).scalars()
        )
        session.expunge(batch)
    counts = {"destroyed": 0, "skipped": 0, "failed": 0}
    for item_id in item_ids:
        outcome = _destroy_one(records, batch, item_id, actor)
        counts[outcome] = counts.get(outcome, 0) + 1
    records.es.indices.refresh(index=records.names.write_alias)
    with transaction(records.sessions) as session:
        row = _batch(session, batch_id)
        items = (
            session.execute(
                select(DisposalItem)
                .where(DisposalItem.batch_id == row.id)
                .order_by(DisposalItem.id)
            )
            .scalars()
            .all()
        )
        now = datetime.now(UTC)
        row.status, row.executed_by, row.executed_at = BatchStatus.EXECUTED, actor, now
        row.counts = {**row.counts, **counts}
        info = CertificateInfo(
            organisation=records.organisation,
            batch_id=row.id,
            schedule_version=row.schedule_version,
            created_at=row.created_at,
            approved_by=tuple(row.approved_by),
            approved_at=row.approved_at or now,
            executed_by=actor,
            executed_at=now,
        )
        destroyed = [_destroyed(i) for i in items if i.outcome == "destroyed"]
        skipped = [
            SkippedItem(i.doc_id, i.unc, i.outcome_reason or i.exclude_reason)
            for i in items
            if i.outcome in ("skipped", "failed") or i.excluded
        ]
        row.certificate_csv = certificate_csv(info, destroyed, skipped)
        row.certificate_pdf = certificate_pdf(info, destroyed, skipped)
        audit.record(
            session,
            actor=actor,
            action="disposal_execute",
            target=f"batch:{row.id}",
            ip=ip,
            details=counts,
        )
    return ExecutionReport(batch_id, counts["destroyed"], counts["skipped"], counts["failed"])


def _destroyed(item: DisposalItem) -> DestroyedItem:
    return DestroyedItem(
        doc_id=item.doc_id,
        source=item.source_name,
        unc=item.unc,
        path=item.path,
        size=item.size,
        sha256=item.sha256,
        modified=item.modified,
        class_id=item.class_id,
        class_name=item.class_name,
        authority=item.authority,
        destroyed_at=item.done_at or datetime.now(UTC),
        method=METHOD,
    )
