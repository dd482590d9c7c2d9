"""What the case page and the cases API show of a case's evidence: its scoping searches, the
documents collected into it (described from the index) and its disclosure bundles.

Reads only: searching, collecting and exporting go through `cases.collection` and
`cases.export`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from elasticsearch import ApiError, Elasticsearch, TransportError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.bundle import METADATA_FILES
from cases.destroyed import DestroyedGroup, search_destroyed
from cases.export_jobs import ExportState
from foi_core.models import CaseDocument, CaseExport, ScopingSearch, as_utc
from indexer.search.facets import STATUS_LABELS
from indexer.search.queries import Principal
from indexer.search.records import summaries_by_id
from retention.holds import holds_by_root

DOCUMENTS_PER_PAGE = 100
_SUMMARY_FIELDS = ["doc_id", "title", "filename", "path", "unc", "status", "embedded_path"]
# Index summaries of documents by id, or None when the index cannot be reached.
Describer = Callable[[Sequence[str]], dict[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class SearchRow:
    """A scoping search as run: its words and filters, where it looked, what it found."""

    id: int
    query: str
    text: str
    filters: tuple[tuple[str, str], ...]
    sources: tuple[str, ...]
    hits: int
    documents_in_scope: int
    not_searchable: tuple[tuple[str, int], ...]
    run_by: str
    run_at: dt.datetime
    # Matches that are records destroyed before the search: not held, said so, never dropped.
    not_held: tuple[DestroyedGroup, ...] = ()


def search_row(search: ScopingSearch) -> SearchRow:
    params = parse_qs(search.query)
    counts: dict[str, Any] = dict(search.counts or {})
    unreadable = counts.get("not_searchable") or {}
    return SearchRow(
        id=search.id,
        query=search.query,
        text=(params.pop("q", None) or [""])[0],
        filters=tuple((name, ", ".join(values)) for name, values in params.items()),
        sources=tuple(str(s) for s in counts.get("sources") or ()),
        hits=search.hits,
        documents_in_scope=int(counts.get("documents_in_scope") or 0),
        not_searchable=tuple(
            (STATUS_LABELS.get(status, status), int(count))
            for status, count in sorted(unreadable.items())
        ),
        run_by=search.run_by,
        run_at=search.run_at,
        not_held=tuple(search_destroyed(counts)),
    )


def scoping_searches(session: Session, case_id: int) -> list[SearchRow]:
    found = session.execute(
        select(ScopingSearch)
        .where(ScopingSearch.case_id == case_id)
        .order_by(ScopingSearch.id.desc())
    ).scalars()
    return [search_row(s) for s in found]


def scoping_search(session: Session, case_id: int, search_id: int) -> ScopingSearch | None:
    found = session.get(ScopingSearch, search_id)
    return found if found is not None and found.case_id == case_id else None


@dataclass(frozen=True)
class DocumentRow:
    doc_id: str
    root_id: str
    title: str
    path: str
    unc: str
    status: str
    in_index: bool
    held: bool
    added_by: str
    added_at: dt.datetime


@dataclass(frozen=True)
class DocumentPage:
    rows: tuple[DocumentRow, ...]
    page: int
    pages: int
    total: int
    # False when the index could not be reached: rows then carry ids only.
    described: bool


def _collected(case_id: int) -> Any:
    return (CaseDocument.case_id == case_id) & CaseDocument.removed.is_(False)


def collected_count(session: Session, case_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(CaseDocument).where(_collected(case_id))
    ).scalar_one()


def index_describer(es: Elasticsearch, alias: str, principal: Principal) -> Describer:
    """Summaries through the trimmed base query like every other read (the roles that work
    cases see everything, so nothing collected is hidden from them)."""

    def describe(doc_ids: Sequence[str]) -> dict[str, dict[str, Any]] | None:
        try:
            return summaries_by_id(es, alias, principal, doc_ids, _SUMMARY_FIELDS)
        except (ApiError, TransportError):
            return None

    return describe


def document_page(session: Session, case_id: int, page: int, describe: Describer) -> DocumentPage:
    """One page of the documents collected into a case, in the order they were collected; the
    page says when the index could not describe them (rows then carry ids only)."""
    total = collected_count(session, case_id)
    pages = max(1, -(-total // DOCUMENTS_PER_PAGE))
    page = min(max(page, 1), pages)
    rows = list(
        session.execute(
            select(CaseDocument)
            .where(_collected(case_id))
            .order_by(CaseDocument.id)
            .offset((page - 1) * DOCUMENTS_PER_PAGE)
            .limit(DOCUMENTS_PER_PAGE)
        ).scalars()
    )
    held = holds_by_root(session, [r.root_id for r in rows])
    summaries: dict[str, dict[str, Any]] | None = describe([r.doc_id for r in rows]) if rows else {}
    out = []
    for row in rows:
        doc = (summaries or {}).get(row.doc_id)
        path = str((doc or {}).get("path") or "")
        embedded = str((doc or {}).get("embedded_path") or "")
        status = str((doc or {}).get("status") or "")
        out.append(
            DocumentRow(
                doc_id=row.doc_id,
                root_id=row.root_id,
                title=str((doc or {}).get("title") or (doc or {}).get("filename") or row.doc_id),
                path=f"{path}/{embedded}" if embedded else path,
                unc=str((doc or {}).get("unc") or ""),
                status=STATUS_LABELS.get(status, status),
                in_index=doc is not None,
                held=row.root_id in held,
                added_by=row.added_by,
                added_at=row.added_at,
            )
        )
    return DocumentPage(tuple(out), page, pages, total, summaries is not None)


def removed_documents(session: Session, case_id: int) -> list[CaseDocument]:
    return list(
        session.execute(
            select(CaseDocument)
            .where(CaseDocument.case_id == case_id, CaseDocument.removed.is_(True))
            .order_by(CaseDocument.id)
        ).scalars()
    )


@dataclass(frozen=True)
class ExportRow:
    id: int
    name: str
    exported_by: str
    exported_at: dt.datetime
    expires_at: dt.datetime
    counts: dict[str, int]
    parts: tuple[str, ...]
    metadata: tuple[str, ...]
    status: str = ExportState.DONE
    error: str = ""
    progress: int = 0  # documents written so far (while queued or running)

    @property
    def available(self) -> bool:
        return self.status == ExportState.DONE and bool(self.parts or self.metadata)

    @property
    def in_progress(self) -> bool:
        return self.status in (ExportState.QUEUED, ExportState.RUNNING)


def export_row(export: CaseExport) -> ExportRow:
    """An export with the files still on disk (none once it has expired and been purged)."""
    directory = Path(export.directory)
    present = {p.name for p in directory.iterdir()} if directory.is_dir() else set()
    return ExportRow(
        id=export.id,
        name=export.name,
        exported_by=export.exported_by,
        exported_at=as_utc(export.exported_at),
        expires_at=as_utc(export.expires_at),
        counts={str(k): int(v) for k, v in (export.counts or {}).items()},
        parts=tuple(p for p in export.parts if p in present),
        metadata=tuple(
            f"{export.name}-{m}" for m in METADATA_FILES if f"{export.name}-{m}" in present
        ),
        status=export.status,
        error=export.error or "",
        progress=export.progress,
    )


def case_exports(session: Session, case_id: int) -> list[ExportRow]:
    found = session.execute(
        select(CaseExport).where(CaseExport.case_id == case_id).order_by(CaseExport.id.desc())
    ).scalars()
    return [export_row(e) for e in found]


def case_export(session: Session, case_id: int, export_id: int) -> CaseExport | None:
    found = session.get(CaseExport, export_id)
    return found if found is not None and found.case_id == case_id else None
