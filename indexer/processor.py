"""Per-file work, shared by the in-process crawl and the Celery tasks.

`FileProcessor.process` is idempotent: it reads a changed file once (hashing as it streams),
captures its ACL on the same SMB open, extracts it (or reuses the extraction of byte-identical
content, or of the same file before a rename), writes the index documents by deterministic id
and records the crawl state. Running it twice for the same file leaves the same result.

Extraction failure is data: the document is indexed with its status and reason. Only a Tika
server that stays unreachable through every retry raises, because "Tika was down" says
nothing about the document.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.acl import FileAcl, ReadWithAclDenied, read_acl
from crawler.reader import FileTooLarge, ReadResult, read_file, read_file_and_acl
from crawler.smb import AccessDenied, FileFacts, FileVanished, SmbShare, SourceError
from foi_core.db import transaction
from foi_core.models import FileState, stored_file_id
from indexer.bulk import delete_documents, write_documents, write_partial
from indexer.documents import FileRecord, embedded_documents, file_doc_id, file_document
from indexer.extract import (
    Extraction,
    ParseInterrupted,
    Status,
    TikaExtractor,
    TikaUnavailable,
)
from indexer.keeping import NoRecordKeeping, RecordKeeping
from indexer.lifecycle import IndexNames
from indexer.reuse import ContentReuse

FAILED_STATUSES = frozenset(
    {
        Status.ENCRYPTED,
        Status.UNSUPPORTED,
        Status.CORRUPT,
        Status.TIMEOUT,
        Status.TOO_LARGE,
        Status.ACCESS_DENIED,
    }
)


@dataclass(frozen=True)
class FileOutcome:
    path: str
    kind: str  # "new" | "changed" | "renamed" | "vanished"
    status: str
    extracted: bool = False
    reused: bool = False

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


def _sleep_with_jitter(attempt: int) -> None:
    time.sleep(min(2.0 * 2**attempt, 30.0) * (0.5 + random.random() / 2))  # noqa: S311


@dataclass
class FileProcessor:
    source: str
    share: SmbShare
    es: Elasticsearch
    names: IndexNames
    extractor: TikaExtractor
    sessions: sessionmaker[Session]
    max_file_bytes: int
    # Five to ten minutes of retries: longer than Tika's watchdog takes to replace a parser
    # process that ran out of memory and stopped answering (its task timeout, 300 s by
    # default), and long enough for the whole server to be restarted.
    tika_attempts: int = 24
    # A request whose parser process died is tried this often before the file is blamed: the
    # process may have died of another, concurrent request.
    parse_attempts: int = 3
    sleep: Callable[[int], None] = _sleep_with_jitter
    keeping: RecordKeeping = field(default_factory=NoRecordKeeping)
    reuse: ContentReuse = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reuse = ContentReuse(self.es, self.names, self.sessions, self._write)

    def process(self, facts: FileFacts, run_id: int, previous: FileState | None) -> FileOutcome:
        if previous is None:
            renamed_from = self._rename_source(facts)
            if renamed_from is not None:
                return self._repoint(facts, renamed_from, run_id)
        kind = "new" if previous is None or previous.deleted else "changed"
        crawled = datetime.now(UTC)
        try:
            result, acl = self._read(facts.path)
        except FileTooLarge as exc:
            return self._failure(
                facts, kind, Status.TOO_LARGE, str(exc), run_id, crawled, previous, exc.acl
            )
        except AccessDenied as exc:
            return self._failure(
                facts, kind, Status.ACCESS_DENIED, str(exc), run_id, crawled, previous
            )
        except FileVanished:
            return FileOutcome(facts.path, "vanished", "vanished")
        record = self._record(facts, result.sha256, result.mime, acl)
        if previous is not None and not previous.deleted and previous.sha256 != record.sha256:
            self.keeping.before_replace(previous.doc_id, previous.sha256, record.sha256)
        try:
            with self.reuse.hash_lock(record.sha256):
                reused = self.reuse.by_hash(record, crawled)
                if reused is not None:
                    status, written = reused
                    if previous is not None:
                        self._drop_stale_children(written[0], written)
                    self._save_state(facts, record.sha256, status, run_id)
                    return FileOutcome(facts.path, kind, status, reused=True)
                if result.spool is None or facts.size == 0:
                    extraction = Extraction(Status.EMPTY, "empty file")
                    extracted = False
                else:
                    extraction = self._extract(result.spool, facts.path)
                    extracted = True
                container = file_document(
                    record, extraction.status, extraction.error, extraction.container, crawled
                )
                documents = [container, *embedded_documents(container, extraction, crawled)]
                self._write(documents)
                if previous is not None:
                    self._drop_stale_children(
                        container["doc_id"], [doc["doc_id"] for doc in documents]
                    )
                if facts.size > 0:
                    self.reuse.remember(record.sha256, container["doc_id"])
        finally:
            if result.spool is not None:
                result.spool.close()
        self._save_state(facts, record.sha256, extraction.status, run_id)
        return FileOutcome(facts.path, kind, extraction.status, extracted=extracted)

    def _read(self, path: str) -> tuple[ReadResult, FileAcl | SourceError | None]:
        """The content and, on the same SMB open, the ACL (None: not read yet). A server that
        refuses the one open for both gets the two separate opens instead, so what is recorded
        never depends on it: a file with an unreadable ACL still has its content indexed, and
        a file with unreadable content still has its ACL."""
        try:
            return read_file_and_acl(self.share, path, max_bytes=self.max_file_bytes)
        except ReadWithAclDenied:
            return read_file(self.share, path, max_bytes=self.max_file_bytes), None

    def _write(self, documents: list[dict[str, Any]]) -> None:
        self.keeping.annotate(documents)
        write_documents(self.es, self.names.write_alias, documents)

    def _extract(self, spool: Any, path: str) -> Extraction:
        unavailable = interrupted = 0
        while True:
            try:
                spool.seek(0)
                return self.extractor.extract(spool, filename=path.rsplit("/", 1)[-1])
            except ParseInterrupted as exc:
                interrupted += 1
                if interrupted >= self.parse_attempts:
                    # Every try took the parser down with it: this file is the cause.
                    return Extraction(
                        Status.CORRUPT, f"{exc} (on each of {interrupted} attempts)"[:500]
                    )
                self.sleep(interrupted - 1)
            except TikaUnavailable:
                unavailable += 1
                if unavailable >= self.tika_attempts:
                    raise
                self.sleep(unavailable - 1)

    def _record(
        self, facts: FileFacts, sha256: str, mime: str, acl: FileAcl | SourceError | None = None
    ) -> FileRecord:
        """The file's index record; its ACL is read here unless the caller has it already."""
        if acl is None:
            try:
                acl = read_acl(self.share, facts.path)
            except SourceError as exc:
                acl = exc
        if isinstance(acl, FileAcl):
            owner, allow, deny, acl_status = acl.owner, acl.allow_sids, acl.deny_sids, "ok"
        else:
            # Recorded, not fatal; the document then matches no front-office SID (safe side).
            owner, allow, deny, acl_status = None, (), (), f"unreadable: {acl}"[:200]
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

    def _drop_stale_children(self, root_id: str, written: list[str]) -> None:
        """Delete the embedded documents a file's earlier content held and its current content
        does not (a member taken out of a zip, an attachment removed): ids are deterministic,
        so everything still there was just overwritten, and anything else is stale."""
        keep = set(written)
        found = self.es.search(
            index=self.names.read_alias,
            size=10_000,
            source=False,
            query={"term": {"root_id": root_id}},
        )["hits"]["hits"]
        stale = [hit["_id"] for hit in found if hit["_id"] not in keep]
        if stale:
            delete_documents(self.es, self.names.write_alias, stale)

    def _rename_source(self, facts: FileFacts) -> FileState | None:
        """A known file with this file id, size and mtime that is gone from its old path."""
        if not facts.file_id:
            return None
        with self.sessions() as session:
            candidates = (
                session.execute(
                    select(FileState).where(
                        FileState.source_name == self.source,
                        FileState.file_id == stored_file_id(facts.file_id),
                        FileState.size == facts.size,
                        FileState.mtime_ns == facts.mtime_ns,
                        FileState.deleted.is_(False),
                        FileState.path != facts.path,
                    )
                )
                .scalars()
                .all()
            )
        for candidate in candidates:
            try:
                self.share.stat(candidate.path)
            except FileVanished:
                return candidate
            except SourceError:
                continue
        return None

    def _repoint(self, facts: FileFacts, old: FileState, run_id: int) -> FileOutcome:
        """Move the record to its new path without re-reading or re-extracting it."""
        crawled = datetime.now(UTC)
        original = self.es.get(index=self.names.read_alias, id=old.doc_id)["_source"]
        record = self._record(facts, old.sha256, original.get("mime_type", ""))
        status, _ = self.reuse.copy_extraction(
            original, record, crawled, duplicate="duplicate_of" in original
        )
        stale = self.es.search(
            index=self.names.read_alias,
            size=10_000,
            source=False,
            query={"term": {"root_id": old.doc_id}},
        )["hits"]["hits"]
        delete_documents(self.es, self.names.write_alias, [hit["_id"] for hit in stale])
        new_id = file_doc_id(self.source, facts.path)
        if "duplicate_of" not in original:
            # An original that moved takes its duplicates' pointers with it.
            copies = self.es.search(
                index=self.names.read_alias,
                size=10_000,
                source=False,
                query={"term": {"duplicate_of": old.doc_id}},
            )["hits"]["hits"]
            write_partial(
                self.es,
                self.names.write_alias,
                ({"doc_id": hit["_id"], "duplicate_of": new_id} for hit in copies),
            )
        self.reuse.moved(old.sha256, old.doc_id, new_id)
        self.keeping.moved(old.doc_id, new_id, facts.path)
        with transaction(self.sessions) as session:
            state = session.get_one(FileState, old.id)
            state.path = facts.path
            state.doc_id = new_id
            state.last_seen_run = run_id
        return FileOutcome(facts.path, "renamed", status)

    def _failure(
        self,
        facts: FileFacts,
        kind: str,
        status: str,
        reason: str,
        run_id: int,
        crawled: datetime,
        previous: FileState | None,
        acl: FileAcl | SourceError | None = None,
    ) -> FileOutcome:
        """Index the file's facts without content; what its earlier content held goes."""
        document = file_document(self._record(facts, "", "", acl), status, reason, None, crawled)
        if previous is not None and not previous.deleted and previous.sha256:
            self.keeping.before_replace(previous.doc_id, previous.sha256, "")
        self._write([document])
        if previous is not None:
            self._drop_stale_children(document["doc_id"], [document["doc_id"]])
        self._save_state(facts, "", status, run_id)
        return FileOutcome(facts.path, kind, status)

    def _save_state(self, facts: FileFacts, sha256: str, status: str, run_id: int) -> None:
        with transaction(self.sessions) as session:
            state = session.execute(
                select(FileState).where(
                    FileState.source_name == self.source, FileState.path == facts.path
                )
            ).scalar_one_or_none()
            if state is None:
                state = FileState(source_name=self.source, path=facts.path)
                session.add(state)
            state.size, state.mtime_ns = facts.size, facts.mtime_ns
            state.file_id = stored_file_id(facts.file_id)
            state.sha256, state.status = sha256, status
            state.doc_id = file_doc_id(self.source, facts.path)
            state.last_seen_run, state.deleted = run_id, False
