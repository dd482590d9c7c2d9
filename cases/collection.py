"""Collecting records into a case, and the searches that found them.

Invariants:
- collecting a document places its file on the case's legal hold in the same step (s.77:
  once asked, nothing relevant may be destroyed); the hold is created with the case's first
  collection and named after it;
- collecting pins the version collected: the file's SHA-256 as indexed at that moment, or
  hashed from the share then if the crawl could not hash it (and its last-write time on the
  share), is kept on the case's row, and a preservation copy of exactly that content is owed,
  so the bundle can disclose it after the file changes at source (cases.pinning); a file that
  cannot be read then is collected unpinned, the reason audited, and is never disclosed;
- removing a document from a case needs a reason and is audited; it does not release the
  hold (a records manager releases holds, two-person);
- every scoping search is kept with its counts and who ran it, so the adequacy-of-search
  statement can be rebuilt and re-run at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.destroyed import destroyed_groups, people_date, search_destroyed, with_class_names
from cases.pinning import Version, hash_unhashed, indexed_versions, share_times
from cases.service import CaseError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import Case, CaseDocument, ScopingSearch
from indexer.search.facets import STATUS_LABELS
from indexer.search.querylang import QuerySyntaxError
from indexer.search.scopes import matches, parse_search, search_query, search_scope_counts
from retention.classify import current_schedule, reclassify
from retention.context import Records
from retention.holds import HoldError, add_documents, create_hold
from retention.preservation import OwedCopy, enqueue_many

# A whole result set is collected at once up to this many documents; beyond it, narrow the
# search (an FOI response of more is a s.12 question anyway).
MAX_COLLECT = 10_000
# Why a document could not be pinned is audited for at most this many per collection.
NOT_PINNED_LISTED = 500


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseError(f"there is no case {case_id}")
    return case


def _case_hold(records: Records, case_id: int, actor: str, ip: str) -> int:
    with records.sessions() as session:
        case = _case(session, case_id)
        if case.hold_id is not None:
            return case.hold_id
        reference, regime = case.reference, case.regime
    hold_id = create_hold(
        records,
        name=f"Case {reference}",
        reason=(
            f"{regime} request {reference}: everything collected for it is preserved until the "
            "request, any review and any appeal are finished (FOIA s.77)"
        ),
        owner=actor,
        actor=actor,
        case_ref=reference,
        ip=ip,
    )
    with transaction(records.sessions) as session:
        _case(session, case_id).hold_id = hold_id
    return hold_id


def collect(
    records: Records, case_id: int, doc_ids: Sequence[str], *, actor: str, ip: str = ""
) -> int:
    """Add documents to the case (and its hold); returns how many were newly collected.

    Each pins the version it has now (cases.pinning): files the crawl could not hash are read
    from the share and hashed here; one that cannot be read is collected unpinned, and the
    `case_collect` audit entry says why."""
    wanted = list(dict.fromkeys(d for d in doc_ids if d))
    if not wanted:
        raise CaseError("choose at least one document")
    if len(wanted) > MAX_COLLECT:
        raise CaseError(f"collect at most {MAX_COLLECT:,} documents at once; narrow the search")
    hold_id = _case_hold(records, case_id, actor, ip)
    try:
        _, roots = add_documents(records, hold_id, wanted, actor=actor, ip=ip)
    except HoldError as exc:
        raise CaseError(str(exc)) from None
    versions = indexed_versions(records, roots)
    with records.sessions() as session:
        collected = _collected(session, case_id, wanted)
    # Read outside the transaction below: hashing a large file can take minutes.
    hash_unhashed(
        records, versions, (r for d, r in zip(wanted, roots, strict=True) if d not in collected)
    )
    added = 0
    hashed: list[str] = []
    unpinned: dict[str, str] = {}
    with transaction(records.sessions) as session:
        case = _case(session, case_id)
        share_times(session, versions)
        existing = {
            row.doc_id: row
            for row in session.execute(
                select(CaseDocument).where(
                    CaseDocument.case_id == case.id, CaseDocument.doc_id.in_(wanted)
                )
            ).scalars()
        }
        pinned: list[OwedCopy] = []
        for doc_id, root in zip(wanted, roots, strict=True):
            row = existing.get(doc_id)
            version = versions.get(root, Version())
            if row is None:
                row = CaseDocument(case_id=case.id, doc_id=doc_id, root_id=root, added_by=actor)
                session.add(row)
            elif row.removed:
                # Collected again: this collection's version is the one disclosed.
                row.removed, row.removed_by, row.removed_reason = False, "", ""
            else:
                continue
            row.sha256, row.share_modified = version.sha256, version.share_modified
            row.added_by, row.added_at = actor, datetime.now(UTC)
            added += 1
            if version.hashed_at_collection:
                hashed.append(doc_id)
            if version.sha256:
                pinned.append(
                    OwedCopy(root, version.source, version.path, version.sha256, version.size)
                )
            else:
                unpinned[doc_id] = version.unpinned
        # The hold owes a copy of what it joined; this makes sure the version pinned is owed
        # too, should the file have changed between joining the hold and now (or the crawl
        # never have hashed it).
        enqueue_many(session, pinned)
        audit.record(
            session,
            actor=actor,
            action="case_collect",
            target=f"case:{case.reference}",
            ip=ip,
            details={
                "added": added,
                "documents": wanted[:200],
                "hold": hold_id,
                "hashed_at_collection": hashed[:200],
                "not_pinned": dict(list(unpinned.items())[:NOT_PINNED_LISTED]),
                "not_pinned_count": len(unpinned),
            },
        )
    return added


def _collected(session: Session, case_id: int, doc_ids: Sequence[str]) -> set[str]:
    """Those of `doc_ids` in the case now (not removed): collecting them again changes nothing."""
    found: set[str] = set()
    for start in range(0, len(doc_ids), 500):
        found.update(
            session.execute(
                select(CaseDocument.doc_id).where(
                    CaseDocument.case_id == case_id,
                    CaseDocument.doc_id.in_(doc_ids[start : start + 500]),
                    CaseDocument.removed.is_(False),
                )
            ).scalars()
        )
    return found


def collect_search(records: Records, case_id: int, query: str, *, actor: str, ip: str = "") -> int:
    """Collect every document a search finds (the search page's query string)."""
    text, selection = parse_search(query)
    if not text.strip() and not selection.filters():
        raise CaseError("a search with no words or filters would collect everything")
    try:
        found = [
            m.doc_id
            for m in matches(records.es, records.names.read_alias, search_query(text, selection))
        ]
    except QuerySyntaxError as exc:
        raise CaseError(f"the search cannot be used: {exc.message}") from None
    if not found:
        raise CaseError("the search finds nothing to collect")
    return collect(records, case_id, found, actor=actor, ip=ip)


def remove(
    records: Records, case_id: int, doc_id: str, *, actor: str, reason: str, ip: str = ""
) -> None:
    reason = reason.strip()
    if not reason:
        raise CaseError("say why the document is removed from the case")
    with transaction(records.sessions) as session:
        case = _case(session, case_id)
        row = session.execute(
            select(CaseDocument).where(
                CaseDocument.case_id == case.id,
                CaseDocument.doc_id == doc_id,
                CaseDocument.removed.is_(False),
            )
        ).scalar_one_or_none()
        if row is None:
            raise CaseError("that document is not in the case")
        row.removed, row.removed_by, row.removed_reason = True, actor, reason[:2000]
        audit.record(
            session,
            actor=actor,
            action="case_remove",
            target=f"case:{case.reference}",
            ip=ip,
            details={"document": doc_id, "reason": reason, "hold_kept": case.hold_id},
        )


def run_scoping_search(
    records: Records, case_id: int, query: str, *, actor: str, ip: str = ""
) -> ScopingSearch:
    """Run a search for the case and keep it with its counts."""
    text, selection = parse_search(query)
    if not text.strip() and not selection.filters():
        raise CaseError("enter search words or filters")
    try:
        counts = search_scope_counts(records.es, records.names.read_alias, text, selection)
    except QuerySyntaxError as exc:
        raise CaseError(f"the search cannot be run: {exc.message}") from None
    with transaction(records.sessions) as session:
        case = _case(session, case_id)
        counts["destroyed_matches"] = with_class_names(session, counts["destroyed_matches"])
        row = ScopingSearch(
            case_id=case.id, query=query, run_by=actor, hits=counts["hits"], counts=counts
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="case_scoping_search",
            target=f"case:{case.reference}",
            ip=ip,
            details={
                "query": query,
                **{k: v for k, v in counts.items() if k != "destroyed_matches"},
                "destroyed_documents": [m["doc_id"] for m in counts["destroyed_matches"][:200]],
            },
        )
        session.expunge(row)
        return row


@dataclass(frozen=True)
class Adequacy:
    text: str
    searches: int
    collected: int


def adequacy_statement(session: Session, case_id: int) -> Adequacy:
    """The adequacy-of-search statement for internal reviews and the ICO: every search (terms,
    filters, sources, who, when, hits), what could not be searched and why, what was collected.

    Counts cover the live records a search could reach; matches that are records destroyed
    before the search are named apart ("N not held — destroyed on DATE under CLASS")."""
    case = _case(session, case_id)
    searches = (
        session.execute(
            select(ScopingSearch).where(ScopingSearch.case_id == case.id).order_by(ScopingSearch.id)
        )
        .scalars()
        .all()
    )
    collected = len(
        session.execute(
            select(CaseDocument.id).where(
                CaseDocument.case_id == case.id, CaseDocument.removed.is_(False)
            )
        ).all()
    )
    lines = [
        f"Adequacy of search: {case.reference} ({case.regime}), received "
        f"{people_date(case.received)}",
        f"Request: {case.title}",
        "",
        f"{len(searches)} search(es) were run across the council's indexed file shares:",
    ]
    unreadable: dict[str, int] = {}
    destroyed: dict[str, dict[str, Any]] = {}
    beyond_listed = 0
    for number, search in enumerate(searches, 1):
        text, selection = parse_search(search.query)
        filters = ", ".join(
            f"{name}={'|'.join(values)}" for name, values in selection.params().items()
        )
        counts = search.counts
        sources = ", ".join(counts.get("sources", [])) or "all sources"
        metadata_only = sum(int(c) for c in counts.get("not_searchable", {}).values())
        only = f", {metadata_only} of them by name and metadata only" if metadata_only else ""
        lines.append(
            f'{number}. "{text}"{f" filtered by {filters}" if filters else ""} — '
            f"{search.hits} matching document(s) among {counts.get('documents_in_scope', 0)} "
            f"live document(s) searched in {sources}{only}; run by {search.run_by} on "
            f"{people_date(search.run_at)} at {search.run_at:%H:%M} UTC"
        )
        lines += [f"   {group}" for group in search_destroyed(counts)]
        for status, count in counts.get("not_searchable", {}).items():
            unreadable[status] = max(unreadable.get(status, 0), count)
        for match in counts.get("destroyed_matches") or ():
            destroyed[str(match.get("doc_id"))] = match
        beyond_listed = max(
            beyond_listed,
            int(counts.get("destroyed") or 0) - len(counts.get("destroyed_matches") or ()),
        )
    lines.append("")
    if unreadable:
        lines.append(
            "Documents in the searched scope whose content could not be searched (found by "
            "name and metadata only):"
        )
        for status, count in sorted(unreadable.items()):
            lines.append(f"- {STATUS_LABELS.get(status, status)}: {count}")
    else:
        lines.append("Every document in the searched scope had searchable content.")
    if destroyed or beyond_listed:
        lines += [
            "",
            "Matching records that could not be searched because they are no longer held "
            "(destroyed under the retention schedule before the search; only the record of "
            "their destruction remains):",
        ]
        total = len(destroyed) + beyond_listed
        lines += [f"- {group}" for group in destroyed_groups(destroyed.values(), total)]
    lines += ["", f"{collected} document(s) were collected into the case and placed on hold."]
    return Adequacy("\n".join(lines), len(searches), collected)


def reclassify_case(records: Records, case_id: int) -> int:
    """Re-compute the retention of a case's records (the `case_closed` trigger starts when the
    last case holding a record closes); returns the files whose retention changed."""
    with records.sessions() as session:
        roots = list(
            session.execute(
                select(CaseDocument.root_id).where(CaseDocument.case_id == case_id).distinct()
            ).scalars()
        )
        schedule = current_schedule(session)
    return reclassify(records, schedule, root_ids=roots) if roots else 0
