"""Celery tasks of the distributed crawl, and the factory of the Celery app that runs them.

The crawl coordinator (`ingest.pipeline.CrawlPipeline` with `ingest.distributed.CeleryDispatch`)
sends batches of changed files; `foi worker` processes run `FileProcessor.process` on each and
return the outcomes, which the coordinator counts.

Contracts:
- Arguments and results are small JSON: the source name, the crawl run id and a batch of files,
  each its `FileFacts` and the coordinator's snapshot of its previous crawl state. The snapshot
  (not a fresh read of the database) decides "new" versus "changed", so a redelivered batch
  reports what the first delivery would have.
- Idempotent: `FileProcessor.process` writes index documents by deterministic id and upserts the
  crawl state, so a batch run twice leaves the index and the database as running it once.
- `acks_late` with `reject_on_worker_lost`: a message is acknowledged only after its batch
  finished; a pool process that dies mid-batch puts the message straight back on the queue, and a
  whole worker that dies (SIGKILL, power cut) leaves it unacknowledged, so the broker redelivers
  it after the visibility timeout (twice the task time limit, so a live task is never delivered
  twice).
- Retries live in one layer per dependency. Tika: `FileProcessor` retries an unreachable Tika
  with backoff for five to ten minutes, so the task does not retry `TikaUnavailable` again; past
  that the batch fails and so does the crawl, as in-process. Elasticsearch: the task is the one
  layer that waits. The client re-sends a request once, at once, only when its connection
  dropped (`foi_core.clients`), and the bulk helpers send each chunk once, raising
  `BulkRejected` for documents refused with 429/503 (`indexer.bulk`); riding out an outage or
  overload (connection refused, timeout, 429, 503, for a request or per document) is the
  task's job. SMB: nothing below retries, so an unreachable host or a file locked by a user is
  retried by the task. A retry carries only the unfinished files and the outcomes so far, with
  exponential backoff and jitter. Work done outside a task (an in-process crawl) gets the same
  policy from `ingest.transient.retry_transient`, never on top of it.
- A batch that reaches its soft time limit hands its unfinished files to a fresh delivery of
  itself (same task id); a file that alone outlasts the limit twice fails the batch.
- Redelivery has a bound: a batch whose worker died under it three times (a file that crashes
  or exhausts its process) fails instead of looping forever, and with it the crawl.
- Coordinator and workers must share one deployment: a batch carries the coordinator's index
  prefix and a worker configured for another index refuses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

from crawler.smb import FileFacts
from foi_core.models import FileState
from foi_core.settings import Settings
from ingest.processor import FileOutcome, FileProcessor
from ingest.transient import MAX_TRANSIENT_RETRIES, is_transient, retry_countdown

PROCESS_BATCH = "foi.crawl.process_batch"
# Redeliveries of one batch (its worker died under it) before it is refused.
MAX_REDELIVERIES = 2
_REDELIVERY_KEY_TTL_S = 86_400

# The crawl state a coordinator snapshots for each file it dispatches.
_STATE_FIELDS = (
    "size",
    "mtime_ns",
    "file_id",
    "sha256",
    "doc_id",
    "status",
    "deleted",
    "acl_hash",
    "created_ns",
)

ProcessorProvider = Callable[[str], FileProcessor]
"""The worker process's `FileProcessor` for a source name."""

RedeliveryCounter = Callable[[str], int]
"""Counts one more redelivery of the delivery named by the key; returns the count so far."""


class FileOverTimeLimit(RuntimeError):
    """One file outlasted a whole batch task's time limit twice: raise FOI_TASK_TIME_LIMIT or
    exclude the file."""


class NotAWorker(RuntimeError):
    """A crawl task reached a process that only dispatches them (no processors configured)."""


class BatchKillsWorkers(RuntimeError):
    """A batch's worker died under it again and again: one of its files crashes or exhausts
    the process. Find it in the worker logs, then exclude it or give workers more memory."""


class WorkerMisconfigured(RuntimeError):
    """The worker writes to another index than the coordinator expects: give `foi worker` the
    same FOI_INDEX_PREFIX (and database) as the crawl."""


@dataclass(frozen=True)
class TaskLimits:
    """Time limits of one batch task and what follows from them."""

    hard_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TaskLimits:
        return cls(hard_s=settings.task_time_limit_s)

    @property
    def soft_s(self) -> int:
        return max(1, self.hard_s - max(1, self.hard_s // 10))

    @property
    def visibility_timeout_s(self) -> int:
        """Redelivery delay of a message whose worker died. It must exceed the longest a live
        worker holds a message unacknowledged (a retry's countdown, then the hard limit), or a
        slow batch would run twice at once."""
        return 2 * self.hard_s

    @property
    def max_countdown_s(self) -> float:
        return min(300.0, self.hard_s / 2)

    @property
    def stall_timeout_s(self) -> float:
        """How long a healthy system can go without finishing any batch: a dead worker's batch
        is redelivered after the visibility timeout and may then run to the hard limit, and a
        batch may wait out every retry's countdown."""
        return float(
            self.visibility_timeout_s + self.hard_s + MAX_TRANSIENT_RETRIES * self.max_countdown_s
        )


def file_payload(facts: FileFacts, previous: FileState | None) -> dict[str, Any]:
    """One file of a batch, as JSON."""
    return {
        "facts": dataclasses.asdict(facts),
        "previous": None
        if previous is None
        else {name: getattr(previous, name) for name in _STATE_FIELDS},
    }


def facts_from_payload(item: dict[str, Any]) -> FileFacts:
    return FileFacts(**item["facts"])


def previous_from_payload(item: dict[str, Any], source: str) -> FileState | None:
    """A detached `FileState` carrying the coordinator's snapshot (never added to a session)."""
    if item["previous"] is None:
        return None
    return FileState(source_name=source, path=item["facts"]["path"], **item["previous"])


def outcome_payload(outcome: FileOutcome) -> dict[str, Any]:
    return dataclasses.asdict(outcome)


def outcome_from_payload(item: dict[str, Any]) -> FileOutcome:
    return FileOutcome(**item)


@dataclass(frozen=True)
class BatchProgress:
    """What one delivery of a batch got done; `stopped_by` is None when it finished."""

    outcomes: list[dict[str, Any]]
    unfinished: list[dict[str, Any]]  # payloads not done, the interrupted one first
    stopped_by: BaseException | None


def run_batch(processor: FileProcessor, run_id: int, files: list[dict[str, Any]]) -> BatchProgress:
    """Process files in order until done, a transient error or the soft time limit. Any other
    error propagates: the batch fails, like the in-process crawl."""
    outcomes: list[dict[str, Any]] = []
    for index, item in enumerate(files):
        try:
            outcome = processor.process(
                facts_from_payload(item), run_id, previous_from_payload(item, processor.source)
            )
        except SoftTimeLimitExceeded as exc:
            return BatchProgress(outcomes, files[index:], exc)
        except Exception as exc:
            if not is_transient(exc):
                raise
            return BatchProgress(outcomes, files[index:], exc)
        outcomes.append(outcome_payload(outcome))
    return BatchProgress(outcomes, [], None)


def refuse_poison_batch(redeliveries: int, source: str, files: list[dict[str, Any]]) -> None:
    """Raise `BatchKillsWorkers` once a batch has been redelivered too often."""
    if redeliveries > MAX_REDELIVERIES:
        paths = ", ".join(item["facts"]["path"] for item in files[:5])
        raise BatchKillsWorkers(
            f"{source}: the worker processing one of [{paths}{', ...' if len(files) > 5 else ''}]"
            f" died {redeliveries} times; exclude the file that kills it"
        )


def build_celery_app(
    settings: Settings,
    processors: ProcessorProvider | None = None,
    redeliveries: RedeliveryCounter | None = None,
) -> Celery:
    """The Celery app for `settings`, with the crawl tasks registered.

    `processors` is given only in `foi worker` processes; a coordinator sends tasks and reads
    results but never runs them. Redeliveries are counted in the result backend's Redis unless
    `redeliveries` says otherwise. Nothing connects to the broker until the app is used.
    """
    limits = TaskLimits.from_settings(settings)
    app = Celery(
        "foi", broker=settings.broker_url, backend=settings.redis_url, set_as_current=False
    )
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_default_queue=settings.task_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message reserved per pool process: a dead worker strands as little as possible.
        worker_prefetch_multiplier=1,
        # Results are read once by the coordinator, then forgotten; a day covers a coordinator
        # that died before reading them.
        result_expires=86_400,
        broker_connection_retry_on_startup=True,
        # Lost the broker: late-acked tasks will be redelivered, so stop running them here.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={
            "visibility_timeout": limits.visibility_timeout_s,
            "unacked_restore_interval": max(1, min(10, limits.visibility_timeout_s // 10)),
            "unacked_restore_throttle": 1,
        },
        enable_utc=True,
        timezone="UTC",
    )
    _register_process_batch(app, limits, processors, redeliveries or _redis_counter(app))
    return app


def _redis_counter(app: Celery) -> RedeliveryCounter:
    def count(key: str) -> int:
        pipe = app.backend.client.pipeline()
        pipe.incr(f"foi:crawl:redeliveries:{key}")
        pipe.expire(f"foi:crawl:redeliveries:{key}", _REDELIVERY_KEY_TTL_S)
        return int(pipe.execute()[0])

    return count


def _register_process_batch(
    app: Celery,
    limits: TaskLimits,
    processors: ProcessorProvider | None,
    redeliveries: RedeliveryCounter,
) -> None:
    @app.task(  # type: ignore[untyped-decorator]
        name=PROCESS_BATCH,
        bind=True,
        shared=False,
        acks_late=True,
        reject_on_worker_lost=True,
        soft_time_limit=limits.soft_s,
        time_limit=limits.hard_s,
        # Retries are counted here, per kind (transient errors, time-limit continuations).
        max_retries=None,
    )
    def process_batch(
        task: Any,
        *,
        source: str,
        run_id: int,
        files: list[dict[str, Any]],
        index_prefix: str = "",
        done: list[dict[str, Any]] | None = None,
        transient_retries: int = 0,
        stalled: int = 0,
    ) -> list[dict[str, Any]]:
        """Process a batch of one source's files; return every file's outcome as a dict."""
        if processors is None:
            raise NotAWorker(f"{PROCESS_BATCH} runs in `foi worker` processes only")
        request = task.request
        if (request.delivery_info or {}).get("redelivered"):
            # Keyed by delivery: a retry is a new message under the same task id.
            refuse_poison_batch(redeliveries(f"{request.id}:{request.retries}"), source, files)
        processor = processors(source)
        if index_prefix and processor.names.prefix != index_prefix:
            raise WorkerMisconfigured(
                f"this worker indexes into {processor.names.prefix!r}, the crawl into "
                f"{index_prefix!r}"
            )
        progress = run_batch(processor, run_id, files)
        finished = [*(done or []), *progress.outcomes]
        error = progress.stopped_by
        if error is None:
            return finished
        again = {
            "source": source,
            "run_id": run_id,
            "files": progress.unfinished,
            "index_prefix": index_prefix,
            "done": finished,
        }
        if isinstance(error, SoftTimeLimitExceeded):
            stalled = 0 if progress.outcomes else stalled + 1
            if stalled >= 2:
                path = progress.unfinished[0]["facts"]["path"]
                raise FileOverTimeLimit(
                    f"{source}: {path} did not finish within the {limits.soft_s}s task time "
                    "limit twice; raise FOI_TASK_TIME_LIMIT or exclude the file"
                ) from error
            again.update(transient_retries=transient_retries, stalled=stalled)
            raise task.retry(args=(), kwargs=again, countdown=0)
        if transient_retries >= MAX_TRANSIENT_RETRIES:
            raise error
        again.update(transient_retries=transient_retries + 1, stalled=0)
        raise task.retry(
            args=(),
            kwargs=again,
            exc=error,
            countdown=retry_countdown(transient_retries, limits.max_countdown_s),
        )
