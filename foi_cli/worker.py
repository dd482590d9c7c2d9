"""`foi worker`: a Celery worker that runs the distributed crawl's tasks."""

from __future__ import annotations

import logging
import os
import threading

import click

from cases.tasks import register_case_tasks
from foi_core.settings import Settings
from foi_core.sources import get_source
from ingest.processor import FileProcessor
from ingest.tasks import build_celery_app
from retention.audit_tasks import register_audit_tasks
from retention.context import Records
from retention.tasks import register_retention_tasks
from services import Services


class UnknownSource(LookupError):
    """A task names a source that is not registered (removed since the crawl started?)."""


class WorkerProcessors:
    """One `FileProcessor` per source per worker process, built from the source's row.

    Clients are built in the process that uses them: a pool process forked from the worker
    starts with an empty cache (keyed by pid), never with its parent's sockets. The source row
    is read for every batch, so a changed definition (server, share, credential reference, ...)
    takes effect without restarting the worker; the secret is resolved from its reference.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pid = -1
        self._runtime = Services(settings)
        self._cache: dict[str, tuple[tuple[object, ...], FileProcessor]] = {}
        self._lock = threading.Lock()

    def __call__(self, source_name: str) -> FileProcessor:
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._runtime, self._cache = os.getpid(), Services(self.settings), {}
            with self._runtime.sessions() as session:
                source = get_source(session, source_name)
            if source is None:
                raise UnknownSource(f"no source named {source_name!r}")
            key = (
                source.server,
                source.port,
                source.share,
                source.root,
                source.username,
                source.credential_ref,
            )
            cached = self._cache.get(source_name)
            if cached is not None and cached[0] == key:
                return cached[1]
            processor = self._runtime.processor(source)
            self._cache[source_name] = (key, processor)
            return processor

    def records(self) -> Records:
        """This process's records-management context (for the periodic jobs)."""
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._runtime, self._cache = os.getpid(), Services(self.settings), {}
            return self._runtime.records


@click.command("worker")
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Pool processes (default FOI_WORKER_CONCURRENCY, else one per CPU core).",
)
@click.option(
    "-n", "--hostname", default=None, help="Node name (default celery@<host>); unique per worker."
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "solo"]),
    default="prefork",
    show_default=True,
    help="solo runs one task at a time in this process, without time limits (debugging).",
)
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_obj
def worker_command(
    settings: Settings, concurrency: int | None, hostname: str | None, pool: str, loglevel: str
) -> None:
    """Run a Celery worker for distributed crawls (needs FOI_BROKER_URL)."""
    if not settings.broker_url:
        raise click.ClickException("FOI_BROKER_URL is not set: there is no queue to work from")
    # Per-request chatter of the SMB and Elasticsearch clients would drown the task log.
    for name in ("smbprotocol", "smbclient", "elastic_transport"):
        logging.getLogger(name).setLevel(logging.WARNING)
    processors = WorkerProcessors(settings)
    app = build_celery_app(settings, processors)
    register_retention_tasks(app, settings, processors.records)
    register_case_tasks(app, settings, processors.records)
    register_audit_tasks(app, processors.records)
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--queues={settings.task_queue}",
        f"--pool={pool}",
        "--optimization=fair",
    ]
    concurrency = concurrency or settings.worker_concurrency
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


@click.command("beat")
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_obj
def beat_command(settings: Settings, loglevel: str) -> None:
    """Run the scheduler of the periodic jobs (daily disposal batch, preservation retries and
    failure alerts, deadline reminders, purge of expired bundles, bundles left queued).
    Run exactly one per deployment; `foi worker` processes run the jobs."""
    if not settings.broker_url:
        raise click.ClickException("FOI_BROKER_URL is not set: there is no queue to send to")
    app = build_celery_app(settings)
    register_retention_tasks(app, settings, WorkerProcessors(settings).records)
    register_case_tasks(app, settings, WorkerProcessors(settings).records)
    register_audit_tasks(app, WorkerProcessors(settings).records)
    schedule_file = settings.state_dir / "celerybeat-schedule"
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app.start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule_file}"])
