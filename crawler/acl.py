"""Who may read a file, from its NT security descriptor (owner, group and DACL).

Invariants:
- `read_acl` needs only READ_CONTROL, never read access to the content. `open_with_acl` asks
  for both on one open (a changed file's read then costs one CREATE, not two); a server that
  refuses that open leaves the caller to try each alone, so neither depends on the other.
- `allow_sids` / `deny_sids` count only ACEs that apply to the object itself (inherit-only
  ACEs on a folder are templates for its children) and that grant or deny reading.
- Conditional (callback) ACEs are read conservatively: a conditional deny counts as a deny, a
  conditional allow grants nothing, since the condition cannot be evaluated here.
- A NULL DACL (none present) grants everyone everything, as on Windows: it is reported as one
  allow ACE for Everyone (S-1-1-0) with GENERIC_ALL. An empty DACL grants no one anything.
- Only allow, deny and conditional deny ACEs are kept. Object ACEs (which qualify access to
  directory-service object properties, not files), audit/alarm/label ACEs and unknown types
  are skipped by their size.
- SIDs are in MS-DTYP 2.4.2.1 string form: the 48-bit identifier authority in decimal below
  2**32, else as 0x and 12 hex digits.
- A descriptor whose parts (owner, group, DACL, an ACE, a SID) do not fit inside the buffer or
  inside their container raises `MalformedSecurityDescriptor`, which `read_acl` reports as a
  `SourceError`, so the file is recorded with an unreadable ACL, never with a partial one.
  Revision and reserved fields are not checked; bytes past the last ACE (an ACL may be larger
  than its ACEs, an ACE larger than its SID) are ignored.
"""

from __future__ import annotations

import contextlib
import functools
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from smbclient._io import SMBFileTransaction
from smbprotocol.file_info import InfoType
from smbprotocol.open import (
    FilePipePrinterAccessMask,
    InfoAdditionalInformation,
    SMB2QueryInfoRequest,
    SMB2QueryInfoResponse,
)
from smbprotocol.security_descriptor import AccessMask

from crawler.smb import SMB_ERRORS, AccessDenied, SmbShare, SourceError

FILE_READ_DATA = 0x00000001
GENERIC_ALL = 0x10000000
GENERIC_READ = 0x80000000
READ_MASK = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL
EVERYONE = "S-1-1-0"

# What `smbclient.open_file(mode="rb")` asks for, plus READ_CONTROL for the descriptor.
READ_WITH_CONTROL = (
    FilePipePrinterAccessMask.FILE_READ_DATA
    | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
    | FilePipePrinterAccessMask.FILE_READ_EA
    | FilePipePrinterAccessMask.READ_CONTROL
)

SECURITY_BUFFER_BYTES = 64 * 1024  # an ACL's size field is 16 bits, so a descriptor fits

# MS-DTYP layouts, all little-endian except the SID's identifier authority.
_DESCRIPTOR = struct.Struct("<BBHIIII")  # revision, sbz1, control, owner/group/SACL/DACL offsets
_ACL = struct.Struct("<BBHHH")  # revision, sbz1, size, ACE count, sbz2; the ACEs follow
_ACE = struct.Struct("<BBH")  # type, flags, size (of the whole ACE)
_ACE_WITH_MASK = struct.Struct("<BBHI")  # allow/deny ACEs: the header, mask, then the SID
_SID = struct.Struct(">BBHI")  # revision, sub-authority count, authority (high 16, low 32 bits)
_DACL_PRESENT = 0x0004
_INHERIT_ONLY_ACE = 0x08
_INHERITED_ACE = 0x10
_ACCESS_ALLOWED_ACE = 0x00
_ACCESS_DENIED_ACE = 0x01
_ACCESS_DENIED_CALLBACK_ACE = 0x0A
_KEPT_ACE_TYPES = frozenset((_ACCESS_ALLOWED_ACE, _ACCESS_DENIED_ACE, _ACCESS_DENIED_CALLBACK_ACE))

SECURITY_INFORMATION = (
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


class MalformedSecurityDescriptor(ValueError):
    """The bytes are not a self-relative security descriptor: a part lies outside the buffer
    or its container. Record the ACL as unreadable; the server or the data is at fault."""


class ReadWithAclDenied(AccessDenied):
    """The server refused to open a file for its content and its descriptor together. Either
    alone may still be allowed (READ_CONTROL without the data, or the reverse): read them
    with separate opens, `read_file` and `read_acl`."""


def read_acl(share: SmbShare, rel_path: str) -> FileAcl:
    """The owner, group and DACL of a file or folder, in one compound round trip (CREATE with
    READ_CONTROL, QUERY_INFO for security, CLOSE). Raises `AccessDenied` when the server
    refuses READ_CONTROL, a plain `SourceError` when the reply is not a security descriptor
    (and other `SourceError`s as usual): record that, don't crash."""
    raw = share.raw_file(rel_path, desired_access=AccessMask.READ_CONTROL)
    transaction = SMBFileTransaction(raw)
    transaction += _security_query(raw)
    try:
        transaction.commit()  # puts the CREATE before and the CLOSE after, in one compound
    except SMB_ERRORS as exc:
        raise share.error(exc) from exc
    return descriptor(share, rel_path, transaction.results[0])


def open_with_acl(share: SmbShare, rel_path: str) -> tuple[Any, FileAcl | SourceError]:
    """Open a file for reading and take its ACL on that same handle, in one compound round
    trip (CREATE with `READ_WITH_CONTROL`, QUERY_INFO for security): half the SMB messages of
    `read_acl` plus a separate open, whose Python-side packing is most of a small file's cost.

    Returns the open smbclient raw handle, which the caller reads and must close, and the ACL
    or the `SourceError` that reading it gave (as `read_acl` would raise it). Raises
    `ReadWithAclDenied` when the server refuses the open, and other `SourceError`s as usual."""
    raw = share.raw_file(rel_path, desired_access=READ_WITH_CONTROL, file_only=True)
    transaction = SMBFileTransaction(raw)
    raw.open(transaction=transaction)  # our own CREATE first: the transaction adds no CLOSE
    transaction += _security_query(raw)
    try:
        transaction.commit()
    except SMB_ERRORS as exc:
        error = share.error(exc)
        if not raw.closed:
            return raw, error  # opened, but the descriptor was refused
        if isinstance(error, AccessDenied):
            raise ReadWithAclDenied(str(error)) from exc
        raise error from exc
    except BaseException:
        # Anything else (a bug, KeyboardInterrupt) must not leave the file open on the server.
        with contextlib.suppress(*SMB_ERRORS):
            raw.close()
        raise
    try:
        return raw, descriptor(share, rel_path, transaction.results[1])
    except SourceError as exc:
        return raw, exc
    except BaseException:
        with contextlib.suppress(*SMB_ERRORS):
            raw.close()
        raise


def _security_query(raw: Any) -> tuple[SMB2QueryInfoRequest, Callable[[Any], bytes]]:
    """A QUERY_INFO for the owner, group and DACL of `raw`'s open, and the function that
    receives its reply. Sent in a compound after the CREATE, it names that open by the
    related-compound file id the handle holds until its CREATE is answered."""
    request = SMB2QueryInfoRequest()
    request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    request["output_buffer_length"] = SECURITY_BUFFER_BYTES
    request["additional_information"] = SECURITY_INFORMATION
    request["file_id"] = raw.fd.file_id

    def receive(sent: Any) -> bytes:
        response = SMB2QueryInfoResponse()
        response.unpack(raw.fd.connection.receive(sent)["data"].get_value())
        return bytes(response["buffer"].get_value())

    return request, receive


def descriptor(share: SmbShare, rel_path: str, data: bytes) -> FileAcl:
    """`parse_security_descriptor` for a reply about `rel_path`: a malformed descriptor is
    a `SourceError` naming the file."""
    try:
        return parse_security_descriptor(data)
    except MalformedSecurityDescriptor as exc:
        raise SourceError(f"malformed security descriptor on {share.unc(rel_path)}: {exc}") from exc


def parse_security_descriptor(data: bytes) -> FileAcl:
    """Decode a self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6). Raises
    `MalformedSecurityDescriptor` (and nothing else) for bytes that are not one."""
    if len(data) < _DESCRIPTOR.size:
        raise MalformedSecurityDescriptor(
            f"{len(data)} bytes is shorter than a security descriptor header"
        )
    _, _, control, owner, group, _, dacl = _DESCRIPTOR.unpack_from(data)
    if not control & _DACL_PRESENT or dacl == 0:
        aces: tuple[Ace, ...] = (Ace(EVERYONE, allow=True, mask=GENERIC_ALL, inherited=False),)
    else:
        aces = _dacl(data, _part_offset(data, dacl, "DACL"))
    return FileAcl(
        owner=_sid(data, _part_offset(data, owner, "owner"), len(data)) if owner else None,
        group=_sid(data, _part_offset(data, group, "group"), len(data)) if group else None,
        aces=aces,
    )


def _part_offset(data: bytes, offset: int, part: str) -> int:
    # Offsets are from the start of the descriptor, so one inside the header is as wrong as
    # one past the end.
    if not _DESCRIPTOR.size <= offset < len(data):
        raise MalformedSecurityDescriptor(
            f"{part} offset {offset} lies outside the descriptor's {len(data)} bytes"
        )
    return offset


def _dacl(data: bytes, offset: int) -> tuple[Ace, ...]:
    if offset + _ACL.size > len(data):
        raise MalformedSecurityDescriptor(f"DACL header at {offset} runs past the descriptor")
    _, _, size, count, _ = _ACL.unpack_from(data, offset)
    end = offset + size
    if size < _ACL.size or end > len(data):
        raise MalformedSecurityDescriptor(f"DACL size {size} at {offset} does not fit")
    aces = []
    position = offset + _ACL.size
    for index in range(count):
        if position + _ACE.size > end:
            raise MalformedSecurityDescriptor(f"DACL ends before ACE {index} of {count}")
        ace_type, _, ace_size = _ACE.unpack_from(data, position)
        ace_end = position + ace_size
        if ace_size < _ACE.size or ace_end > end:
            raise MalformedSecurityDescriptor(f"ACE {index} size {ace_size} does not fit the DACL")
        if ace_type in _KEPT_ACE_TYPES:
            aces.append(_kept_ace(data[position:ace_end]))
        position = ace_end
    return tuple(aces)


# Memoised, as a crawl meets the same few ACEs (inherited from the same folders) and SIDs in
# nearly every descriptor: a hit skips building the Ace and the SID string. Bounded, since the
# keys are whatever the server sends.
@functools.lru_cache(maxsize=4096)
def _kept_ace(raw: bytes) -> Ace:
    """An allow, deny or conditional deny ACE (MS-DTYP 2.4.4.2, 2.4.4.4, 2.4.4.7) from its
    bytes. A conditional deny is laid out as a plain one with its condition after the SID;
    the condition is ignored (see the module docstring)."""
    if len(raw) < _ACE_WITH_MASK.size:
        raise MalformedSecurityDescriptor(f"a {len(raw)}-byte ACE is too short for its mask")
    ace_type, flags, _, mask = _ACE_WITH_MASK.unpack_from(raw)
    return Ace(
        sid=_sid(raw, _ACE_WITH_MASK.size, len(raw)),
        allow=ace_type == _ACCESS_ALLOWED_ACE,
        mask=mask,
        inherited=bool(flags & _INHERITED_ACE),
        inherit_only=bool(flags & _INHERIT_ONLY_ACE),
    )


def _sid(data: bytes, offset: int, end: int) -> str:
    """The SID at `offset` (MS-DTYP 2.4.2.2), which must end by `end`, in string form."""
    if offset + _SID.size > end:
        raise MalformedSecurityDescriptor(f"SID at byte {offset} runs past its container")
    stop = offset + _SID.size + 4 * data[offset + 1]  # 4 bytes per sub-authority
    if stop > end:
        raise MalformedSecurityDescriptor(f"SID at byte {offset} runs past its container")
    return _sid_string(data[offset:stop])


@functools.lru_cache(maxsize=4096)
def _sid_string(raw: bytes) -> str:
    revision, count, high, low = _SID.unpack_from(raw)
    # MS-DTYP 2.4.2.1: decimal below 2**32, hexadecimal (12 digits) from there on.
    authority = f"0x{high:04x}{low:08x}" if high else str(low)
    sub_authorities = struct.unpack_from(f"<{count}I", raw, _SID.size)
    return "-".join((f"S-{revision}-{authority}", *map(str, sub_authorities)))


def _unique(sids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(sids))
