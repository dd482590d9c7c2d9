"""Copy-on-hold: held originals copied from the share into the preservation store.

Tasks are rows (`PreservationTask`), one per (file, content hash), created in the same
transaction that puts the file on hold, so a hold never exists without its copy being owed.
`run_pending` works them off: after a hold is placed (in the background of the web app, or
by `foi holds preserve`), and at the end of every crawl (which also retries failures).

Failures are loud: the task records the error and stays open, an ERROR is logged, the
failure is audited, and hold pages show it. Content that could not be read when the file was
held (no hash) cannot be preserved; that is recorded as a failure at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.shares import SourceUnavailable
from crawler.smb import SourceError
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import PreservationStatus, PreservationTask
from retention.context import Records
from retention.store import CHUNK_BYTES, PreservationError, StoreFull

log = logging.getLogger(__name__)
UNREADABLE = "the file could not be read when it was held, so there is no content to preserve"


@dataclass(frozen=True)
class OwedCopy:
    root_id: str
    source: str
    path: str
    sha256: str
    size: int = 0


def enqueue(
    session: Session, root_id: str, source: str, path: str, sha256: str, size: int = 0
) -> None:
    """Owe a copy of this file's content (idempotent per file and hash)."""
    enqueue_many(session, [OwedCopy(root_id, source, path, sha256, size)])


def enqueue_many(session: Session, copies: Sequence[OwedCopy]) -> None:
    """`enqueue` for many files, with one look-up per 500 of them (holds of whole folders)."""
    for start in range(0, len(copies), 500):
        chunk = copies[start : start + 500]
        with session.no_autoflush:
            known = {
                (root, sha256)
                for root, sha256 in session.execute(
                    select(PreservationTask.root_id, PreservationTask.sha256).where(
                        PreservationTask.root_id.in_({c.root_id for c in chunk})
                    )
                )
            }
        for copy in chunk:
            if (copy.root_id, copy.sha256) in known:
                continue
            known.add((copy.root_id, copy.sha256))
            session.add(
                PreservationTask(
                    root_id=copy.root_id,
                    source_name=copy.source,
                    path=copy.path,
                    sha256=copy.sha256,
                    size=copy.size,
                    status=PreservationStatus.PENDING if copy.sha256 else PreservationStatus.FAILED,
                    error="" if copy.sha256 else UNREADABLE,
                )
            )


@dataclass(frozen=True)
class PreservationReport:
    preserved: int = 0
    failed: int = 0
    failures: tuple[tuple[str, str], ...] = ()  # (path, error)


def _chunks(handle: object, read_bytes: int) -> Iterator[bytes]:
    read = handle.read  # type: ignore[attr-defined]
    while chunk := read(read_bytes):
        yield chunk


def preserve_one(records: Records, task: PreservationTask) -> None:
    """Copy one file into the store, verifying its hash; raises PreservationError or a
    SourceError subclass."""
    if not task.sha256:
        raise PreservationError(UNREADABLE)
    if records.store.has(task.sha256):
        return
    try:
        share = records.shares(task.source_name)
    except SourceUnavailable as exc:
        raise PreservationError(str(exc)) from None
    with share.open_read(task.path) as handle:
        try:
            records.store.put(
                task.sha256, _chunks(handle, max(share.read_bytes, CHUNK_BYTES)), task.size
            )
        except (SourceError, PreservationError):
            raise
        except Exception as exc:  # a raw smbprotocol error from a read
            raise share.error(exc) from exc


def run_pending(
    records: Records,
    *,
    source: str | None = None,
    root_ids: Sequence[str] | None = None,
    include_failed: bool = True,
    actor: str = "system",
) -> PreservationReport:
    """Work off owed copies (optionally of one source or some files); failures stay open."""
    statuses = [PreservationStatus.PENDING]
    if include_failed:
        statuses.append(PreservationStatus.FAILED)
    query = select(PreservationTask).where(PreservationTask.status.in_(statuses))
    if source is not None:
        query = query.where(PreservationTask.source_name == source)
    if root_ids is not None:
        query = query.where(PreservationTask.root_id.in_(list(root_ids)))
    with records.sessions() as session:
        tasks = session.execute(query.order_by(PreservationTask.id)).scalars().all()
    preserved = 0
    failures: list[tuple[str, str]] = []
    store_full = False
    for task in tasks:
        error = ""
        if store_full:
            error = "preservation store full"
        elif not task.sha256:
            error = UNREADABLE
        else:
            try:
                preserve_one(records, task)
            except StoreFull as exc:
                error, store_full = str(exc), True
            except (PreservationError, SourceError) as exc:
                error = str(exc)
        with transaction(records.sessions) as session:
            row = session.get_one(PreservationTask, task.id)
            row.attempts += 1
            row.updated_at = datetime.now(UTC)
            if error:
                row.status, row.error = PreservationStatus.FAILED, error[:2000]
                failures.append((task.path, error))
                log.error("preservation failed for %s (%s): %s", task.path, task.root_id, error)
                if task.attempts == 0 or task.error != error:
                    audit.record(
                        session,
                        actor=actor,
                        action="preservation_failed",
                        target=f"doc:{task.root_id}",
                        outcome=audit.Outcome.FAILED,
                        details={"path": task.path, "sha256": task.sha256, "error": error},
                    )
            else:
                row.status, row.error = PreservationStatus.PRESERVED, ""
                preserved += 1
    if preserved:
        with transaction(records.sessions) as session:
            audit.record(
                session,
                actor=actor,
                action="preservation_copy",
                target=f"source:{source}" if source else "",
                details={"preserved": preserved, "failed": len(failures)},
            )
    return PreservationReport(preserved, len(failures), tuple(failures))


def tasks_for(session: Session, root_ids: Sequence[str]) -> dict[str, list[PreservationTask]]:
    found: dict[str, list[PreservationTask]] = {}
    for start in range(0, len(root_ids), 500):
        for task in session.execute(
            select(PreservationTask).where(
                PreservationTask.root_id.in_(list(root_ids[start : start + 500]))
            )
        ).scalars():
            found.setdefault(task.root_id, []).append(task)
    return found


class Preserver:
    """Runs `run_pending` on one background thread of a long-lived process (the web app):
    requests return at once, copies follow in order, and a failure is recorded on the task
    like any other. Pending tasks survive a restart (they are rows): the next crawl, or
    `foi holds preserve`, picks them up."""

    def __init__(self, records: Records) -> None:
        self._records = records
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preserve")

    def submit(self, actor: str) -> Future[PreservationReport]:
        return self._pool.submit(run_pending, self._records, include_failed=False, actor=actor)
