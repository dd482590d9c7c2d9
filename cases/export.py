"""Disclosure bundles of a case's collected records (see cases.bundle for the zip format).

At export every original is read again — from its share, or from the preservation store for a
held version or a held file deleted at source — and hashed; a hash that differs from the one
indexed is reported in the bundle, never exported silently. Documents are fetched one at a
time as the bundle is written, so memory stays flat however many there are. Bundles stay
downloadable for `export_keep_days`, then `purge_expired` deletes them.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select

from cases.bundle import BundleItem, BundleRequest, CustodyEvent, write_bundle
from cases.service import CaseError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import AuditEvent, Case, CaseDocument, CaseExport
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


def export_case(
    records: Records, settings: ExportSettings, case_id: int, *, actor: str, ip: str = ""
) -> CaseExport:
    with records.sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseError(f"there is no case {case_id}")
        rows = (
            session.execute(
                select(CaseDocument)
                .where(CaseDocument.case_id == case.id, CaseDocument.removed.is_(False))
                .order_by(CaseDocument.id)
            )
            .scalars()
            .all()
        )
        sequence = 1 + len(
            session.execute(select(CaseExport.id).where(CaseExport.case_id == case.id)).all()
        )
        session.expunge_all()
    if not rows:
        raise CaseError("the case has no collected documents to export")
    now = datetime.now(UTC)
    name = f"{case.reference}-bundle-{sequence:03d}-{now:%Y%m%dT%H%M%SZ}"
    directory = settings.directory / case.reference / name
    directory.mkdir(parents=True, exist_ok=False)
    result = write_bundle(
        BundleRequest(
            name=name,
            case_reference=case.reference,
            title=case.title,
            exported_by=actor,
            exported_at=now,
            items=_items(records, list(rows)),
            custody=_custody(records, case),
            max_part_bytes=settings.part_bytes,
        ),
        directory,
    )
    counts = {
        "documents": len(rows),
        "included": result.included,
        "failed": result.failed,
        "mismatched": result.mismatched,
        "bytes": result.total_bytes,
    }
    with transaction(records.sessions) as session:
        export = CaseExport(
            case_id=case.id,
            name=name,
            directory=str(directory),
            parts=[p.name for p in result.parts],
            counts=counts,
            exported_by=actor,
            exported_at=now,
            expires_at=now + timedelta(days=settings.keep_days),
        )
        session.add(export)
        audit.record(
            session,
            actor=actor,
            action="case_export",
            target=f"case:{case.reference}",
            ip=ip,
            outcome=audit.Outcome.OK if not result.mismatched else audit.Outcome.FAILED,
            details={**counts, "name": name, "parts": export.parts},
        )
        session.flush()
        session.expunge(export)
        return export


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
        for export in session.execute(select(CaseExport)).scalars():
            expires = export.expires_at
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            if expires <= now and Path(export.directory).exists():
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
