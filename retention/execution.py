"""Executing an approved disposal batch: once, file by file, stopped by a cancel between
files, and resumed after an interruption.

Invariants:
- one execution at a time: an execution starts by claiming the batch, one conditional UPDATE
  from `approved` to `executing` that names the executor (`executed_by`) and the moment of its
  last progress (`executed_at`). Of two executions started together (a double submit, the web
  app and the CLI) exactly one goes ahead; the other is refused with a `DisposalError`, which
  its caller audits as denied like every refused step;
- each file is destroyed at most once, and only while its batch is being executed: the item is
  first claimed (`outcome` "" -> "destroying", committed), then under `lock_records` the batch
  and the item are read again, and nothing happens unless the batch is still `executing` under
  this execution and the item still "destroying". The holds, open requests, sign-off and a
  fresh classification under the schedule in force are checked there, and only then is the
  file deleted and recorded `destroyed`. An outcome once recorded is never changed;
- a cancel (`retention.disposal.cancel`) takes the same lock, so it lands between two files:
  what was destroyed stays destroyed and certified, every file not destroyed is recorded as
  not destroyed because of the cancel, the batch ends `cancelled` with its counts and
  certificate, and the execution stops at its next file;
- the batch's end says what happened: `executed` only when the execution went through every
  file, with the counts of what was destroyed, skipped and failed; `cancelled` otherwise;
- an interrupted execution is resumed by executing the batch again. One stopped by an error
  gives up its claim, so it can be run again at once; one whose process ended leaves the batch
  `executing` with no progress, and executing it again resumes it once `RESUME_AFTER` has
  passed since its last progress (before that it is refused, saying from when). A file the
  stopped execution had claimed and that is no longer on the share was deleted after passing
  its checks, and is certified destroyed, saying so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from foi_core import audit
from foi_core.db import transaction
from foi_core.models import BatchStatus, DisposalBatch, DisposalItem
from retention.batch_certificate import counts, write_certificate
from retention.classify import ScheduleInForce, indexed_files
from retention.context import Records, lock_records
from retention.destruction import (
    GONE_AFTER_CLAIM,
    delete_and_record,
    on_share,
    record_outcome,
)
from retention.disposal_checks import (
    EXECUTING,
    AnotherPersonNeeded,
    DisposalError,
    approvals_needed,
    batch_for_step,
    people_refusal,
    refuse,
)
from retention.wording import moment, utc

__all__ = ["DESTROYING", "RESUME_AFTER", "ExecutionReport", "batch_items", "execute"]

log = logging.getLogger(__name__)

# How long an execution may make no progress before executing the batch again resumes it.
# Longer than checking and deleting the largest file should take; resuming early is safe
# anyway (each file is claimed and checked under the lock), it only stops the slow execution.
RESUME_AFTER = timedelta(minutes=15)
# An item claimed by an execution: being checked and destroyed, or interrupted doing so.
DESTROYING = "destroying"


@dataclass(frozen=True)
class ExecutionReport:
    """The batch's items by what happened to them; the certificate gives the same counts.
    `status` is how the batch ended: `executed`, or `cancelled` part-way."""

    batch_id: int
    destroyed: int
    skipped: int
    failed: int
    excluded: int = 0
    status: str = BatchStatus.EXECUTED


@dataclass
class _Run:
    """One execution of a batch. `progress` is the `executed_at` it last wrote: the batch is
    this execution's only while the row still has it (a resume writes its own)."""

    batch_id: int
    actor: str
    needed: int
    progress: datetime
    item_ids: list[int]
    # Items a stopped execution had claimed: on the share or not, they are settled now.
    interrupted: frozenset[int]

    def owns(self, batch: DisposalBatch) -> bool:
        return (
            batch.status == EXECUTING
            and batch.executed_by == self.actor
            and batch.executed_at is not None
            and utc(batch.executed_at) == self.progress
        )

    def still_ours(self) -> Update:
        """An UPDATE of the batch that changes nothing unless this execution still owns it."""
        return update(DisposalBatch).where(
            DisposalBatch.id == self.batch_id,
            DisposalBatch.status == EXECUTING,
            DisposalBatch.executed_by == self.actor,
            DisposalBatch.executed_at == self.progress,
        )


def _rows(session: Session, statement: Update) -> int:
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def execute(
    records: Records,
    batch_id: int,
    *,
    actor: str,
    ip: str = "",
    today: date | None = None,
) -> ExecutionReport:
    """Destroy an approved batch's files one by one (each checked again first), then write its
    certificate; or resume an execution that stopped part-way. The counts returned are the
    certificate's. Raises `DisposalError` when the batch is not approved, is being executed,
    or the execution is taken over, and `AnotherPersonNeeded` when `actor` may not execute it."""
    day = today or date.today()
    run = _claim(records, batch_id, actor, ip)
    in_force = ScheduleInForce()
    try:
        for item_id in run.item_ids:
            if not _destroy_one(records, run, item_id, in_force, day):
                break
        records.es.indices.refresh(index=records.names.write_alias)
        return _finish(records, run, ip)
    except BaseException:
        _give_up(records, run)
        raise


def _claim(records: Records, batch_id: int, actor: str, ip: str) -> _Run:
    now = datetime.now(UTC)
    with transaction(records.sessions) as session:
        batch = batch_for_step(session, batch_id)
        if batch.status not in (BatchStatus.APPROVED, EXECUTING):
            raise DisposalError(f"batch {batch_id} is {batch.status}, not approved")
        needed = approvals_needed(batch, records.approvals_needed)
        if why := people_refusal(session, batch, actor, "execute", needed):
            raise AnotherPersonNeeded(why)
        claim = update(DisposalBatch).where(DisposalBatch.id == batch_id)
        stopped = batch.executed_at
        resumed = ""
        if batch.status == BatchStatus.APPROVED:
            claim = claim.where(DisposalBatch.status == BatchStatus.APPROVED)
        elif stopped is not None and now - utc(stopped) < RESUME_AFTER:
            raise DisposalError(
                f"batch {batch_id} is being executed by {batch.executed_by} (last progress "
                f"{moment(stopped)}): it is executed once, not twice. If that execution has "
                f"stopped, execute the batch again after {moment(utc(stopped) + RESUME_AFTER)} "
                "to resume it"
            )
        else:
            resumed = batch.executed_by
            claim = claim.where(
                DisposalBatch.status == EXECUTING,
                DisposalBatch.executed_by == batch.executed_by,
                DisposalBatch.executed_at.is_(None)
                if stopped is None
                else DisposalBatch.executed_at == stopped,
            )
        if not _rows(session, claim.values(status=EXECUTING, executed_by=actor, executed_at=now)):
            raise DisposalError(
                f"batch {batch_id} has just been claimed by another execution: it is executed "
                "once, not twice"
            )
        pending = session.execute(
            select(DisposalItem.id, DisposalItem.outcome)
            .where(
                DisposalItem.batch_id == batch_id,
                DisposalItem.excluded.is_(False),
                DisposalItem.outcome.in_(("", DESTROYING)),
            )
            .order_by(DisposalItem.id)
        ).all()
        audit.record(
            session,
            actor=actor,
            action="disposal_execute_start",
            target=f"batch:{batch_id}",
            ip=ip,
            details={
                "files": len(pending),
                "resumed_from": resumed or None,
                "stopped_at": stopped.isoformat() if resumed and stopped else None,
            },
        )
    return _Run(
        batch_id=batch_id,
        actor=actor,
        needed=needed,
        progress=now,
        item_ids=[item_id for item_id, _ in pending],
        interrupted=frozenset(item_id for item_id, outcome in pending if outcome == DESTROYING),
    )


def _taken_over(batch: DisposalBatch) -> DisposalError:
    return DisposalError(
        f"batch {batch.id} is now {batch.status}"
        + (f", executed by {batch.executed_by}" if batch.executed_by else "")
        + ": this execution made no progress for too long and was taken over, so it stops"
    )


def _stopped(batch: DisposalBatch) -> bool:
    """False when the batch was cancelled (the execution stops there); otherwise another
    execution has taken it over, and this one is refused."""
    if batch.status == BatchStatus.CANCELLED:
        return False
    raise _taken_over(batch)


def _destroy_one(
    records: Records, run: _Run, item_id: int, in_force: ScheduleInForce, today: date
) -> bool:
    """Claim, check and destroy one file, recording its outcome; False when the batch is no
    longer being executed (cancelled), so the execution stops."""
    now = datetime.now(UTC)
    with transaction(records.sessions) as session:
        if not _rows(session, run.still_ours().values(executed_at=now)):
            return _stopped(session.get_one(DisposalBatch, run.batch_id))
        claimed = _rows(
            session,
            update(DisposalItem)
            .where(DisposalItem.id == item_id, DisposalItem.outcome == "")
            .values(outcome=DESTROYING),
        )
    run.progress = now
    if not claimed and item_id not in run.interrupted:
        return True
    with transaction(records.sessions) as session:
        lock_records(session)
        batch = session.get_one(DisposalBatch, run.batch_id)
        if not run.owns(batch):
            return _stopped(batch)
        item = session.get_one(DisposalItem, item_id)
        if item.outcome != DESTROYING:
            return True
        if item_id in run.interrupted and on_share(records, item) is False:
            # Deleted by the stopped execution after its checks: no later hold or schedule
            # can undo that, so it is certified, not refused.
            gone = GONE_AFTER_CLAIM
            record_outcome(records, session, batch, item, run.actor, "destroyed", gone)
            return True
        docs = indexed_files(records, [item.doc_id])
        schedule = in_force.get(session)
        if refuse(
            session,
            batch,
            [item],
            schedule,
            actor=run.actor,
            stage="execution",
            docs=docs,
            today=today,
        ):
            delete_and_record(records, session, batch, item, run.actor)
    return True


def _finish(records: Records, run: _Run, ip: str) -> ExecutionReport:
    """End the batch `executed` with its counts and certificate, unless a cancel ended it
    first (the cancel wrote them)."""
    with transaction(records.sessions) as session:
        lock_records(session)
        batch = session.get_one(DisposalBatch, run.batch_id)
        items = batch_items(session, batch.id)
        done = counts(items)
        if run.owns(batch):
            batch.status, batch.executed_at = BatchStatus.EXECUTED, datetime.now(UTC)
            batch.approvals_needed = run.needed
            batch.counts = {**batch.counts, **done}
            audit.record(
                session,
                actor=run.actor,
                action="disposal_execute",
                target=f"batch:{batch.id}",
                ip=ip,
                details={**done, "approvals_needed": run.needed},
            )
            write_certificate(session, batch, items, records.organisation)
        elif batch.status != BatchStatus.CANCELLED:
            raise _taken_over(batch)
        return ExecutionReport(
            batch.id,
            done["destroyed"],
            done["skipped"],
            done["failed"],
            done["excluded"],
            batch.status,
        )


def _give_up(records: Records, run: _Run) -> None:
    """After an error, let the batch be executed again at once (it resumes): no last
    progress, as if it had stopped long ago."""
    try:
        with transaction(records.sessions) as session:
            _rows(session, run.still_ours().values(executed_at=None))
    except SQLAlchemyError:
        log.exception(
            "batch %s: could not record that its execution stopped; it can be executed again "
            "after %s",
            run.batch_id,
            moment(run.progress + RESUME_AFTER),
        )


def batch_items(session: Session, batch_id: int) -> list[DisposalItem]:
    return list(
        session.execute(
            select(DisposalItem).where(DisposalItem.batch_id == batch_id).order_by(DisposalItem.id)
        ).scalars()
    )
