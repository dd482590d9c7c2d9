"""What keeps a file out of destruction at every stage of a disposal batch.

Checked when the batch is built, at each approval and again for each file at execution
(under `lock_records`, so a hold committed at any moment before the deletion wins):

- no unreleased hold covers it (a refusal is a possible s.77 event, and is audited as such);
- no open request case has it collected (collecting places a hold too; this holds even if
  that hold were released while the case is open);
- its class is a `destroy` class signed off (`sign_off: signed_off`) in the schedule in force.

A refused item is excluded (at approval) or skipped (at execution) with a reason people can
read, and every refusal is audited with outcome "denied".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core import audit
from foi_core.models import Case, CaseDocument, DisposalBatch, DisposalItem
from retention.holds import holds_by_root
from retention.schedule import Action, Schedule

CHECKS_STATEMENT = (
    "Each record was checked when the batch was built, at each approval and again "
    "immediately before destruction, under the records lock: against every hold not "
    "released, against every open request case it had been collected into, and that its "
    "class is signed off for destruction in the schedule in force. Immediately before "
    "deletion its file id, size, last-write time and SHA-256 (every byte read again from the "
    "share) were checked against what was approved. A record that failed any check was not "
    "destroyed and is listed as not destroyed, with the reason."
)


@dataclass(frozen=True)
class Refusal:
    """Why an item may not be destroyed: the audit action and a reason for people."""

    action: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def open_requests_by_root(session: Session, root_ids: Sequence[str]) -> dict[str, list[str]]:
    """The references of the open request cases each of these files is collected into."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(root_ids), 500):
        rows = session.execute(
            select(CaseDocument.root_id, Case.reference)
            .join(Case, Case.id == CaseDocument.case_id)
            .where(
                CaseDocument.root_id.in_(list(root_ids[start : start + 500])),
                CaseDocument.removed.is_(False),
                Case.closed_at.is_(None),
            )
        ).all()
        for root, reference in rows:
            found.setdefault(root, []).append(reference)
    return found


def class_refusal(schedule: Schedule | None, class_id: str) -> str:
    """Why the schedule in force does not allow destruction under this class ("" if it does)."""
    if schedule is None:
        return "no retention schedule is in force"
    try:
        record_class = schedule.get(class_id)
    except KeyError:
        return f"class {class_id} is not in the schedule in force (version {schedule.version})"
    if record_class.action is not Action.DESTROY:
        return (
            f"class {class_id} is '{record_class.action}', not 'destroy', in the schedule in "
            f"force (version {schedule.version})"
        )
    if not record_class.signed_off:
        return (
            f"class {class_id} is not signed off (sign_off: required) in the schedule in force "
            f"(version {schedule.version}), so nothing in it is destroyed"
        )
    return ""


def refusals(
    session: Session, items: Sequence[DisposalItem], schedule: Schedule | None, stage: str
) -> dict[int, Refusal]:
    """Each item that may not be destroyed now, by item id, with the first reason found."""
    roots = [item.doc_id for item in items]
    held = holds_by_root(session, roots)
    requests = open_requests_by_root(session, roots)
    found: dict[int, Refusal] = {}
    for item in items:
        if item.doc_id in held:
            holds = held[item.doc_id]
            found[item.id] = Refusal(
                "disposal_refused_held",
                f"held by hold {', '.join(map(str, holds))} at {stage}",
                {
                    "holds": holds,
                    "note": "attempt to dispose of held information (FOIA s.77 risk) refused",
                },
            )
        elif item.doc_id in requests:
            cases = requests[item.doc_id]
            found[item.id] = Refusal(
                "disposal_refused_open_request",
                f"collected for open request {', '.join(cases)} at {stage}",
                {
                    "cases": cases,
                    "note": "attempt to dispose of information an open request needs refused",
                },
            )
        elif why := class_refusal(schedule, item.class_id):
            found[item.id] = Refusal(
                "disposal_refused_not_signed_off",
                f"{why} (at {stage})",
                {"schedule": schedule.version if schedule else None},
            )
    return found


def refuse(
    session: Session,
    batch: DisposalBatch,
    items: Sequence[DisposalItem],
    schedule: Schedule | None,
    *,
    actor: str,
    stage: str,
) -> list[DisposalItem]:
    """Exclude (at approval) or skip (at execution) and audit every item that may not be
    destroyed; returns the rest."""
    refused = refusals(session, items, schedule, stage)
    now = datetime.now(UTC)
    for item in items:
        refusal = refused.get(item.id)
        if refusal is None:
            continue
        if stage == "execution":
            item.outcome, item.outcome_reason, item.done_at = "skipped", refusal.reason, now
        else:
            item.excluded, item.excluded_by, item.exclude_reason = True, "system", refusal.reason
        audit.record(
            session,
            actor=actor,
            action=refusal.action,
            target=f"doc:{item.doc_id}",
            outcome=audit.Outcome.DENIED,
            details={
                "batch": batch.id,
                "path": item.path,
                "class": item.class_id,
                "stage": stage,
                "reason": refusal.reason,
                **refusal.details,
            },
        )
    return [item for item in items if item.id not in refused]
