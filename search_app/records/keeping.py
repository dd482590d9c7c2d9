"""A document's records-management state, for its page and the API: the holds covering its
file, what happened to a held file at source, preservation of its originals, and its
retention (class, disposal date and reason, or its destruction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from foi_core.models import Case, CaseDocument, Hold, PreservationTask, SourceChange
from retention.holds import holds_by_root
from search_app.auth import services


@dataclass(frozen=True)
class HoldRef:
    id: int
    name: str
    case_ref: str
    status: str


@dataclass(frozen=True)
class ChangeRef:
    change: str
    detected_at: datetime
    version_doc_id: str
    preserved: bool


@dataclass(frozen=True)
class RecordsState:
    holds: tuple[HoldRef, ...] = ()
    changes: tuple[ChangeRef, ...] = ()
    preservation: tuple[tuple[str, str, str], ...] = ()  # (sha256, status, error)
    cases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def held(self) -> bool:
        return bool(self.holds)

    def as_json(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "holds": [
                {"id": h.id, "name": h.name, "case": h.case_ref, "status": h.status}
                for h in self.holds
            ],
            "source_changes": [
                {
                    "change": c.change,
                    "detected_at": c.detected_at.isoformat(),
                    "held_version": c.version_doc_id or None,
                    "original_preserved": c.preserved,
                }
                for c in self.changes
            ],
            "cases": list(self.cases),
            "preservation": [
                {"sha256": sha, "status": status, "error": error or None}
                for sha, status, error in self.preservation
            ],
        }


def records_state(doc: dict[str, Any]) -> RecordsState:
    root = str(doc.get("root_id") or doc["doc_id"])
    live = str(doc.get("version_of") or root)
    with services().sessions() as session:
        hold_ids = holds_by_root(session, [root]).get(root, [])
        holds = (
            session.execute(select(Hold).where(Hold.id.in_(hold_ids)).order_by(Hold.id))
            .scalars()
            .all()
        )
        changes = (
            session.execute(
                select(SourceChange)
                .where(or_(SourceChange.root_id == live, SourceChange.version_doc_id == root))
                .order_by(SourceChange.id)
            )
            .scalars()
            .all()
        )
        tasks = (
            session.execute(select(PreservationTask).where(PreservationTask.root_id == root))
            .scalars()
            .all()
        )
        collected_in = session.execute(
            select(Case.reference)
            .join(CaseDocument, CaseDocument.case_id == Case.id)
            .where(
                or_(CaseDocument.doc_id == doc["doc_id"], CaseDocument.root_id == root),
                CaseDocument.removed.is_(False),
            )
        ).scalars()
    return RecordsState(
        holds=tuple(HoldRef(h.id, h.name, h.case_ref, h.status) for h in holds),
        changes=tuple(
            ChangeRef(c.change, c.detected_at, c.version_doc_id, c.preserved) for c in changes
        ),
        preservation=tuple((t.sha256, t.status, t.error) for t in tasks),
        cases=tuple(sorted({*collected_in, *(h.case_ref for h in holds if h.case_ref)})),
    )
