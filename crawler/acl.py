"""Who may read a file, from its NT security descriptor (owner, group and DACL).

Invariants:
- Reading the descriptor needs only READ_CONTROL, never read access to the content.
- `allow_sids` / `deny_sids` count only ACEs that apply to the object itself (inherit-only
  ACEs on a folder are templates for its children) and that grant or deny reading.
- Conditional (callback) ACEs are read conservatively: a conditional deny counts as a deny, a
  conditional allow grants nothing, since the condition cannot be evaluated here.
- A NULL DACL (none present) grants everyone everything, as on Windows: it is reported as one
  allow ACE for Everyone (S-1-1-0) with GENERIC_ALL. An empty DACL grants no one anything.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from smbclient._io import SMBFileTransaction
from smbprotocol.file_info import InfoType
from smbprotocol.open import InfoAdditionalInformation, SMB2QueryInfoRequest, SMB2QueryInfoResponse
from smbprotocol.security_descriptor import (
    AccessMask,
    AceType,
    SDControl,
    SIDPacket,
    SMB2CreateSDBuffer,
)

from crawler.smb import SMB_ERRORS, SmbShare

FILE_READ_DATA = 0x00000001
GENERIC_ALL = 0x10000000
GENERIC_READ = 0x80000000
READ_MASK = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL
EVERYONE = "S-1-1-0"

_INHERIT_ONLY_ACE = 0x08
_INHERITED_ACE = 0x10
_ACCESS_DENIED_CALLBACK_ACE = 0x0A
_SECURITY_BUFFER_BYTES = 64 * 1024  # an ACL's size field is 16 bits, so a descriptor fits
_ACE_HEADER = struct.Struct("<BBHI")  # type, flags, size, mask; the SID follows

_INFORMATION = (
    InfoAdditionalInformation.OWNER_SECURTIY_INFORMATION  # sic: upstream spelling
    | InfoAdditionalInformation.GROUP_SECURITY_INFORMATION
    | InfoAdditionalInformation.DACL_SECURITY_INFORMATION
)


@dataclass(frozen=True)
class Ace:
    sid: str
    allow: bool
    mask: int
    inherited: bool  # came from a parent folder (INHERITED_ACE)
    inherit_only: bool = False  # only a template for children; no effect on this object

    @property
    def grants_read(self) -> bool:
        return not self.inherit_only and bool(self.mask & READ_MASK)


@dataclass(frozen=True)
class FileAcl:
    owner: str | None
    group: str | None
    aces: tuple[Ace, ...]

    @property
    def allow_sids(self) -> tuple[str, ...]:
        """SIDs an ACE allows to read this object, in ACE order, without repeats."""
        return _unique(ace.sid for ace in self.aces if ace.allow and ace.grants_read)

    @property
    def deny_sids(self) -> tuple[str, ...]:
        """SIDs an ACE denies reading this object, in ACE order, without repeats."""
        return _unique(ace.sid for ace in self.aces if not ace.allow and ace.grants_read)


def read_acl(share: SmbShare, rel_path: str) -> FileAcl:
    """The owner, group and DACL of a file or folder, in one compound round trip (CREATE with
    READ_CONTROL, QUERY_INFO for security, CLOSE). Raises `AccessDenied` when the server
    refuses READ_CONTROL (and other `SourceError`s as usual): record that, don't crash."""
    raw = share.raw_file(rel_path, desired_access=AccessMask.READ_CONTROL)
    request = SMB2QueryInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    request["output_buffer_length"] = _SECURITY_BUFFER_BYTES
    request["additional_information"] = _INFORMATION
    request["file_id"] = raw.fd.file_id

    def receive(sent: Any) -> bytes:
        response = SMB2QueryInfoResponse()
        response.unpack(raw.fd.connection.receive(sent)["data"].get_value())
        return bytes(response["buffer"].get_value())

    transaction = SMBFileTransaction(raw)
    transaction += (request, receive)
    try:
        transaction.commit()  # puts the CREATE before and the CLOSE after, in one compound
    except SMB_ERRORS as exc:
        raise share.error(exc) from exc
    return parse_security_descriptor(transaction.results[0])


def parse_security_descriptor(data: bytes) -> FileAcl:
    """Decode a self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6)."""
    descriptor = SMB2CreateSDBuffer()
    descriptor.unpack(data)
    owner = descriptor.get_owner()
    group = descriptor.get_group()
    dacl_present = descriptor["control"].has_flag(SDControl.DACL_PRESENT)
    if not dacl_present or descriptor["offset_dacl"].get_value() == 0:
        aces: tuple[Ace, ...] = (Ace(EVERYONE, allow=True, mask=GENERIC_ALL, inherited=False),)
    else:
        dacl = descriptor.get_dacl()
        aces = tuple(ace for raw in dacl["aces"].get_value() if (ace := _ace(raw)) is not None)
    return FileAcl(
        owner=str(owner) if owner is not None else None,
        group=str(group) if group is not None else None,
        aces=aces,
    )


def _ace(raw: Any) -> Ace | None:
    if isinstance(raw, bytes):
        return _callback_deny(raw)
    ace_type = raw["ace_type"].get_value()
    if ace_type not in (AceType.ACCESS_ALLOWED_ACE_TYPE, AceType.ACCESS_DENIED_ACE_TYPE):
        return None
    flags = raw["ace_flags"].get_value()
    return Ace(
        sid=str(raw["sid"].get_value()),
        allow=ace_type == AceType.ACCESS_ALLOWED_ACE_TYPE,
        mask=int(raw["mask"].get_value()),
        inherited=bool(flags & _INHERITED_ACE),
        inherit_only=bool(flags & _INHERIT_ONLY_ACE),
    )


def _callback_deny(raw: bytes) -> Ace | None:
    """A conditional deny ACE (smbprotocol leaves its bytes unparsed), or None for any other
    unparsed type. Its layout matches a plain ACE, with condition data after the SID."""
    if len(raw) < _ACE_HEADER.size:
        return None
    ace_type, flags, _, mask = _ACE_HEADER.unpack_from(raw)
    if ace_type != _ACCESS_DENIED_CALLBACK_ACE:
        return None
    sid = SIDPacket()
    sid.unpack(raw[_ACE_HEADER.size :])
    return Ace(
        sid=str(sid),
        allow=False,
        mask=mask,
        inherited=bool(flags & _INHERITED_ACE),
        inherit_only=bool(flags & _INHERIT_ONLY_ACE),
    )


def _unique(sids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(sids))
