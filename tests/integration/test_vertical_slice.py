"""The stack is real end to end: a .docx written onto the Samba share over SMB is read back
with smbprotocol, extracted by Tika, indexed into Elasticsearch and found by a phrase query
with a highlight. No mocks anywhere on this path."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import smbclient
from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.smb import ShareLocation, SmbShare
from demo.documents import write_docx
from devstack.stack import LocalStack
from foi_core.models import CrawlRun
from foi_core.settings import Settings
from indexer.extract import ExtractOptions, TikaExtractor
from indexer.lifecycle import IndexNames
from indexer.migration import ensure_index
from indexer.search.queries import Principal, search
from ingest.pipeline import CrawlPipeline
from ingest.processor import FileProcessor

OFFICER = Principal("olive", (), sees_everything=True)


@pytest.fixture
def share_folder(stack: LocalStack) -> Iterator[tuple[SmbShare, str]]:
    samba = stack.samba
    folder = f"slice-{uuid.uuid4().hex[:8]}"
    share = SmbShare(
        ShareLocation("127.0.0.1", samba.port, "test", folder), samba.user, samba.password
    )
    share.connect()
    # The test writes with its own (global) smbclient session, as a member of staff would.
    smbclient.register_session(
        "127.0.0.1", username=samba.user, password=samba.password, port=samba.port
    )
    smbclient.makedirs(ShareLocation("127.0.0.1", samba.port, "test").unc(folder), port=samba.port)
    yield share, folder
    root = ShareLocation("127.0.0.1", samba.port, "test").unc(folder)
    for dirpath, _dirs, files in reversed(list(smbclient.walk(root, port=samba.port))):
        for name in files:
            smbclient.remove(f"{dirpath}\\{name}", port=samba.port)
        smbclient.rmdir(dirpath, port=samba.port)


def test_docx_on_share_is_found_by_phrase_with_highlight(
    share_folder: tuple[SmbShare, str],
    settings: Settings,
    es: Elasticsearch,
    index_prefix: str,
    sqlite_sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    share, folder = share_folder
    phrase = f"tarantula {uuid.uuid4().hex[:6]} ordinance"
    local = tmp_path / "Committee report.docx"
    write_docx(
        local,
        "Committee report",
        [
            "Report to the Licensing Committee.",
            f"Members are asked to note the {phrase} adopted in March.",
        ],
    )
    port = share.location.port
    smbclient.makedirs(share.unc("Reports"), exist_ok=True, port=port)
    with smbclient.open_file(
        share.unc("Reports/Committee report.docx"), mode="wb", port=port
    ) as out:
        out.write(local.read_bytes())

    names = IndexNames(index_prefix)
    ensure_index(es, names)
    processor = FileProcessor(
        source="slice",
        share=share,
        es=es,
        names=names,
        extractor=TikaExtractor(settings.tika_url, ExtractOptions(60, 100_000, False)),
        sessions=sqlite_sessions,
        max_file_bytes=10 * 1024 * 1024,
    )
    pipeline = CrawlPipeline(processor=processor, sessions=sqlite_sessions)
    # Live progress: while the crawl runs, its counts are on the run row for the status page.
    monkeypatch.setattr("ingest.pipeline.PROGRESS_SAVE_S", 0.0)
    seen_live: list[dict[str, object]] = []

    def watch(_counts: object) -> None:
        with sqlite_sessions() as session:
            run = session.execute(select(CrawlRun).order_by(CrawlRun.id.desc())).scalar_one()
            if run.status == "running":
                seen_live.append(dict(run.counts))

    counts = pipeline.run(progress=watch)
    assert any(live.get("seen") == 1 for live in seen_live)
    assert counts.seen == 1 and counts.extracted == 1 and counts.by_status == {"ok": 1}
    es.indices.refresh(index=names.read_alias)

    result = search(es, names.read_alias, f'"{phrase}"', OFFICER)
    assert result.total == 1
    hit = result.hits[0]
    assert hit.source["path"] == "Reports/Committee report.docx"
    assert hit.source["unc"].endswith(
        "\\".join(["test", folder, "Reports", "Committee report.docx"])
    )
    assert any("<mark>" in fragment for fragment in hit.highlights)
    assert hit.source["sha256"] == hashlib.sha256(local.read_bytes()).hexdigest()
    # The phrase is exact: a reordering of its words is not a phrase match.
    words = phrase.split()
    assert search(es, names.read_alias, f'"{words[2]} {words[0]}"', OFFICER).total == 0
