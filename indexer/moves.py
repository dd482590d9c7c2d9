"""Document ids retired by moves at source, and the ids that replaced them.

Ids derive from paths (`indexer.documents`), so a file renamed or moved gets new ones. The
crawl records each retired id with its successor (`remember_moves`, in the transaction that
moves the file's crawl state), and links or references made with an old id find the document
again through `current_id`. The map stays flat: one look-up gives the latest id, however many
times the file moved since.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from foi_core.models import DocumentMove


def remember_moves(session: Session, source: str, ids: Mapping[str, str]) -> None:
    """Record that each old document id now reads as its new one. Ids that led to a retired
    id are re-pointed to its successor, and an id that is live again (a file moved back)
    stops leading elsewhere. Repeating it changes nothing."""
    if not ids:
        return
    now = datetime.now(UTC)
    for old, new in ids.items():
        session.execute(update(DocumentMove).where(DocumentMove.new_id == old).values(new_id=new))
    known = {
        row.old_id: row
        for row in session.execute(
            select(DocumentMove).where(DocumentMove.old_id.in_(list(ids)))
        ).scalars()
    }
    for old, new in ids.items():
        row = known.get(old)
        if row is None:
            session.add(DocumentMove(old_id=old, new_id=new, source_name=source, moved_at=now))
        elif row.new_id != new:
            row.new_id, row.moved_at = new, now
    session.flush()
    session.execute(
        delete(DocumentMove).where(
            or_(
                DocumentMove.old_id.in_(list(ids.values())),
                DocumentMove.old_id == DocumentMove.new_id,
            )
        )
    )


def current_id(session: Session, doc_id: str) -> str | None:
    """The id the document once indexed as `doc_id` has now, or None if it never moved."""
    found = session.execute(
        select(DocumentMove.new_id).where(DocumentMove.old_id == doc_id)
    ).scalar_one_or_none()
    return found if found != doc_id else None
