"""Reads a file from a share exactly once: hash, head, sniffed type and (optionally) a local
copy, in flat memory whatever the file's size.

Invariants:
- One pass over the network in `SmbShare.read_bytes` chunks (at least 1 MiB: smaller reads cost
  most of the throughput), with READ_PIPELINE requests in flight at once so the server works
  while we hash (2.5x the throughput of one request at a time, measured); a 2 GB file costs a
  few read buffers of memory, not 2 GB.
- The content is the file as it was when opened: a file that grows meanwhile is read up to its
  size at open; one that shrinks is read to its new end (the next crawl sees the change).
- The size limit is checked against the open handle before any data moves.
- The local copy is a `SpooledTemporaryFile`: up to 8 MiB in memory, the rest on local disk.
  The caller owns it and must close it.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections import deque
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import magic
from smbprotocol.exceptions import EndOfFile, SMBException

from crawler.smb import SMB_ERRORS, SmbShare

HEAD_BYTES = 8 * 1024
# READ requests kept in flight: 4 x 1 MiB measured best on loopback (deeper gained nothing).
READ_PIPELINE = 4
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ReadResult:
    sha256: str  # hex digest of the whole content
    size: int  # bytes actually read
    head: bytes  # the first HEAD_BYTES bytes
    mime: str  # libmagic's type sniffed from `head`
    spool: BinaryIO | None  # the content, positioned at 0; None when not kept


class FileTooLarge(Exception):
    """The file is over the configured size limit and was not read: record it and move on."""

    def __init__(self, path: str, size: int, max_bytes: int) -> None:
        super().__init__(f"{path} is {size} bytes, over the {max_bytes}-byte limit; not read")
        self.path = path
        self.size = size
        self.max_bytes = max_bytes


def read_file(
    share: SmbShare, rel_path: str, *, max_bytes: int, keep_content: bool = True
) -> ReadResult:
    """Stream `rel_path` once, hashing as it goes. Raises `FileTooLarge` before reading when
    the file is over `max_bytes`, and a `SourceError` subclass when the share fails."""
    # Not a `with` block: on success the spool is handed to the caller, who closes it.
    spool = (
        tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
        if keep_content
        else None
    )
    try:
        handle = share.open_read(rel_path)
        try:
            size = handle.seek(0, io.SEEK_END)  # the size from the open's reply, no round trip
            if size > max_bytes:
                raise FileTooLarge(rel_path, size, max_bytes)
            digest, head, total = _stream(share, _chunks(share, handle, size), spool)
        finally:
            # Everything read is already hashed; a failed close changes nothing we report.
            with suppress(*SMB_ERRORS):
                handle.close()
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    if spool is not None:
        spool.seek(0)
    return ReadResult(
        sha256=digest,
        size=total,
        head=head,
        mime=str(magic.from_buffer(head, mime=True)),
        spool=cast(BinaryIO, spool),
    )


def _stream(
    share: SmbShare, chunks: Iterator[bytes], spool: tempfile.SpooledTemporaryFile[bytes] | None
) -> tuple[str, bytes, int]:
    digest = hashlib.sha256()
    head = bytearray()
    total = 0
    for chunk in chunks:
        digest.update(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        if spool is not None:
            spool.write(chunk)
        total += len(chunk)
    return digest.hexdigest(), bytes(head), total


def _chunks(share: SmbShare, handle: BinaryIO, size: int) -> Iterator[bytes]:
    """The file's bytes in order, with up to READ_PIPELINE READ requests outstanding."""
    fd: Any = cast(Any, handle).fd  # smbclient's raw handle wraps an smbprotocol Open
    connection = fd.connection
    session_id = fd.tree_connect.session.session_id
    tree_id = fd.tree_connect.tree_connect_id
    in_flight: deque[tuple[Any, Any]] = deque()
    offset = 0
    try:
        while offset < size or in_flight:
            while len(in_flight) < READ_PIPELINE and offset < size:
                length = min(share.read_bytes, size - offset)
                request, receive = fd.read(offset, length, send=False)
                try:
                    # Ask for credits back as we go, so other workers' requests are not starved.
                    sent = connection.send(request, session_id, tree_id, credit_request=16)
                except SMBException as exc:
                    if not in_flight or "credits" not in str(exc):
                        raise
                    break  # out of credits: collect an answer first, which returns some
                in_flight.append((sent, receive))
                offset += length
            sent, receive = in_flight.popleft()
            try:
                data = receive(sent)
            except EndOfFile:
                return  # the file shrank after it was opened
            if not data:
                return
            yield data
    except SMB_ERRORS as exc:
        raise share.error(exc) from exc
    finally:
        # Collect answers still owed, so the connection stays in step for the next file.
        for sent, receive in in_flight:
            with suppress(*SMB_ERRORS):
                receive(sent)
