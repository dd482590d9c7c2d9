"""The coordinator's side of the distributed crawl: batches of changed files go to Celery
workers (`foi worker`), their outcomes come back to be counted.

Invariants:
- Each batch is one task; its outcomes are counted once, when the coordinator reads the
  task's result, however often the broker delivered it (a redelivered or retried batch keeps its
  task id and has exactly one final result).
- At most `batches_in_flight` batches are queued or running, so a million-file share costs the
  broker a bounded number of messages and the coordinator bounded memory.
- A crawl whose workers go quiet fails instead of hanging: no batch finished within
  `stall_timeout_s` raises `DispatchStalled`. Leave it at `TaskLimits.stall_timeout_s`, the
  longest a healthy system can be quiet (a dead worker's batch is redelivered late).
- Results are deleted from the result backend once read; a failed run revokes its batches still
  queued, which would otherwise be processed for a run that is already over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.exceptions import TimeoutError as ResultTimeout

from crawler.smb import FileFacts
from foi_core.models import FileState
from ingest.pipeline import DispatchRun
from ingest.processor import FileOutcome
from ingest.tasks import PROCESS_BATCH, file_payload, outcome_from_payload

log = logging.getLogger(__name__)


class DispatchStalled(RuntimeError):
    """No worker finished a batch for too long: check that `foi worker` runs on the queue."""


@dataclass
class CeleryDispatch:
    """Processes files on Celery workers, in batches of `batch_files`."""

    app: Celery
    # The coordinator's index; workers configured for another one refuse its batches.
    index_prefix: str = ""
    batch_files: int = 25
    batches_in_flight: int = 64
    stall_timeout_s: float = 3600.0
    poll_s: float = 0.5

    @contextmanager
    def open(self, source: str, run_id: int) -> Iterator[DispatchRun]:
        run = _CeleryRun(self, source, run_id)
        try:
            yield run
        except BaseException:
            run.abandon()
            raise


class _CeleryRun:
    def __init__(self, dispatch: CeleryDispatch, source: str, run_id: int) -> None:
        self._dispatch = dispatch
        self._task = dispatch.app.tasks[PROCESS_BATCH]
        self._source, self._run_id = source, run_id
        self._batch: list[dict[str, Any]] = []
        self._pending: dict[str, Any] = {}  # task id -> AsyncResult, oldest first
        self._last_progress = time.monotonic()

    def submit(self, facts: FileFacts, previous: FileState | None) -> list[FileOutcome]:
        self._batch.append(file_payload(facts, previous))
        if len(self._batch) < self._dispatch.batch_files:
            return []
        self._send()
        finished = self._collect(block=False)
        while len(self._pending) >= self._dispatch.batches_in_flight:
            finished.extend(self._collect(block=True))
        return finished

    def drain(self) -> Iterator[list[FileOutcome]]:
        if self._batch:
            self._send()
        while self._pending:
            yield self._collect(block=True)

    def abandon(self) -> None:
        """Best effort after a failure: stop queued batches and drop their results."""
        if not self._pending:
            return
        try:
            self._dispatch.app.control.revoke(list(self._pending))
            for result in self._pending.values():
                result.forget()
        except Exception:
            # The run is failing already (that error propagates); unread results expire.
            log.warning("could not revoke %d queued crawl batches", len(self._pending))
        self._pending.clear()

    def _send(self) -> None:
        if not self._pending:
            self._last_progress = time.monotonic()
        result = self._task.apply_async(
            kwargs={
                "source": self._source,
                "run_id": self._run_id,
                "files": self._batch,
                "index_prefix": self._dispatch.index_prefix,
            }
        )
        self._pending[result.id] = result
        self._batch = []

    def _collect(self, *, block: bool) -> list[FileOutcome]:
        """Outcomes of the batches that have finished; with `block`, waits for at least one."""
        while True:
            ready = [result for result in self._pending.values() if result.ready()]
            if ready:
                break
            if not block:
                return []
            quiet = time.monotonic() - self._last_progress
            if quiet > self._dispatch.stall_timeout_s:
                raise DispatchStalled(
                    f"no crawl batch finished in {quiet:.0f}s ({len(self._pending)} waiting): "
                    "is `foi worker` running for this broker and queue?"
                )
            # Waiting on the oldest also drains the result channel for the others.
            oldest = next(iter(self._pending.values()))
            with suppress(ResultTimeout):
                oldest.get(timeout=self._dispatch.poll_s, propagate=False)
        outcomes: list[FileOutcome] = []
        for result in ready:
            del self._pending[result.id]
            # A failed batch raises its error here and fails the run.
            outcomes.extend(outcome_from_payload(item) for item in result.get(propagate=True))
            result.forget()
        self._last_progress = time.monotonic()
        return outcomes


def workers_consuming(app: Celery, queue: str, timeout_s: float = 2.0) -> list[str]:
    """Names of the live workers that consume `queue` (those answering within `timeout_s`)."""
    replies = app.control.inspect(timeout=timeout_s).active_queues() or {}
    return sorted(
        node
        for node, queues in replies.items()
        if any(q.get("name") == queue for q in queues or [])
    )
