"""Reuse of an extraction already in the index, instead of extracting the same bytes again.

`ContentReuse` belongs to one `FileProcessor` (built with it, sharing its clients) and holds
what that process remembers of the content it has indexed. Extraction happens once per unique
content: a byte-identical copy gets the original's extraction, embedded children included,
and a renamed file gets its own. Workers holding the same content are serialised on
`hash_lock`, so only one of them extracts; the others find its documents.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from foi_core.models import FileState
from indexer.documents import (
    INHERITED_FROM_CONTAINER,
    FileRecord,
    embedded_doc_id,
    file_doc_id,
    file_document,
)
from indexer.lifecycle import IndexNames
from indexer.search.fetch import file_documents, get_source, reusable_extraction

# Fields an extraction contributes; copied when content is reused instead of re-extracted.
# Those with a fallback from the file itself are copied only when the content gave them
# (see `_from_content`).
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
# Fields `file_document` fills from the file itself when the content has none: the name, and
# the share's times. A copy keeps its own: another file's name or times are facts about that
# file, which whoever sees the copy may not be allowed to see.
_OWN_FALLBACKS = {"title": "filename", "modified": "share_modified", "created": "share_created"}


@dataclass
class ContentReuse:
    es: Elasticsearch
    names: IndexNames
    sessions: sessionmaker[Session]
    # The processor's index write (record-keeping annotations included).
    write: Callable[[list[dict[str, Any]]], None]
    # Content this process has indexed (sha256 -> doc id). Search is near-real-time, so a
    # copy met seconds after its original would otherwise be extracted again.
    _known: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def hash_lock(self, sha256: str) -> threading.Lock:
        """Serialises the workers holding the same content, so only one of them extracts."""
        with self._guard:
            return self._locks.setdefault(sha256, threading.Lock())

    def remember(self, sha256: str, doc_id: str) -> None:
        """`doc_id` was just written with this content (called under its `hash_lock`)."""
        self._known[sha256] = doc_id

    def moved(self, sha256: str, old_doc_id: str, new_doc_id: str) -> None:
        """A remembered file was re-pointed to a new path: copies now find it there."""
        with self._guard:
            if self._known.get(sha256) == old_doc_id:
                self._known[sha256] = new_doc_id

    def copy_extraction(
        self, original: dict[str, Any], record: FileRecord, crawled: datetime, duplicate: bool
    ) -> tuple[str, list[str]]:
        """Index `record` with `original`'s extraction, embedded children included. Returns
        the status and the ids written (the file's own first)."""
        doc = file_document(
            record, original["status"], original.get("status_reason", ""), None, crawled
        )
        for key in EXTRACTED_FIELDS:
            if key in original and _from_content(original, key):
                doc[key] = original[key]
        if duplicate:
            # A renamed duplicate keeps pointing at its original, not at its own old record.
            doc["duplicate_of"] = original.get("duplicate_of") or original["doc_id"]
        children = file_documents(self.es, self.names.read_alias, original["doc_id"])
        copies = [doc]
        for child in children:
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
        self.write(copies)
        return str(original["status"]), [copy["doc_id"] for copy in copies]

    def by_hash(self, record: FileRecord, crawled: datetime) -> tuple[str, list[str]] | None:
        """Extraction happens once per unique content: a byte-identical copy reuses it."""
        known = self._known.get(record.sha256)
        if known is not None and known != file_doc_id(record.source, record.path):
            # Written moments ago by this process: make it and its children searchable.
            self.es.indices.refresh(index=self.names.write_alias)
            indexed = get_source(self.es, self.names.read_alias, known)
            # Only while that file still holds this content (it may have changed or moved since).
            if indexed is not None and indexed.get("sha256") == record.sha256:
                return self.copy_extraction(indexed, record, crawled, duplicate=True)
        if record.size == 0 or not self._recorded_elsewhere(record):
            return None
        found = reusable_extraction(
            self.es, self.names.read_alias, record.sha256, file_doc_id(record.source, record.path)
        )
        if found is None:
            return None
        return self.copy_extraction(found, record, crawled, duplicate=True)

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


def _from_content(original: dict[str, Any], key: str) -> bool:
    """Whether the original's `key` came from its content (so a copy of the bytes has it too),
    rather than from the original file's own name or times."""
    fallback = _OWN_FALLBACKS.get(key)
    return fallback is None or original.get(key) != original.get(fallback)
