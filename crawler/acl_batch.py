"""The ACLs of many files, read as cheaply as SMB allows: for the permission check of every
unchanged file on every crawl (see `ingest.permissions`).

Each file costs what `crawler.acl.read_acl` sends: one compound of CREATE (READ_CONTROL only),
QUERY_INFO (owner, group and DACL) and CLOSE. Nearly all of that cost is Python building and
parsing smbprotocol structures, so here the three requests are packed by hand (QUERY_INFO and
CLOSE name the compound's own open and never change; CREATE differs only by its name), their
replies are read from the raw bytes, and several compounds are in flight on the connection at
once, so the server works while the next one is built.

Invariants:
- Each result is what `read_acl` gives for that path: the `FileAcl`, or the `SourceError` it
  would raise (`AccessDenied`, `FileVanished`, a malformed descriptor...).
- A path the server answers with a redirection (a symbolic link to follow, a DFS referral) is
  read again alone with `read_acl`, which follows them.
- Every request sent is received, also when the caller stops early or a reply is an error:
  smbprotocol keeps each outstanding request until it is.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from smbprotocol.exceptions import SMBException, SMBOSError, SMBResponseException
from smbprotocol.file_info import InfoType
from smbprotocol.header import Commands
from smbprotocol.open import SMB2CloseRequest, SMB2QueryInfoRequest
from smbprotocol.security_descriptor import AccessMask

from crawler.acl import (
    SECURITY_BUFFER_BYTES,
    SECURITY_INFORMATION,
    FileAcl,
    descriptor,
    read_acl,
)
from crawler.smb import SMB_ERRORS, SmbShare, SourceError

IN_FLIGHT = 8  # compounds outstanding at once (3 credits each)
_RELATED_FILE_ID = b"\xff" * 16  # "the file the compound's CREATE opened" (MS-SMB2 3.2.4.1.4)
_HEADER_BYTES = 64
# CREATE request (MS-SMB2 2.2.13) up to its name: structure size 57, no security flags or
# oplock, impersonation level Impersonation, no create flags, desired access, no attributes,
# share read/write/delete, disposition FILE_OPEN, no options, name offset 120 (64 + 56) and
# length, no create contexts.
_CREATE = struct.Struct("<HBBIQQIIIIIHHII")
_IMPERSONATION = 2
_SHARE_ALL = 0x7
_FILE_OPEN = 1
_QUERY_INFO_REPLY = struct.Struct("<HHI")  # structure size, buffer offset (from the header), length
# Replies that redirect the open rather than refuse it: STOPPED_ON_SYMLINK, PATH_NOT_COVERED.
_REDIRECTS = frozenset({0x8000002D, 0xC0000257})


@dataclass(frozen=True)
class _Packed:
    """A request already packed, in the shape smbprotocol's `send_compound` takes."""

    COMMAND: Commands
    data: bytes

    def pack(self) -> bytes:
        return self.data

    def __len__(self) -> int:
        return len(self.data)


def create_request(name: str) -> bytes:
    """The CREATE request body opening `name` (a path inside the share) for READ_CONTROL."""
    encoded = name.encode("utf-16-le")
    fixed = _CREATE.pack(
        57,
        0,
        0,
        _IMPERSONATION,
        0,
        0,
        AccessMask.READ_CONTROL,
        0,
        _SHARE_ALL,
        _FILE_OPEN,
        0,
        _HEADER_BYTES + _CREATE.size,
        len(encoded),
        0,
        0,
    )
    return fixed + (encoded or b"\x00\x00")  # the buffer is never empty


def _query_request() -> bytes:
    request = SMB2QueryInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    request["output_buffer_length"] = SECURITY_BUFFER_BYTES
    request["additional_information"] = SECURITY_INFORMATION
    request["file_id"] = _RELATED_FILE_ID
    return bytes(request.pack())


def _close_request() -> bytes:
    request = SMB2CloseRequest()
    request["file_id"] = _RELATED_FILE_ID
    return bytes(request.pack())


_QUERY = _Packed(Commands.SMB2_QUERY_INFO, _query_request())
_CLOSE = _Packed(Commands.SMB2_CLOSE, _close_request())


def query_info_buffer(body: bytes) -> bytes:
    """The output buffer of a QUERY_INFO reply body (MS-SMB2 2.2.38)."""
    if len(body) < _QUERY_INFO_REPLY.size:
        return b""  # then not a descriptor either, which the parser reports
    _, offset, length = _QUERY_INFO_REPLY.unpack_from(body)
    start = max(offset - _HEADER_BYTES, _QUERY_INFO_REPLY.size)
    return body[start : start + length]


def read_acls(
    share: SmbShare, paths: Iterable[str], *, in_flight: int = IN_FLIGHT
) -> Iterator[tuple[str, FileAcl | SourceError]]:
    """Each path with its ACL, or the `SourceError` reading it gave, in the order given.
    Raises a `SourceError` only when the share as a whole fails (no tree connection)."""
    tree = share.tree()
    connection = tree.session.connection
    ids = (tree.session.session_id, tree.tree_connect_id)
    pending: deque[tuple[str, list[Any]]] = deque()
    try:
        for path in paths:
            create = _Packed(Commands.SMB2_CREATE, create_request(share.share_path(path)))
            while True:
                try:
                    sent = connection.send_compound([create, _QUERY, _CLOSE], *ids, related=True)
                    break
                except SMBException as exc:
                    if "credits" not in str(exc) or not pending:
                        raise share.error(exc) from exc
                    yield _receive(share, connection, *pending.popleft())  # returns credits
            pending.append((path, sent))
            while len(pending) >= in_flight:
                yield _receive(share, connection, *pending.popleft())
        while pending:
            yield _receive(share, connection, *pending.popleft())
    finally:
        for _, requests in pending:
            for request in requests:
                with suppress(*SMB_ERRORS):
                    connection.receive(request, resolve_symlinks=False)


def _receive(
    share: SmbShare, connection: Any, path: str, requests: list[Any]
) -> tuple[str, FileAcl | SourceError]:
    replies: list[Any] = []
    failure: BaseException | None = None
    for request in requests:  # all three, whatever the first says
        try:
            replies.append(connection.receive(request, resolve_symlinks=False))
        except SMB_ERRORS as exc:
            failure = failure or exc
            replies.append(None)
    if failure is not None:
        if isinstance(failure, SMBResponseException) and failure.status in _REDIRECTS:
            try:
                return path, read_acl(share, path)
            except SourceError as exc:
                return path, exc
        if isinstance(failure, SMBResponseException):
            # Named as read_acl's smbclient call names it, so the two report the same error.
            failure = SMBOSError(failure.status, share.unc(path))
        return path, share.error(failure)
    body = bytes(replies[1]["data"].get_value())
    try:
        return path, descriptor(share, path, query_info_buffer(body))
    except SourceError as exc:
        return path, exc
