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
from dataclasses import dataclass, field, replace
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
from indexer.annotations import version_doc_id
from indexer.bulk import delete_documents, write_documents, write_partial
from indexer.documents import (
    FileRecord,
    embedded_doc_id,
    embedded_documents,
    file_doc_id,
    file_document,
)
from indexer.extract import (
    Extraction,
    ParseInterrupted,
    Status,
    TikaExtractor,
    TikaUnavailable,
)
from indexer.lifecycle import IndexNames
from indexer.search.fetch import copy_ids, embedded_paths, exists, file_document_ids, get_source
from ingest.keeping import FileMove, NoRecordKeeping, RecordKeeping
from ingest.moves import moved_from, remember_moves
from ingest.permissions import AclFields, rewrite_acls
from ingest.reuse import ContentReuse

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
            source = moved_from(self.sessions, self.share, self.source, facts)
            if source is not None:
                previous, status = self._move(facts, source, run_id)
                if status is not None:
                    return FileOutcome(facts.path, "renamed", status)
                # Moved and changed: the change is handled under the file's new identity, as
                # for any file changed in place (a held file's old content kept as a version).
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
        replaced = self._before_replace(previous, record.sha256)
        try:
            with self.reuse.hash_lock(record.sha256):
                reused = self.reuse.by_hash(record, crawled)
                if reused is not None:
                    status, written = reused
                    if previous is not None:
                        self._drop_stale_children(written[0], written)
                    self._narrow_versions(previous, record, replaced=replaced)
                    self._save_state(facts, record, status, run_id)
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
        self._narrow_versions(previous, record, replaced=replaced)
        self._save_state(facts, record, extraction.status, run_id)
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
        self,
        facts: FileFacts,
        sha256: str,
        mime: str,
        acl: FileAcl | SourceError | AclFields | None = None,
    ) -> FileRecord:
        """The file's index record; its ACL is read here unless the caller has it already."""
        if acl is None:
            try:
                acl = read_acl(self.share, facts.path)
            except SourceError as exc:
                acl = exc
        # An unreadable ACL is recorded, not fatal (see ingest.permissions.AclFields).
        fields = acl if isinstance(acl, AclFields) else AclFields.of(acl)
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
            acl_owner=fields.owner,
            acl_allow=fields.allow,
            acl_deny=fields.deny,
            acl_status=fields.status,
        )

    def _before_replace(self, previous: FileState | None, sha256: str) -> bool:
        """Tell record keeping that the file's documents are about to be overwritten with
        other content (`sha256`, "" for none), so a held file's are kept as a version first.
        Returns whether they were about to be."""
        if previous is None or previous.deleted or previous.sha256 == sha256:
            return False
        self.keeping.before_replace(previous.doc_id, previous.sha256, sha256)
        return True

    def _narrow_versions(
        self, previous: FileState | None, record: FileRecord, *, replaced: bool
    ) -> None:
        """A file whose ACL changed with its content (or its path) narrows its held versions
        by the new ACL, as a permission change alone does (see `ingest.permissions`): a
        held version, kept with the ACL its content had, never becomes more visible.
        `replaced`: the file's earlier content was just handed to `before_replace`."""
        if previous is None or previous.acl_hash == record.acl_hash:
            return
        kept = version_doc_id(previous.doc_id, previous.sha256)
        if replaced and exists(self.es, self.names.read_alias, kept):
            # A version kept just now is not searchable yet.
            self.es.indices.refresh(index=self.names.write_alias)
        fields = AclFields(
            record.acl_owner, tuple(record.acl_allow), tuple(record.acl_deny), record.acl_status
        )
        doc_id = file_doc_id(self.source, record.path)
        rewrite_acls(self.es, self.names, {doc_id: fields}, versions_only=True)

    def _drop_stale_children(self, root_id: str, written: list[str]) -> None:
        """Delete the embedded documents a file's earlier content held and its current content
        does not (a member taken out of a zip, an attachment removed): ids are deterministic,
        so everything still there was just overwritten, and anything else is stale."""
        keep = set(written)
        indexed = file_document_ids(self.es, self.names.read_alias, root_id)
        stale = [doc for doc in indexed if doc not in keep]
        if stale:
            delete_documents(self.es, self.names.write_alias, stale)

    def _move(self, facts: FileFacts, old: FileState, run_id: int) -> tuple[FileState, str | None]:
        """Give a moved file its new path and ids without re-reading it: record keeping moves
        everything keyed by the old ids first (so the documents are written already held), the
        documents are copied under their new ids, the old ones go, and the crawl state and the
        old -> new id map (`DocumentMove`) change in one transaction. Every step is safe to
        repeat, so a crawl that stopped part-way finishes the move next time.

        Returns the file's state at its new path, and the extraction status, or None when the
        content must be read again (it changed with the move, or its documents are missing)."""
        crawled = datetime.now(UTC)
        new_id = file_doc_id(self.source, facts.path)
        # A repeat of a move that stopped part-way finds the documents under their new ids.
        alias = self.names.read_alias
        original = get_source(self.es, alias, old.doc_id) or get_source(self.es, alias, new_id)
        root = str(original["doc_id"]) if original else old.doc_id
        embedded = embedded_paths(self.es, alias, root)
        ids = {old.doc_id: new_id}
        ids.update(
            (embedded_doc_id(old.doc_id, path), embedded_doc_id(new_id, path)) for path in embedded
        )
        self.keeping.moved(FileMove(self.source, old.doc_id, new_id, facts.path, old.sha256, ids))
        status: str | None = None
        acl_hash: str | None = None
        if original is not None:
            # As last indexed: a change found with the move is indexed over it afterwards.
            was = replace(facts, size=old.size, mtime_ns=old.mtime_ns)
            unchanged = (old.size, old.mtime_ns) == (facts.size, facts.mtime_ns)
            # Unchanged, this is the file's content now, under its ACL now. Changed, it is the
            # old content (a held file's is kept as a held version next): it keeps the ACL it
            # was indexed with, never the one the file has at its new path.
            acl = None if unchanged else AclFields.of_document(original)
            record = self._record(was, old.sha256, original.get("mime_type", ""), acl)
            acl_hash = record.acl_hash
            copied, _ = self.reuse.copy_extraction(
                original, record, crawled, duplicate="duplicate_of" in original
            )
            if unchanged:
                status = copied
                if old.acl_hash != record.acl_hash:
                    # The held versions `keeping.moved` re-pointed are not searchable yet.
                    self.es.indices.refresh(index=self.names.write_alias)
                    self._narrow_versions(old, record, replaced=False)
            if "duplicate_of" not in original:
                # An original that moved takes its duplicates' pointers with it.
                copies = copy_ids(self.es, alias, old.doc_id)
                write_partial(
                    self.es,
                    self.names.write_alias,
                    ({"doc_id": copy, "duplicate_of": new_id} for copy in copies),
                )
        if status is None:
            # The change is handled next, against these documents and the held versions
            # re-pointed to them: make them searchable.
            self.es.indices.refresh(index=self.names.write_alias)
        delete_documents(
            self.es, self.names.write_alias, file_document_ids(self.es, alias, old.doc_id)
        )
        self.reuse.moved(old.sha256, old.doc_id, new_id)
        with transaction(self.sessions) as session:
            state = session.get_one(FileState, old.id)
            state.path, state.doc_id, state.last_seen_run = facts.path, new_id, run_id
            state.acl_hash = acl_hash
            remember_moves(session, self.source, ids)
            session.flush()
            session.expunge(state)
        return state, status

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
        record = self._record(facts, "", "", acl)
        document = file_document(record, status, reason, None, crawled)
        replaced = self._before_replace(previous, "")
        self._write([document])
        if previous is not None:
            self._drop_stale_children(document["doc_id"], [document["doc_id"]])
        self._narrow_versions(previous, record, replaced=replaced)
        self._save_state(facts, record, status, run_id)
        return FileOutcome(facts.path, kind, status)

    def _save_state(self, facts: FileFacts, record: FileRecord, status: str, run_id: int) -> None:
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
            state.sha256, state.status = record.sha256, status
            state.acl_hash = record.acl_hash
            state.created_ns = facts.created_ns or None
            state.doc_id = file_doc_id(self.source, facts.path)
            state.last_seen_run, state.deleted = run_id, False
