"""The distributed crawl is the in-process crawl, spread over `foi worker` processes.

A folder of generated council documents on the Samba share is crawled once in-process (the
reference index) and then through Celery with the stack's Redis as broker, `foi worker`
subprocesses and a throwaway PostgreSQL database: the two indices must hold the same documents.
A second crawl SIGKILLs a worker while it holds a batch: the broker redelivers the batch and
the index still holds every file exactly once.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import smbclient
from elasticsearch import Elasticsearch
from sqlalchemy import func, select

from crawler.smb import ShareLocation
from demo.documents import generate, write_pdf
from devstack.stack import LocalStack
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import CrawlRun, FileState, Source
from foi_core.settings import Settings
from foi_core.sources import add_source, get_source
from indexer.lifecycle import IndexNames, drop_all
from ingest.distributed import workers_consuming
from ingest.pipeline import CrawlCounts
from services import Services

SOURCE = "dist"
PASSWORD_VAR = "FOI_TEST_DISTRIBUTED_SMB_PASSWORD"
# Small batches and a short time limit: many tasks in flight, and a batch held by a killed
# worker is redelivered after 2 x 20 s instead of an hour.
BATCH_FILES = 4
TIME_LIMIT_S = 20
WORKER_START_S = 60.0
# Fields that legitimately differ between two crawls of the same files: when they ran, and
# which of two byte-identical copies counts as the original (processes race for that).
VOLATILE_FIELDS = frozenset({"crawled", "duplicate_of"})


@dataclasses.dataclass(frozen=True)
class Corpus:
    folder: str
    paths: frozenset[str]  # root-relative paths of every file written


@dataclasses.dataclass(frozen=True)
class Reference:
    counts: CrawlCounts
    documents: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def corpus(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    """About forty generated documents in a fresh folder of the `test` share: e-mails with
    attachments, byte-identical copies, an empty file and a few slow PDFs."""
    samba = stack.samba
    local = tmp_path_factory.mktemp("distributed-corpus")
    documents = sorted(generate(local, seed=7), key=lambda d: d.relative_path)
    # Two thirds of the demo share: every kind of document, in every folder.
    files = {
        d.relative_path: local / d.relative_path for i, d in enumerate(documents) if i % 3 != 2
    }
    original = files["HR/Policies/Grievance procedure.docx"]
    files["Copies/Grievance procedure (copy).docx"] = original
    files["Copies/Grievance procedure (final).docx"] = original
    empty = local / "empty.txt"
    empty.write_bytes(b"")
    files["Empty placeholder.txt"] = empty
    # Larger PDFs keep a worker busy for a few seconds. One is written (fpdf is slow) and the
    # others differ from it by a trailing comment, so each is extracted on its own.
    slow = local / "slow.pdf"
    write_pdf(slow, "Archive bundle", ["Minutes of the licensing sub-committee. " * 12] * 500)
    for n, folder in enumerate(("Democratic Services", "Finance", "Housing", "Planning"), 1):
        variant = local / f"slow-{n}.pdf"
        variant.write_bytes(slow.read_bytes() + f"% bundle {n}\n".encode())
        files[f"{folder}/zz Archive bundle {n}.pdf"] = variant

    folder = f"dist-{uuid.uuid4().hex[:8]}"
    root = ShareLocation("127.0.0.1", samba.port, "test", folder)
    smbclient.register_session(
        "127.0.0.1", username=samba.user, password=samba.password, port=samba.port
    )
    for relative, source in files.items():
        parent = relative.rpartition("/")[0]
        smbclient.makedirs(root.unc(parent), exist_ok=True, port=samba.port)
        with smbclient.open_file(root.unc(relative), mode="wb", port=samba.port) as out:
            out.write(source.read_bytes())
    yield Corpus(folder, frozenset(files))
    top = root.unc()
    for dirpath, _dirs, names in reversed(list(smbclient.walk(top, port=samba.port))):
        for name in names:
            smbclient.remove(f"{dirpath}\\{name}", port=samba.port)
        smbclient.rmdir(dirpath, port=samba.port)


@pytest.fixture(scope="module")
def smb_password(stack: LocalStack) -> Iterator[str]:
    """The share password, given to sources by reference (env:) as in production."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSWORD_VAR, stack.samba.password)
        yield stack.samba.password


def _register_source(runtime: Services, stack: LocalStack, corpus: Corpus) -> None:
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        add_source(
            session,
            name=SOURCE,
            server="127.0.0.1",
            port=stack.samba.port,
            share="test",
            username=stack.samba.user,
            credential_ref=f"env:{PASSWORD_VAR}",
            root=corpus.folder,
        )


def _source(runtime: Services) -> Source:
    with runtime.sessions() as session:
        source = get_source(session, SOURCE)
    assert source is not None
    return source


def _documents(es: Elasticsearch, prefix: str) -> dict[str, dict[str, Any]]:
    names = IndexNames(prefix)
    es.indices.refresh(index=names.read_alias)
    hits = es.search(index=names.read_alias, size=10_000, query={"match_all": {}})["hits"]
    assert hits["total"]["value"] == len(hits["hits"])
    return {hit["_id"]: hit["_source"] for hit in hits["hits"]}


@pytest.fixture(scope="module")
def reference(
    settings: Settings,
    stack: LocalStack,
    es: Elasticsearch,
    corpus: Corpus,
    smb_password: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Reference]:
    """The in-process crawl of the corpus: its counts and its index."""
    state = tmp_path_factory.mktemp("reference-db")
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    runtime = Services(
        dataclasses.replace(
            settings,
            database_url=f"sqlite:///{state}/foi.db",
            audit_anchor_file=state / "anchors.log",
            index_prefix=prefix,
            broker_url="",
        )
    )
    try:
        _register_source(runtime, stack, corpus)
        started = time.monotonic()
        counts = runtime.pipeline(_source(runtime)).run()
        print(f"in-process crawl: {time.monotonic() - started:.1f}s")
        yield Reference(counts, _documents(es, prefix))
    finally:
        drop_all(es, IndexNames(prefix))
        runtime.engine.dispose()


@pytest.fixture
def distributed(
    settings: Settings,
    stack: LocalStack,
    es: Elasticsearch,
    corpus: Corpus,
    smb_password: str,
    postgres_url: str,
    broker_url: str,
    tmp_path: Path,
) -> Iterator[tuple[Services, Callable[[str], subprocess.Popen[bytes]]]]:
    """The coordinator's runtime (broker, queue, database and index of its own) and a starter
    of `foi worker` processes with the same configuration, all stopped afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    queue = f"test-crawl-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "FOI_STATE_DIR": str(settings.state_dir),
        "FOI_DATABASE_URL": postgres_url,
        "FOI_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors.log"),
        "FOI_INDEX_PREFIX": prefix,
        "FOI_BROKER_URL": broker_url,
        "FOI_REDIS_URL": broker_url,
        "FOI_TASK_QUEUE": queue,
        "FOI_TASK_BATCH_FILES": str(BATCH_FILES),
        "FOI_TASK_TIME_LIMIT": str(TIME_LIMIT_S),
        PASSWORD_VAR: smb_password,
    }
    runtime = Services(Settings.from_env(env))
    _register_source(runtime, stack, corpus)
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    foi = Path(sys.executable).with_name("foi")

    def start(name: str) -> subprocess.Popen[bytes]:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(foi), "worker", "--concurrency", "1", "--hostname", f"{name}@%h"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: pool processes die with it
            )
        workers.append((process, log))
        return process

    try:
        yield runtime, start
    finally:
        for process, log in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-15:]))
        runtime.celery.close()
        runtime.engine.dispose()
        drop_all(es, IndexNames(prefix))


def _wait_for_workers(runtime: Services, names: list[str], processes: list[Any]) -> list[str]:
    """The workers' node names, once each consumes the test's queue."""
    deadline = time.monotonic() + WORKER_START_S
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, "a `foi worker` exited at start (see its log below)"
        live = workers_consuming(runtime.celery, runtime.settings.task_queue, timeout_s=1.0)
        nodes = [node for name in names for node in live if node.startswith(f"{name}@")]
        if len(nodes) == len(names):
            return nodes
    pytest.fail(f"workers {names} did not start consuming within {WORKER_START_S:.0f}s")


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in VOLATILE_FIELDS}


def _assert_same_index(got: dict[str, dict[str, Any]], reference: Reference) -> None:
    assert sorted(got) == sorted(reference.documents)
    for doc_id, expected in reference.documents.items():
        assert _comparable(got[doc_id]) == _comparable(expected), expected["path"]


def _assert_same_counts(got: CrawlCounts, expected: CrawlCounts, files: int) -> None:
    assert got.seen == got.new == files == expected.seen == expected.new
    assert got.by_status == expected.by_status
    assert sum(got.by_status.values()) == files
    assert (got.failed, got.problems, got.deleted) == (expected.failed, 0, 0)
    # Which copy of identical content is extracted depends on timing; the total does not.
    assert got.extracted + got.reused == expected.extracted + expected.reused


def _assert_state_recorded(runtime: Services, corpus: Corpus) -> None:
    with runtime.sessions() as session:
        run = session.execute(select(CrawlRun).order_by(CrawlRun.id.desc())).scalars().first()
        assert run is not None and run.status == "finished", run and run.error
        paths = session.execute(select(FileState.path).where(FileState.source_name == SOURCE))
        assert sorted(p for (p,) in paths) == sorted(corpus.paths)
        stale = session.execute(
            select(func.count()).where(FileState.last_seen_run != run.id)
        ).scalar_one()
        assert stale == 0


def test_distributed_crawl_builds_the_same_index_as_in_process(
    distributed: tuple[Services, Callable[[str], subprocess.Popen[bytes]]],
    reference: Reference,
    corpus: Corpus,
    es: Elasticsearch,
) -> None:
    runtime, start = distributed
    processes = [start("w1"), start("w2")]
    _wait_for_workers(runtime, ["w1", "w2"], processes)

    started = time.monotonic()
    counts = runtime.pipeline(_source(runtime)).run()
    print(f"distributed crawl: {time.monotonic() - started:.1f}s")

    _assert_same_counts(counts, reference.counts, len(corpus.paths))
    _assert_same_index(_documents(es, runtime.settings.index_prefix), reference)
    _assert_state_recorded(runtime, corpus)


def test_killed_worker_loses_and_duplicates_nothing(
    distributed: tuple[Services, Callable[[str], subprocess.Popen[bytes]]],
    reference: Reference,
    corpus: Corpus,
    es: Elasticsearch,
    tmp_path: Path,
) -> None:
    runtime, start = distributed
    victim, survivor = start("w1"), start("w2")
    victim_node, _ = _wait_for_workers(runtime, ["w1", "w2"], [victim, survivor])
    killed: list[str] = []  # ids of the batches the victim held when it died

    def kill_mid_crawl(counts: CrawlCounts) -> None:
        """Once work is under way, SIGKILL w1 (and its pool) while it runs a batch."""
        if killed or counts.done == 0:
            return
        for _ in range(100):
            # Asks w1 alone and returns on its reply, so the kill follows within milliseconds.
            inspect = runtime.celery.control.inspect([victim_node], timeout=2.0, limit=1)
            held = [task["id"] for task in (inspect.active() or {}).get(victim_node, [])]
            if held:
                # Freeze w1 first: a batch may finish between the reply and the kill, and a
                # kill after its success would test nothing. Kill only a batch still running.
                os.killpg(victim.pid, signal.SIGSTOP)
                log = (tmp_path / "w1.log").read_text()
                if all(f"[{task_id}] succeeded" in log for task_id in held):
                    os.killpg(victim.pid, signal.SIGCONT)
                    time.sleep(0.05)
                    continue
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait(timeout=30)
                killed.extend(held)
                start("w3")
                return
            time.sleep(0.05)

    started = time.monotonic()
    counts = runtime.pipeline(_source(runtime)).run(progress=kill_mid_crawl)
    print(f"distributed crawl with a killed worker: {time.monotonic() - started:.1f}s")

    assert killed, "w1 never held a batch while the crawl ran: nothing was tested"
    # The batch died with w1 and was delivered again to another worker.
    w1_log = (tmp_path / "w1.log").read_text()
    assert any(f"[{task_id}] succeeded" not in w1_log for task_id in killed)
    _assert_same_counts(counts, reference.counts, len(corpus.paths))
    documents = _documents(es, runtime.settings.index_prefix)
    files = [d["path"] for d in documents.values() if d["kind"] == "file"]
    assert sorted(files) == sorted(corpus.paths)  # every file, each exactly once
    _assert_same_index(documents, reference)
    _assert_state_recorded(runtime, corpus)
