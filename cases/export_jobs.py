"""Exports as jobs: asked for, written once, watched, and never left "running" for ever.

A bundle can take minutes (every original is read and hashed again), so the web app asks for
one (`request_export`: a queued row, audited) and writes it on a background thread
(`Exporter` -> `run_export`), showing its progress. `foi cases export` does both at once.

Invariants:
- At most one queued or running export per case: a partial unique index enforces it, so two
  web workers answering a double click cannot both queue one.
- Each state change is a conditional update from the state it expects (queued -> running ->
  done | failed); one that finds the row moved on changes nothing. So an export is written
  once however many runners reach it, and a late writer never overwrites a sweep's verdict
  (its files then go, as the row says failed).
- While it runs, an export's heartbeat is written every HEARTBEAT_SECONDS by a timer, also
  while one large original is being read. An export silent for STALE_AFTER was interrupted
  (its process stopped): `sweep_interrupted` fails it and deletes its files. Asking for a new
  bundle sweeps first, so a crashed worker never blocks a case for good.
- A failed export keeps no files: only the folder this run created is removed, never another.
- A finished export is audited with the SHA-256 of each zip part as written to disk.
- Heartbeats are compared with the sweeper's clock: hosts must keep time (NTP); ten minutes
  dwarfs any skew that matters.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cases.bundle import BundleItem
from cases.export import ExportSettings, collected, write_case_bundle
from cases.service import CaseError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import Case, CaseExport, as_utc
from foi_core.private_files import private_dir
from retention.context import Records

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
STALE_AFTER = timedelta(minutes=10)


class ExportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


PENDING = (ExportState.QUEUED, ExportState.RUNNING)


def request_export(
    records: Records, settings: ExportSettings, case_id: int, *, actor: str, ip: str = ""
) -> CaseExport:
    """Ask for a bundle of the case's collected documents: checked, named and recorded (and
    audited) at once, written by `run_export`. Raises CaseError when the case has nothing to
    export or a bundle of it is already being made."""
    sweep_interrupted(records)
    now = datetime.now(UTC)
    try:
        with transaction(records.sessions) as session:
            case = session.get(Case, case_id)
            if case is None:
                raise CaseError(f"there is no case {case_id}")
            documents = len(collected(session, case.id))
            if not documents:
                raise CaseError("the case has no collected documents to export")
            pending = _pending_name(session, case.id)
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
    except IntegrityError:
        # Another request queued one between our check and our insert (the unique index).
        with records.sessions() as session:
            pending = _pending_name(session, case_id)
        which = f"bundle {pending}" if pending else "another bundle"
        raise CaseError(f"{which} of this case is still being prepared") from None


def run_export(records: Records, settings: ExportSettings, export_id: int) -> CaseExport:
    """Write a requested bundle, once. A failure is recorded on the export (state failed, the
    reason, audited) and the files this run created are removed."""
    with transaction(records.sessions) as session:
        # Taking the row from queued to running is the claim: a second runner finds it taken.
        # The claim is also its first heartbeat: a row queued long ago must not look silent.
        claimed = _move(
            session,
            export_id,
            (ExportState.QUEUED,),
            status=ExportState.RUNNING,
            heartbeat_at=datetime.now(UTC),
        )
        export = session.get(CaseExport, export_id)
        if export is None:
            raise CaseError(f"there is no export {export_id}")
        if not claimed:
            session.expunge(export)
            return export
        case = session.get(Case, export.case_id)
        assert case is not None  # exports are never deleted, nor their cases
        rows = collected(session, case.id)
        session.expunge_all()
    directory = Path(export.directory)
    progress = _Progress(records, export_id)
    created = False
    try:
        with progress.beating():
            private_dir(directory.parent)
            directory.mkdir(mode=0o700, exist_ok=False)
            created = True
            result = write_case_bundle(records, settings, export, case, rows, progress.track)
    except Exception as exc:  # recorded on the export: a failed bundle must never pass silently
        log.exception("bundle %s failed", export.name)
        return _fail(records, export_id, _reason(exc), remove=directory if created else None)[0]
    tally = result.counts
    counts = {
        "documents": len(rows),
        "included": result.included,
        "failed": result.failed,
        "mismatched": result.mismatched,
        "deleted": tally.deleted if tally else 0,
        "from_store": tally.from_store if tally else 0,
        "bytes": result.total_bytes,
    }
    finished = datetime.now(UTC)
    parts = [p.name for p in result.parts]
    # The parts as written, so a copy handed over can be checked against the audit log.
    part_sha256 = dict(zip(parts, result.part_sha256, strict=True))
    with transaction(records.sessions) as session:
        done = _move(
            session,
            export_id,
            (ExportState.RUNNING,),
            status=ExportState.DONE,
            parts=parts,
            counts=counts,
            progress=len(rows),
            heartbeat_at=finished,
            expires_at=finished + timedelta(days=settings.keep_days),
        )
        if done:
            audit.record(
                session,
                actor=export.exported_by,
                action="case_export",
                target=f"case:{case.reference}",
                # Failed when a document collected could not be disclosed as collected.
                outcome=audit.Outcome.OK if not result.failed else audit.Outcome.FAILED,
                details={
                    **counts,
                    "name": export.name,
                    "parts": parts,
                    "part_sha256": part_sha256,
                },
            )
    if not done:
        # Swept as interrupted meanwhile (silent for STALE_AFTER): the row says failed, so the
        # files must not look like a bundle.
        shutil.rmtree(directory, ignore_errors=True)
    return _load(records, export_id)


def export_case(
    records: Records, settings: ExportSettings, case_id: int, *, actor: str, ip: str = ""
) -> CaseExport:
    """Request a bundle and write it now, in this process (the command line)."""
    export = request_export(records, settings, case_id, actor=actor, ip=ip)
    return run_export(records, settings, export.id)


def sweep_interrupted(records: Records, *, now: datetime | None = None) -> int:
    """Fail the exports whose writer stopped: running, but silent for STALE_AFTER. Their files
    are removed; asking again makes a new bundle."""
    cutoff = (now or datetime.now(UTC)) - STALE_AFTER
    with records.sessions() as session:
        stale = [
            (e.id, e.heartbeat_at, e.directory)
            for e in session.execute(
                select(CaseExport).where(CaseExport.status == ExportState.RUNNING)
            ).scalars()
            if e.heartbeat_at is None or as_utc(e.heartbeat_at) < cutoff
        ]
    swept = 0
    for export_id, heartbeat, directory in stale:
        # Only if no heartbeat came in since we looked (the update names the one we saw).
        _, failed = _fail(
            records,
            export_id,
            "interrupted: the process writing it stopped",
            remove=Path(directory),
            heartbeat=heartbeat,
        )
        swept += failed
    return swept


def run_queued(
    records: Records, settings: ExportSettings, *, waited: timedelta = timedelta(0)
) -> list[CaseExport]:
    """Sweep interrupted exports, then write each export queued for at least `waited` (oldest
    first). The periodic job passes STALE_AFTER, to pick up only bundles whose web process
    stopped before writing them; the command line, nothing."""
    sweep_interrupted(records)
    queued = _queued(records, before=datetime.now(UTC) - waited)
    return [run_export(records, settings, export_id) for export_id in queued]


class Exporter:
    """Writes requested bundles on one background thread of a long-lived process (the web
    app), so the request that asks for one returns at once. Queued exports left by a stopped
    process are resubmitted when the app starts (`resume`); a claim makes sure each is written
    once, whichever process gets there first."""

    def __init__(self, records: Records, settings: ExportSettings) -> None:
        self._records = records
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")

    def request(self, case_id: int, *, actor: str, ip: str = "") -> CaseExport:
        """`request_export`, then written on this process's export thread."""
        export = request_export(self._records, self._settings, case_id, actor=actor, ip=ip)
        self.submit(export.id)
        return export

    def submit(self, export_id: int) -> Future[CaseExport]:
        future = self._pool.submit(run_export, self._records, self._settings, export_id)
        future.add_done_callback(_log_crash)
        return future

    def resume(self) -> Future[int]:
        """Resubmit the queued exports, from the export thread (so starting the app waits for
        no database)."""
        return self._pool.submit(self._resume)

    def _resume(self) -> int:
        try:
            ids = _queued(self._records)
        except SQLAlchemyError as exc:  # no database yet: the periodic job will pick them up
            log.warning("queued exports not resumed: %s", exc)
            return 0
        for export_id in ids:
            self.submit(export_id)
        return len(ids)


def _log_crash(future: Future[CaseExport]) -> None:
    # run_export records its own failures; what reaches here (the database failing while it
    # records one) would otherwise vanish with the thread. The sweep fails such an export.
    error = future.exception()
    if error is not None:
        log.error("export thread failed: %r", error, exc_info=error)


class _Progress:
    """Counts the documents handed to the bundle writer; while `beating`, a timer thread writes
    the count and a heartbeat every HEARTBEAT_SECONDS, however long one document takes."""

    def __init__(self, records: Records, export_id: int) -> None:
        self._records = records
        self._export_id = export_id
        self.done = 0
        self._stop = threading.Event()

    def track(self, items: Iterator[BundleItem]) -> Iterator[BundleItem]:
        for done, item in enumerate(items):
            self.done = done
            yield item

    @contextmanager
    def beating(self) -> Iterator[None]:
        timer = threading.Thread(target=self._run, name="export-heartbeat", daemon=True)
        timer.start()
        try:
            yield
        finally:
            self._stop.set()
            timer.join()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with transaction(self._records.sessions) as session:
                    session.execute(
                        update(CaseExport)
                        .where(
                            CaseExport.id == self._export_id,
                            CaseExport.status == ExportState.RUNNING,
                        )
                        .values(progress=self.done, heartbeat_at=datetime.now(UTC))
                    )
            except Exception:  # a missed beat is not the export's failure; the next may land
                log.exception("heartbeat of export %s not written", self._export_id)


def _move(session: Any, export_id: int, expected: tuple[str, ...], **values: Any) -> bool:
    """Set `values` on the export only if it is in one of the `expected` states."""
    changed = session.execute(
        update(CaseExport)
        .where(CaseExport.id == export_id, CaseExport.status.in_(expected))
        .values(**values)
    ).rowcount
    return bool(changed)


def _fail(
    records: Records,
    export_id: int,
    reason: str,
    *,
    remove: Path | None,
    heartbeat: datetime | bool | None = False,
) -> tuple[CaseExport, bool]:
    """Mark a queued or running export failed (and audit it), then remove `remove`; returns
    the export and whether this call failed it. With `heartbeat` (the value the sweep saw),
    only if no heartbeat has come since."""
    with transaction(records.sessions) as session:
        statement = (
            update(CaseExport)
            .where(CaseExport.id == export_id, CaseExport.status.in_(PENDING))
            .values(
                status=ExportState.FAILED, error=reason, parts=[], heartbeat_at=datetime.now(UTC)
            )
        )
        if heartbeat is not False:
            statement = statement.where(
                CaseExport.heartbeat_at.is_(None)
                if heartbeat is None
                else CaseExport.heartbeat_at == heartbeat
            )
        failed = bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]
        export = session.get_one(CaseExport, export_id)
        if failed:
            case = session.get(Case, export.case_id)
            audit.record(
                session,
                actor=export.exported_by,
                action="case_export",
                target=f"case:{case.reference if case else export.case_id}",
                outcome=audit.Outcome.FAILED,
                details={"name": export.name, "error": reason},
            )
        session.expunge(export)
    if failed and remove is not None:
        # A failed bundle must not be mistaken for a complete one: its files go.
        shutil.rmtree(remove, ignore_errors=True)
    return export, failed


def _load(records: Records, export_id: int) -> CaseExport:
    with records.sessions() as session:
        export = session.get_one(CaseExport, export_id)
        session.expunge(export)
        return export


def _queued(records: Records, *, before: datetime | None = None) -> list[int]:
    """The queued exports (asked for no later than `before`), oldest first."""
    with records.sessions() as session:
        rows = session.execute(
            select(CaseExport.id, CaseExport.exported_at)
            .where(CaseExport.status == ExportState.QUEUED)
            .order_by(CaseExport.id)
        ).all()
    return [i for i, at in rows if before is None or as_utc(at) <= before]


def _pending_name(session: Any, case_id: int) -> str | None:
    name = session.execute(
        select(CaseExport.name).where(CaseExport.case_id == case_id, CaseExport.status.in_(PENDING))
    ).scalar()
    return str(name) if name is not None else None


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
