"""Files moved at source: which known file a file at a new path is, the document ids its move
retired, and the ids that replaced them.

A file found at a path the crawl does not know is the known file it was moved from only when
both its file id and its creation time are that file's (`moved_from`). On Samba the file id
is the inode, and the file system gives a deleted file's inode to the next new file, perhaps
in another folder with looser permissions: by the id alone, that file would take the deleted
file's holds, case collections and links. A rename keeps the creation time; a new file has
its own.

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
from sqlalchemy.orm import Session, sessionmaker

from crawler.smb import FileFacts, FileVanished, SmbShare, SourceError
from foi_core.models import DocumentMove, FileState, stored_file_id


def moved_from(
    sessions: sessionmaker[Session], share: SmbShare, source: str, facts: FileFacts
) -> FileState | None:
    """The known file `facts` is, moved or renamed (and perhaps changed since: size and time
    are not compared), or None when it is a new file.

    That file has the same file id and the same creation time, and its old path is gone. A
    creation time that is not known on either side (a crawl state from before it was
    recorded, a server that reports none) makes it a new file: the old one is then recorded
    deleted at source (a held one stays findable, its original kept in the preservation
    store) and this one is indexed under its own ACL. Taking a stranger for the old file
    would give it the old file's holds, cases and links, and the old file's content its ACL;
    missing a move only leaves the old file's records where they were."""
    if not facts.file_id or not facts.created_ns:
        return None
    with sessions() as session:
        candidates = (
            session.execute(
                select(FileState).where(
                    FileState.source_name == source,
                    FileState.file_id == stored_file_id(facts.file_id),
                    FileState.created_ns == facts.created_ns,
                    FileState.deleted.is_(False),
                    FileState.path != facts.path,
                )
            )
            .scalars()
            .all()
        )
    for candidate in candidates:
        try:
            share.stat(candidate.path)
        except FileVanished:
            return candidate
        except SourceError:
            continue
    return None


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
