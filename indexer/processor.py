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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.acl import FileAcl, ReadWithAclDenied, read_acl
from crawler.reader import FileTooLarge, ReadResult, read_file, read_file_and_acl
from crawler.smb import AccessDenied, FileFacts, FileVanished, SmbShare, SourceError
from foi_core.db import transaction
from foi_core.models import FileState, stored_file_id
from indexer.bulk import delete_documents, write_documents, write_partial
from indexer.documents import (
    INHERITED_FROM_CONTAINER,
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
from indexer.keeping import NoRecordKeeping, RecordKeeping
from indexer.lifecycle import IndexNames

# Fields an extraction contributes; copied when content is reused instead of re-extracted.
EXTRACTED_FIELDS = (
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
    "status",
    "status_reason",
)
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
    # Content this process has indexed (sha256 -> doc id). Search is near-real-time, so a
    # copy met seconds after its original would otherwise be extracted again.
    _known: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _hash_lock(self, sha256: str) -> threading.Lock:
        """Serialises the workers holding the same content, so only one of them extracts."""
        with self._guard:
            return self._locks.setdefault(sha256, threading.Lock())

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
            with self._hash_lock(record.sha256):
                reused = self._reuse_by_hash(record, crawled)
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
                    self._known[record.sha256] = container["doc_id"]
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

    def _copy_extraction(
        self, original: dict[str, Any], record: FileRecord, crawled: datetime, duplicate: bool
    ) -> tuple[str, list[str]]:
        """Index `record` with `original`'s extraction, embedded children included. Returns
        the status and the ids written (the file's own first)."""
        doc = file_document(
            record, original["status"], original.get("status_reason", ""), None, crawled
        )
        for key in EXTRACTED_FIELDS:
            if key in original:
                doc[key] = original[key]
        if duplicate:
            # A renamed duplicate keeps pointing at its original, not at its own old record.
            doc["duplicate_of"] = original.get("duplicate_of") or original["doc_id"]
        children = self.es.search(
            index=self.names.read_alias,
            size=10_000,
            query={"term": {"root_id": original["doc_id"]}},
        )["hits"]["hits"]
        copies = [doc]
        for hit in children:
            child = dict(hit["_source"])
            if child["doc_id"] == original["doc_id"]:
                continue
            child_path = child["embedded_path"]
            parent = child_path.rsplit("/", 1)[0]
            child.update(
                {
                    "doc_id": embedded_doc_id(doc["doc_id"], child_path),
                    "container_id": embedded_doc_id(doc["doc_id"], parent)
                    if parent
                    else doc["doc_id"],
                    "root_id": doc["doc_id"],
                    "crawled": crawled.isoformat(),
                    **{k: doc[k] for k in INHERITED_FROM_CONTAINER},
                }
            )
            copies.append(child)
        self._write(copies)
        return str(original["status"]), [copy["doc_id"] for copy in copies]

    def _reuse_by_hash(self, record: FileRecord, crawled: datetime) -> tuple[str, list[str]] | None:
        """Extraction happens once per unique content: a byte-identical copy reuses it."""
        known = self._known.get(record.sha256)
        if known is not None and known != file_doc_id(record.source, record.path):
            # Written moments ago by this process: make it and its children searchable.
            self.es.indices.refresh(index=self.names.write_alias)
            hit = self.es.options(ignore_status=404).get(index=self.names.read_alias, id=known)
            # Only while that file still holds this content (it may have changed or moved since).
            if hit.get("found") and hit["_source"].get("sha256") == record.sha256:
                return self._copy_extraction(hit["_source"], record, crawled, duplicate=True)
        if record.size == 0 or not self._recorded_elsewhere(record):
            return None
        found = self.es.search(
            index=self.names.read_alias,
            size=1,
            query={
                "bool": {
                    "filter": [{"term": {"sha256": record.sha256}}, {"term": {"kind": "file"}}],
                    "must_not": [
                        {"term": {"doc_id": file_doc_id(record.source, record.path)}},
                        {"exists": {"field": "duplicate_of"}},
                    ],
                }
            },
            sort=[{"crawled": "asc"}],
        )["hits"]["hits"]
        if not found:
            return None
        return self._copy_extraction(found[0]["_source"], record, crawled, duplicate=True)

    def _recorded_elsewhere(self, record: FileRecord) -> bool:
        """Whether the crawl state holds this content for any other file (of any source): if
        not, the index cannot hold a copy to reuse, so it is not searched (on a first crawl,
        nearly every file). Uses the `file_states.sha256` index.

        The state lags the index only where a file's documents are written and its state not
        yet saved: for the moment between the two (a copy met then by another process), or
        until the next crawl when a crawl or worker died in between. An index filled from
        another database is not known here at all. Each costs at worst one extra extraction of
        that content, and then the state knows it. A copy met by this process is found before
        this, through `_known`. Deleted files count: the index keeps their documents, and the
        search below has always reused them."""
        with self.sessions() as session:
            found = session.execute(
                select(FileState.id)
                .where(
                    FileState.sha256 == record.sha256,
                    or_(FileState.source_name != record.source, FileState.path != record.path),
                )
                .limit(1)
            ).first()
        return found is not None

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
        status, _ = self._copy_extraction(
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
        with self._guard:
            if self._known.get(old.sha256) == old.doc_id:
                self._known[old.sha256] = new_id
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
