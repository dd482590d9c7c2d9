"""The hand-packed requests and hand-parsed replies of `crawler.acl_batch`, against what
smbprotocol itself sends and receives for `crawler.acl.read_acl` (no sockets)."""

from __future__ import annotations

import struct
import uuid

import pytest
from smbprotocol.connection import Connection, Dialects
from smbprotocol.open import (
    CreateDisposition,
    ImpersonationLevel,
    Open,
    ShareAccess,
    SMB2QueryInfoResponse,
)
from smbprotocol.security_descriptor import AccessMask
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from crawler.acl_batch import _CLOSE, _QUERY, create_request, query_info_buffer


def _smbprotocol_create(name: str) -> bytes:
    """The CREATE request smbprotocol packs for read_acl's open (READ_CONTROL, FILE_OPEN)."""
    connection = Connection(uuid.uuid4(), "server", 445)
    connection.dialect = Dialects.SMB_3_1_1
    tree = TreeConnect(Session(connection, "user", "password"), r"\\server\share")
    request, _ = Open(tree, name).create(
        ImpersonationLevel.Impersonation,
        AccessMask.READ_CONTROL,
        0,
        ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
        CreateDisposition.FILE_OPEN,
        0,
        send=False,
    )
    return bytes(request.pack())


@pytest.mark.parametrize("name", ["", "a.txt", "root\\Folder\\Grievance – Jo é.docx", "x" * 300])
def test_the_create_request_is_what_smbprotocol_packs(name: str) -> None:
    assert create_request(name) == _smbprotocol_create(name)


def test_query_and_close_name_the_compounds_own_open() -> None:
    related = b"\xff" * 16
    assert _QUERY.data[24:40] == related and _QUERY.data[2] == 3  # SMB2_0_INFO_SECURITY
    assert struct.unpack_from("<I", _QUERY.data, 16)[0] == 0x7  # owner, group and DACL
    assert _CLOSE.data[8:24] == related and len(_CLOSE) == 24


def test_the_query_info_reply_buffer_is_read_from_its_offset() -> None:
    reply = SMB2QueryInfoResponse()
    reply["buffer"] = b"\x01\x00\x04\x80descriptor bytes"
    assert query_info_buffer(bytes(reply.pack())) == b"\x01\x00\x04\x80descriptor bytes"
    assert query_info_buffer(b"\x09\x00") == b""  # truncated: nothing, which fails parsing
