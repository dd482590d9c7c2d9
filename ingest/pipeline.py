"""The crawl coordinator: walk a share, hand changed files to a dispatch, count, sweep deletions.

Invariants:
- every file the walk sees ends up either indexed (with an explicit extraction status) or
  recorded as a problem with its reason; one bad file never stops the crawl;
- unchanged files (same size, mtime and file id as last seen) are neither read nor extracted,
  and no work is dispatched for them; their security descriptors are read (a permission change
  touches no time a listing shows) and a changed ACL updates only the ACL fields of their
  documents (`ingest.permissions`);
- files that vanished since the last crawl are marked deleted in the index, not dropped, unless
  they sit under a folder this crawl could not read (absence of evidence is not deletion).

Only the per-file work (`FileProcessor.process`) is pluggable: a `FileDispatch` runs it in this
process's thread pool (`ThreadDispatch`, the default) or on Celery workers
(`ingest.distributed.CeleryDispatch`). Walking, the unchanged-file filter, counting, the run
record and the deletion sweep happen here, once, whichever dispatch does the work. The walk
runs in the calling thread while the dispatch works, so SMB listing overlaps with extraction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.smb import FileFacts, SourceError
from crawler.walker import WalkProblem, walk
from foi_core.db import transaction
from foi_core.models import CrawlRun, FileState, stored_file_id
from indexer.bulk import mark_deleted
from indexer.search.fetch import files_document_ids
from ingest.permissions import PermissionRefresh
from ingest.processor import FileOutcome, FileProcessor
from ingest.transient import retry_transient


@dataclass
class CrawlCounts:
    seen: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    renamed: int = 0
    permissions: int = 0  # unchanged files whose ACL changed (only their ACL fields written)
    extracted: int = 0
    reused: int = 0
    failed: int = 0
    deleted: int = 0
    problems: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    problem_paths: list[dict[str, str]] = field(default_factory=list)
    expected: int = 0  # files seen by the previous finished crawl, for the ETA

    def add(self, outcome: FileOutcome) -> None:
        if outcome.kind == "vanished":
            return
        setattr(self, outcome.kind, getattr(self, outcome.kind) + 1)
        self.by_status[outcome.status] = self.by_status.get(outcome.status, 0) + 1
        self.extracted += outcome.extracted
        self.reused += outcome.reused
        self.failed += outcome.failed

    @property
    def done(self) -> int:
        return self.unchanged + self.new + self.changed + self.renamed

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in self.__dict__.items()
        }


Progress = Callable[[CrawlCounts], None]
# Statuses worth another attempt even when the file looks unchanged (see `_unchanged`).
RETRIED_WHEN_UNCHANGED = frozenset({"access_denied"})
# How often a running crawl saves its counts for the status page (live progress and ETA).
PROGRESS_SAVE_S = 2.0


class DispatchRun(Protocol):
    """One crawl run's hand-over of changed files to wherever they are processed."""

    def submit(self, facts: FileFacts, previous: FileState | None) -> list[FileOutcome]:
        """Hand over one file. May wait for earlier files so the backlog stays bounded;
        returns the outcomes that finished meanwhile (each exactly once)."""
        ...

    def drain(self) -> Iterator[list[FileOutcome]]:
        """Wait for every file handed over, yielding outcomes as they finish. An error from
        the per-file work (Tika down through every retry, Elasticsearch refusing writes)
        propagates and fails the run; files not yet recorded are retried next crawl."""
        ...


class FileDispatch(Protocol):
    """Where `FileProcessor.process` runs: one `open` per crawl run."""

    def open(self, source: str, run_id: int) -> AbstractContextManager[DispatchRun]: ...


@dataclass
class ThreadDispatch:
    """Processes files on `workers` threads of this process (the in-process crawl)."""

    processor: FileProcessor
    workers: int = 4

    @contextmanager
    def open(self, source: str, run_id: int) -> Iterator[DispatchRun]:
        with ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix=f"crawl-{source}"
        ) as pool:
            yield _ThreadRun(pool, self.processor, run_id, backlog=self.workers * 4)


class _ThreadRun:
    def __init__(
        self, pool: ThreadPoolExecutor, processor: FileProcessor, run_id: int, backlog: int
    ) -> None:
        self._pool, self._processor, self._run_id = pool, processor, run_id
        self._backlog = backlog
        self._pending: set[Future[FileOutcome]] = set()

    def submit(self, facts: FileFacts, previous: FileState | None) -> list[FileOutcome]:
        # An in-process crawl waits out an Elasticsearch or SMB outage per file, with the same
        # policy a worker applies to its batch (ingest.transient); nothing below retries.
        work = partial(self._processor.process, facts, self._run_id, previous)
        self._pending.add(self._pool.submit(retry_transient, work))
        # Bounded backlog: memory stays flat however large the share.
        finished: list[FileOutcome] = []
        while len(self._pending) >= self._backlog:
            finished.extend(self._next())
        return finished

    def drain(self) -> Iterator[list[FileOutcome]]:
        while self._pending:
            yield self._next()

    def _next(self) -> list[FileOutcome]:
        finished, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
        return [future.result() for future in finished]


@dataclass
class CrawlPipeline:
    processor: FileProcessor
    sessions: sessionmaker[Session]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    workers: int = 4
    # Where per-file work runs; None means `ThreadDispatch(processor, workers)`. The processor
    # is still needed here: its share is walked and its index swept for deletions.
    dispatch: FileDispatch | None = None

    @property
    def source(self) -> str:
        return self.processor.source

    def run(self, *, full: bool = False, progress: Progress | None = None) -> CrawlCounts:
        counts = CrawlCounts(expected=self._previous_total())
        run_id = self._start_run()
        started = time.monotonic()
        # Whatever interrupts the crawl (a source error, a bug, Ctrl-C) is recorded on the run.
        status, error = "failed", "interrupted"
        try:
            self._crawl(run_id, full, counts, self._recorder(run_id, started, progress))
            counts.deleted = self._sweep_deleted(run_id, counts.problem_paths)
            retry_transient(partial(self.processor.keeping.crawl_finished, self.source, run_id))
            status, error = "finished", ""
        except SourceError as exc:
            error = str(exc)
            raise
        finally:
            with transaction(self.sessions) as session:
                run = session.get_one(CrawlRun, run_id)
                run.status, run.error = status, error
                run.finished_at = datetime.now(UTC)
                run.counts = {**counts.as_dict(), "seconds": round(time.monotonic() - started, 3)}
        if progress is not None:
            progress(counts)
        return counts

    def _recorder(self, run_id: int, started: float, progress: Progress | None) -> Progress:
        """`progress`, plus the counts saved on the run every few seconds for the status page."""
        last = time.monotonic()

        def report(counts: CrawlCounts) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_SAVE_S:
                last = now
                with transaction(self.sessions) as session:
                    session.get_one(CrawlRun, run_id).counts = {
                        **counts.as_dict(),
                        "seconds": round(now - started, 3),
                    }
            if progress is not None:
                progress(counts)

        return report

    def _start_run(self) -> int:
        with transaction(self.sessions) as session:
            run = CrawlRun(source_name=self.source, status="running", counts={}, error="")
            session.add(run)
            session.flush()
            return run.id

    def _previous_total(self) -> int:
        with self.sessions() as session:
            last = session.execute(
                select(CrawlRun)
                .where(CrawlRun.source_name == self.source, CrawlRun.status == "finished")
                .order_by(CrawlRun.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return int(last.counts.get("seen", 0)) if last else 0

    def _known_states(self) -> dict[str, FileState]:
        with self.sessions() as session:
            return {
                s.path: s
                for s in session.execute(
                    select(FileState).where(FileState.source_name == self.source)
                ).scalars()
            }

    def _crawl(self, run_id: int, full: bool, counts: CrawlCounts, progress: Progress) -> None:
        known = self._known_states()
        unchanged: list[str] = []
        # Creation times of unchanged files crawled before they were recorded: without one a
        # rename is never taken for a move (see ingest.moves), so fill them in as they are seen.
        created: dict[str, int] = {}
        dispatch = self.dispatch or ThreadDispatch(self.processor, self.workers)
        processor = self.processor
        refresh = PermissionRefresh(processor.share, processor.es, processor.names, self.sessions)
        with dispatch.open(self.source, run_id) as files, refresh.open() as acls:
            for item in walk(self.processor.share, include=self.include, exclude=self.exclude):
                if isinstance(item, WalkProblem):
                    counts.problems += 1
                    counts.problem_paths.append(
                        {"path": item.path, "kind": item.kind, "message": item.message}
                    )
                    continue
                counts.seen += 1
                previous = known.get(item.path)
                if not full and previous is not None and _unchanged(previous, item):
                    counts.unchanged += 1
                    acls.check(previous)
                    unchanged.append(item.path)
                    if previous.created_ns is None and item.created_ns:
                        created[item.path] = item.created_ns
                    if len(unchanged) >= 500:
                        self._touch(unchanged, run_id, created)
                    continue
                _count(files.submit(item, previous), counts, progress)
                if counts.seen % 100 == 0:
                    progress(counts)
            for finished in files.drain():
                _count(finished, counts, progress)
            counts.permissions = acls.finish()
        self._touch(unchanged, run_id, created)

    def _touch(self, paths: list[str], run_id: int, created: dict[str, int]) -> None:
        if not paths and not created:
            return
        with transaction(self.sessions) as session:
            for chunk in _chunks(paths, 500):
                session.execute(
                    update(FileState)
                    .where(FileState.source_name == self.source, FileState.path.in_(chunk))
                    .values(last_seen_run=run_id)
                )
            if created:
                table = cast(Table, FileState.__table__)
                session.connection().execute(
                    update(table)
                    .where(table.c.source_name == self.source, table.c.path == bindparam("p"))
                    .values(created_ns=bindparam("c")),
                    [{"p": path, "c": ns} for path, ns in created.items()],
                )
        paths.clear()
        created.clear()

    def _sweep_deleted(self, run_id: int, problems: list[dict[str, str]]) -> int:
        folders = [p["path"].rstrip("/") + "/" for p in problems]
        with transaction(self.sessions) as session:
            stale = (
                session.execute(
                    select(FileState).where(
                        FileState.source_name == self.source,
                        FileState.last_seen_run != run_id,
                        FileState.deleted.is_(False),
                    )
                )
                .scalars()
                .all()
            )
            gone = [s for s in stale if not any(s.path.startswith(f) for f in folders)]
            for state in gone:
                state.deleted = True
            doc_ids = [s.doc_id for s in gone]
        es, names = self.processor.es, self.processor.names
        for chunk in _chunks(doc_ids, 500):

            def sweep(chunk: list[str] = chunk) -> None:
                # Attachments and zip members go with the file that contained them.
                children = files_document_ids(es, names.read_alias, chunk)
                mark_deleted(es, names.write_alias, {*chunk, *children})
                self.processor.keeping.deleted_at_source(chunk)

            retry_transient(sweep)
        return len(doc_ids)


def _count(finished: list[FileOutcome], counts: CrawlCounts, progress: Progress) -> None:
    for outcome in finished:
        counts.add(outcome)
    if finished:
        progress(counts)


def _unchanged(previous: FileState | None, facts: FileFacts) -> bool:
    """Same size, mtime and file id as last seen. A file we could not read last time is
    never "unchanged": fixing a permission does not touch its mtime, and it is cheap to retry."""
    return (
        previous is not None
        and not previous.deleted
        and previous.status not in RETRIED_WHEN_UNCHANGED
        and previous.size == facts.size
        and previous.mtime_ns == facts.mtime_ns
        and previous.file_id == stored_file_id(facts.file_id)
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
