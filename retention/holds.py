"""Legal holds: placing them, what they cover, and their two-person release.

Invariants:
- a file is held while any hold covering it is not released; release is a state change,
  never a deletion (database triggers refuse DELETE on holds and their membership);
- scopes are re-applied after every crawl (`apply_scopes`): a folder hold takes files added
  below the folder, a query hold takes content indexed later, and documents whose content
  could not be read are taken when their name or metadata carries the search's words;
- membership only grows while a hold is active: a file that stops matching a query (it was
  edited) stays held, because the hold froze it as it was;
- every file joining a hold gets a preservation task (copy-on-hold), and every step is
  audited; release needs a request with a reason and a different person's approval;
- a folder scope names a folder of a registered source (`retention.folders`: "..", paths
  outside the source, control characters and the like are refused, naming the folder), and
  covers the whole source only when the caller confirms it (`confirm_whole_source`), which
  its audit entry records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.smb import ShareLocation
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import HeldDocument, Hold, HoldScope, HoldStatus
from foi_core.sources import get_source
from indexer.annotations import set_hold_ids
from indexer.search.fetch import sources_by_id
from indexer.search.querylang import QuerySyntaxError
from indexer.search.scopes import (
    Match,
    folder_query,
    matches,
    parse_search,
    search_query,
    unreadable_query,
)
from retention.context import Records, lock_records
from retention.folders import FolderRefused, relative_folder
from retention.preservation import OwedCopy, enqueue_many

MAX_NAME_CHARS = 200
MAX_REASON_CHARS = 4000


class HoldError(ValueError):
    """The hold action cannot be done as asked; the message says why, for the user."""


class ReleaseRefused(HoldError):
    """A release that breaks the two-person rule or the hold's state."""


class WholeSourceNeedsConfirmation(HoldError):
    """A folder scope that covers every file of a source: ask the person, then add it again
    with `confirm_whole_source=True`. `files` is how many files it covers now."""

    def __init__(self, source: str, files: int) -> None:
        super().__init__(
            f"this holds every file on source {source} ({files:,} files now, and every file "
            "added to it later): confirm that the whole source is to be held"
        )
        self.source, self.files = source, files


def source_folder(session: Session, source: str, folder: str) -> str:
    """The folder of a registered source that `folder` names ("" for the whole source), as
    the index keeps it; HoldError saying what is wrong otherwise (`retention.folders`)."""
    found = get_source(session, source)
    if found is None:
        raise HoldError(f"there is no source called {source[:100]!r}")
    location = ShareLocation(found.server, found.port, found.share, found.root)
    try:
        return relative_folder(found.name, location, folder)
    except FolderRefused as refused:
        raise HoldError(str(refused)) from None


def clean_text(text: str, what: str, limit: int) -> str:
    text = (text or "").strip()
    if not text:
        raise HoldError(f"{what} is required")
    if len(text) > limit:
        raise HoldError(f"{what} is longer than {limit} characters")
    return text


def create_hold(
    records: Records,
    *,
    name: str,
    reason: str,
    owner: str,
    actor: str,
    case_ref: str = "",
    ip: str = "",
) -> int:
    name = clean_text(name, "A hold name", MAX_NAME_CHARS)
    reason = clean_text(reason, "A reason", MAX_REASON_CHARS)
    try:
        with transaction(records.sessions) as session:
            hold = Hold(
                name=name,
                reason=reason,
                owner=owner.strip() or actor,
                case_ref=case_ref.strip()[:64],
                created_by=actor,
            )
            session.add(hold)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="hold_create",
                target=f"hold:{hold.id}",
                ip=ip,
                details={"name": name, "reason": reason, "case": hold.case_ref},
            )
            return hold.id
    except IntegrityError:
        raise HoldError(f"a hold called {name!r} already exists") from None


def active_hold(session: Session, hold_id: int) -> Hold:
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise HoldError(f"there is no hold {hold_id}")
    if hold.status == HoldStatus.RELEASED:
        raise HoldError(f"hold {hold_id} ({hold.name}) has been released")
    return hold


def _file_facts(records: Records, found: Iterable[Match]) -> dict[str, Match]:
    """One match per file; an embedded match is completed with its file's path and hash."""
    by_root: dict[str, Match] = {}
    for match in found:
        known = by_root.get(match.root_id)
        if known is None or (not known.sha256 and match.sha256) or known.conservative:
            by_root[match.root_id] = match
    incomplete = [root for root, m in by_root.items() if not m.sha256]
    files = sources_by_id(
        records.es, records.names.read_alias, incomplete, ("source", "path", "sha256")
    )
    for root, src in files.items():
        old = by_root[root]
        by_root[root] = Match(
            root_id=old.root_id,
            doc_id=old.doc_id,
            source=src.get("source", old.source),
            path=src.get("path", old.path),
            sha256=src.get("sha256") or "",
            conservative=old.conservative,
        )
    return by_root


def _join(
    records: Records,
    session: Session,
    hold: Hold,
    scope: HoldScope | None,
    found: Mapping[str, Match],
) -> list[str]:
    """Add files to a hold (those not in it yet); returns the new members' root ids."""
    existing = set(hold_members(session, hold.id))
    joined: list[str] = []
    owed: list[OwedCopy] = []
    for root, match in found.items():
        if root in existing:
            continue
        session.add(
            HeldDocument(
                hold_id=hold.id,
                scope_id=scope.id if scope else None,
                root_id=root,
                doc_id=match.doc_id,
                source_name=match.source,
                path=match.path,
                sha256=match.sha256,
                conservative=match.conservative,
            )
        )
        owed.append(OwedCopy(root, match.source, match.path, match.sha256))
        joined.append(root)
    enqueue_many(session, owed)
    return joined


def _scope_matches(records: Records, scope: HoldScope) -> dict[str, Match]:
    es, alias = records.es, records.names.read_alias
    if scope.kind == "item":
        return _file_facts(records, matches(es, alias, {"ids": {"values": [scope.doc_id]}}))
    if scope.kind == "folder":
        return _file_facts(
            records, matches(es, alias, folder_query(scope.source_name, scope.folder))
        )
    text, selection = parse_search(scope.query)
    found = list(matches(es, alias, search_query(text, selection)))
    conservative = unreadable_query(text, selection)
    if conservative is not None:
        found.extend(matches(es, alias, conservative, conservative=True))
    return _file_facts(records, found)


def add_scope(
    records: Records,
    hold_id: int,
    *,
    kind: str,
    actor: str,
    doc_id: str = "",
    source: str = "",
    folder: str = "",
    query: str = "",
    ip: str = "",
    confirm_whole_source: bool = False,
) -> int:
    """Cover a document, a folder or a search; returns how many files newly joined.

    A folder that is the whole source raises WholeSourceNeedsConfirmation (adding nothing)
    unless `confirm_whole_source`."""
    if kind == "item" and not doc_id:
        raise HoldError("choose a document to hold")
    if kind == "folder":
        if not source:
            raise HoldError("a folder hold needs the source the folder is on")
        with records.sessions() as session:
            folder = source_folder(session, source, folder)
    elif kind == "query":
        text, selection = parse_search(query)
        if not text.strip() and not selection.filters():
            raise HoldError(
                "a search hold needs search words or filters (it would hold everything)"
            )
        try:
            search_query(text, selection)
        except QuerySyntaxError as exc:
            raise HoldError(f"the search cannot be used: {exc.message}") from None
    elif kind != "item":
        raise HoldError(f"unknown hold scope {kind!r}")
    records.es.indices.refresh(index=records.names.write_alias)
    whole_source = kind == "folder" and not folder
    scope = HoldScope(
        kind=kind,
        doc_id=doc_id,
        source_name=source,
        folder=folder,
        query=query,
        description=_describe(kind, doc_id, source, folder, query),
        added_by=actor,
    )
    found = _scope_matches(records, scope)
    if kind == "item" and not found:
        raise HoldError(f"document {doc_id} is not in the index, or was destroyed")
    if whole_source and not confirm_whole_source:
        raise WholeSourceNeedsConfirmation(source, len(found))
    noted = {"whole_source": True} if whole_source else {}
    return len(_add_scope(records, hold_id, scope, found, actor=actor, ip=ip, noted=noted))


def _add_scope(
    records: Records,
    hold_id: int,
    scope: HoldScope,
    files: Mapping[str, Match],
    *,
    actor: str,
    ip: str,
    noted: Mapping[str, object] | None = None,
) -> list[str]:
    """Record the scope and join its files to the hold, under the records lock; returns the
    files newly held. `noted` goes into the audit entry as well."""
    with transaction(records.sessions) as session:
        lock_records(session)
        hold = active_hold(session, hold_id)
        scope.hold_id = hold.id
        session.add(scope)
        session.flush()
        joined = _join(records, session, hold, scope, files)
        audit.record(
            session,
            actor=actor,
            action="hold_add",
            target=f"hold:{hold.id}",
            ip=ip,
            details={
                "scope": scope.description,
                "matched": len(files),
                "joined": len(joined),
                "documents": joined[:200],
                **(noted or {}),
            },
        )
    sync_flags(records, joined)
    return joined


def add_documents(
    records: Records, hold_id: int, doc_ids: Sequence[str], *, actor: str, ip: str = ""
) -> tuple[int, list[str]]:
    """Hold many documents at once (one scope); returns (files newly held, the files' root ids
    in the order of `doc_ids`). Ids not in the index, or destroyed, raise HoldError."""
    wanted = list(dict.fromkeys(doc_ids))
    if not wanted:
        raise HoldError("choose at least one document to hold")
    records.es.indices.refresh(index=records.names.write_alias)
    found = list(matches(records.es, records.names.read_alias, {"ids": {"values": wanted}}))
    missing = sorted(set(wanted) - {m.doc_id for m in found})
    if missing:
        raise HoldError(
            f"{len(missing)} document(s) are not in the index or were destroyed: "
            + ", ".join(missing[:5])
        )
    root_of = {m.doc_id: m.root_id for m in found}
    files = _file_facts(records, found)
    scope = HoldScope(
        kind="item",
        doc_id=wanted[0] if len(wanted) == 1 else "",
        description=f"document {wanted[0]}" if len(wanted) == 1 else f"{len(wanted)} documents",
        added_by=actor,
    )
    joined = _add_scope(records, hold_id, scope, files, actor=actor, ip=ip)
    return len(joined), [root_of[d] for d in wanted]


def _describe(kind: str, doc_id: str, source: str, folder: str, query: str) -> str:
    if kind == "item":
        return f"document {doc_id}"
    if kind == "folder":
        return f"folder {source}:/{folder}" if folder else f"the whole of source {source}"
    return f"search {query}"


def apply_scopes(records: Records, *, actor: str = "system") -> int:
    """Re-apply every active hold's folder and query scopes to the index as it is now."""
    records.es.indices.refresh(index=records.names.write_alias)
    with records.sessions() as session:
        scopes = (
            session.execute(
                select(HoldScope)
                .join(Hold, Hold.id == HoldScope.hold_id)
                .where(Hold.status != HoldStatus.RELEASED, HoldScope.kind.in_(("folder", "query")))
                .order_by(HoldScope.id)
            )
            .scalars()
            .all()
        )
    total: list[str] = []
    for scope in scopes:
        try:
            found = _scope_matches(records, scope)
        except QuerySyntaxError:
            continue  # validated when added; a language change must not stop the others
        with transaction(records.sessions) as session:
            lock_records(session)
            hold = session.get_one(Hold, scope.hold_id)
            if hold.status == HoldStatus.RELEASED:
                continue
            joined = _join(records, session, hold, session.get_one(HoldScope, scope.id), found)
            if joined:
                audit.record(
                    session,
                    actor=actor,
                    action="hold_join",
                    target=f"hold:{hold.id}",
                    details={
                        "scope": scope.description,
                        "joined": len(joined),
                        "documents": joined[:200],
                    },
                )
        total.extend(joined)
    sync_flags(records, total)
    return len(total)


def holds_by_root(session: Session, root_ids: Sequence[str]) -> dict[str, list[int]]:
    """The unreleased holds covering each of these files (files not held are left out)."""
    found: dict[str, list[int]] = {}
    for start in range(0, len(root_ids), 500):
        rows = session.execute(
            select(HeldDocument.root_id, HeldDocument.hold_id)
            .join(Hold, Hold.id == HeldDocument.hold_id)
            .where(
                HeldDocument.root_id.in_(list(root_ids[start : start + 500])),
                Hold.status != HoldStatus.RELEASED,
            )
        ).all()
        for root, hold_id in rows:
            found.setdefault(root, []).append(hold_id)
    return found


def sync_flags(records: Records, root_ids: Sequence[str]) -> None:
    if not root_ids:
        return
    with records.sessions() as session:
        held = holds_by_root(session, list(root_ids))
    set_hold_ids(records.es, records.names, {root: held.get(root, []) for root in root_ids})


def hold_members(session: Session, hold_id: int) -> list[str]:
    return list(
        session.execute(
            select(HeldDocument.root_id).where(HeldDocument.hold_id == hold_id)
        ).scalars()
    )
