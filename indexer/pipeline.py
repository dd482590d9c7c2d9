"""The in-process crawl: walk a share, read changed files once, extract, index, record state.

Invariants:
- every file the walk sees ends up either indexed (with an explicit extraction status) or
  recorded as a problem with its reason; one bad file never stops the crawl;
- unchanged files (same size, mtime and file id as last seen) are neither read nor extracted;
- byte-identical content is extracted once: a copy reuses the indexed extraction;
- files that vanished since the last crawl are marked deleted in the index, not dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.acl import read_acl
from crawler.reader import FileTooLarge, read_file
from crawler.smb import AccessDenied, SmbShare, SourceError
from crawler.walker import FileFacts, WalkProblem, walk
from foi_core.db import transaction
from foi_core.models import CrawlRun, FileState
from indexer.bulk import mark_deleted, write_documents
from indexer.documents import FileRecord, embedded_documents, file_doc_id, file_document
from indexer.extract import Extraction, Status, TikaExtractor
from indexer.lifecycle import IndexNames


@dataclass
class CrawlCounts:
    seen: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    extracted: int = 0
    reused: int = 0
    failed: int = 0
    deleted: int = 0
    problems: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items() if k != "by_status"},
            "by_status": dict(self.by_status),
        }


Progress = Callable[[CrawlCounts], None]


@dataclass
class CrawlPipeline:
    source: str
    share: SmbShare
    es: Elasticsearch
    names: IndexNames
    extractor: TikaExtractor
    sessions: sessionmaker[Session]
    max_file_bytes: int
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def run(self, *, full: bool = False, progress: Progress | None = None) -> CrawlCounts:
        counts = CrawlCounts()
        with transaction(self.sessions) as session:
            run = CrawlRun(source_name=self.source, status="running", counts={}, error="")
            session.add(run)
            session.flush()
            run_id = run.id
        problem_folders: list[str] = []
        started = time.monotonic()
        # Whatever interrupts the crawl (a source error, a bug, Ctrl-C) is recorded on the run.
        status, error = "failed", "interrupted"
        try:
            for item in walk(self.share, include=self.include, exclude=self.exclude):
                if isinstance(item, WalkProblem):
                    counts.problems += 1
                    problem_folders.append(item.path)
                    continue
                counts.seen += 1
                self._handle(item, run_id, full, counts)
                if progress is not None and counts.seen % 25 == 0:
                    progress(counts)
            counts.deleted = self._sweep_deleted(run_id, problem_folders)
            status, error = "finished", ""
        except SourceError as exc:
            error = str(exc)
            raise
        finally:
            with transaction(self.sessions) as session:
                run = session.get_one(CrawlRun, run_id)
                run.status, run.error = status, error
                run.finished_at = datetime.now(UTC)
                run.counts = {**counts.as_dict(), "seconds": round(time.monotonic() - started, 3)}
        if progress is not None:
            progress(counts)
        return counts

    def _handle(self, facts: FileFacts, run_id: int, full: bool, counts: CrawlCounts) -> None:
        with transaction(self.sessions) as session:
            state = session.execute(
                select(FileState).where(
                    FileState.source_name == self.source, FileState.path == facts.path
                )
            ).scalar_one_or_none()
            unchanged = (
                state is not None
                and not state.deleted
                and state.size == facts.size
                and state.mtime_ns == facts.mtime_ns
                and state.file_id == facts.file_id
            )
            if unchanged and not full and state is not None:
                state.last_seen_run = run_id
                counts.unchanged += 1
                return
            if state is None:
                counts.new += 1
            else:
                counts.changed += 1
        status, sha256 = self._index_file(facts, counts)
        counts.by_status[status] = counts.by_status.get(status, 0) + 1
        with transaction(self.sessions) as session:
            state = session.execute(
                select(FileState).where(
                    FileState.source_name == self.source, FileState.path == facts.path
                )
            ).scalar_one_or_none()
            if state is None:
                state = FileState(source_name=self.source, path=facts.path)
                session.add(state)
            state.size, state.mtime_ns, state.file_id = facts.size, facts.mtime_ns, facts.file_id
            state.sha256, state.status = sha256, status
            state.doc_id = file_doc_id(self.source, facts.path)
            state.last_seen_run, state.deleted = run_id, False

    def _record(self, facts: FileFacts, sha256: str, mime: str) -> FileRecord:
        try:
            acl = read_acl(self.share, facts.path)
            owner, allow, deny, acl_status = acl.owner, acl.allow_sids, acl.deny_sids, "ok"
        except SourceError as exc:
            owner, allow, deny, acl_status = None, (), (), f"unreadable: {exc}"[:200]
        return FileRecord(
            source=self.source,
            share=self.share.location.share,
            path=facts.path,
            unc=self.share.unc(facts.path),
            size=facts.size,
            mtime_ns=facts.mtime_ns,
            created_ns=facts.created_ns,
            file_id=facts.file_id,
            sha256=sha256,
            mime=mime,
            acl_owner=owner,
            acl_allow=allow,
            acl_deny=deny,
            acl_status=acl_status,
        )

    def _index_file(self, facts: FileFacts, counts: CrawlCounts) -> tuple[str, str]:
        crawled = datetime.now(UTC)
        try:
            result = read_file(self.share, facts.path, max_bytes=self.max_file_bytes)
        except FileTooLarge as exc:
            return self._index_failure(facts, Status.TOO_LARGE, str(exc), counts, crawled)
        except AccessDenied as exc:
            return self._index_failure(facts, Status.ACCESS_DENIED, str(exc), counts, crawled)
        record = self._record(facts, result.sha256, result.mime)
        try:
            reused = self._reuse_extraction(record, crawled)
            if reused is not None:
                counts.reused += 1
                return reused, record.sha256
            if result.spool is None or facts.size == 0:
                extraction = Extraction(Status.EMPTY, "empty file")
            else:
                extraction = self.extractor.extract(
                    result.spool, filename=facts.path.rsplit("/", 1)[-1], mime=result.mime
                )
                counts.extracted += 1
        finally:
            if result.spool is not None:
                result.spool.close()
        container = file_document(
            record, extraction.status, extraction.error, extraction.container, crawled
        )
        docs = [container, *embedded_documents(container, extraction, crawled)]
        write_documents(self.es, self.names.write_alias, docs)
        if extraction.status not in (Status.OK, Status.EMPTY, Status.TRUNCATED):
            counts.failed += 1
        return extraction.status, record.sha256

    def _reuse_extraction(self, record: FileRecord, crawled: datetime) -> str | None:
        """Index a byte-identical copy from an existing extraction; None if there is none."""
        found = self.es.search(
            index=self.names.read_alias,
            query={
                "bool": {
                    "filter": [{"term": {"sha256": record.sha256}}, {"term": {"kind": "file"}}],
                    "must_not": [{"term": {"doc_id": file_doc_id(record.source, record.path)}}],
                }
            },
            size=1,
        )["hits"]["hits"]
        if not found:
            return None
        original = found[0]["_source"]
        doc = file_document(
            record, original["status"], original.get("status_reason", ""), None, crawled
        )
        for key in (
            "content",
            "content_chars",
            "title",
            "authors",
            "created",
            "modified",
            "page_count",
            "language",
            "email_from",
            "email_to",
            "email_cc",
            "email_subject",
            "email_date",
            "mime_type",
        ):
            if key in original:
                doc[key] = original[key]
        doc["duplicate_of"] = original["doc_id"]
        write_documents(self.es, self.names.write_alias, [doc])
        return str(original["status"])

    def _index_failure(
        self, facts: FileFacts, status: str, reason: str, counts: CrawlCounts, crawled: datetime
    ) -> tuple[str, str]:
        record = self._record(facts, "", "")
        counts.failed += 1
        write_documents(
            self.es, self.names.write_alias, [file_document(record, status, reason, None, crawled)]
        )
        return status, ""

    def _sweep_deleted(self, run_id: int, problem_folders: list[str]) -> int:
        """Files not seen this run are gone, unless they sit under a folder we couldn't read."""
        with transaction(self.sessions) as session:
            stale = (
                session.execute(
                    select(FileState).where(
                        FileState.source_name == self.source,
                        FileState.last_seen_run != run_id,
                        FileState.deleted.is_(False),
                    )
                )
                .scalars()
                .all()
            )
            gone = [
                s
                for s in stale
                if not any(
                    s.path.startswith(folder.rstrip("/") + "/") for folder in problem_folders
                )
            ]
            for state in gone:
                state.deleted = True
            doc_ids = [s.doc_id for s in gone]
        if doc_ids:
            mark_deleted(self.es, self.names.write_alias, doc_ids)
        return len(doc_ids)
