"""Which version of each file a collection pins (cases.collection).

Invariants:
- a file the crawl hashed is pinned at the hash indexed, with its last-write time from the
  crawl that saw that very content; nothing is read from the share for it (a collection from
  the web app runs inside the request);
- a file the crawl could not hash (too large to read, access denied to the crawl...) is pinned
  by hashing what the share holds when it is collected, streamed in chunks so memory stays
  flat however large the file is, with the share's last-write time; a file whose size,
  last-write time or identity differ before and after the read changed while it was read and
  is not pinned;
- a file that cannot be read then is not pinned, and the reason is kept: a bundle never
  discloses a file collected unpinned (cases.export).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.shares import CHUNK_BYTES, SourceUnavailable
from crawler.smb import FileFacts, SmbShare, SourceError
from foi_core.models import FileState
from indexer.search.fetch import sources_by_id
from retention.context import Records

_VERSION_FIELDS = ("sha256", "source", "path", "size", "deleted", "version_of")


@dataclass(frozen=True)
class Version:
    """A file's version as a collection pins it; without `sha256`, `unpinned` says why not."""

    sha256: str = ""
    source: str = ""
    path: str = ""
    size: int = 0
    share_modified: datetime | None = None
    hashed_at_collection: bool = False
    unpinned: str = "the document is not in the index"
    deleted: bool = False
    held_version: bool = False


def indexed_versions(records: Records, roots: Sequence[str]) -> dict[str, Version]:
    """The indexed content of each file (its root document)."""
    found: dict[str, Version] = {}
    indexed = sources_by_id(records.es, records.names.read_alias, roots, _VERSION_FIELDS)
    for root, src in indexed.items():
        sha256 = str(src.get("sha256") or "")
        found[root] = Version(
            sha256=sha256,
            source=str(src.get("source") or ""),
            path=str(src.get("path") or ""),
            size=int(src.get("size") or 0),
            unpinned="" if sha256 else "the crawl could not hash the file",
            deleted=bool(src.get("deleted")),
            held_version=bool(src.get("version_of")),
        )
    return found


def share_times(session: Session, versions: dict[str, Version]) -> None:
    """Complete each version the crawl hashed with its last-write time on the share, from the
    crawl that indexed that very content (a time seen with other content would describe
    another version)."""
    for root, version in list(versions.items()):
        if not version.sha256 or version.hashed_at_collection:
            continue
        state = session.execute(
            select(FileState).where(
                FileState.source_name == version.source, FileState.path == version.path
            )
        ).scalar_one_or_none()
        if state is not None and state.sha256 == version.sha256:
            versions[root] = replace(version, share_modified=_from_ns(state.mtime_ns))


def hash_unhashed(records: Records, versions: dict[str, Version], roots: Iterable[str]) -> None:
    """Pin each of `roots` the crawl could not hash by hashing what its share holds now; one
    that cannot be read keeps the reason in `unpinned`. Run it outside any transaction: a
    file may take minutes to read."""
    for root in dict.fromkeys(roots):
        version = versions.get(root)
        if version is None or version.sha256:
            continue
        if version.held_version:
            reason = "a held version the crawl could not hash"
        elif version.deleted:
            reason = "the file was deleted at source before the crawl could hash it"
        else:
            versions[root] = _hash_share(records, version)
            continue
        versions[root] = replace(version, unpinned=reason)


def _hash_share(records: Records, version: Version) -> Version:
    try:
        share = records.shares(version.source)
        before = share.stat(version.path)
        sha256, size = _stream_hash(share, version.path)
        after = share.stat(version.path)
    except (SourceError, SourceUnavailable) as exc:
        return replace(version, unpinned=str(exc) or type(exc).__name__)
    if _identity(before) != _identity(after) or size != after.size:
        return replace(version, unpinned="the file changed on the share while it was being read")
    return replace(
        version,
        sha256=sha256,
        size=size,
        share_modified=_from_ns(after.mtime_ns),
        hashed_at_collection=True,
        unpinned="",
    )


def _stream_hash(share: SmbShare, path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    read_bytes = max(share.read_bytes, CHUNK_BYTES)
    with share.open_read(path) as handle:
        while True:
            try:
                chunk = handle.read(read_bytes)
            except Exception as exc:  # a raw smbprotocol error from a read
                raise share.error(exc) from exc
            if not chunk:
                return digest.hexdigest(), size
            digest.update(chunk)
            size += len(chunk)


def _identity(facts: FileFacts) -> tuple[int, int, int]:
    return facts.size, facts.mtime_ns, facts.file_id


def _from_ns(ns: int) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9, UTC).replace(microsecond=0) if ns > 0 else None
