"""Reads a file from a share exactly once: hash, head, sniffed type and (optionally) a local
copy, in flat memory whatever the file's size; with `read_file_and_acl`, its ACL on the same
open.

Invariants:
- One pass over the network in `SmbShare.read_bytes` chunks (at least 1 MiB: smaller reads cost
  most of the throughput), with READ_PIPELINE requests in flight at once so the server works
  while we hash (2.5x the throughput of one request at a time, measured); a 2 GB file costs a
  few read buffers of memory, not 2 GB.
- A file larger than one chunk is hashed and spooled by one helper thread while the calling
  thread receives SMB messages (hashlib and disk writes release the GIL, so the two overlap);
  at most HASH_QUEUE_CHUNKS chunks wait between them. A file of one chunk or less is hashed
  inline: starting a thread would cost more than it saves.
- The helper thread never outlives `read_file`: it is stopped and joined on every exit, and an
  error on either side (the share's `SourceError`, the spool's `OSError`) reaches the caller.
- The content is the file as it was when opened: a file that grows meanwhile is read up to its
  size at open; one that shrinks is read to its new end (the next crawl sees the change).
- The size limit is checked against the open handle before any data moves.
- The local copy is a `SpooledTemporaryFile`: up to 8 MiB in memory, the rest on local disk.
  The caller owns it and must close it.
"""

from __future__ import annotations

import hashlib
import io
import queue
import tempfile
import threading
from collections import deque
from collections.abc import Generator
from contextlib import closing, suppress
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import magic
from smbprotocol.exceptions import EndOfFile, SMBException

from crawler.acl import FileAcl, open_with_acl
from crawler.smb import SMB_ERRORS, SmbShare, SourceError

HEAD_BYTES = 8 * 1024
# READ requests kept in flight: 4 x 1 MiB measured best on loopback (deeper gained nothing).
READ_PIPELINE = 4
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
# Chunks received but not yet hashed: enough to ride out a slow spool write, small enough that
# memory stays a few read buffers.
HASH_QUEUE_CHUNKS = 4


@dataclass(frozen=True)
class ReadResult:
    sha256: str  # hex digest of the whole content
    size: int  # bytes actually read
    head: bytes  # the first HEAD_BYTES bytes
    mime: str  # libmagic's type sniffed from `head`
    spool: BinaryIO | None  # the content, positioned at 0; None when not kept


class FileTooLarge(Exception):
    """The file is over the configured size limit and was not read: record it and move on.
    `acl` is the file's ACL (or the error reading it) when it was taken on the same open."""

    def __init__(
        self, path: str, size: int, max_bytes: int, acl: FileAcl | SourceError | None = None
    ) -> None:
        super().__init__(f"{path} is {size} bytes, over the {max_bytes}-byte limit; not read")
        self.path = path
        self.size = size
        self.max_bytes = max_bytes
        self.acl = acl


def read_file(
    share: SmbShare, rel_path: str, *, max_bytes: int, keep_content: bool = True
) -> ReadResult:
    """Stream `rel_path` once, hashing as it goes. Raises `FileTooLarge` before reading when
    the file is over `max_bytes`, and a `SourceError` subclass when the share fails."""
    return _read_open(share, share.open_read(rel_path), rel_path, max_bytes, keep_content)


def read_file_and_acl(
    share: SmbShare, rel_path: str, *, max_bytes: int, keep_content: bool = True
) -> tuple[ReadResult, FileAcl | SourceError]:
    """`read_file` and `read_acl` on one SMB open (see `crawler.acl.open_with_acl`): the
    content and the ACL, or the `SourceError` reading the ACL gave. Raises `ReadWithAclDenied`
    when the server refuses that open (either may still be readable alone), `FileTooLarge`
    carrying the ACL, and other `SourceError`s as `read_file` does."""
    handle, acl = open_with_acl(share, rel_path)
    try:
        return _read_open(share, handle, rel_path, max_bytes, keep_content), acl
    except FileTooLarge as exc:
        exc.acl = acl
        raise


def _read_open(
    share: SmbShare, handle: BinaryIO, rel_path: str, max_bytes: int, keep_content: bool
) -> ReadResult:
    """Read an open handle from its start and close it, whatever happens."""
    try:
        size = handle.seek(0, io.SEEK_END)  # the size from the open's reply, no round trip
        if size > max_bytes:
            raise FileTooLarge(rel_path, size, max_bytes)
        # Not a `with` block: on success the spool is handed to the caller, who closes it.
        spool = (
            tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
            if keep_content
            else None
        )
        try:
            sink = _ThreadedSink(spool) if size > share.read_bytes else _InlineSink(spool)
            digest, head, total = _stream(_chunks(share, handle, size), sink)
        except BaseException:
            if spool is not None:
                spool.close()
            raise
    finally:
        # Everything read is already hashed; a failed close changes nothing we report.
        with suppress(*SMB_ERRORS):
            handle.close()
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
    chunks: Generator[bytes, None, None], sink: _InlineSink | _ThreadedSink
) -> tuple[str, bytes, int]:
    head = bytearray()
    total = 0
    # The sink is stopped first, then the reads still in flight are collected.
    with closing(chunks), sink:
        for chunk in chunks:
            sink.add(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            total += len(chunk)
        digest = sink.finish()
    return digest, bytes(head), total


class _InlineSink:
    """Hashes and spools each chunk in the calling thread."""

    def __init__(self, spool: tempfile.SpooledTemporaryFile[bytes] | None) -> None:
        self._spool = spool
        self._digest = hashlib.sha256()

    def __enter__(self) -> _InlineSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def add(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        if self._spool is not None:
            self._spool.write(chunk)

    def finish(self) -> str:
        return self._digest.hexdigest()


class _ThreadedSink:
    """Hashes and spools chunks on one helper thread, fed through a bounded queue.

    `add` blocks while HASH_QUEUE_CHUNKS chunks wait, and raises the helper's error once it
    has failed; leaving the `with` block always stops and joins the helper. After a failure
    (or when the reader gives up) the helper keeps taking chunks off the queue without
    touching them, so the reader can never block on a full queue."""

    def __init__(self, spool: tempfile.SpooledTemporaryFile[bytes] | None) -> None:
        self._spool = spool
        self._digest = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=HASH_QUEUE_CHUNKS)
        self._failure: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="read-file-hash", daemon=True)

    def __enter__(self) -> _ThreadedSink:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._abandoned = True
        self._stop()

    def add(self, chunk: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        self._queue.put(chunk)

    def finish(self) -> str:
        self._stop()
        if self._failure is not None:
            raise self._failure
        return self._digest.hexdigest()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._failure is not None or self._abandoned:
                continue
            try:
                self._digest.update(chunk)
                if self._spool is not None:
                    self._spool.write(chunk)
            except BaseException as exc:  # handed to the reading thread, which raises it
                self._failure = exc


def _chunks(share: SmbShare, handle: BinaryIO, size: int) -> Generator[bytes, None, None]:
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
