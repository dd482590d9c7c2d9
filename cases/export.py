"""Disclosure bundles of a case's collected records (see cases.bundle for the zip format).

A bundle discloses the version of each document that was collected (the SHA-256 pinned on the
case's row): read again at export from the share while the share still holds it, otherwise
from the preservation store, and never other bytes (cases.bundle_read). A document collected
without a pinned version (unreadable when collected) is an error row with the reason its
collection recorded, never the bytes the share holds at export. The document's
metadata and extracted text are those of that version: the live index document while it still
describes it, else the held version the crawl kept when the file changed. Documents are fetched
one at a time as the bundle is written, so memory stays flat however many there are. The chain
of custody lists the case's audit entries and, per document, every entry naming it. Bundles
stay downloadable for `export_keep_days`, then `purge_expired` deletes them. How an export is
asked for, run and watched is cases.export_jobs.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.bundle import (
    BundleItem,
    BundleRequest,
    BundleResult,
    CustodyEvent,
    ShareFacts,
    write_bundle,
)
from cases.bundle_read import Opener, VersionNotPinned
from crawler.shares import SourceUnavailable
from crawler.smb import FileVanished, SourceError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import AuditEvent, Case, CaseDocument, CaseExport, as_utc
from foi_core.settings import Settings
from indexer.annotations import version_doc_id
from indexer.documents import embedded_doc_id
from indexer.search import fetch
from retention.context import Records

_NOT_RECORDED = "no version was recorded when it was collected (the file could not be read)"
_DOC_FIELDS = [
    "doc_id",
    "root_id",
    "unc",
    "path",
    "filename",
    "size",
    "modified",
    "sha256",
    "status",
    "source",
    "deleted",
    "held",
    "version_of",
    "kind",
]


@dataclass(frozen=True)
class ExportSettings:
    directory: Path
    keep_days: int
    part_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportSettings:
        return cls(
            settings.effective_export_dir, settings.export_keep_days, settings.export_part_bytes
        )


def _share_opener(records: Records, source: str, path: str) -> Opener:
    """The file at its path on the share now; a file that is gone raises FileNotFoundError."""

    @contextlib.contextmanager
    def open_share() -> Iterator[BinaryIO]:
        share = records.shares(source)
        try:
            handle = share.open_read(path)
        except FileVanished as exc:
            raise FileNotFoundError(str(exc)) from exc
        with handle:
            yield handle

    return open_share


def _store_opener(records: Records, sha256: str) -> Opener:
    @contextlib.contextmanager
    def open_preserved() -> Iterator[BinaryIO]:
        if not sha256 or not records.store.has(sha256):
            raise FileNotFoundError("the held original is not in the preservation store")
        with records.store.open(sha256) as stored:
            yield stored

    return open_preserved


def _share_facts(records: Records, source: str, path: str) -> Callable[[], ShareFacts | None]:
    def stat() -> ShareFacts | None:
        try:
            facts = records.shares(source).stat(path)
        except (SourceError, SourceUnavailable):
            return None
        return ShareFacts(_from_ns(facts.mtime_ns), _from_ns(facts.created_ns) or None)

    return stat


def _from_ns(ns: int) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9, UTC).replace(microsecond=0) if ns > 0 else None


def _not_pinned(reason: str) -> Opener:
    """A document collected without a pinned version (it could not be read then): which
    version was collected is not known, so nothing is disclosed for it, whatever the share
    holds now."""

    @contextlib.contextmanager
    def refuse() -> Iterator[BinaryIO]:
        raise VersionNotPinned(
            f"not pinned at collection: {reason}; remove it from the case and collect it "
            "again to pin the version the share holds then"
        )
        yield  # pragma: no cover - makes this a generator

    return refuse


def _unpinned_reasons(records: Records, case: Case) -> dict[str, str]:
    """Why each document collected unpinned could not be pinned, from the case's collections
    (the latest naming it)."""
    reasons: dict[str, str] = {}
    with records.sessions() as session:
        for details in session.execute(
            select(AuditEvent.details)
            .where(
                AuditEvent.target == f"case:{case.reference}",
                AuditEvent.action == "case_collect",
            )
            .order_by(AuditEvent.id)
        ).scalars():
            named = details.get("not_pinned")
            if isinstance(named, dict):
                reasons.update({str(k): str(v) for k, v in named.items()})
    return reasons


def _get(records: Records, doc_id: str, fields: list[str] | None = None) -> dict[str, Any] | None:
    return fetch.get_source(records.es, records.names.read_alias, doc_id, fields)


def _as_collected(
    records: Records, row: CaseDocument, doc: dict[str, Any], root: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The index documents that describe the version collected: the live ones while the file
    still has that content, else the held version kept when it changed. The flag says whether
    they describe it (False: a later version, whose text must not stand for the collected one)."""
    if not row.sha256 or root.get("sha256") == row.sha256:
        return doc, root, True
    version_id = version_doc_id(row.root_id, row.sha256)
    version_root = _get(records, version_id)
    if version_root is None:
        return doc, root, False
    embedded = doc.get("embedded_path") or ""
    version_doc = _get(records, embedded_doc_id(version_id, embedded)) if embedded else version_root
    return version_doc or version_root, version_root, version_doc is not None


def _items(
    records: Records, rows: list[CaseDocument], unpinned: dict[str, str]
) -> Iterator[BundleItem]:
    for row in rows:
        live = _get(records, row.doc_id)
        live_root = live if row.root_id == row.doc_id else _get(records, row.root_id, _DOC_FIELDS)
        if live is None or live_root is None:
            yield _missing(records, row, unpinned)
            continue
        doc, root, describes = _as_collected(records, row, live, live_root)
        source, path = str(live_root.get("source") or ""), str(live_root.get("path") or "")
        held_version = bool(live_root.get("version_of"))
        yield BundleItem(
            doc_id=row.doc_id,
            unc=str(root.get("unc") or ""),
            path=path,
            filename=str(root.get("filename") or row.doc_id),
            size=int(root.get("size") or 0),
            modified=_date(doc.get("modified")) if describes else None,
            created=_date(doc.get("created")) if describes else None,
            sha256=str(live_root.get("sha256") or ""),
            extraction_status=str(doc.get("status") or ""),
            extracted_text=(doc.get("content") or None) if describes else None,
            collected_by=row.added_by,
            collected_at=as_utc(row.added_at),
            open_original=_share_opener(records, source, path)
            if row.sha256
            else _not_pinned(unpinned.get(row.doc_id, _NOT_RECORDED)),
            collected_sha256=row.sha256,
            open_preserved=_store_opener(records, row.sha256) if row.sha256 else None,
            share_facts=None if held_version else _share_facts(records, source, path),
            collected_share_modified=as_utc(row.share_modified) if row.share_modified else None,
            held_version=held_version,
            deleted_at_source=bool(live_root.get("deleted")),
        )


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _missing(records: Records, row: CaseDocument, unpinned: dict[str, str]) -> BundleItem:
    """A document no longer in the index: only the store can still disclose it."""

    @contextlib.contextmanager
    def gone() -> Iterator[BinaryIO]:
        raise FileNotFoundError("the document is no longer in the index")
        yield  # pragma: no cover - makes this a generator

    return BundleItem(
        doc_id=row.doc_id,
        unc="",
        path="",
        filename=row.doc_id,
        size=0,
        modified=None,
        sha256="",
        extraction_status="",
        extracted_text=None,
        collected_by=row.added_by,
        collected_at=as_utc(row.added_at),
        open_original=gone if row.sha256 else _not_pinned(unpinned.get(row.doc_id, _NOT_RECORDED)),
        collected_sha256=row.sha256,
        open_preserved=_store_opener(records, row.sha256) if row.sha256 else None,
        collected_share_modified=as_utc(row.share_modified) if row.share_modified else None,
    )


def _custody(records: Records, case: Case, rows: list[CaseDocument]) -> list[CustodyEvent]:
    """The case's own audit entries, then per document every entry that names it: in its
    target (document views, changes at source, preservation) or in a case or hold entry's list
    of documents (collection, holds)."""
    targets = [f"case:{case.reference}"]
    if case.hold_id is not None:
        targets.append(f"hold:{case.hold_id}")
    ids_of: dict[str, set[str]] = {}
    for row in rows:
        for key in (row.doc_id, row.root_id):
            ids_of.setdefault(key, set()).add(row.doc_id)
    events: list[CustodyEvent] = []
    per_document: list[CustodyEvent] = []
    with records.sessions() as session:
        for event in session.execute(
            select(AuditEvent).where(AuditEvent.target.in_(targets)).order_by(AuditEvent.id)
        ).scalars():
            events.append(_event(event))
            named = event.details.get("documents")
            named = named if isinstance(named, list) else []  # some entries hold a count
            for doc_id in sorted({d for key in named for d in ids_of.get(str(key), ())}):
                per_document.append(_event(event, doc_id))
        keys = sorted(ids_of)
        for start in range(0, len(keys), 250):
            chunk = keys[start : start + 250]
            named_targets = [*chunk, *(f"doc:{key}" for key in chunk)]
            for event in session.execute(
                select(AuditEvent)
                .where(AuditEvent.target.in_(named_targets))
                .order_by(AuditEvent.id)
            ).scalars():
                key = event.target.removeprefix("doc:")
                per_document.extend(_event(event, doc_id) for doc_id in sorted(ids_of[key]))
    order = {row.doc_id: n for n, row in enumerate(rows)}
    per_document.sort(key=lambda e: (order.get(e.document, 0), e.entry_id or 0))
    return events + per_document


def _event(event: AuditEvent, document: str = "") -> CustodyEvent:
    # Lists of documents are what the per-document rows are made from.
    details = ", ".join(
        f"{k}={v}"
        for k, v in event.details.items()
        if k not in ("documents", "destroyed_documents")
    )
    return CustodyEvent(
        at=as_utc(event.at),
        actor=event.actor,
        action=event.action,
        details=details[:500],
        entry_id=event.id,
        document=document,
    )


def write_case_bundle(
    records: Records,
    settings: ExportSettings,
    export: CaseExport,
    case: Case,
    rows: list[CaseDocument],
    track: Callable[[Iterator[BundleItem]], Iterator[BundleItem]],
) -> BundleResult:
    """Write `export`'s bundle of `rows` into its (existing, empty) directory; `track` sees
    each document as it is handed to the writer."""
    with records.sessions() as session:
        head = audit.head_statement(session)
    return write_bundle(
        BundleRequest(
            name=export.name,
            case_reference=case.reference,
            title=case.title,
            exported_by=export.exported_by,
            exported_at=as_utc(export.exported_at),
            items=track(_items(records, rows, _unpinned_reasons(records, case))),
            custody=_custody(records, case, rows),
            max_part_bytes=settings.part_bytes,
            audit_head=str(head),
        ),
        Path(export.directory),
    )


def collected(session: Session, case_id: int) -> list[CaseDocument]:
    """The case's collected documents (not removed), in the order they were collected."""
    rows = session.execute(
        select(CaseDocument)
        .where(CaseDocument.case_id == case_id, CaseDocument.removed.is_(False))
        .order_by(CaseDocument.id)
    ).scalars()
    return list(rows)


def export_file(export: CaseExport, filename: str) -> Path:
    """A part or metadata file of an export, refusing anything outside its folder."""
    directory = Path(export.directory)
    candidate = directory / filename
    if candidate.parent != directory or not candidate.is_file():
        raise FileNotFoundError(filename)
    return candidate


def purge_expired(records: Records, *, now: datetime | None = None) -> int:
    """Delete bundles past their download period (the audit log keeps the record)."""
    now = now or datetime.now(UTC)
    purged = 0
    with transaction(records.sessions) as session:
        # A bundle still being written is never purged, whatever its request-time expiry says.
        finished = CaseExport.status.not_in(("queued", "running"))
        for export in session.execute(select(CaseExport).where(finished)).scalars():
            if as_utc(export.expires_at) <= now and Path(export.directory).exists():
                shutil.rmtree(export.directory)
                purged += 1
                audit.record(
                    session,
                    actor="system",
                    action="case_export_purge",
                    target=f"export:{export.id}",
                    details={"name": export.name},
                )
    return purged
