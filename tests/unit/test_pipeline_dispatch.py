"""The crawl's pluggable dispatch: the coordinator's contract, the Celery batch task and the
Celery dispatch's batching and waiting, all without sockets (fakes stand in for the share,
the broker and the result backend)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import elasticsearch
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from celery.exceptions import TimeoutError as ResultTimeout
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import ingest.permissions
import ingest.pipeline
from crawler.acl import EVERYONE, GENERIC_READ, Ace, FileAcl
from crawler.smb import FileFacts, FileInUse, HostUnreachable
from foi_core.db import transaction
from foi_core.models import FileState
from foi_core.settings import Settings
from indexer.bulk import BulkFailure, BulkWriteError
from indexer.extract import TikaUnavailable
from indexer.lifecycle import IndexNames
from ingest import tasks
from ingest.distributed import CeleryDispatch, DispatchStalled
from ingest.keeping import NoRecordKeeping
from ingest.permissions import AclFields
from ingest.pipeline import CrawlPipeline
from ingest.processor import FileOutcome
from ingest.tasks import (
    MAX_REDELIVERIES,
    MAX_TRANSIENT_RETRIES,
    PROCESS_BATCH,
    FileOverTimeLimit,
    TaskLimits,
    build_celery_app,
    facts_from_payload,
    file_payload,
    is_transient,
    outcome_from_payload,
    outcome_payload,
    previous_from_payload,
    refuse_poison_batch,
    retry_countdown,
    run_batch,
)

NO_BROKER = Settings(broker_url="redis://127.0.0.1:1/0", redis_url="redis://127.0.0.1:1/0")
# Every file of the faked share has this ACL, as last indexed (so no ACL update is due).
FAKE_ACL = FileAcl("S-1-5-21-1-2-3-1000", None, (Ace(EVERYONE, True, GENERIC_READ, False),))


def _facts(path: str, size: int = 10) -> FileFacts:
    return FileFacts(
        path=path,
        size=size,
        mtime_ns=1_700_000_000_123_456_789,
        created_ns=0,
        file_id=2**62 + 7,
        attributes=0x20,
    )


@dataclass
class FakeProcessor:
    """Stands in for FileProcessor: records calls, fails on demand, saves crawl state."""

    source: str = "hr"
    sessions: sessionmaker[Session] | None = None
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    calls: list[tuple[str, int, bool | None]] = field(default_factory=list)
    share: object = None
    es: object = None
    names: object = None
    keeping: NoRecordKeeping = field(default_factory=NoRecordKeeping)

    def process(self, facts: FileFacts, run_id: int, previous: FileState | None) -> FileOutcome:
        self.calls.append((facts.path, run_id, None if previous is None else previous.deleted))
        pending = self.failures.get(facts.path)
        if pending:
            raise pending.pop(0)
        if self.sessions is not None:
            with transaction(self.sessions) as session:
                session.add(
                    FileState(
                        source_name=self.source,
                        path=facts.path,
                        size=facts.size,
                        mtime_ns=facts.mtime_ns,
                        file_id=facts.file_id,
                        last_seen_run=run_id,
                        acl_hash=AclFields.of(FAKE_ACL).fingerprint,
                    )
                )
        kind = "new" if previous is None or previous.deleted else "changed"
        return FileOutcome(facts.path, kind, "ok", extracted=True)


# --- JSON payloads -----------------------------------------------------------------------


def test_file_payload_is_json_and_round_trips() -> None:
    facts = _facts("Café/Budget £500.xlsx")
    previous = FileState(
        source_name="hr",
        path=facts.path,
        size=9,
        mtime_ns=1,
        file_id=facts.file_id,
        sha256="ab" * 32,
        doc_id="d",
        status="ok",
        deleted=True,
    )
    item = json.loads(json.dumps(file_payload(facts, previous)))
    assert facts_from_payload(item) == facts
    restored = previous_from_payload(item, "hr")
    assert restored is not None
    assert (restored.path, restored.deleted, restored.sha256) == (facts.path, True, "ab" * 32)
    assert previous_from_payload(json.loads(json.dumps(file_payload(facts, None))), "hr") is None


def test_outcome_payload_round_trips() -> None:
    outcome = FileOutcome("a.pdf", "changed", "encrypted", extracted=True)
    assert outcome_from_payload(json.loads(json.dumps(outcome_payload(outcome)))) == outcome


# --- what the task retries -------------------------------------------------------------


def _api_error(status: int) -> elasticsearch.ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "localhost", 9200),
    )
    return elasticsearch.ApiError("error", meta=meta, body={})


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (HostUnreachable("lost the connection"), True),
        (FileInUse("in use"), True),
        (elasticsearch.ConnectionError("refused"), True),
        (_api_error(429), True),
        (_api_error(503), True),
        (_api_error(400), False),
        (_api_error(404), False),
        (BulkWriteError([BulkFailure("a", 429, "busy"), BulkFailure("b", 503, "no shard")]), True),
        (BulkWriteError([BulkFailure("a", 429, "busy"), BulkFailure("b", 400, "mapping")]), False),
        # FileProcessor already retried Tika for minutes: the task does not retry it again.
        (TikaUnavailable("down"), False),
        (ValueError("bug"), False),
    ],
)
def test_only_outages_and_overload_are_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_retry_countdown_backs_off_with_jitter_up_to_a_cap() -> None:
    for retries in range(8):
        countdown = retry_countdown(retries, cap_s=60.0)
        ceiling = min(10.0 * 2**retries, 60.0)
        assert ceiling / 2 <= countdown <= ceiling


@pytest.mark.parametrize("hard_s", [1, 10, 20, 600, 1800, 7200])
def test_a_live_worker_never_holds_a_message_past_the_visibility_timeout(hard_s: int) -> None:
    limits = TaskLimits(hard_s)
    assert 0 < limits.soft_s <= limits.hard_s
    assert limits.visibility_timeout_s > limits.hard_s + limits.max_countdown_s
    assert limits.stall_timeout_s > limits.visibility_timeout_s + limits.hard_s


# --- one delivery of a batch --------------------------------------------------------------


def test_run_batch_stops_at_a_transient_error_and_hands_back_the_rest() -> None:
    processor = FakeProcessor(failures={"b": [FileInUse("locked")]})
    files = [file_payload(_facts(p), None) for p in "abc"]
    progress = run_batch(processor, 7, files)  # type: ignore[arg-type]
    assert [o["path"] for o in progress.outcomes] == ["a"]
    assert progress.unfinished == files[1:]
    assert isinstance(progress.stopped_by, FileInUse)


def test_run_batch_stops_at_the_soft_time_limit() -> None:
    processor = FakeProcessor(failures={"c": [SoftTimeLimitExceeded()]})
    files = [file_payload(_facts(p), None) for p in "abc"]
    progress = run_batch(processor, 7, files)  # type: ignore[arg-type]
    assert [o["path"] for o in progress.outcomes] == ["a", "b"]
    assert progress.unfinished == files[2:]
    assert isinstance(progress.stopped_by, SoftTimeLimitExceeded)


def test_run_batch_lets_other_errors_fail_the_batch() -> None:
    processor = FakeProcessor(failures={"a": [TikaUnavailable("down through every retry")]})
    with pytest.raises(TikaUnavailable):
        run_batch(processor, 7, [file_payload(_facts("a"), None)])  # type: ignore[arg-type]


# --- the Celery task (run eagerly, no broker) ------------------------------------------------


@pytest.fixture
def app_with() -> Iterator[Any]:
    """Builds the batch task of an app whose worker processes use the given processor."""
    apps: list[Any] = []

    def build(processor: FakeProcessor) -> Any:
        app = build_celery_app(NO_BROKER, processors=lambda _source: processor)  # type: ignore[arg-type, return-value]
        apps.append(app)
        return app.tasks[PROCESS_BATCH]

    yield build
    for app in apps:
        app.close()


def test_task_settings_follow_the_house_rules() -> None:
    app = build_celery_app(NO_BROKER)
    try:
        task = app.tasks[PROCESS_BATCH]
        assert task.acks_late and task.reject_on_worker_lost
        assert (task.soft_time_limit, task.time_limit) == (1620, 1800)
        assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
        assert app.conf.worker_prefetch_multiplier == 1
        assert app.conf.task_default_queue == "foi-crawl"
        assert app.conf.broker_transport_options["visibility_timeout"] == 3600
        with pytest.raises(tasks.NotAWorker):
            task.apply(kwargs={"source": "hr", "run_id": 1, "files": []}).get()
    finally:
        app.close()


def test_a_transient_error_retries_only_the_unfinished_files(app_with: Any) -> None:
    processor = FakeProcessor(failures={"b": [FileInUse("locked"), HostUnreachable("gone")]})
    task = app_with(processor)
    files = [file_payload(_facts(p), None) for p in "abc"]
    with mock.patch.object(tasks, "retry_countdown", return_value=0) as countdown:
        result = task.apply(kwargs={"source": "hr", "run_id": 3, "files": files})
    assert [o["path"] for o in result.get()] == ["a", "b", "c"]
    assert [c[0] for c in processor.calls] == ["a", "b", "b", "b", "c"]
    assert [c.args[0] for c in countdown.call_args_list] == [0, 1]


def test_a_batch_gives_up_after_its_transient_retries(app_with: Any) -> None:
    failures: list[BaseException] = [HostUnreachable("gone")] * (MAX_TRANSIENT_RETRIES + 1)
    task = app_with(FakeProcessor(failures={"a": failures}))
    with mock.patch.object(tasks, "retry_countdown", return_value=0):
        result = task.apply(kwargs={"source": "hr", "run_id": 3, "files": [_payload("a")]})
    with pytest.raises(HostUnreachable):
        result.get()


def test_a_soft_time_limit_continues_the_batch_in_a_fresh_delivery(app_with: Any) -> None:
    processor = FakeProcessor(failures={"b": [SoftTimeLimitExceeded()]})
    task = app_with(processor)
    files = [_payload(p) for p in "abc"]
    result = task.apply(kwargs={"source": "hr", "run_id": 3, "files": files})
    assert [o["path"] for o in result.get()] == ["a", "b", "c"]


def test_a_file_that_outlasts_the_time_limit_twice_fails_the_batch(app_with: Any) -> None:
    processor = FakeProcessor(failures={"a": [SoftTimeLimitExceeded(), SoftTimeLimitExceeded()]})
    task = app_with(processor)
    result = task.apply(kwargs={"source": "hr", "run_id": 3, "files": [_payload("a")]})
    with pytest.raises(FileOverTimeLimit, match="a did not finish"):
        result.get()


def test_a_worker_for_another_index_refuses_the_batch(app_with: Any) -> None:
    processor = FakeProcessor(names=IndexNames("elsewhere"))
    task = app_with(processor)
    result = task.apply(
        kwargs={"source": "hr", "run_id": 3, "files": [_payload("a")], "index_prefix": "foi"}
    )
    with pytest.raises(tasks.WorkerMisconfigured, match="elsewhere"):
        result.get()
    assert processor.calls == []


def test_a_batch_that_keeps_killing_its_worker_is_refused() -> None:
    files = [_payload(f"f{n}") for n in range(7)]
    for redeliveries in range(MAX_REDELIVERIES + 1):
        refuse_poison_batch(redeliveries, "hr", files)
    with pytest.raises(tasks.BatchKillsWorkers, match=r"f0, f1, f2, f3, f4, \.\.\.\] died 3 times"):
        refuse_poison_batch(MAX_REDELIVERIES + 1, "hr", files)


def _payload(path: str) -> dict[str, Any]:
    return file_payload(_facts(path), None)


# --- the coordinator, whichever dispatch ---------------------------------------------------


@pytest.fixture
def walked(monkeypatch: pytest.MonkeyPatch) -> list[FileFacts]:
    """The files the (faked) walk of the share yields."""
    files = [_facts(f"folder/{n}.txt") for n in range(7)]
    monkeypatch.setattr(ingest.pipeline, "walk", lambda *_a, **_k: iter(files))
    monkeypatch.setattr(
        ingest.permissions, "read_acls", lambda _share, paths: ((p, FAKE_ACL) for p in paths)
    )
    return files


def test_the_coordinator_dispatches_only_changed_files(
    walked: list[FileFacts], sqlite_sessions: sessionmaker[Session]
) -> None:
    processor = FakeProcessor(sessions=sqlite_sessions)
    pipeline = CrawlPipeline(processor=processor, sessions=sqlite_sessions, workers=2)  # type: ignore[arg-type]
    first = pipeline.run()
    assert (first.seen, first.new, first.extracted, first.by_status) == (7, 7, 7, {"ok": 7})
    assert len(processor.calls) == 7

    second = pipeline.run()
    assert (second.seen, second.unchanged, second.new) == (7, 7, 0)
    assert len(processor.calls) == 7  # nothing dispatched for unchanged files
    with sqlite_sessions() as session:
        runs = set(session.execute(select(FileState.last_seen_run)).scalars())
    assert runs == {2}  # unchanged files are touched by the run that saw them


# --- the Celery dispatch (fake broker and result backend) -----------------------------------


@dataclass
class FakeResult:
    id: str
    outcomes: list[dict[str, Any]]
    error: BaseException | None = None
    finishes: bool = True  # whether a worker ever finishes it
    done: bool = False
    forgotten: bool = False

    def ready(self) -> bool:
        return self.done

    def get(self, timeout: float | None = None, propagate: bool = True) -> Any:
        if not self.done:
            if not self.finishes:
                raise ResultTimeout("still waiting")
            self.done = True  # a worker finished it while the coordinator waited
        if self.error is not None and propagate:
            raise self.error
        return self.outcomes

    def forget(self) -> None:
        self.forgotten = True


@dataclass
class FakeApp:
    """Just enough of a Celery app: a task whose sends are recorded, and revoke."""

    finishes: bool = True
    fail_batch: int | None = None
    sent: list[FakeResult] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    most_in_flight: int = 0

    def __post_init__(self) -> None:
        self.tasks = {PROCESS_BATCH: self}
        self.control = mock.Mock(revoke=lambda ids: self.revoked.extend(ids))

    def apply_async(self, *, kwargs: dict[str, Any]) -> FakeResult:
        outcomes = [
            outcome_payload(FileOutcome(item["facts"]["path"], "new", "ok", extracted=True))
            for item in kwargs["files"]
        ]
        error = RuntimeError("batch failed") if len(self.sent) == self.fail_batch else None
        result = FakeResult(f"task-{len(self.sent)}", outcomes, error, self.finishes)
        self.sent.append(result)
        self.most_in_flight = max(self.most_in_flight, sum(not r.done for r in self.sent))
        return result


def _dispatch_all(dispatch: CeleryDispatch, files: list[FileFacts]) -> list[FileOutcome]:
    outcomes: list[FileOutcome] = []
    with dispatch.open("hr", 5) as run:
        for facts in files:
            outcomes.extend(run.submit(facts, None))
        for finished in run.drain():
            outcomes.extend(finished)
    return outcomes


def test_celery_dispatch_batches_bounds_the_backlog_and_counts_each_file_once() -> None:
    app = FakeApp()
    dispatch = CeleryDispatch(app, batch_files=3, batches_in_flight=2, poll_s=0.001)
    files = [_facts(f"f{n:02}") for n in range(10)]
    outcomes = _dispatch_all(dispatch, files)
    assert sorted(o.path for o in outcomes) == [f.path for f in files]
    assert [len(r.outcomes) for r in app.sent] == [3, 3, 3, 1]
    assert app.most_in_flight <= 2
    assert all(r.forgotten for r in app.sent)


def test_celery_dispatch_fails_the_run_when_a_batch_fails_and_revokes_the_rest() -> None:
    app = FakeApp(fail_batch=0)
    dispatch = CeleryDispatch(app, batch_files=2, batches_in_flight=10, poll_s=0.001)
    with pytest.raises(RuntimeError, match="batch failed"):
        _dispatch_all(dispatch, [_facts(f"f{n}") for n in range(6)])
    assert app.revoked and "task-0" not in app.revoked


def test_celery_dispatch_gives_up_when_no_worker_finishes_anything() -> None:
    app = FakeApp(finishes=False)
    dispatch = CeleryDispatch(app, batch_files=2, stall_timeout_s=0.05, poll_s=0.001)
    with pytest.raises(DispatchStalled, match="foi worker"):
        _dispatch_all(dispatch, [_facts("a"), _facts("b"), _facts("c")])
    assert sorted(app.revoked) == ["task-0", "task-1"]
