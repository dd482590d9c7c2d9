"""Which bytes a bundle discloses for one document, read once into a spool and hashed.

A document collected into a case pinned the version collected (its SHA-256 then). Only bytes
that hash to it are ever disclosed:

* from the share, while the file there still hashes to the collected version;
* otherwise from the preservation store (content-addressed by SHA-256), the copy the case's
  hold owed when the document was collected, and the difference is reported: changed or
  deleted at source since collection (or a held version, which lives only in the store);
* if neither holds the collected version the document is an error, never other bytes.

An item with no collected hash is read where its opener says, compared with the hash indexed,
a difference flagged. A case's export gives every document collected without a pinned version
an opener that refuses (`VersionNotPinned`): its row is an error with the reason, never bytes.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, BinaryIO

CHUNK_BYTES = 1024 * 1024
SPOOL_MEMORY_BYTES = 8 * CHUNK_BYTES

Opener = Callable[[], AbstractContextManager[BinaryIO]]


class Origin(StrEnum):
    SHARE = "share"
    STORE = "preservation store"


class SourceState(StrEnum):
    UNCHANGED = "unchanged since collection"
    CHANGED = "changed at source since collection"
    DELETED = "deleted at source since collection"
    HELD_VERSION = "held version (the file changed at source before it was collected)"
    UNREADABLE = "share not readable"
    NOT_PINNED = "collected before versions were pinned"


@dataclass(frozen=True)
class ShareFacts:
    """The file's dates on the share (SMB last-write and creation times)."""

    modified: datetime | None
    created: datetime | None


@dataclass
class Original:
    """The bytes to disclose (in `spool`, rewound), or why there are none (`error`)."""

    spool: IO[bytes] | None
    size: int = 0
    sha256: str = ""
    md5: str = ""
    origin: Origin | None = None
    state: SourceState | None = None
    state_detail: str = ""
    share_sha256: str = ""
    error: str = ""

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()


class VersionNotPinned(Exception):
    """The document was collected without a pinned version: nothing may be disclosed for it.
    The message is the manifest's error."""


class _ReadFailed(Exception):
    def __init__(self, message: str, cause: Exception) -> None:
        super().__init__(message)
        self.cause = cause


def _spool(directory: Path) -> IO[bytes]:
    # In memory up to 8 MiB, then an unlinked temporary file beside the bundle.
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, dir=str(directory))


def _copy(opener: Opener, directory: Path) -> Original:
    """Read everything `opener` gives into a new spool, hashing it; raises _ReadFailed."""
    spool = _spool(directory)
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size, opened = 0, False
    try:
        with opener() as source:
            opened = True
            while chunk := source.read(CHUNK_BYTES):
                sha256.update(chunk)
                md5.update(chunk)
                spool.write(chunk)
                size += len(chunk)
    except Exception as exc:
        spool.close()
        stage = f"could not read (after {size:,} bytes)" if opened else "could not open"
        raise _ReadFailed(f"{stage}: {type(exc).__name__}: {exc}", exc) from exc
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Original(spool, size, sha256.hexdigest(), md5.hexdigest())


def read_indexed(open_original: Opener, directory: Path) -> Original:
    """A document with no pinned version: read where its opener says."""
    try:
        return _copy(open_original, directory)
    except _ReadFailed as failed:
        refused = isinstance(failed.cause, VersionNotPinned)
        error = str(failed.cause) if refused else str(failed)
        return Original(None, error=error, state=SourceState.NOT_PINNED)


def read_collected(
    collected_sha256: str,
    open_share: Opener | None,
    open_preserved: Opener | None,
    directory: Path,
    *,
    known_deleted: bool = False,
) -> Original:
    """The collected version, from the share if it still holds it, else from the store.

    `open_share` is None for a held version (its bytes live in the store only); `known_deleted`
    says a crawl has seen the file go."""
    state, detail, share_sha256 = SourceState.HELD_VERSION, "", ""
    if open_share is not None:
        try:
            found = _copy(open_share, directory)
        except _ReadFailed as failed:
            gone = known_deleted or isinstance(failed.cause, FileNotFoundError)
            state = SourceState.DELETED if gone else SourceState.UNREADABLE
            detail = "" if gone else str(failed)
        else:
            if found.sha256 == collected_sha256:
                found.origin, found.state = Origin.SHARE, SourceState.UNCHANGED
                return found
            found.close()
            state, share_sha256 = SourceState.CHANGED, found.sha256
    stored = _from_store(collected_sha256, open_preserved, directory)
    stored.state, stored.state_detail, stored.share_sha256 = state, detail, share_sha256
    if stored.error:
        where = {
            SourceState.CHANGED: f"the share now holds other content (sha256 {share_sha256})",
            SourceState.DELETED: "the file is no longer on the share",
            SourceState.UNREADABLE: f"the share {detail}",
            SourceState.HELD_VERSION: "a held version is kept only in the preservation store",
        }[state]
        stored.error = (
            f"the version collected (sha256 {collected_sha256}) is not disclosed: {where}; "
            + stored.error
        )
    return stored


def _from_store(sha256: str, opener: Opener | None, directory: Path) -> Original:
    if opener is None:
        return Original(None, error="the collected version is not in the preservation store")
    try:
        stored = _copy(opener, directory)
    except _ReadFailed as failed:
        if isinstance(failed.cause, FileNotFoundError):
            return Original(None, error="the collected version is not in the preservation store")
        return Original(None, error=f"the preservation store's copy {failed}")
    if stored.sha256 != sha256:
        # The store names content by its hash; a copy that does not match is never disclosed.
        stored.close()
        return Original(
            None,
            error=f"the preservation store's copy hashes to {stored.sha256}, not the version "
            "collected",
        )
    stored.origin = Origin.STORE
    return stored
