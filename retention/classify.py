"""The schedule in force, and every file's record class, disposal date and reason.

The schedule is versioned in the database (the newest row is in force); loading a new one is
validated first, audited, and re-classifies the index. New and changed files are classified
as they are indexed (`retention.keeping`), so the index is current between schedule changes.
Retention fields sit on files only (embedded documents go with their file).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core import audit
from foi_core.db import transaction
from foi_core.models import Case, CaseDocument, RetentionSchedule, Source
from indexer.annotations import set_fields
from indexer.search.disposal import files_to_classify, retention_summary
from indexer.search.fetch import sources_by_id
from retention.context import Records
from retention.schedule import Action, Schedule, load_schedule

# What classification reads, and the fields it writes.
CLASSIFY_FIELDS = [
    "doc_id",
    "source",
    "path",
    "extension",
    "mime_type",
    "modified",
    "created",
    "share_modified",
    "share_created",
    "authors",
    "title",
    "kind",
    "retention_class",
    "retention_action",
    "disposal_date",
    "retention_reason",
]
RETENTION_FIELDS = ("retention_class", "retention_action", "disposal_date", "retention_reason")


def current_schedule(session: Session) -> Schedule | None:
    row = session.execute(
        select(RetentionSchedule).order_by(RetentionSchedule.id.desc()).limit(1)
    ).scalar_one_or_none()
    return load_schedule(row.text) if row is not None else None


class ScheduleInForce:
    """The schedule in force, read again only when a newer one has been loaded, so each
    destruction checks against the schedule in force at that moment without re-parsing it."""

    def __init__(self) -> None:
        self._row = 0
        self._schedule: Schedule | None = None

    def get(self, session: Session) -> Schedule | None:
        row = session.execute(
            select(RetentionSchedule.id).order_by(RetentionSchedule.id.desc()).limit(1)
        ).scalar_one_or_none()
        if row is None:
            return None
        if row != self._row:
            text = session.get_one(RetentionSchedule, row).text
            self._row, self._schedule = row, load_schedule(text)
        return self._schedule


def closed_cases(session: Session, root_ids: Sequence[str]) -> dict[str, date]:
    """For files collected into request cases that are all closed: the latest closure date
    (the `case_closed` trigger). A file in any open case has no closure date yet."""
    found: dict[str, date] = {}
    still_open: set[str] = set()
    for start in range(0, len(root_ids), 500):
        rows = session.execute(
            select(CaseDocument.root_id, Case.closed_at)
            .join(Case, Case.id == CaseDocument.case_id)
            .where(
                CaseDocument.root_id.in_(list(root_ids[start : start + 500])),
                CaseDocument.removed.is_(False),
            )
        ).all()
        for root, closed_at in rows:
            if closed_at is None:
                still_open.add(root)
            elif root not in found or closed_at.date() > found[root]:
                found[root] = closed_at.date()
    return {root: day for root, day in found.items() if root not in still_open}


def indexed_files(records: Records, root_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What classification reads of these files, as the index holds them at this moment
    (a real-time read: a write not yet refreshed is seen). A file the index no longer has is
    missing from the result."""
    found = sources_by_id(records.es, records.names.read_alias, root_ids, CLASSIFY_FIELDS)
    return {doc_id: {**doc, "doc_id": doc_id} for doc_id, doc in found.items()}


def retention_fields(
    schedule: Schedule | None, doc: Mapping[str, Any], case_closed: date | None = None
) -> dict[str, Any]:
    """The retention fields of one file document (all None when nothing classifies it)."""
    found = schedule.classify(doc, case_closed=case_closed) if schedule is not None else None
    if found is None:
        return dict.fromkeys(RETENTION_FIELDS)
    return {
        "retention_class": found.class_id,
        "retention_action": str(found.action),
        "disposal_date": found.disposal_date.isoformat() if found.disposal_date else None,
        "retention_reason": found.reason,
    }


def save_schedule(records: Records, text: str, *, actor: str, ip: str = "") -> Schedule:
    """Validate (ScheduleError lists every problem, a source that is not registered among
    them), store as the schedule in force, audit, and re-classify the index."""
    with records.sessions() as session:
        sources = session.execute(select(Source.name)).scalars().all()
    schedule = load_schedule(text, sources=sources)
    digest = schedule.sha256
    with transaction(records.sessions) as session:
        session.add(
            RetentionSchedule(
                version=schedule.version[:64], text=text, sha256=digest, loaded_by=actor
            )
        )
        audit.record(
            session,
            actor=actor,
            action="retention_schedule_load",
            target=f"schedule:{schedule.version}",
            ip=ip,
            details={"sha256": digest, "classes": [c.id for c in schedule.classes]},
        )
    reclassify(records, schedule)
    return schedule


def reclassify(
    records: Records,
    schedule: Schedule | None,
    source: str | None = None,
    root_ids: Sequence[str] | None = None,
) -> int:
    """Bring every file's (or these files') retention fields in line with the schedule and
    the closure of the cases they were collected in; returns the files changed."""
    records.es.indices.refresh(index=records.names.write_alias)
    with records.sessions() as session:
        collected = session.execute(select(CaseDocument.root_id).distinct()).scalars().all()
        closed = closed_cases(session, list(collected))

    def changes() -> Iterator[dict[str, Any]]:
        files = files_to_classify(
            records.es, records.names.read_alias, CLASSIFY_FIELDS, source, root_ids
        )
        for doc in files:
            wanted = retention_fields(schedule, doc, closed.get(doc["doc_id"]))
            if any(doc.get(k) != v for k, v in wanted.items()):
                yield {"doc_id": doc["doc_id"], **wanted}

    return set_fields(records.es, records.names, changes())


@dataclass(frozen=True)
class ClassCount:
    """Files of one class; ``due`` of them are past their disposal date in a `destroy` class,
    and are disposable only if the class is ``disposable`` (signed off in the schedule in
    force); ``note`` says why not, for the report."""

    class_id: str
    files: int
    bytes: int
    due: int = 0
    disposable: bool = False
    note: str = ""


@dataclass(frozen=True)
class RetentionReport:
    schedule_version: str
    files: int
    unclassified: int
    unclassified_bytes: int
    by_class: tuple[ClassCount, ...] = ()
    by_action: tuple[tuple[str, int], ...] = ()
    eligible: int = 0
    eligible_bytes: int = 0
    unclassified_folders: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    # Files past their date in `destroy` classes that are not signed off: never destroyed.
    awaiting_sign_off: int = 0


AWAITING_SIGN_OFF = "awaiting sign-off (sign_off: required): never destroyed until signed off"


def _class_note(schedule: Schedule | None, class_id: str) -> str:
    if schedule is None:
        return "no schedule is in force"
    try:
        record_class = schedule.get(class_id)
    except KeyError:
        return "not a class of the schedule in force (re-classification catches up)"
    if record_class.action is not Action.DESTROY:
        return f"{record_class.action}: nothing is destroyed under this class"
    if not record_class.signed_off:
        return AWAITING_SIGN_OFF
    return "signed off"


def report(records: Records, today: date) -> RetentionReport:
    records.es.indices.refresh(index=records.names.write_alias)
    with records.sessions() as session:
        schedule = current_schedule(session)
    disposable = schedule.disposable_classes if schedule else ()
    summary = retention_summary(records.es, records.names.read_alias, today, disposable)
    due = dict(summary["due_by_class"])
    by_class = tuple(
        ClassCount(c, n, b, due.get(c, 0), c in disposable, _class_note(schedule, c))
        for c, n, b in summary["by_class"]
    )
    return RetentionReport(
        schedule_version=schedule.version if schedule else "",
        files=summary["files"],
        unclassified=summary["unclassified"],
        unclassified_bytes=summary["unclassified_bytes"],
        by_class=by_class,
        awaiting_sign_off=sum(c.due for c in by_class if c.note == AWAITING_SIGN_OFF),
        by_action=tuple(summary["by_action"]),
        eligible=summary["eligible"],
        eligible_bytes=summary["eligible_bytes"],
        unclassified_folders=tuple(summary["unclassified_folders"]),
    )
