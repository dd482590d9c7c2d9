"""Destroying one approved file of a disposal batch, and recording what happened to it.

Called under `lock_records`, in the transaction that records the outcome, by the execution
(`retention.execution`) and by a cancel during one (`retention.disposal.cancel`). A destroyed
file is deleted from its share only as approved (`retention.verified_delete`), leaves a stub in
the index, is marked deleted in the crawl's file states, and is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.shares import SourceUnavailable
from crawler.smb import FileVanished, SourceError
from foi_core import audit
from foi_core.models import DisposalBatch, DisposalItem, FileState
from indexer.annotations import destroy
from retention.batch_certificate import METHOD
from retention.context import Records
from retention.verified_delete import Approved, NotAsApproved, delete_if_as_approved

# Why a file claimed by an execution that stopped, and gone from the share since, is certified.
GONE_AFTER_CLAIM = (
    "destroyed by an execution that stopped part-way: it had claimed this file for "
    "destruction and the file was no longer on the share when the batch was next dealt with"
)


def delete_and_record(
    records: Records,
    session: Session,
    batch: DisposalBatch,
    item: DisposalItem,
    actor: str,
) -> None:
    """Delete the item's file if it is still exactly what was approved, and record what
    happened (`record_outcome`)."""
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
    record_outcome(records, session, batch, item, actor, outcome, reason, action)


def record_outcome(
    records: Records,
    session: Session,
    batch: DisposalBatch,
    item: DisposalItem,
    actor: str,
    outcome: str,
    reason: str,
    action: str = "disposal_destroy",
) -> None:
    """Record what happened to one file, and for a destroyed one leave its stub in the index
    and mark it deleted; audited."""
    now = datetime.now(UTC)
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


def on_share(records: Records, item: DisposalItem) -> bool | None:
    """Whether the item's file is on the share now; None when the share cannot tell."""
    try:
        records.shares(item.source_name).stat(item.path)
    except FileVanished:
        return False
    except (SourceError, SourceUnavailable):
        return None
    return True
