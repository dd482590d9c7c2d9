"""What a crawl costs per changed file, counted on the wire against the real stack: SMB opens
(CREATE requests to Samba) and duplicate searches (requests to Elasticsearch).

- A readable file is opened once: its content and its ACL come from the same open.
- A file whose ACL or content cannot be read is recorded exactly as reading each alone records
  it: the content of the first is indexed, the ACL of the second is kept.
- A first crawl of distinct content asks the index for no copies (the crawl state proves there
  are none), and identical copies still cost one extraction.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

import pytest
from elasticsearch import Elasticsearch
from smbclient._io import SMBFileTransaction, SMBRawIO
from smbprotocol.connection import Connection
from smbprotocol.file_info import InfoType
from smbprotocol.open import (
    FilePipePrinterAccessMask,
    InfoAdditionalInformation,
    SMB2CreateRequest,
    SMB2SetInfoRequest,
)
from sqlalchemy.orm import Session, sessionmaker

from crawler.acl import read_acl
from devstack.stack import LocalStack
from foi_core.settings import Settings
from indexer.extract import ExtractOptions, Status
from tests.fixtures import CrawlHarness, ShareWorkspace

pytestmark = pytest.mark.integration

OPTIONS = ExtractOptions(timeout_s=60, max_chars=1_000_000, ocr=False)
MAX_FILE_BYTES = 2 * 1024 * 1024
# FILE_GENERIC_READ without READ_CONTROL: the content may be read, the descriptor not.
READ_DATA_ONLY = (
    FilePipePrinterAccessMask.FILE_READ_DATA
    | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
    | FilePipePrinterAccessMask.FILE_READ_EA
    | FilePipePrinterAccessMask.SYNCHRONIZE
)
OWNER_RIGHTS = struct.pack("<BB6sI", 1, 1, (3).to_bytes(6, "big"), 4)  # S-1-3-4


class CreateCounter:
    """SMB CREATE requests sent by this process, by share-relative path (thread-safe)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.by_path: Counter[str] = Counter()
        self._lock = threading.Lock()
        send = Connection._send

        def counting_send(
            connection: Connection, messages: list[Any], *args: Any, **kw: Any
        ) -> Any:
            for message in messages:
                if isinstance(message, SMB2CreateRequest):
                    path = message["buffer_path"].get_value().decode("utf-16-le")
                    with self._lock:
                        self.by_path[path.replace("\\", "/")] += 1
            return send(connection, messages, *args, **kw)

        monkeypatch.setattr(Connection, "_send", counting_send)

    def opens(self, workspace: ShareWorkspace, paths: list[str]) -> dict[str, int]:
        return {path: self.by_path[f"{workspace.name}/{path}"] for path in paths}


class DuplicateSearches:
    """The processor's Elasticsearch client, counting searches for a copy of some content."""

    def __init__(self, es: Elasticsearch) -> None:
        self._es = es
        self.hashes: list[str] = []

    def search(self, **kwargs: Any) -> Any:
        filters = kwargs.get("query", {}).get("bool", {}).get("filter", [])
        self.hashes += [f["term"]["sha256"] for f in filters if "sha256" in f.get("term", {})]
        return self._es.search(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._es, name)


@pytest.fixture
def workspace(stack: LocalStack) -> Iterator[ShareWorkspace]:
    space = ShareWorkspace(stack.samba, "cost")
    yield space
    space.cleanup()


@pytest.fixture
def harness(
    workspace: ShareWorkspace,
    settings: Settings,
    es: Elasticsearch,
    index_prefix: str,
    sqlite_sessions: sessionmaker[Session],
) -> CrawlHarness:
    return _harness(workspace, settings, es, index_prefix, sqlite_sessions)


def _harness(
    workspace: ShareWorkspace,
    settings: Settings,
    es: Elasticsearch,
    index_prefix: str,
    sessions: sessionmaker[Session],
) -> CrawlHarness:
    return CrawlHarness.build(
        workspace=workspace,
        es=es,
        index_prefix=index_prefix,
        sessions=sessions,
        tika_url=settings.tika_url,
        options=OPTIONS,
        max_file_bytes=MAX_FILE_BYTES,
    )


def _deny_read_control(workspace: ShareWorkspace, rel_path: str) -> None:
    """Give the file a DACL whose one ACE lets its owner (the crawl account) read the data but
    not the descriptor: an OWNER RIGHTS ACE replaces the owner's implicit READ_CONTROL."""
    ace = struct.pack("<BBHI", 0, 0, 8 + len(OWNER_RIGHTS), READ_DATA_ONLY) + OWNER_RIGHTS
    dacl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
    # Self-relative, DACL present, the DACL straight after the 20-byte header.
    descriptor = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + dacl
    raw = SMBRawIO(
        workspace.location.unc(rel_path),
        mode="r",
        share_access="rwd",
        desired_access=FilePipePrinterAccessMask.WRITE_DAC,
        **workspace.smb_kwargs,
    )
    request = SMB2SetInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    request["additional_information"] = InfoAdditionalInformation.DACL_SECURITY_INFORMATION
    request["file_id"] = raw.fd.file_id
    request["buffer"] = descriptor
    transaction = SMBFileTransaction(raw)
    transaction += (request, raw.fd.connection.receive)
    transaction.commit()  # CREATE, SET_INFO and CLOSE in one compound


def test_a_changed_file_is_opened_once_for_its_content_and_its_acl(
    workspace: ShareWorkspace, harness: CrawlHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "small.txt": b"the small aardvark memo",
        # Over one 1 MiB read, so it is hashed on a helper thread while the reads arrive.
        "Reports/large.txt": b"a line of the large pangolin ledger\n" * 40_000,
        "empty.txt": b"",
        "over the limit.bin": b"x" * (MAX_FILE_BYTES + 1),
    }
    workspace.write_files(files)
    creates = CreateCounter(monkeypatch)

    counts = harness.crawl()

    assert counts.new == len(files)
    assert counts.by_status == {Status.OK: 2, Status.EMPTY: 1, Status.TOO_LARGE: 1}
    assert creates.opens(workspace, list(files)) == dict.fromkeys(files, 1)
    expected_acl = read_acl(workspace.source(), "small.txt")
    for path, data in files.items():
        doc = harness.doc(path)
        assert doc["acl_status"] == "ok", path
        assert doc["acl_owner"] == expected_acl.owner and doc["acl_allow"], path
        if doc["status"] != Status.TOO_LARGE:
            assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert harness.paths_found('"small aardvark"') == {("small.txt", "small.txt")}


def test_an_unreadable_acl_or_unreadable_content_is_recorded_as_reading_each_alone_did(
    workspace: ShareWorkspace, harness: CrawlHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write_files(
        {
            "no-acl.txt": b"the descriptor of this okapi note is hidden",
            "no-data.txt": b"the content of this bonobo note is hidden",
            "plain.txt": b"nothing hidden about the capybara",
        }
    )
    _deny_read_control(workspace, "no-acl.txt")
    workspace.disk("no-data.txt").chmod(0o000)
    share = workspace.source()
    # What the separate reads give, each on its own open: the behaviour to keep.
    no_data_acl = read_acl(share, "no-data.txt")
    creates = CreateCounter(monkeypatch)

    counts = harness.crawl()

    assert counts.by_status == {Status.OK: 2, Status.ACCESS_DENIED: 1}
    # The ACL refused: its content is indexed and searchable; its ACL is recorded unreadable.
    no_acl = harness.doc("no-acl.txt")
    assert no_acl["status"] == Status.OK
    assert no_acl["acl_status"].startswith("unreadable: access denied to ")
    assert no_acl["acl_owner"] is None and no_acl["acl_allow"] == no_acl["acl_deny"] == []
    assert harness.paths_found('"okapi note"') == {("no-acl.txt", "no-acl.txt")}
    # The content refused: indexed without it, and with its ACL, which the owner may read.
    no_data = harness.doc("no-data.txt")
    assert no_data["status"] == Status.ACCESS_DENIED and no_data["content"] == ""
    assert (no_data["acl_status"], no_data["acl_owner"]) == ("ok", no_data_acl.owner)
    assert no_data["acl_allow"] == list(no_data_acl.allow_sids)
    assert harness.find("bonobo") == []
    # The refused open for both, then the two separate opens; a readable file needs one.
    assert creates.opens(workspace, ["no-acl.txt", "no-data.txt", "plain.txt"]) == {
        "no-acl.txt": 3,
        "no-data.txt": 3,
        "plain.txt": 1,
    }


def test_first_crawl_of_distinct_files_searches_the_index_for_no_copies(
    workspace: ShareWorkspace,
    harness: CrawlHarness,
    settings: Settings,
    es: Elasticsearch,
    index_prefix: str,
    sqlite_sessions: sessionmaker[Session],
) -> None:
    distinct = {
        f"Distinct/{n}.txt": f"distinct note {n} about the gecko".encode() for n in range(8)
    }
    copies = {f"Copies/{n}/policy.txt": b"the one shared tortoise policy" for n in range(10)}
    workspace.write_files({**distinct, **copies})
    searches = DuplicateSearches(harness.es)
    processor = harness.pipeline.processor
    processor.es = processor.reuse.es = cast(Elasticsearch, searches)

    first = harness.crawl()

    assert first.new == len(distinct) + len(copies)
    assert searches.hashes == []
    # Ten identical copies cost one extraction; the other nine reuse it.
    assert first.extracted == harness.extractor.calls == len(distinct) + 1
    assert first.reused == len(copies) - 1
    originals = [path for path in copies if "duplicate_of" not in harness.doc(path)]
    assert len(originals) == 1
    for path in copies:
        if path not in originals:
            assert harness.doc(path)["duplicate_of"] == harness.doc_id(originals[0])

    # A new process (nothing remembered in memory) meets one more copy: the crawl state says
    # the content is indexed, so the index is searched for it and its extraction reused.
    workspace.write("Copies/late/policy.txt", b"the one shared tortoise policy")
    later = _harness(workspace, settings, es, index_prefix, sqlite_sessions)
    later_searches = DuplicateSearches(later.es)
    processor = later.pipeline.processor
    processor.es = processor.reuse.es = cast(Elasticsearch, later_searches)

    second = later.crawl()

    assert (second.new, second.reused, second.extracted, later.extractor.attempts) == (1, 1, 0, 0)
    assert later_searches.hashes == [hashlib.sha256(b"the one shared tortoise policy").hexdigest()]
    assert later.doc("Copies/late/policy.txt")["duplicate_of"] == harness.doc_id(originals[0])
