"""Killing the Tika server mid-crawl and restarting it: the crawl completes with every file
indexed once, none recorded as a failure because Tika was away."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy.orm import Session, sessionmaker

from demo.documents import write_docx
from devstack.stack import LocalStack
from foi_core.settings import Settings
from indexer.extract import ExtractOptions
from ingest.pipeline import CrawlCounts
from tests.fixtures import CrawlHarness, ShareWorkspace

FILES = 24


@pytest.fixture
def workspace(stack: LocalStack) -> Iterator[ShareWorkspace]:
    space = ShareWorkspace(stack.samba, "tika-restart")
    yield space
    space.cleanup()


def test_crawl_survives_tika_being_killed_and_restarted(
    stack: LocalStack,
    workspace: ShareWorkspace,
    settings: Settings,
    es: Elasticsearch,
    index_prefix: str,
    sqlite_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    for i in range(FILES):
        local = tmp_path / f"report-{i}.docx"
        write_docx(
            local,
            f"Report {i}",
            [
                f"Inspection report number {i} for ward {i * 7}.",
                "Findings and recommendations follow. " * 40,
            ],
        )
        workspace.write(f"Reports/report-{i:02d}.docx", local.read_bytes())
    harness = CrawlHarness.build(
        workspace=workspace,
        es=es,
        index_prefix=index_prefix,
        sessions=sqlite_sessions,
        tika_url=settings.tika_url,
        options=ExtractOptions(60, 100_000, False),
        workers=2,
    )
    tika = stack.tika
    killed = threading.Event()
    original = harness.extractor.extract

    def extract_then_kill(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        if harness.extractor.calls >= 4 and not killed.is_set():
            killed.set()
            tika.stop()  # the real server, with its forked parser, goes away mid-crawl

            def restart() -> None:
                tika.start()

            threading.Timer(3.0, restart).start()
        return result

    harness.extractor.extract = extract_then_kill  # type: ignore[method-assign]
    try:
        counts: CrawlCounts = harness.crawl()
    finally:
        tika.start()
        tika.wait_healthy(180)
    assert killed.is_set(), "Tika was never killed: the test proved nothing"
    assert counts.seen == FILES and counts.by_status == {"ok": FILES}
    docs = harness.all_docs(kind="file")
    assert len(docs) == FILES and len({d["doc_id"] for d in docs}) == FILES
    for i in (0, FILES // 2, FILES - 1):
        assert harness.find(f'"inspection report number {i} for ward {i * 7}"')
