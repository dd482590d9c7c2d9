"""`parse_security_descriptor` against a reference built on smbprotocol's structure classes.

The reference is the parser the crawler used before decoding with `struct` (kept here, not in
production code). On well-formed descriptors both must agree exactly. Where they differ, the
difference is deliberate and pinned by its own test: SIDs whose authority needs more than 32
bits or that have no sub-authorities, ACEs larger than their SID or carrying flag 0x20, ACL
revisions smbprotocol does not know, and malformed descriptors the reference half-accepted.
"""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smbprotocol.exceptions import SMBOSError
from smbprotocol.security_descriptor import AceType, SDControl, SIDPacket, SMB2CreateSDBuffer

import crawler.acl
from crawler.acl import (
    GENERIC_ALL,
    READ_WITH_CONTROL,
    Ace,
    FileAcl,
    MalformedSecurityDescriptor,
    ReadWithAclDenied,
    open_with_acl,
    parse_security_descriptor,
    read_acl,
)
from crawler.smb import ShareLocation, SmbShare, SourceError

SELF_RELATIVE = 0x8000
DACL_PRESENT = 0x0004
SACL_PRESENT = 0x0010
OBJECT_INHERIT, CONTAINER_INHERIT, INHERIT_ONLY, INHERITED = 0x01, 0x02, 0x08, 0x10
ALLOW, DENY, AUDIT, ALARM = 0x00, 0x01, 0x02, 0x03
ALLOW_OBJECT, DENY_OBJECT, ALLOW_CALLBACK, DENY_CALLBACK = 0x05, 0x06, 0x09, 0x0A
ALLOW_CALLBACK_OBJECT, DENY_CALLBACK_OBJECT, MANDATORY_LABEL = 0x0B, 0x0C, 0x11
FULL_CONTROL, READ_AND_EXECUTE, READ_ATTRIBUTES = 0x001F01FF, 0x001200A9, 0x00000080
CONDITION = b"artx\x00\x00\x00\x00"  # a conditional expression's signature and padding

# Captured from Samba 4.17 (acl_xattr) with read_acl: a file, and a folder with inherit-only
# CREATOR OWNER / CREATOR GROUP templates.
SAMBA_FILE = bytes.fromhex(
    "010004801400000030000000000000004c000000010500000000000515000000"
    "92b7272b1254cb540c60489ee803000001050000000000051500000092b7272b"
    "1254cb540c60489e01020000020064000300000000002400ff011f0001050000"
    "000000051500000092b7272b1254cb540c60489ee803000000002400ff011f00"
    "01050000000000051500000092b7272b1254cb540c60489e0102000000001400"
    "a9001200010100000000000100000000"
)
SAMBA_FOLDER = bytes.fromhex(
    "010004801400000030000000000000004c000000010500000000000515000000"
    "92b7272b1254cb540c60489ee803000001050000000000051500000092b7272b"
    "1254cb540c60489e0102000002008c000500000000002400ff011f0001050000"
    "000000051500000092b7272b1254cb540c60489ee8030000000b1400ff011f00"
    "01010000000000030000000000002400ff011f00010500000000000515000000"
    "92b7272b1254cb540c60489e01020000000b1400ff011f000101000000000003"
    "0100000000031400a9001200010100000000000100000000"
)
DOMAIN = "S-1-5-21-724023186-1422611474-2655543308"


# --- the reference: the smbprotocol-based parser, as the crawler had it --------------------


def reference_parse(data: bytes) -> FileAcl:
    descriptor = SMB2CreateSDBuffer()
    descriptor.unpack(data)
    owner = descriptor.get_owner()
    group = descriptor.get_group()
    dacl_present = descriptor["control"].has_flag(SDControl.DACL_PRESENT)
    if not dacl_present or descriptor["offset_dacl"].get_value() == 0:
        aces: tuple[Ace, ...] = (Ace("S-1-1-0", allow=True, mask=GENERIC_ALL, inherited=False),)
    else:
        dacl = descriptor.get_dacl()
        aces = tuple(
            ace for raw in dacl["aces"].get_value() if (ace := _reference_ace(raw)) is not None
        )
    return FileAcl(
        owner=str(owner) if owner is not None else None,
        group=str(group) if group is not None else None,
        aces=aces,
    )


def _reference_ace(raw: Any) -> Ace | None:
    if isinstance(raw, bytes):
        return _reference_callback_deny(raw)
    ace_type = raw["ace_type"].get_value()
    if ace_type not in (AceType.ACCESS_ALLOWED_ACE_TYPE, AceType.ACCESS_DENIED_ACE_TYPE):
        return None
    flags = raw["ace_flags"].get_value()
    return Ace(
        sid=str(raw["sid"].get_value()),
        allow=ace_type == AceType.ACCESS_ALLOWED_ACE_TYPE,
        mask=int(raw["mask"].get_value()),
        inherited=bool(flags & 0x10),
        inherit_only=bool(flags & 0x08),
    )


def _reference_callback_deny(raw: bytes) -> Ace | None:
    header = struct.Struct("<BBHI")
    if len(raw) < header.size:
        return None
    ace_type, flags, _, mask = header.unpack_from(raw)
    if ace_type != 0x0A:
        return None
    sid = SIDPacket()
    sid.unpack(raw[header.size :])
    return Ace(
        sid=str(sid),
        allow=False,
        mask=mask,
        inherited=bool(flags & 0x10),
        inherit_only=bool(flags & 0x08),
    )


# --- byte builders (MS-DTYP 2.4.2.2 SID, 2.4.4 ACEs, 2.4.5 ACL, 2.4.6 SECURITY_DESCRIPTOR) ---


def sid(authority: int, *sub_authorities: int, revision: int = 1) -> bytes:
    return (
        bytes((revision, len(sub_authorities)))
        + authority.to_bytes(6, "big")
        + struct.pack(f"<{len(sub_authorities)}I", *sub_authorities)
    )


def sid_from(text: str) -> bytes:
    _, revision, authority, *subs = text.split("-")
    return sid(int(authority), *map(int, subs), revision=int(revision))


def raw_ace(ace_type: int, body: bytes, flags: int = 0, size: int | None = None) -> bytes:
    return struct.pack("<BBH", ace_type, flags, 4 + len(body) if size is None else size) + body


def ace(ace_type: int, mask: int, sid_: bytes, flags: int = 0, tail: bytes = b"") -> bytes:
    """An ACE laid out as header, mask, SID, then `tail` (a callback's condition, padding)."""
    return raw_ace(ace_type, struct.pack("<I", mask) + sid_ + tail, flags)


def object_ace(
    ace_type: int,
    mask: int,
    sid_: bytes,
    *,
    object_type: bytes | None = None,
    inherited_object_type: bytes | None = None,
    flags: int = 0,
    tail: bytes = b"",
) -> bytes:
    present = (object_type is not None) | (inherited_object_type is not None) << 1
    body = struct.pack("<II", mask, present) + (object_type or b"")
    body += (inherited_object_type or b"") + sid_ + tail
    return raw_ace(ace_type, body, flags)


def acl(
    *aces: bytes,
    revision: int = 2,
    count: int | None = None,
    slack: bytes = b"",
    size: int | None = None,
    sbz: tuple[int, int] = (0, 0),
) -> bytes:
    body = b"".join(aces) + slack
    ace_count = len(aces) if count is None else count
    acl_size = 8 + len(body) if size is None else size
    return struct.pack("<BBHHH", revision, sbz[0], acl_size, ace_count, sbz[1]) + body


def descriptor(
    owner: bytes | None = None,
    group: bytes | None = None,
    dacl: bytes | None = None,
    *,
    sacl: bytes | None = None,
    dacl_present: bool = True,
    control: int = SELF_RELATIVE,
    order: Sequence[str] = ("owner", "group", "sacl", "dacl"),
    gaps: Sequence[bytes] = (),
    revision: int = 1,
    sbz1: int = 0,
) -> bytes:
    """A self-relative descriptor with its parts in `order`, `gaps[i]` before the i-th part.
    A NULL DACL is `dacl=None` (offset 0) or `dacl_present=False` (then `dacl` is ignored)."""
    parts = {"owner": owner, "group": group, "sacl": sacl, "dacl": dacl}
    offsets = dict.fromkeys(parts, 0)
    body = b""
    for index, name in enumerate(name for name in order if parts[name] is not None):
        body += gaps[index] if index < len(gaps) else b""
        offsets[name] = 20 + len(body)
        body += parts[name] or b""
    control = control & ~(DACL_PRESENT | SACL_PRESENT)
    control |= (DACL_PRESENT if dacl_present else 0) | (SACL_PRESENT if sacl else 0)
    header = struct.pack(
        "<BBHIIII",
        revision,
        sbz1,
        control,
        offsets["owner"],
        offsets["group"],
        offsets["sacl"],
        offsets["dacl"],
    )
    return header + body


OWNER_SID = "S-1-5-21-1004336348-1177238915-682003330-1001"
STAFF_SID = "S-1-5-21-1004336348-1177238915-682003330-1104"
OWNER, STAFF = sid_from(OWNER_SID), sid_from(STAFF_SID)
EVERYONE = sid_from("S-1-1-0")
SYSTEM = sid_from("S-1-5-18")
CREATOR_OWNER = sid_from("S-1-3-0")
UNIX_USER = sid_from("S-1-22-1-1000")
GUID_A, GUID_B = bytes(range(16)), bytes(range(16, 32))


def with_offsets(owner: int = 0, group: int = 0, dacl: int = 0, tail: bytes = b"") -> bytes:
    control = SELF_RELATIVE | (DACL_PRESENT if dacl else 0)
    return struct.pack("<BBHIIII", 1, 0, control, owner, group, 0, dacl) + tail


# --- well-formed descriptors: the new parser gives the reference's result -----------------

WELL_FORMED = {
    "samba file": SAMBA_FILE,
    "samba folder": SAMBA_FOLDER,
    "owner, group, allow and deny": descriptor(
        OWNER,
        STAFF,
        acl(
            ace(DENY, READ_AND_EXECUTE, UNIX_USER),
            ace(ALLOW, FULL_CONTROL, OWNER),
            ace(ALLOW, READ_AND_EXECUTE, STAFF, flags=INHERITED),
            ace(ALLOW, 0x80000000, EVERYONE),  # GENERIC_READ
        ),
    ),
    "no owner, no group": descriptor(None, None, acl(ace(ALLOW, 1, EVERYONE))),
    "owner only": descriptor(OWNER, None, acl(ace(ALLOW, 1, OWNER))),
    "group only": descriptor(None, STAFF, acl(ace(ALLOW, 1, STAFF))),
    "header only: NULL DACL": descriptor(),
    "NULL DACL: flag clear": descriptor(OWNER, STAFF, None, dacl_present=False),
    "NULL DACL: flag set, offset 0": descriptor(OWNER, STAFF, None),
    "NULL DACL: flag clear, ACL bytes ignored": descriptor(
        OWNER, STAFF, acl(ace(DENY, 1, EVERYONE)), dacl_present=False
    ),
    "empty DACL": descriptor(OWNER, STAFF, acl()),
    "empty DACL with slack": descriptor(OWNER, STAFF, acl(slack=bytes(12))),
    "inherited, inherit-only and both": descriptor(
        OWNER,
        STAFF,
        acl(
            ace(ALLOW, FULL_CONTROL, OWNER, flags=INHERITED),
            ace(ALLOW, FULL_CONTROL, CREATOR_OWNER, flags=INHERIT_ONLY | 0x03),
            ace(DENY, 1, STAFF, flags=INHERIT_ONLY | INHERITED | OBJECT_INHERIT),
            ace(ALLOW, READ_AND_EXECUTE, EVERYONE, flags=CONTAINER_INHERIT | 0x04),
            ace(ALLOW, 1, SYSTEM, flags=0x40 | 0x80),  # audit success/failure flags
        ),
    ),
    "callback allow and deny": descriptor(
        OWNER,
        STAFF,
        acl(
            ace(ALLOW_CALLBACK, FULL_CONTROL, STAFF, tail=CONDITION),
            ace(DENY_CALLBACK, READ_AND_EXECUTE, UNIX_USER, flags=INHERITED, tail=CONDITION),
            ace(DENY_CALLBACK, 1, EVERYONE, flags=INHERIT_ONLY),
            ace(DENY_CALLBACK, READ_ATTRIBUTES, OWNER, flags=0x20, tail=b"\x00" * 3),
            ace(ALLOW, READ_AND_EXECUTE, STAFF),
        ),
    ),
    "object ACEs are skipped": descriptor(
        OWNER,
        STAFF,
        acl(
            object_ace(ALLOW_OBJECT, FULL_CONTROL, STAFF, object_type=GUID_A),
            object_ace(DENY_OBJECT, 1, EVERYONE, inherited_object_type=GUID_B),
            object_ace(DENY_OBJECT, 1, OWNER, object_type=GUID_A, inherited_object_type=GUID_B),
            object_ace(ALLOW_CALLBACK_OBJECT, 1, STAFF, tail=CONDITION),
            object_ace(DENY_CALLBACK_OBJECT, 1, STAFF, object_type=GUID_B, tail=CONDITION),
            ace(ALLOW, READ_AND_EXECUTE, SYSTEM),
        ),
    ),
    "audit, alarm, label and unknown ACEs are skipped": descriptor(
        OWNER,
        STAFF,
        acl(
            ace(AUDIT, FULL_CONTROL, EVERYONE, flags=0x40),
            ace(ALARM, FULL_CONTROL, EVERYONE, flags=0x20),
            ace(MANDATORY_LABEL, 0x1, sid_from("S-1-16-12288")),
            raw_ace(0x12, b"\x00" * 20),  # resource attribute
            raw_ace(0xFF, b""),
            raw_ace(0x7F, b"\xff" * 37, flags=0xFF),
            ace(DENY, 1, UNIX_USER),
        ),
    ),
    "masks": descriptor(
        OWNER,
        None,
        acl(*(ace(ALLOW, mask, STAFF) for mask in (0, 1, 0x10000000, 0x80000000, 0xFFFFFFFF))),
    ),
    "many ACEs": descriptor(
        OWNER,
        STAFF,
        acl(*(ace(index % 2, index, sid(5, 21, 1, 2, 3, 1000 + index)) for index in range(600))),
    ),
    "large sub-authority counts": descriptor(
        sid(5, *range(15)),
        sid(5, *range(100)),
        acl(ace(ALLOW, 1, sid(5, *range(2**32 - 255, 2**32))), ace(DENY, 1, sid(1, *[7] * 60))),
    ),
    "authorities up to 2**32 - 1": descriptor(
        sid(0, 0),
        sid(2**32 - 1, 1),
        acl(ace(ALLOW, 1, sid(0x01020304, 5)), ace(DENY, 1, sid(16, 12288))),
    ),
    "SID revisions other than 1": descriptor(sid(5, 18, revision=2), sid(5, 32, revision=0)),
    "Windows layout: SACL, DACL, owner, group, with gaps": descriptor(
        OWNER,
        STAFF,
        acl(ace(ALLOW, FULL_CONTROL, SYSTEM), ace(ALLOW, 1, STAFF)),
        sacl=acl(ace(AUDIT, FULL_CONTROL, EVERYONE, flags=0xC0)),
        order=("sacl", "dacl", "owner", "group"),
        gaps=(b"", b"\xee" * 4, b"\xee" * 3, b"\xee"),
    ),
    "owner SID shared with an ACE": with_offsets(owner=36, dacl=20, tail=acl(ace(ALLOW, 1, OWNER))),
    "reserved fields and revisions are not checked": descriptor(
        OWNER,
        STAFF,
        acl(ace(ALLOW, 1, STAFF), revision=4, sbz=(0xAA, 0xBBBB)),
        revision=0xFF,
        sbz1=0xFF,
        control=0xFFFF,
    ),
    "ACL slack after the ACEs": descriptor(
        OWNER, STAFF, acl(ace(DENY, 1, STAFF), slack=b"\xff" * 9)
    ),
    "trailing bytes after the parts": descriptor(OWNER, STAFF, acl(ace(ALLOW, 1, STAFF)))
    + b"\x00" * 64,
}


@pytest.mark.parametrize("data", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_descriptors_parse_as_the_reference_does(data: bytes) -> None:
    assert parse_security_descriptor(data) == reference_parse(data)


def test_a_samba_folder_acl_reads_as_owner_group_and_everyone() -> None:
    acl_ = parse_security_descriptor(SAMBA_FOLDER)

    assert (acl_.owner, acl_.group) == (f"{DOMAIN}-1000", f"{DOMAIN}-513")
    assert [(ace.sid, ace.inherit_only) for ace in acl_.aces] == [
        (f"{DOMAIN}-1000", False),
        ("S-1-3-0", True),
        (f"{DOMAIN}-513", False),
        ("S-1-3-1", True),
        ("S-1-1-0", False),
    ]
    assert acl_.allow_sids == (f"{DOMAIN}-1000", f"{DOMAIN}-513", "S-1-1-0")
    assert acl_.deny_sids == ()


def test_null_dacl_allows_everyone_everything_and_empty_dacl_no_one() -> None:
    null = parse_security_descriptor(WELL_FORMED["NULL DACL: flag clear"])
    empty = parse_security_descriptor(WELL_FORMED["empty DACL"])

    assert null.aces == (Ace("S-1-1-0", allow=True, mask=GENERIC_ALL, inherited=False),)
    assert (empty.aces, empty.allow_sids, empty.deny_sids) == ((), (), ())


def test_callback_deny_denies_and_callback_allow_grants_nothing() -> None:
    acl_ = parse_security_descriptor(WELL_FORMED["callback allow and deny"])

    assert acl_.deny_sids == ("S-1-22-1-1000",)  # inherit-only and READ_ATTRIBUTES don't count
    assert acl_.allow_sids == (STAFF_SID,)
    assert [ace.allow for ace in acl_.aces] == [False, False, False, True]


# --- deliberate differences from the reference --------------------------------------------


@pytest.mark.parametrize(
    ("authority", "expected", "reference"),
    [
        (2**32, "S-1-0x000100000000-7", "S-1-0-7"),
        (0x123456789ABC, "S-1-0x123456789abc-7", "S-1-1450744508-7"),
        (2**48 - 1, "S-1-0xffffffffffff-7", "S-1-4294967295-7"),
    ],
)
def test_authorities_from_2_to_the_32_are_hexadecimal(
    authority: int, expected: str, reference: str
) -> None:
    """MS-DTYP 2.4.2.1; smbprotocol reads the top 16 bits of the 48 as reserved."""
    data = descriptor(sid(authority, 7), None, acl(ace(DENY, 1, sid(authority, 7))))

    assert parse_security_descriptor(data) == FileAcl(
        expected, None, (Ace(expected, allow=False, mask=1, inherited=False),)
    )
    assert reference_parse(data).owner == reference


def test_a_sid_without_sub_authorities_has_no_trailing_dash() -> None:
    data = descriptor(sid(5))

    assert parse_security_descriptor(data).owner == "S-1-5"
    assert reference_parse(data).owner == "S-1-5-"


def test_an_ace_larger_than_its_sid_is_skipped_by_its_size() -> None:
    """AceSize may exceed the SID (MS-DTYP 2.4.4.1). smbprotocol ignores it for plain ACEs and
    reads the padding as the next ACE: here that lost the deny."""
    data = descriptor(
        OWNER, None, acl(ace(ALLOW, 1, STAFF, tail=b"\xff" * 8), ace(DENY, 1, UNIX_USER))
    )

    assert parse_security_descriptor(data).aces == (
        Ace(STAFF_SID, allow=True, mask=1, inherited=False),
        Ace("S-1-22-1-1000", allow=False, mask=1, inherited=False),
    )
    assert reference_parse(data).deny_sids == ()


@pytest.mark.parametrize(
    "dacl",
    [
        acl(ace(ALLOW, 1, STAFF, flags=0x20)),  # an ACE flag smbprotocol does not know
        acl(ace(DENY, 1, STAFF), revision=3),  # an ACL revision smbprotocol does not know
    ],
    ids=["ACE flag 0x20", "ACL revision 3"],
)
def test_unchecked_fields_smbprotocol_rejects_are_accepted(dacl: bytes) -> None:
    data = descriptor(OWNER, None, dacl)

    assert [ace.sid for ace in parse_security_descriptor(data).aces] == [STAFF_SID]
    with pytest.raises(ValueError):
        reference_parse(data)


# --- malformed descriptors raise MalformedSecurityDescriptor ------------------------------

HEADER_ONLY = descriptor()

# (case, data, what the reference did: "raised" struct.error, or "accepted" it and returned
# a partial or misread ACL)
MALFORMED = [
    ("empty", b"", "raised"),
    ("shorter than a header", HEADER_ONLY[:19], "raised"),
    ("owner offset past the end", with_offsets(owner=20), "raised"),
    ("owner offset inside the header", with_offsets(owner=4, tail=OWNER), "raised"),
    ("owner SID cut short", descriptor(OWNER)[:-1], "raised"),
    ("owner SID header cut short", descriptor(OWNER)[:27], "raised"),
    ("group offset past the end", with_offsets(group=1000, tail=OWNER), "raised"),
    ("DACL offset past the end", with_offsets(dacl=20), "raised"),
    ("DACL offset inside the header", with_offsets(dacl=8, tail=acl()), "accepted"),
    ("DACL header cut short", descriptor(None, None, acl())[:26], "raised"),
    ("DACL size below its header", descriptor(None, None, acl(size=4)), "raised"),
    (
        "DACL size past the end",
        descriptor(None, None, acl(ace(ALLOW, 1, STAFF), size=200)),
        "accepted",
    ),
    ("DACL cut short", descriptor(None, None, acl(ace(ALLOW, 1, STAFF)))[:-4], "raised"),
    ("more ACEs counted than present", descriptor(None, None, acl(count=1)), "accepted"),
    (
        "more ACEs counted than fit",
        descriptor(None, None, acl(ace(ALLOW, 1, STAFF), count=2)),
        "accepted",
    ),
    ("ACE of size 0", descriptor(None, None, acl(raw_ace(0x13, b"", size=0))), "accepted"),
    ("ACE of size 3", descriptor(None, None, acl(raw_ace(0x13, b"", size=3))), "accepted"),
    (
        "ACE larger than the DACL",
        descriptor(None, None, acl(raw_ace(0x13, b"\x00" * 4, size=64))),
        "accepted",
    ),
    ("allow ACE without a mask", descriptor(None, None, acl(raw_ace(ALLOW, b""))), "raised"),
    (
        "callback deny ACE without a mask",
        descriptor(None, None, acl(raw_ace(DENY_CALLBACK, b"\x01\x00"))),
        "accepted",
    ),
    (
        "deny ACE without a SID",
        descriptor(None, None, acl(raw_ace(DENY, b"\x01\x00\x00\x00"))),
        "accepted",
    ),
    (
        "allow ACE smaller than its SID",
        descriptor(None, None, acl(raw_ace(ALLOW, struct.pack("<I", 1) + STAFF, size=16))),
        "accepted",
    ),
    (
        "callback deny ACE smaller than its SID",
        descriptor(None, None, acl(raw_ace(DENY_CALLBACK, struct.pack("<I", 1) + STAFF[:-4]))),
        "raised",
    ),
]


@pytest.mark.parametrize(
    ("data", "reference"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_descriptors_raise(data: bytes, reference: str) -> None:
    with pytest.raises(MalformedSecurityDescriptor):
        parse_security_descriptor(data)
    if reference == "raised":
        with pytest.raises(struct.error):
            reference_parse(data)
    elif reference == "accepted":  # a partial or misread ACL: now refused, on the safe side
        reference_parse(data)


def test_a_malformed_reply_is_a_source_error_naming_the_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the processor records as `acl_status` "unreadable: ..." instead of crashing."""

    class Transaction:
        def __init__(self, raw: Any) -> None:
            self.results = [b"\x01\x00\x04\x80"]

        def __iadd__(self, request: Any) -> Transaction:
            return self

        def commit(self) -> None:
            pass

    share = SmbShare(ShareLocation("fileserver", 445, "dept"), "crawler", "secret")
    handle = SimpleNamespace(fd=SimpleNamespace(file_id=bytes(16)))
    monkeypatch.setattr(share, "raw_file", lambda rel_path, desired_access: handle)
    monkeypatch.setattr(crawler.acl, "SMBFileTransaction", Transaction)

    with pytest.raises(SourceError, match=r"malformed security descriptor .*report\.pdf"):
        read_acl(share, "folder/report.pdf")


class FakeOpen:
    """A raw handle whose compound CREATE + QUERY_INFO answers as told: `created` says whether
    the CREATE succeeds, `reply` is the QUERY_INFO's buffer or the NTSTATUS it fails with."""

    def __init__(self, *, created: bool, reply: bytes | int) -> None:
        self.created, self.reply = created, reply
        self.closed = True
        self.fd = SimpleNamespace(file_id=bytes(16))

    def open(self, transaction: Any) -> None:
        transaction.opened_first = True


class FakeTransaction:
    def __init__(self, raw: FakeOpen) -> None:
        self.raw = raw
        self.opened_first = False
        self.results: tuple[Any, ...] = ()

    def __iadd__(self, request: Any) -> FakeTransaction:
        return self

    def commit(self) -> None:
        assert self.opened_first  # no CLOSE added: the handle stays open for the read
        self.raw.closed = not self.raw.created
        if not self.raw.created:
            raise SMBOSError(0xC0000022, "\\\\fileserver\\dept\\report.pdf")
        if isinstance(self.raw.reply, int):
            raise SMBOSError(self.raw.reply, "\\\\fileserver\\dept\\report.pdf")
        self.results = (None, self.raw.reply)


def _open_with_acl(monkeypatch: pytest.MonkeyPatch, raw: FakeOpen) -> tuple[Any, Any]:
    share = SmbShare(ShareLocation("fileserver", 445, "dept"), "crawler", "secret")
    asked: list[tuple[int, bool]] = []

    def raw_file(rel_path: str, desired_access: int, file_only: bool) -> FakeOpen:
        asked.append((desired_access, file_only))
        return raw

    monkeypatch.setattr(share, "raw_file", raw_file)
    monkeypatch.setattr(crawler.acl, "SMBFileTransaction", FakeTransaction)
    opened = open_with_acl(share, "report.pdf")
    assert asked == [(READ_WITH_CONTROL, True)]
    return opened


def test_one_open_gives_the_handle_and_its_acl(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = FakeOpen(created=True, reply=SAMBA_FILE)
    handle, acl = _open_with_acl(monkeypatch, raw)
    assert handle is raw and acl == parse_security_descriptor(SAMBA_FILE)


def test_a_refused_open_asks_for_separate_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ReadWithAclDenied, match=r"access denied to .*report\.pdf"):
        _open_with_acl(monkeypatch, FakeOpen(created=False, reply=SAMBA_FILE))


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (0xC0000022, r"^access denied to .*report\.pdf"),
        (b"\x01\x00\x04\x80", r"^malformed security descriptor .*report\.pdf"),
    ],
    ids=["descriptor refused", "malformed"],
)
def test_an_unreadable_descriptor_still_leaves_the_file_open_to_read(
    monkeypatch: pytest.MonkeyPatch, reply: bytes | int, error: str
) -> None:
    """What the processor records as `acl_status` "unreadable: ..." while it reads the file."""
    raw = FakeOpen(created=True, reply=reply)
    handle, acl = _open_with_acl(monkeypatch, raw)
    assert handle is raw and not raw.closed
    assert isinstance(acl, SourceError) and re.search(error, str(acl))


# --- generated descriptors ----------------------------------------------------------------
# `comparable=False` also draws what the reference misreads (see the deliberate differences).

PLAIN_FLAGS = st.sets(st.sampled_from([0x01, 0x02, 0x04, 0x08, 0x10, 0x40, 0x80])).map(sum)
ANY_BYTE = st.integers(0, 0xFF)
U32 = st.integers(0, 2**32 - 1)


@st.composite
def sids(draw: st.DrawFn, *, comparable: bool = True) -> bytes:
    well_known = st.sampled_from([0, 1, 2, 3, 5, 16, 22])
    authority = draw(well_known | st.integers(0, 2**32 - 1 if comparable else 2**48 - 1))
    large = draw(st.integers(0, 9)) == 0  # up to the 255 a count byte holds, now and then
    count = draw(st.integers(1 if comparable else 0, 255 if large else 15))
    revision = draw(st.just(1) | ANY_BYTE)
    return sid(authority, *draw(st.lists(U32, min_size=count, max_size=count)), revision=revision)


@st.composite
def aces(draw: st.DrawFn, *, comparable: bool = True) -> bytes:
    kind = draw(st.sampled_from(["plain", "plain", "sid layout", "object", "other"]))
    sid_ = draw(sids(comparable=comparable))
    if kind == "plain":  # smbprotocol reads these field by field: exact size, known flags
        flags = draw(PLAIN_FLAGS if comparable else ANY_BYTE)
        padding = b"" if comparable else draw(st.binary(max_size=8))
        return ace(draw(st.sampled_from([ALLOW, DENY, AUDIT])), draw(U32), sid_, flags, padding)
    if kind == "sid layout":  # callbacks, alarm, label, resource attribute, scoped policy
        ace_type = draw(
            st.sampled_from([ALARM, ALLOW_CALLBACK, DENY_CALLBACK, 0x0D, 0x0E, 0x11, 0x12, 0x13])
        )
        return ace(ace_type, draw(U32), sid_, draw(ANY_BYTE), draw(st.binary(max_size=24)))
    if kind == "object":
        return object_ace(
            draw(st.sampled_from([0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10])),
            draw(U32),
            sid_,
            object_type=draw(st.none() | st.just(GUID_A)),
            inherited_object_type=draw(st.none() | st.just(GUID_B)),
            flags=draw(ANY_BYTE),
            tail=draw(st.binary(max_size=16)),
        )
    return raw_ace(draw(st.integers(0x14, 0xFF)), draw(st.binary(max_size=40)), draw(ANY_BYTE))


@st.composite
def acls(draw: st.DrawFn, *, comparable: bool = True) -> bytes:
    return acl(
        *draw(st.lists(aces(comparable=comparable), max_size=12)),
        revision=draw(st.sampled_from([0, 2, 4]) if comparable else ANY_BYTE),
        slack=draw(st.binary(max_size=12)),
        sbz=(draw(ANY_BYTE), draw(st.integers(0, 0xFFFF))),
    )


@st.composite
def descriptors(draw: st.DrawFn, *, comparable: bool = True, unused_parts: bool = True) -> bytes:
    """Well-formed descriptors. Without `unused_parts`: no SACL, no ignored DACL and nothing
    after the last part, so every byte up to the end is needed."""
    owner = draw(st.none() | sids(comparable=comparable))
    group = draw(st.none() | sids(comparable=comparable))
    dacl_kind = draw(st.sampled_from(["acl", "NULL: flag clear", "NULL: offset 0"]))
    dacl = draw(acls(comparable=comparable)) if dacl_kind == "acl" else None
    if dacl_kind == "NULL: flag clear" and unused_parts and draw(st.booleans()):
        dacl = draw(acls(comparable=comparable))  # present, but the flag says there is none
    sacl = draw(st.none() | st.binary(min_size=8, max_size=32)) if unused_parts else None
    parts = {"owner": owner, "group": group, "sacl": sacl, "dacl": dacl}
    order = draw(st.permutations([name for name, part in parts.items() if part is not None]))
    return descriptor(
        owner,
        group,
        dacl,
        sacl=sacl,
        dacl_present=dacl_kind != "NULL: flag clear",
        control=draw(st.integers(0, 0xFFFF)),
        order=order,
        gaps=draw(st.lists(st.binary(max_size=8), min_size=len(order), max_size=len(order))),
        revision=draw(ANY_BYTE),
        sbz1=draw(ANY_BYTE),
    )


GENERATED = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@GENERATED
@given(descriptors())
def test_generated_descriptors_parse_as_the_reference_does(data: bytes) -> None:
    assert parse_security_descriptor(data) == reference_parse(data)


@GENERATED
@given(descriptors(comparable=False))
def test_every_well_formed_descriptor_parses(data: bytes) -> None:
    acl_ = parse_security_descriptor(data)

    assert all(ace.sid.startswith("S-") for ace in acl_.aces)


@GENERATED
@given(st.data())
def test_a_cut_short_descriptor_raises_and_never_gives_a_partial_acl(data: st.DataObject) -> None:
    whole = data.draw(descriptors(comparable=False, unused_parts=False))
    cut = data.draw(st.integers(0, len(whole) - 1))

    with pytest.raises(MalformedSecurityDescriptor):
        parse_security_descriptor(whole[:cut])


@GENERATED
@given(st.data())
def test_corrupted_descriptors_parse_or_raise_the_documented_error(data: st.DataObject) -> None:
    corrupted = bytearray(data.draw(descriptors(comparable=False)))
    for _ in range(data.draw(st.integers(1, 4))):
        corrupted[data.draw(st.integers(0, len(corrupted) - 1))] = data.draw(ANY_BYTE)

    with contextlib.suppress(MalformedSecurityDescriptor):
        parse_security_descriptor(bytes(corrupted))


HEADERS_WITH_SMALL_OFFSETS = st.builds(
    with_offsets, *[st.integers(0, 80)] * 3, tail=st.binary(max_size=200)
)


@settings(max_examples=1000)
@given(st.binary(max_size=300) | HEADERS_WITH_SMALL_OFFSETS)
def test_random_bytes_parse_or_raise_the_documented_error(data: bytes) -> None:
    with contextlib.suppress(MalformedSecurityDescriptor):
        parse_security_descriptor(data)
