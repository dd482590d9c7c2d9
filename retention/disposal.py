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
  whose counts are the ones `execute` reports.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.shares import SourceUnavailable
from crawler.smb import FileVanished, SourceError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import BatchStatus, DisposalBatch, DisposalItem, FileState
from indexer.annotations import destroy
from indexer.scopes import disposal_candidates_query, scan
from retention.batch_certificate import METHOD, counts, write_certificate
from retention.classify import CLASSIFY_FIELDS, ScheduleInForce, closed_cases, current_schedule
from retention.context import Records, lock_records
from retention.disposal_checks import (
    approvals_needed,
    open_requests_by_root,
    people_refusal,
    refuse,
)
from retention.holds import holds_by_root
from retention.schedule import Schedule
from retention.verified_delete import Approved, NotAsApproved, delete_if_as_approved

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

log = logging.getLogger(__name__)
_CANDIDATE_FIELDS = [*CLASSIFY_FIELDS, "unc", "size", "sha256"]


class DisposalError(ValueError):
    """The disposal step cannot be done as asked; the message says why, for the user."""


class AnotherPersonNeeded(DisposalError):
    """This person may not take this step of the batch (they built it, already approved it, or
    are not a records manager): someone else must."""


@dataclass(frozen=True)
class ExecutionReport:
    """The batch's items by what happened to them; the certificate gives the same counts."""

    batch_id: int
    destroyed: int
    skipped: int
    failed: int
    excluded: int = 0


def _open_batches(session: Session) -> set[str]:
    return set(
        session.execute(
            select(DisposalItem.doc_id)
            .join(DisposalBatch, DisposalBatch.id == DisposalItem.batch_id)
            .where(DisposalBatch.status.in_((BatchStatus.PENDING, BatchStatus.APPROVED)))
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
        scan(
            records.es,
            records.names.read_alias,
            disposal_candidates_query(today, schedule.disposable_classes),
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


def approve(records: Records, batch_id: int, *, actor: str, ip: str = "") -> str:
    """Record one approval; returns the batch's status afterwards."""
    with transaction(records.sessions) as session:
        lock_records(session)
        batch = _batch(session, batch_id, BatchStatus.PENDING)
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
        refuse(session, batch, items, current_schedule(session), actor=actor, stage="approval")
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


def _destroy_one(
    records: Records,
    batch: DisposalBatch,
    item_id: int,
    actor: str,
    in_force: ScheduleInForce,
) -> None:
    """Check and destroy one file under the records lock, recording the item's outcome."""
    with transaction(records.sessions) as session:
        lock_records(session)
        item = session.get_one(DisposalItem, item_id)
        schedule = in_force.get(session)
        if not refuse(session, batch, [item], schedule, actor=actor, stage="execution"):
            return
        now = datetime.now(UTC)
        outcome, reason, action = "destroyed", "", "disposal_destroy"
        approved = Approved(item.size, item.mtime_ns, item.file_id, item.sha256)
        try:
            delete_if_as_approved(records.shares(item.source_name), item.path, approved)
        except NotAsApproved as changed:
            outcome, reason, action = "skipped", str(changed), "disposal_refused_changed"
        except FileVanished:
            outcome, reason = "skipped", "no longer on the share"
        except (SourceError, SourceUnavailable) as exc:
            outcome, reason = "failed", f"the share could not be changed: {exc}"
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
            action=action,
            target=f"doc:{item.doc_id}",
            outcome={
                "destroyed": audit.Outcome.OK,
                "skipped": audit.Outcome.DENIED,
            }.get(outcome, audit.Outcome.FAILED),
            details={
                "batch": batch.id,
                "path": item.path,
                "class": item.class_id,
                "outcome": outcome,
                "reason": reason,
                "approved_sha256": item.sha256,
                "approved_file_id": item.file_id,
            },
        )


def execute(records: Records, batch_id: int, *, actor: str, ip: str = "") -> ExecutionReport:
    """Destroy an approved batch's files one by one (each checked again first), then write its
    certificate. The counts returned are the certificate's."""
    with records.sessions() as session:
        batch = _batch(session, batch_id, BatchStatus.APPROVED)
        needed = approvals_needed(batch, records.approvals_needed)
        if why := people_refusal(session, batch, actor, "execute", needed):
            raise AnotherPersonNeeded(why)
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
    in_force = ScheduleInForce()
    for item_id in item_ids:
        _destroy_one(records, batch, item_id, actor, in_force)
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
        done = counts(items)
        row.status, row.executed_by, row.executed_at = (
            BatchStatus.EXECUTED,
            actor,
            datetime.now(UTC),
        )
        row.approvals_needed = needed
        row.counts = {**row.counts, **done}
        audit.record(
            session,
            actor=actor,
            action="disposal_execute",
            target=f"batch:{row.id}",
            ip=ip,
            details={**done, "approvals_needed": needed},
        )
        write_certificate(session, row, items, records.organisation)
    return ExecutionReport(
        batch_id, done["destroyed"], done["skipped"], done["failed"], done["excluded"]
    )
