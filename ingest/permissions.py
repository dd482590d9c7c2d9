"""Permission changes on files whose content did not change.

A DACL change touches only a file's change time, which Samba reports as its last-write time,
so a listing shows nothing; a change on a folder that its children inherit changes theirs the
same way. So every incremental crawl reads each unchanged file's security descriptor (one
compound round trip: CREATE with READ_CONTROL, QUERY_INFO, CLOSE; never the content), and when
what it means to the index (owner, allowed and denied SIDs, status) differs from the
fingerprint kept on the file's crawl state, rewrites only the ACL fields of the file's
documents: the file and what is embedded in it take the new ACL; its held versions are
narrowed by it (`AclFields.narrowed_by`). Nothing is re-read or re-extracted.

Invariants:
- The fields written are exactly those `FileProcessor` indexes for the same ACL (`AclFields`),
  so a later full crawl writes the same values.
- An ACL the server will not give (access denied, a malformed descriptor) is recorded as
  unreadable, which no front-office SID matches: the safe side. A file that vanished since it
  was listed, or a connection lost meanwhile, changes nothing (the next crawl looks again).
- A held version (a held file's earlier content) is never more visible than any ACL the
  file has had since the version was kept: its allowed SIDs are those both its own ACL and
  the file's new one allow, its denied SIDs those either denies. Under the search trimming
  (`indexer.search.queries.acl_filter`: some SID allowed, none denied) whoever the narrowed ACL lets
  in, both let in. Loosening a file's permissions never shows its old content to anyone the
  old ACL kept out.
- The index is written before the crawl state: a crawl stopped in between writes the same
  fields again next time (narrowing twice by the same ACL is narrowing once).
- Descriptors are read in batches on a thread of their own while the walk goes on, several
  requests in flight (`crawler.acl_batch`), with a bounded backlog, so memory stays flat
  however large the share.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from crawler.acl import FileAcl
from crawler.acl_batch import read_acls
from crawler.smb import (
    AuthenticationFailed,
    FileInUse,
    FileVanished,
    HostUnreachable,
    ShareNotFound,
    SmbShare,
    SourceError,
)
from foi_core.db import transaction
from foi_core.models import FileState
from indexer.bulk import write_partial
from indexer.documents import acl_fingerprint
from indexer.lifecycle import IndexNames
from indexer.search.scopes import scan
from ingest.transient import retry_transient

# Failures that say nothing about the file's ACL: leave what is indexed as it is.
_NOT_THE_FILE = (FileVanished, FileInUse, HostUnreachable, AuthenticationFailed, ShareNotFound)
# Changed files whose documents are updated together.
FLUSH_FILES = 200
# Files whose ACLs one background read takes, and reads queued beyond the one running: memory
# stays a few batches however large the share.
READ_BATCH = 256
BATCHES_AHEAD = 2


@dataclass(frozen=True)
class AclFields:
    """A file's ACL as its index documents carry it (`acl_owner`, `acl_allow`, ...)."""

    owner: str | None
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    status: str

    @classmethod
    def of(cls, acl: FileAcl | SourceError) -> AclFields:
        if isinstance(acl, FileAcl):
            return cls(acl.owner, acl.allow_sids, acl.deny_sids, "ok")
        # Recorded, not fatal; the document then matches no front-office SID (safe side).
        return cls(None, (), (), f"unreadable: {acl}"[:200])

    @classmethod
    def of_document(cls, doc: Mapping[str, Any]) -> AclFields:
        """The ACL fields an index document carries."""
        owner = doc.get("acl_owner")
        return cls(
            str(owner) if owner is not None else None,
            tuple(doc.get("acl_allow") or ()),
            tuple(doc.get("acl_deny") or ()),
            str(doc.get("acl_status") or "ok"),
        )

    def narrowed_by(self, other: AclFields) -> AclFields:
        """These fields, visible to no more than `other` lets in too: allowed SIDs both allow,
        denied SIDs either denies. The owner stays (it grants nothing); an unreadable status
        stays, or becomes `other`'s."""
        allowed = set(other.allow)
        allow = tuple(sid for sid in self.allow if sid in allowed)
        deny = tuple(dict.fromkeys((*self.deny, *other.deny)))
        status = self.status if self.status != "ok" else other.status
        return AclFields(self.owner, allow, deny, status)

    @property
    def fingerprint(self) -> str:
        return acl_fingerprint(self.owner, self.allow, self.deny, self.status)

    def document_fields(self) -> dict[str, Any]:
        return {
            "acl_owner": self.owner,
            "acl_allow": list(self.allow),
            "acl_deny": list(self.deny),
            "acl_status": self.status,
        }


@dataclass(frozen=True)
class _Known:
    """What the crawl state says about an unchanged file."""

    state_id: int
    doc_id: str
    path: str
    acl_hash: str | None


@dataclass
class PermissionRefresh:
    """Checks the ACLs of one source's unchanged files during a crawl (see the module)."""

    share: SmbShare
    es: Elasticsearch
    names: IndexNames
    sessions: sessionmaker[Session]

    @contextmanager
    def open(self) -> Iterator[PermissionRun]:
        # One reader thread: the reads are pipelined on the connection already, and more
        # threads would only contend for the interpreter with the walk.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawl-acl") as pool:
            yield PermissionRun(self, pool)

    def read(self, known: list[_Known]) -> list[tuple[_Known, AclFields | None]]:
        """Each file's ACL fields now, or None where this crawl cannot tell."""
        try:
            found = dict(read_acls(self.share, [k.path for k in known]))
        except _NOT_THE_FILE:
            return [(k, None) for k in known]
        return [(k, _fields(found[k.path])) for k in known]

    def apply(self, changes: list[tuple[_Known, AclFields]]) -> None:
        """Write the new ACL fields on every document of each file and narrow its held
        versions by them, then record its fingerprint."""
        fields = {known.doc_id: acl for known, acl in changes}
        # The one retry layer of this work (ingest.transient): the rewrite is idempotent.
        retry_transient(partial(rewrite_acls, self.es, self.names, fields))
        with transaction(self.sessions) as session:
            session.execute(
                update(FileState),
                [{"id": known.state_id, "acl_hash": acl.fingerprint} for known, acl in changes],
            )


_ACL_SOURCE = [
    "doc_id",
    "root_id",
    "version_of",
    "acl_owner",
    "acl_allow",
    "acl_deny",
    "acl_status",
]


def rewrite_acls(
    es: Elasticsearch,
    names: IndexNames,
    fields: Mapping[str, AclFields],
    *,
    versions_only: bool = False,
) -> int:
    """Give each file (by document id) its new ACL fields: its own and its embedded
    documents take them (unless `versions_only`: the caller wrote those already), its held
    versions are narrowed by them. Held versions must be searchable (refreshed) to be found.
    Returns the number of documents written."""
    if not fields:
        return 0
    roots = list(fields)
    should: list[dict[str, Any]] = [{"terms": {"version_of": roots}}]
    if not versions_only:
        should.append({"terms": {"root_id": roots}})
    query = {"bool": {"should": should, "minimum_should_match": 1}}
    updates = []
    for doc in scan(es, names.read_alias, query, _ACL_SOURCE):
        version_of = doc.get("version_of")
        if version_of:
            if version_of not in fields:
                continue
            now = AclFields.of_document(doc)
            narrowed = now.narrowed_by(fields[version_of])
            if narrowed != now:
                updates.append({"doc_id": doc["doc_id"], **narrowed.document_fields()})
        elif doc.get("root_id") in fields:
            updates.append({"doc_id": doc["doc_id"], **fields[doc["root_id"]].document_fields()})
    return write_partial(es, names.write_alias, updates) if updates else 0


def _fields(acl: FileAcl | SourceError) -> AclFields | None:
    if isinstance(acl, _NOT_THE_FILE):
        return None
    return AclFields.of(acl)


@dataclass
class PermissionRun:
    """One crawl's ACL checks: `check` each unchanged file, then `finish` once."""

    refresh: PermissionRefresh
    pool: ThreadPoolExecutor
    changed: int = 0
    _batch: list[_Known] = field(default_factory=list)
    _reading: deque[Future[list[tuple[_Known, AclFields | None]]]] = field(default_factory=deque)
    _changes: list[tuple[_Known, AclFields]] = field(default_factory=list)

    def check(self, state: FileState) -> None:
        """Compare the file's ACL with the one last indexed (in the background)."""
        self._batch.append(_Known(state.id, state.doc_id, state.path, state.acl_hash))
        if len(self._batch) >= READ_BATCH:
            self._send()
        while len(self._reading) > BATCHES_AHEAD:
            self._collect()

    def finish(self) -> int:
        """Wait for every check and write what changed. Returns how many files changed."""
        self._send()
        while self._reading:
            self._collect()
        self._flush()
        return self.changed

    def _send(self) -> None:
        if self._batch:
            self._reading.append(self.pool.submit(self.refresh.read, self._batch))
            self._batch = []

    def _collect(self) -> None:
        for known, acl in self._reading.popleft().result():
            if acl is not None and acl.fingerprint != known.acl_hash:
                self._changes.append((known, acl))
        if len(self._changes) >= FLUSH_FILES:
            self._flush()

    def _flush(self) -> None:
        if not self._changes:
            return
        self.refresh.apply(self._changes)
        self.changed += len(self._changes)
        self._changes = []
