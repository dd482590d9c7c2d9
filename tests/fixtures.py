"""Helpers for crawl tests against the real stack: a private folder on the `test` share, and a
crawl harness (processor, pipeline, search) over a private index and database.

Nothing here is a mock. `CountingExtractor` is the real Tika client; it only counts the
requests it sends, so a test can prove that a crawl did (or did not) call Tika.
"""

from __future__ import annotations

import os
import pwd
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import smbclient
from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.smb import ShareLocation, SmbShare
from devstack.samba import SambaService
from foi_core.models import FileState
from indexer.documents import file_doc_id
from indexer.extract import Extraction, ExtractOptions, ParseInterrupted, TikaExtractor
from indexer.lifecycle import IndexNames
from indexer.migration import ensure_index
from indexer.search.queries import Principal, base_query, search, text_query
from ingest.pipeline import CrawlCounts, CrawlPipeline
from ingest.processor import FileProcessor

SERVER = "127.0.0.1"
SHARE = "test"
OFFICER = Principal("olive", (), sees_everything=True)


class ShareWorkspace:
    """One test's folder in the `test` share. Files are written over SMB, as staff would write
    them; what SMB cannot make (symlinks, unreadable entries) is made on the share's disk and
    chowned to the share's Unix user."""

    def __init__(self, samba: SambaService, prefix: str) -> None:
        self.samba = samba
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.share_dir = samba.share_path(SHARE)
        self.root = self.share_dir / self.name
        self.location = ShareLocation(SERVER, samba.port, SHARE, self.name)
        # A pool of its own, so set-up writes never share a session with the crawler.
        self._pool: dict[str, Any] = {}
        self._kwargs: dict[str, Any] = {
            "port": samba.port,
            "username": samba.user,
            "password": samba.password,
            "connection_cache": self._pool,
        }
        smbclient.mkdir(ShareLocation(SERVER, samba.port, SHARE).unc(self.name), **self._kwargs)

    @property
    def smb_kwargs(self) -> dict[str, Any]:
        """smbclient keyword arguments for set-up work on this workspace's own pool."""
        return dict(self._kwargs)

    def source(self) -> SmbShare:
        """The crawler's view: a source rooted at this folder."""
        return SmbShare(self.location, self.samba.user, self.samba.password)

    def write(self, rel_path: str, data: bytes) -> None:
        parent = rel_path.rpartition("/")[0]
        if parent:
            smbclient.makedirs(self.location.unc(parent), exist_ok=True, **self._kwargs)
        with smbclient.open_file(self.location.unc(rel_path), mode="wb", **self._kwargs) as out:
            out.write(data)

    def write_files(self, files: Mapping[str, bytes]) -> None:
        for rel_path, data in files.items():
            self.write(rel_path, data)

    def move(self, old: str, new: str) -> None:
        parent = new.rpartition("/")[0]
        if parent:
            smbclient.makedirs(self.location.unc(parent), exist_ok=True, **self._kwargs)
        smbclient.rename(self.location.unc(old), self.location.unc(new), **self._kwargs)

    def remove(self, rel_path: str) -> None:
        smbclient.remove(self.location.unc(rel_path), **self._kwargs)

    def disk(self, rel_path: str) -> Path:
        return self.root / rel_path

    def symlink(self, rel_path: str, target: str) -> None:
        link = self.disk(rel_path)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)
        self.give_to_share_user(link)

    def copy_tree(self, source: Path, rel_path: str) -> Path:
        """Copy a local tree into the share on disk (much faster than SMB for hundreds of
        files), owned by the share's user as if it had been written over SMB."""
        target = self.disk(rel_path)
        shutil.copytree(source, target, symlinks=False)
        self.give_to_share_user(target, recursive=True)
        return target

    def give_to_share_user(self, path: Path, *, recursive: bool = False) -> None:
        """chown `path` (and its new parents, and with `recursive` everything below it) to the
        share's Unix user, so Samba serves it as that user's own."""
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(self.samba.user)
        targets = [path]
        if recursive:
            targets += list(path.rglob("*"))
        current = path.parent
        while current != self.share_dir and current.is_relative_to(self.root):
            targets.append(current)
            current = current.parent
        for target in targets:
            os.lchown(target, account.pw_uid, account.pw_gid)

    def cleanup(self) -> None:
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._pool)
        if not self.root.exists():
            return
        # Readable and writable again first, so the tree can be removed.
        self.root.chmod(0o755)
        for folder, dirs, files in os.walk(self.root):
            for name in dirs:
                path = Path(folder) / name
                if not path.is_symlink():
                    path.chmod(0o755)
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink():
                    path.chmod(0o644)
        shutil.rmtree(self.root)


class CountingExtractor(TikaExtractor):
    """The real Tika client, counting what it extracts (thread-safe: crawls are concurrent).

    `filenames` lists the extractions Tika completed, one per document; `attempts` also counts
    requests that found the server restarting and were retried; `interrupted` counts, per file
    name, the requests during which Tika's parser process died.
    """

    def __init__(self, server_url: str, options: ExtractOptions) -> None:
        super().__init__(server_url, options)
        self.filenames: list[str] = []
        self.attempts = 0
        self.interrupted: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.filenames)

    def reset(self) -> None:
        with self._lock:
            self.filenames.clear()
            self.attempts = 0
            self.interrupted.clear()

    def extract(self, stream: IO[bytes], *, filename: str = "", mime: str = "") -> Extraction:
        with self._lock:
            self.attempts += 1
        try:
            extraction = super().extract(stream, filename=filename, mime=mime)
        except ParseInterrupted:
            with self._lock:
                self.interrupted[filename] += 1
            raise
        with self._lock:
            self.filenames.append(filename)
        return extraction


@dataclass
class CrawlHarness:
    """A source over a workspace, crawled into a private index and database."""

    source: str
    es: Elasticsearch
    names: IndexNames
    sessions: sessionmaker[Session]
    extractor: CountingExtractor
    pipeline: CrawlPipeline
    runs: list[CrawlCounts] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        *,
        workspace: ShareWorkspace,
        es: Elasticsearch,
        index_prefix: str,
        sessions: sessionmaker[Session],
        tika_url: str,
        options: ExtractOptions,
        max_file_bytes: int = 64 * 1024 * 1024,
        workers: int = 4,
    ) -> CrawlHarness:
        names = IndexNames(index_prefix)
        ensure_index(es, names)
        extractor = CountingExtractor(tika_url, options)
        source = workspace.name
        processor = FileProcessor(
            source=source,
            share=workspace.source(),
            es=es,
            names=names,
            extractor=extractor,
            sessions=sessions,
            max_file_bytes=max_file_bytes,
        )
        pipeline = CrawlPipeline(processor=processor, sessions=sessions, workers=workers)
        return cls(source, es, names, sessions, extractor, pipeline)

    def crawl(self, *, full: bool = False) -> CrawlCounts:
        """One crawl, counting Tika calls afresh, with the index refreshed afterwards."""
        self.extractor.reset()
        counts = self.pipeline.run(full=full)
        self.es.indices.refresh(index=self.names.read_alias)
        self.runs.append(counts)
        return counts

    def doc_id(self, path: str) -> str:
        return file_doc_id(self.source, path)

    def doc(self, path: str) -> dict[str, Any]:
        """The file document indexed for `path` (fails if there is none)."""
        found = self.es.get(index=self.names.read_alias, id=self.doc_id(path))
        return dict(found["_source"])

    def has_doc(self, path: str) -> bool:
        return bool(self.es.exists(index=self.names.read_alias, id=self.doc_id(path)))

    def all_docs(self, *, kind: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"term": {"kind": kind}} if kind else {"match_all": {}}
        hits = self.es.search(
            index=self.names.read_alias,
            query=query,
            size=10_000,
            source={"excludes": ["content"]},
        )["hits"]["hits"]
        return [dict(hit["_source"]) for hit in hits]

    def children(self, path: str) -> list[dict[str, Any]]:
        """The embedded documents (at any depth) of the file at `path`."""
        hits = self.es.search(
            index=self.names.read_alias,
            size=1000,
            query={
                "bool": {
                    "filter": [
                        {"term": {"root_id": self.doc_id(path)}},
                        {"term": {"kind": "embedded"}},
                    ]
                }
            },
        )["hits"]["hits"]
        return [dict(hit["_source"]) for hit in hits]

    def find(self, text: str) -> list[dict[str, Any]]:
        """What an officer's search for `text` finds (the production search: access control
        and the deleted filter included), without the content."""
        result = search(self.es, self.names.read_alias, text, OFFICER, size=100)
        return [hit.source for hit in result.hits]

    def find_including_deleted(self, text: str) -> list[dict[str, Any]]:
        query = base_query(OFFICER, [text_query(text)], include_deleted=True)
        hits = self.es.search(index=self.names.read_alias, query=query, size=100)["hits"]["hits"]
        return [dict(hit["_source"]) for hit in hits]

    def paths_found(self, text: str) -> set[tuple[str, str]]:
        """(path, filename) of every document a search for `text` finds."""
        return {(doc["path"], doc["filename"]) for doc in self.find(text)}

    def state(self, path: str) -> FileState | None:
        with self.sessions() as session:
            return session.execute(
                select(FileState).where(
                    FileState.source_name == self.source, FileState.path == path
                )
            ).scalar_one_or_none()
