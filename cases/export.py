"""Disclosure bundles of a case's collected records (see cases.bundle for the zip format).

At export every original is read again — from its share, or from the preservation store for a
held version or a held file deleted at source — and hashed; a hash that differs from the one
indexed is reported in the bundle, never exported silently. Documents are fetched one at a
time as the bundle is written, so memory stays flat however many there are. Bundles stay
downloadable for `export_keep_days`, then `purge_expired` deletes them. How an export is asked
for, run and watched is cases.export_jobs.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cases.bundle import BundleItem, BundleRequest, BundleResult, CustodyEvent, write_bundle
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import AuditEvent, Case, CaseDocument, CaseExport, as_utc
from foi_core.settings import Settings
from retention.context import Records

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


def _opener(records: Records, root: dict[str, Any]) -> Any:
    """How to read the file's original bytes again, at export time."""
    from_store = bool(root.get("version_of")) or (root.get("deleted") and root.get("held"))
    sha256 = str(root.get("sha256") or "")

    @contextlib.contextmanager
    def open_original() -> Iterator[BinaryIO]:
        if from_store:
            if not sha256 or not records.store.has(sha256):
                raise FileNotFoundError("the held original is not in the preservation store")
            with records.store.open(sha256) as stored:
                yield stored
            return
        share = records.shares(str(root["source"]))
        with share.open_read(str(root["path"])) as handle:
            yield handle

    return open_original


def _items(records: Records, rows: list[CaseDocument]) -> Iterator[BundleItem]:
    es, alias = records.es, records.names.read_alias
    for row in rows:
        hit = es.options(ignore_status=404).get(index=alias, id=row.doc_id)
        root_hit = (
            hit
            if row.root_id == row.doc_id
            else es.options(ignore_status=404).get(index=alias, id=row.root_id, source=_DOC_FIELDS)
        )
        if not hit.get("found") or not root_hit.get("found"):
            yield _missing(row)
            continue
        doc, root = hit["_source"], root_hit["_source"]
        modified = doc.get("modified") or root.get("modified")
        yield BundleItem(
            doc_id=row.doc_id,
            unc=str(root.get("unc") or ""),
            path=str(root.get("path") or ""),
            filename=str(root.get("filename") or row.doc_id),
            size=int(root.get("size") or 0),
            modified=datetime.fromisoformat(modified) if modified else None,
            sha256=str(root.get("sha256") or ""),
            extraction_status=str(doc.get("status") or ""),
            extracted_text=doc.get("content") or None,
            collected_by=row.added_by,
            collected_at=row.added_at,
            open_original=_opener(records, root),
        )


def _missing(row: CaseDocument) -> BundleItem:
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
        collected_at=row.added_at,
        open_original=gone,
    )


def _custody(records: Records, case: Case) -> list[CustodyEvent]:
    targets = [f"case:{case.reference}"]
    if case.hold_id is not None:
        targets.append(f"hold:{case.hold_id}")
    with records.sessions() as session:
        events = session.execute(
            select(AuditEvent)
            .where(or_(*(AuditEvent.target == t for t in targets)))
            .order_by(AuditEvent.id)
        ).scalars()
        return [
            CustodyEvent(
                at=event.at,
                actor=event.actor,
                action=event.action,
                details=", ".join(
                    f"{k}={v}" for k, v in event.details.items() if k not in ("documents",)
                )[:500],
            )
            for event in events
        ]


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
    return write_bundle(
        BundleRequest(
            name=export.name,
            case_reference=case.reference,
            title=case.title,
            exported_by=export.exported_by,
            exported_at=as_utc(export.exported_at),
            items=track(_items(records, rows)),
            custody=_custody(records, case),
            max_part_bytes=settings.part_bytes,
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
