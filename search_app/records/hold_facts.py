"""What the hold pages and the holds API show, read from the database in a few queries.

Reads only: every decision about a hold goes through `retention.holds`. Counts are computed
by joining on the hold's members (never by passing every member's id around), so a hold over
tens of thousands of files lists as fast as a small one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.smb import ShareLocation
from foi_core.models import (
    HeldDocument,
    Hold,
    HoldScope,
    HoldStatus,
    PreservationStatus,
    PreservationTask,
    SourceChange,
)
from foi_core.sources import list_sources
from retention.preservation import tasks_for

MEMBERS_PER_PAGE = 100
SOURCE_CHANGES_SHOWN = 200


@dataclass(frozen=True)
class HoldSummary:
    id: int
    name: str
    status: str
    case_ref: str
    owner: str
    reason: str
    files: int
    preservation_failures: int
    created_by: str
    created_at: datetime
    release_requested_by: str
    release_requested_at: datetime | None
    release_reason: str
    released_by: str
    released_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status != HoldStatus.RELEASED


@dataclass(frozen=True)
class TaskState:
    status: str
    error: str
    sha256: str
    attempts: int
    updated_at: datetime


@dataclass(frozen=True)
class MemberRow:
    root_id: str
    doc_id: str
    source: str
    path: str
    unc: str
    conservative: bool
    added_at: datetime
    preservation: tuple[TaskState, ...]


@dataclass(frozen=True)
class MemberPage:
    rows: tuple[MemberRow, ...]
    page: int
    pages: int
    total: int


def _counts(session: Session, hold_ids: Sequence[int] | None) -> tuple[dict[int, int], ...]:
    files = select(HeldDocument.hold_id, func.count()).group_by(HeldDocument.hold_id)
    failures = (
        select(HeldDocument.hold_id, func.count(func.distinct(PreservationTask.id)))
        .join(PreservationTask, PreservationTask.root_id == HeldDocument.root_id)
        .where(PreservationTask.status == PreservationStatus.FAILED)
        .group_by(HeldDocument.hold_id)
    )
    if hold_ids is not None:
        files = files.where(HeldDocument.hold_id.in_(list(hold_ids)))
        failures = failures.where(HeldDocument.hold_id.in_(list(hold_ids)))
    return (
        {hold: count for hold, count in session.execute(files)},
        {hold: count for hold, count in session.execute(failures)},
    )


def _summary(hold: Hold, files: int, failures: int) -> HoldSummary:
    return HoldSummary(
        id=hold.id,
        name=hold.name,
        status=hold.status,
        case_ref=hold.case_ref,
        owner=hold.owner,
        reason=hold.reason,
        files=files,
        preservation_failures=failures,
        created_by=hold.created_by,
        created_at=hold.created_at,
        release_requested_by=hold.release_requested_by,
        release_requested_at=hold.release_requested_at,
        release_reason=hold.release_reason,
        released_by=hold.released_by,
        released_at=hold.released_at,
    )


def hold_summaries(session: Session, *, active_only: bool = False) -> list[HoldSummary]:
    """Every hold, newest first (or only those not released)."""
    query = select(Hold).order_by(Hold.id.desc())
    if active_only:
        query = query.where(Hold.status != HoldStatus.RELEASED)
    holds = list(session.execute(query).scalars())
    files, failures = _counts(session, None)
    return [_summary(h, files.get(h.id, 0), failures.get(h.id, 0)) for h in holds]


def hold_summary(session: Session, hold_id: int) -> HoldSummary | None:
    hold = session.get(Hold, hold_id)
    if hold is None:
        return None
    files, failures = _counts(session, [hold_id])
    return _summary(hold, files.get(hold_id, 0), failures.get(hold_id, 0))


def hold_scopes(session: Session, hold_id: int) -> list[HoldScope]:
    return list(
        session.execute(
            select(HoldScope).where(HoldScope.hold_id == hold_id).order_by(HoldScope.id)
        ).scalars()
    )


def _locations(session: Session) -> dict[str, ShareLocation]:
    return {s.name: ShareLocation(s.server, s.port, s.share, s.root) for s in list_sources(session)}


def _unc(locations: dict[str, ShareLocation], source: str, path: str) -> str:
    location = locations.get(source)
    if location is None:
        return path
    try:
        return location.unc(path)
    except ValueError:
        return path  # a path with ".." cannot be turned into a UNC; show it as recorded


def member_page(session: Session, hold_id: int, page: int) -> MemberPage:
    """One page of a hold's files, by source and path, with each file's preservation state."""
    total = session.execute(
        select(func.count()).select_from(HeldDocument).where(HeldDocument.hold_id == hold_id)
    ).scalar_one()
    pages = max(1, -(-total // MEMBERS_PER_PAGE))
    page = min(max(page, 1), pages)
    members = list(
        session.execute(
            select(HeldDocument)
            .where(HeldDocument.hold_id == hold_id)
            .order_by(HeldDocument.source_name, HeldDocument.path, HeldDocument.id)
            .offset((page - 1) * MEMBERS_PER_PAGE)
            .limit(MEMBERS_PER_PAGE)
        ).scalars()
    )
    tasks = tasks_for(session, [m.root_id for m in members])
    locations = _locations(session)
    rows = tuple(
        MemberRow(
            root_id=m.root_id,
            doc_id=m.doc_id or m.root_id,
            source=m.source_name,
            path=m.path,
            unc=_unc(locations, m.source_name, m.path),
            conservative=m.conservative,
            added_at=m.added_at,
            preservation=tuple(
                TaskState(t.status, t.error, t.sha256, t.attempts, t.updated_at)
                for t in sorted(tasks.get(m.root_id, []), key=lambda t: t.id)
            ),
        )
        for m in members
    )
    return MemberPage(rows, page, pages, total)


def source_changes(session: Session, hold_id: int) -> list[SourceChange]:
    """Changes found at source to this hold's files, newest first."""
    return list(
        session.execute(
            select(SourceChange)
            .where(
                SourceChange.root_id.in_(
                    select(HeldDocument.root_id).where(HeldDocument.hold_id == hold_id)
                )
            )
            .order_by(SourceChange.id.desc())
            .limit(SOURCE_CHANGES_SHOWN)
        ).scalars()
    )


def unpreserved_roots(session: Session, hold_id: int) -> list[str]:
    """This hold's files with a copy still owed (failed or not yet attempted)."""
    return list(
        session.execute(
            select(PreservationTask.root_id)
            .distinct()
            .where(
                PreservationTask.status.in_(
                    (PreservationStatus.FAILED, PreservationStatus.PENDING)
                ),
                PreservationTask.root_id.in_(
                    select(HeldDocument.root_id).where(HeldDocument.hold_id == hold_id)
                ),
            )
        ).scalars()
    )
