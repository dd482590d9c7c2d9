"""The shared real-world corpus (Apache Tika's own ~630 test documents in ~60 formats, with
password-protected, corrupt and pathological files) crawled from the share end to end.

Every file must be accounted for with an explicit status, the statuses must be the plausible
ones for the files we know, and a second crawl must find nothing to do. Needs FOI_CORPUS_DIR
(CI points it at ../shared/corpus); without it this is the suite's one allowed skip.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy.orm import Session, sessionmaker

from devstack.stack import LocalStack
from foi_core.settings import Settings
from indexer.extract import ExtractOptions, Status
from tests.fixtures import CrawlHarness, ShareWorkspace

pytestmark = [pytest.mark.integration, pytest.mark.corpus]

TREE = "tika-testdocs"
# Files whose status is known (from their names in the corpus MANIFEST.json and README, and
# from what Tika 3.2 makes of them).
EXPECTED = {
    "pdf/testPassword4Spaces.pdf": Status.ENCRYPTED,
    "pdf/testUnicodePassword.pdf": Status.ENCRYPTED,
    "docx/testWORD_protected_passtika.docx": Status.ENCRYPTED,
    "doc/testWORD_protected_passtika.doc": Status.ENCRYPTED,
    "xlsx/testEXCEL_protected_passtika.xlsx": Status.ENCRYPTED,
    "xls/testEXCEL_protected_passtika.xls": Status.ENCRYPTED,
    "pptx/testPPT_protected_passtika.pptx": Status.ENCRYPTED,
    "odt/testODTEncrypted.odt": Status.ENCRYPTED,
    "7z/test7Z_protected_passTika.7z": Status.ENCRYPTED,
    "gpg/testPGPEncrypted.gpg": Status.ENCRYPTED,
    # An owner password only restricts editing: anyone may open and read it.
    "pdf/testPDF_protected.pdf": Status.OK,
    "docx/testWORD_truncated.docx": Status.CORRUPT,
    "zip/testZIP_corrupted_oom.zip": Status.CORRUPT,
    "chm/testChm_oom.chm": Status.CORRUPT,
    "msg/testMSG_att_doc.msg": Status.OK,
    "eml/testRFC822_multipart_attachments.eml": Status.OK,
    "png/testOCR.png": Status.OK,
    "zip/testZipEncrypted.zip": Status.OK,
}
UNREAD = (Status.ACCESS_DENIED, Status.TOO_LARGE)
# Pathological: any explicit status will do, as long as the crawl records them and goes on.
PATHOLOGICAL = ("gz/quine.gz", "zip/droste.zip", "xml/oom.xml", "xml/fake_oom.xml")


@pytest.fixture
def corpus(settings: Settings) -> Path:
    if settings.corpus_dir is None:
        pytest.skip("FOI_CORPUS_DIR is not set: point it at the shared corpus (../shared/corpus)")
    tree = settings.corpus_dir / TREE
    assert tree.is_dir(), f"FOI_CORPUS_DIR={settings.corpus_dir} has no {TREE}/ folder"
    return tree


@pytest.fixture
def workspace(stack: LocalStack) -> Iterator[ShareWorkspace]:
    space = ShareWorkspace(stack.samba, "corpus")
    yield space
    space.cleanup()


@pytest.mark.timeout(3600)
def test_corpus_crawl_accounts_for_every_file_and_a_second_crawl_does_nothing(
    corpus: Path,
    workspace: ShareWorkspace,
    settings: Settings,
    es: Elasticsearch,
    index_prefix: str,
    sqlite_sessions: sessionmaker[Session],
) -> None:
    copied = workspace.copy_tree(corpus, TREE)
    on_share = sorted(
        f"{TREE}/{path.relative_to(copied).as_posix()}"
        for path in copied.rglob("*")
        if path.is_file()
    )
    assert len(on_share) > 600
    harness = CrawlHarness.build(
        workspace=workspace,
        es=es,
        index_prefix=index_prefix,
        sessions=sqlite_sessions,
        tika_url=settings.tika_url,
        options=ExtractOptions(
            timeout_s=settings.tika_timeout_s,
            max_chars=settings.max_extracted_chars,
            ocr=settings.ocr_enabled,
        ),
        max_file_bytes=settings.max_file_bytes,
        workers=settings.crawl_workers,
    )

    started = time.monotonic()
    counts = harness.crawl()
    seconds = time.monotonic() - started
    print(
        f"\ncorpus crawl: {counts.seen} files in {seconds:.1f} s, {counts.extracted} extracted, "
        f"{counts.reused} reused, {counts.problems} walk problems"
    )
    for status, number in sorted(counts.by_status.items()):
        print(f"  {status:18} {number}")
    files = harness.all_docs(kind="file")
    for doc in sorted(files, key=lambda doc: doc["path"]):
        if doc["status"] in (Status.CORRUPT, Status.TIMEOUT):
            print(f"  {doc['status']:8} {doc['path']}: {doc['status_reason'][:110]}")

    # Every file on the share is one file document with an explicit status, or a problem.
    assert counts.seen == len(on_share) == len(files) + counts.problems
    assert counts.problem_paths == []
    assert sorted(doc["path"] for doc in files) == on_share
    assert Counter(doc["status"] for doc in files) == Counter(counts.by_status)
    assert sum(counts.by_status.values()) == counts.seen
    assert {doc["status"] for doc in files} <= set(Status.ALL)
    # Each file was sent to Tika once, reused a copy's extraction, or needed no extraction.
    not_read = sum(1 for doc in files if doc["size"] == 0 or doc["status"] in UNREAD)
    assert counts.extracted + counts.reused + not_read == counts.seen
    # Tika completed every extraction but those of files that took its parser process down on
    # every attempt: those are recorded as corrupt rather than retried for ever.
    parse_attempts = harness.pipeline.processor.parse_attempts
    blamed = {name for name, n in harness.extractor.interrupted.items() if n >= parse_attempts}
    assert harness.extractor.calls + len(blamed) == counts.extracted
    for doc in files:
        if doc["filename"] in blamed:
            assert doc["status"] == Status.CORRUPT
    embedded = harness.all_docs(kind="embedded")
    assert {doc["status"] for doc in embedded} <= set(Status.ALL)
    failed = {doc["path"]: doc for doc in files if doc["status"] not in (Status.OK, Status.EMPTY)}
    assert all(doc["status_reason"] for doc in failed.values())

    statuses = {doc["path"]: doc["status"] for doc in files}
    assert {name: statuses[f"{TREE}/{name}"] for name in EXPECTED} == EXPECTED
    for name in PATHOLOGICAL:
        assert statuses[f"{TREE}/{name}"] in Status.ALL

    # Mail: the .msg and .eml attachments are documents of their own, inside their message.
    for name in ("msg/testMSG_att_doc.msg", "eml/testRFC822_multipart_attachments.eml"):
        children = harness.children(f"{TREE}/{name}")
        assert len(children) >= 2, name
        assert {child["root_id"] for child in children} == {harness.doc_id(f"{TREE}/{name}")}
    # OCR reads the scanned test image.
    assert f"{TREE}/png/testOCR.png" in {doc["path"] for doc in harness.find('"some words"')}
    # A zip with an encrypted member: the rest is read, and the reason names what was not.
    assert "encrypted" in harness.doc(f"{TREE}/zip/testZipEncrypted.zip")["status_reason"]

    # Nothing changed on the share: a second crawl reads, extracts and deletes nothing.
    started = time.monotonic()
    again = harness.crawl()
    print(f"second crawl: {again.seen} files in {time.monotonic() - started:.1f} s")
    assert again.seen == again.unchanged == len(on_share)
    assert again.extracted == again.reused == again.deleted == harness.extractor.attempts == 0
    assert again.new == again.changed == again.renamed == 0
