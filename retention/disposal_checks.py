"""What keeps a file out of destruction at every stage of a disposal batch.

Checked when the batch is built, at each approval and again for each file at execution
(under `lock_records`, so a hold committed at any moment before the deletion wins):

- no unreleased hold covers it (a refusal is a possible s.77 event, and is audited as such);
- no open request case has it collected (collecting places a hold too; this holds even if
  that hold were released while the case is open);
- its class is a `destroy` class signed off (`sign_off: signed_off`) in the schedule in force;
- at approval and at execution: classified afresh under the schedule in force, from the index
  as it is now and the closure of the request cases it was collected into (as
  `retention.classify` does), it is still in the class it was approved under, and due today. A
  schedule loaded since approval that keeps it longer, or moves it to another class, wins.

A refused item is excluded (at approval) or skipped (at execution) with a reason people can
read, and every refusal is audited with outcome "denied".

Who may decide a destruction (`people_refusal`), under the stricter of the approvals the batch
was built for and `FOI_DISPOSAL_APPROVALS` now (lowering the setting never lets a batch built
for two people through with one):

- two (the default): each approval is by a different active records manager, none of them the
  batch's builder, and the executor is an active records manager who did not build it (one of
  the approvers may execute). So every destruction rests on at least two people's decisions,
  and nobody approves or destroys what they proposed themselves;
- one (only when set explicitly): a single records manager may build, approve and execute; the
  retention pages and the certificate carry `ONE_PERSON_WARNING`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core import audit
from foi_core.models import (
    BatchStatus,
    Case,
    CaseDocument,
    DisposalBatch,
    DisposalItem,
    Role,
    User,
)
from retention.classify import closed_cases
from retention.holds import holds_by_root
from retention.schedule import Action, Schedule
from retention.wording import day

# A batch between the claim of its execution and its end (`retention.execution`).
EXECUTING = BatchStatus.EXECUTING

CHECKS_STATEMENT = (
    "Each record was checked when the batch was built, at each approval and again "
    "immediately before destruction, under the records lock: against every hold not "
    "released, against every open request case it had been collected into, and that its "
    "class is signed off for destruction in the schedule in force. Immediately before "
    "deletion its file id, size, last-write time and SHA-256 (every byte read again from the "
    "share) were checked against what was approved, and it was classified again under the "
    "schedule in force and found still in its class and due. A record that failed any check "
    "was not destroyed and is listed as not destroyed, with the reason."
)


ONE_PERSON_WARNING = (
    "One-person disposal: FOI_DISPOSAL_APPROVALS=1 lets a single records manager build, approve "
    "and execute a destruction, with no second person's decision."
)


class DisposalError(ValueError):
    """The disposal step cannot be done as asked; the message says why, for the user."""


class AnotherPersonNeeded(DisposalError):
    """This person may not take this step of the batch (they built it, already approved it, or
    are not a records manager): someone else must."""


def batch_for_step(session: Session, batch_id: int, *statuses: str) -> DisposalBatch:
    """The batch, if it exists and (when `statuses` are given) is in one of them."""
    batch = session.get(DisposalBatch, batch_id)
    if batch is None:
        raise DisposalError(f"there is no disposal batch {batch_id}")
    if statuses and batch.status not in statuses:
        raise DisposalError(f"batch {batch_id} is {batch.status}, not {' or '.join(statuses)}")
    return batch


def approvals_needed(batch: DisposalBatch, setting: int) -> int:
    """The approvals a batch needs now: the stricter of what it was built for and the setting."""
    return max(batch.approvals_needed, setting)


def one_person(batch: DisposalBatch, setting: int) -> bool:
    """Whether one person may decide this batch's destruction alone (FOI_DISPOSAL_APPROVALS=1)."""
    return approvals_needed(batch, setting) < 2


def _records_manager(session: Session, username: str) -> bool:
    return (
        session.execute(
            select(User.id).where(
                User.username == username,
                User.active.is_(True),
                User.role == Role.RECORDS_MANAGER,
            )
        ).first()
        is not None
    )


def people_refusal(
    session: Session, batch: DisposalBatch, actor: str, step: str, needed: int
) -> str:
    """Why `actor` may not take this step ("approve" or "execute") of the batch under the rule
    above, as a sentence addressed to them; "" when they may."""
    if not _records_manager(session, actor):
        return (
            f"{actor} is not an active records manager: only a records manager may {step} a "
            "disposal"
        )
    if step == "approve" and actor in batch.approved_by:
        return "you have already approved this batch; another person must"
    if needed < 2:
        return ""
    if actor == batch.created_by:
        others = (
            "two other records managers must"
            if step == "approve"
            else "a records manager who did not build it must"
        )
        return (
            f"you built batch {batch.id}, so you cannot {step} it: {others} "
            "(FOI_DISPOSAL_APPROVALS=2)"
        )
    approvers = {name for name in batch.approved_by if name != batch.created_by}
    if step == "execute" and len(approvers) < needed:
        return (
            f"batch {batch.id} was approved by {', '.join(batch.approved_by) or 'nobody'} only; "
            "destruction needs the approval of two different people, neither of them its "
            "builder (FOI_DISPOSAL_APPROVALS=2): cancel it and build it again"
        )
    return ""


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


def schedule_refusal(
    schedule: Schedule,
    item: DisposalItem,
    doc: Mapping[str, Any] | None,
    closed: date | None,
    today: date,
) -> str:
    """Why classifying the file afresh under `schedule` no longer allows destroying it today
    under the class it was approved under ("" if it does). `doc` is the file as the index
    holds it now (None if the index no longer has it); `closed`, the latest closure of the
    request cases it was collected into, all closed."""
    version = f"the schedule in force (version {schedule.version})"
    if doc is None:
        return f"no longer in the index, so it could not be classified again under {version}"
    found = schedule.classify(doc, case_closed=closed)
    if found is None:
        return f"no class of {version} covers it now (it was approved under {item.class_id})"
    if found.class_id != item.class_id:
        return (
            f"now in class {found.class_id} ({found.class_name}) under {version}, not "
            f"{item.class_id} as approved"
        )
    if not found.disposable:
        return f"class {found.class_id} is not a signed-off 'destroy' class in {version}"
    if found.disposal_date is None:
        return f"not due under {version}: {found.reason}"
    if found.disposal_date > today:
        counted = f", counted from {day(found.trigger_date)}" if found.trigger_date else ""
        return f"not due until {day(found.disposal_date)} under {version} ({found.rule}{counted})"
    return ""


def refusals(
    session: Session,
    items: Sequence[DisposalItem],
    schedule: Schedule | None,
    stage: str,
    *,
    docs: Mapping[str, Mapping[str, Any]],
    today: date,
) -> dict[int, Refusal]:
    """Each item that may not be destroyed now, by item id, with the first reason found.
    `docs` are the items' files as the index holds them now, by document id."""
    roots = [item.doc_id for item in items]
    held = holds_by_root(session, roots)
    requests = open_requests_by_root(session, roots)
    closed = closed_cases(session, roots)
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
        elif schedule is not None and (
            why := schedule_refusal(
                schedule, item, docs.get(item.doc_id), closed.get(item.doc_id), today
            )
        ):
            found[item.id] = Refusal(
                "disposal_refused_not_due",
                f"{why} (at {stage})",
                {"schedule": schedule.version, "today": today.isoformat()},
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
    docs: Mapping[str, Mapping[str, Any]],
    today: date,
) -> list[DisposalItem]:
    """Exclude (at approval) or skip (at execution) and audit every item that may not be
    destroyed; returns the rest."""
    refused = refusals(session, items, schedule, stage, docs=docs, today=today)
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
