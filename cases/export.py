"""Disclosure bundles of a case's collected records (see cases.bundle for the zip format).

At export every original is read again — from its share, or from the preservation store for a
held version or a held file deleted at source — and hashed; a hash that differs from the one
indexed is reported in the bundle, never exported silently. Documents are fetched one at a
time as the bundle is written, so memory stays flat however many there are. Bundles stay
downloadable for `export_keep_days`, then `purge_expired` deletes them.

A bundle can take minutes (every original is read and hashed again), so the web app asks for
one (`request_export`: a queued row, audited) and writes it on a background thread
(`Exporter` -> `run_export`), showing its progress; a failure is recorded on the export with
its reason and the partial files are removed. An export whose process stopped is found by its
silent heartbeat (`sweep_interrupted`) and failed, never left "running" for ever.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cases.bundle import BundleItem, BundleRequest, CustodyEvent, write_bundle
from cases.service import CaseError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import AuditEvent, Case, CaseDocument, CaseExport
from foi_core.settings import Settings
from retention.context import Records

log = logging.getLogger(__name__)

# A running export writes its progress and heartbeat at least this often; one silent for
# STALE_AFTER was interrupted (its process stopped) and is failed by `sweep_interrupted`. One
# document's original is re-read and hashed between beats: 10 minutes allows a few GB.
HEARTBEAT_SECONDS = 10
STALE_AFTER = timedelta(minutes=10)


class ExportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


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


def request_export(
    records: Records, settings: ExportSettings, case_id: int, *, actor: str, ip: str = ""
) -> CaseExport:
    """Ask for a bundle of the case's collected documents: checked, named and recorded (and
    audited) at once, written by `run_export` (in the background, for the web app). Raises
    CaseError when the case has nothing to export or a bundle of it is already being made."""
    now = datetime.now(UTC)
    with transaction(records.sessions) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseError(f"there is no case {case_id}")
        documents = len(_collected(session, case.id))
        if not documents:
            raise CaseError("the case has no collected documents to export")
        pending = session.execute(
            select(CaseExport.name).where(
                CaseExport.case_id == case.id,
                CaseExport.status.in_((ExportState.QUEUED, ExportState.RUNNING)),
            )
        ).scalar()
        if pending is not None:
            raise CaseError(f"bundle {pending} of this case is still being prepared")
        sequence = 1 + len(
            session.execute(select(CaseExport.id).where(CaseExport.case_id == case.id)).all()
        )
        name = f"{case.reference}-bundle-{sequence:03d}-{now:%Y%m%dT%H%M%SZ}"
        export = CaseExport(
            case_id=case.id,
            name=name,
            directory=str(settings.directory / case.reference / name),
            parts=[],
            counts={"documents": documents},
            exported_by=actor,
            exported_at=now,
            expires_at=now + timedelta(days=settings.keep_days),
            status=ExportState.QUEUED,
            heartbeat_at=now,
        )
        session.add(export)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="case_export_requested",
            target=f"case:{case.reference}",
            ip=ip,
            details={"name": name, "documents": documents},
        )
        session.expunge(export)
        return export


def run_export(records: Records, settings: ExportSettings, export_id: int) -> CaseExport:
    """Write a requested bundle. Every failure is recorded on the export (state `failed`, the
    reason, audited) and its partial files are removed; nothing raises but a missing row."""
    with transaction(records.sessions) as session:
        # Taking the row from queued to running is the claim: a second runner finds it taken.
        claimed = session.execute(
            update(CaseExport)
            .where(CaseExport.id == export_id, CaseExport.status == ExportState.QUEUED)
            .values(status=ExportState.RUNNING, heartbeat_at=datetime.now(UTC))
        ).rowcount  # type: ignore[attr-defined]
        export = session.get(CaseExport, export_id)
        if export is None:
            raise CaseError(f"there is no export {export_id}")
        case = session.get(Case, export.case_id)
        assert case is not None  # exports are never deleted, nor their cases
        rows = _collected(session, case.id)
        session.expunge_all()
    if not claimed:
        return export
    directory = Path(export.directory)
    try:
        directory.mkdir(parents=True, exist_ok=False)
        result = write_bundle(
            BundleRequest(
                name=export.name,
                case_reference=case.reference,
                title=case.title,
                exported_by=export.exported_by,
                exported_at=_utc(export.exported_at),
                items=_Progress(records, export_id).track(_items(records, rows)),
                custody=_custody(records, case),
                max_part_bytes=settings.part_bytes,
            ),
            directory,
        )
    except Exception as exc:  # recorded on the export: a failed bundle must never pass silently
        log.exception("bundle %s failed", export.name)
        return _finish_failed(records, export_id, _reason(exc))
    counts = {
        "documents": len(rows),
        "included": result.included,
        "failed": result.failed,
        "mismatched": result.mismatched,
        "bytes": result.total_bytes,
    }
    finished = datetime.now(UTC)
    with transaction(records.sessions) as session:
        done = session.get(CaseExport, export_id)
        assert done is not None
        done.status = ExportState.DONE
        done.parts = [p.name for p in result.parts]
        done.counts = counts
        done.progress = len(rows)
        done.heartbeat_at = finished
        done.expires_at = finished + timedelta(days=settings.keep_days)
        audit.record(
            session,
            actor=done.exported_by,
            action="case_export",
            target=f"case:{case.reference}",
            outcome=audit.Outcome.OK if not result.mismatched else audit.Outcome.FAILED,
            details={**counts, "name": done.name, "parts": done.parts},
        )
        session.flush()
        session.expunge(done)
        return done


def export_case(
    records: Records, settings: ExportSettings, case_id: int, *, actor: str, ip: str = ""
) -> CaseExport:
    """Request a bundle and write it now, in this process (the command line)."""
    export = request_export(records, settings, case_id, actor=actor, ip=ip)
    return run_export(records, settings, export.id)


def sweep_interrupted(records: Records, *, now: datetime | None = None) -> int:
    """Fail the exports whose writer stopped (its process ended): running, but silent for
    STALE_AFTER. Their partial files are removed; asking again makes a new bundle."""
    now = now or datetime.now(UTC)
    with records.sessions() as session:
        stale = [
            e.id
            for e in session.execute(
                select(CaseExport).where(CaseExport.status == ExportState.RUNNING)
            ).scalars()
            if e.heartbeat_at is None or _utc(e.heartbeat_at) < now - STALE_AFTER
        ]
    for export_id in stale:
        _finish_failed(records, export_id, "interrupted: the process writing it stopped")
    return len(stale)


def run_queued(
    records: Records, settings: ExportSettings, *, waited: timedelta = timedelta(0)
) -> list[CaseExport]:
    """Sweep interrupted exports, then write each export queued for at least `waited` (oldest
    first). The periodic job passes STALE_AFTER, to pick up only bundles whose web process
    stopped before writing them (or that wait behind a long one); the command line, nothing."""
    sweep_interrupted(records)
    before = datetime.now(UTC) - waited
    with records.sessions() as session:
        queued = [
            e.id
            for e in session.execute(
                select(CaseExport)
                .where(CaseExport.status == ExportState.QUEUED)
                .order_by(CaseExport.id)
            ).scalars()
            if _utc(e.exported_at) <= before
        ]
    return [run_export(records, settings, export_id) for export_id in queued]


class Exporter:
    """Writes requested bundles on one background thread of a long-lived process (the web
    app), so the request that asks for one returns at once. A bundle queued when the process
    stops is a row: the periodic job or `foi cases export-pending` writes it."""

    def __init__(self, records: Records, settings: ExportSettings) -> None:
        self._records = records
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")

    def submit(self, export_id: int) -> Future[CaseExport]:
        return self._pool.submit(run_export, self._records, self._settings, export_id)


class _Progress:
    """Counts the documents handed to the bundle writer, and writes the count and a heartbeat
    to the export at most every HEARTBEAT_SECONDS (so watching it costs the writer little)."""

    def __init__(self, records: Records, export_id: int) -> None:
        self._records = records
        self._export_id = export_id
        self._last = 0.0

    def track(self, items: Iterator[BundleItem]) -> Iterator[BundleItem]:
        for done, item in enumerate(items):
            if time.monotonic() - self._last >= HEARTBEAT_SECONDS:
                self._beat(done)
            yield item

    def _beat(self, done: int) -> None:
        self._last = time.monotonic()
        with transaction(self._records.sessions) as session:
            session.execute(
                update(CaseExport)
                .where(CaseExport.id == self._export_id)
                .values(progress=done, heartbeat_at=datetime.now(UTC))
            )


def _finish_failed(records: Records, export_id: int, reason: str) -> CaseExport:
    with transaction(records.sessions) as session:
        export = session.get(CaseExport, export_id)
        assert export is not None
        export.status = ExportState.FAILED
        export.error = reason
        export.parts = []
        export.heartbeat_at = datetime.now(UTC)
        case = session.get(Case, export.case_id)
        audit.record(
            session,
            actor=export.exported_by,
            action="case_export",
            target=f"case:{case.reference if case else export.case_id}",
            outcome=audit.Outcome.FAILED,
            details={"name": export.name, "error": reason},
        )
        session.flush()
        session.expunge(export)
    # A failed bundle must not be mistaken for a complete one: its files go.
    shutil.rmtree(export.directory, ignore_errors=True)
    return export


def _collected(session: Session, case_id: int) -> list[CaseDocument]:
    rows = session.execute(
        select(CaseDocument)
        .where(CaseDocument.case_id == case_id, CaseDocument.removed.is_(False))
        .order_by(CaseDocument.id)
    ).scalars()
    return list(rows)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
