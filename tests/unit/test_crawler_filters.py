"""The crawler's filters, with no network: which paths a crawl selects, which folders it
prunes, where a path points, and which SIDs a security descriptor lets read a file."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from smbprotocol.security_descriptor import (
    AccessAllowedAce,
    AccessDeniedAce,
    AclPacket,
    SDControl,
    SIDPacket,
    SMB2CreateSDBuffer,
)

from crawler.acl import parse_security_descriptor
from crawler.smb import ShareLocation
from crawler.walker import PathFilter, path_selected


@pytest.mark.parametrize(
    "path",
    ["report.pdf", "Finance/2024/budget.xlsx", "a b/c d/e f.txt", "会议记录/预算.txt"],
)
def test_no_patterns_select_everything(path: str) -> None:
    assert path_selected(path)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.pdf", "report.pdf", True),
        ("*.pdf", "Finance/report.pdf", False),  # a single star stays within one folder
        ("**/*.pdf", "report.pdf", True),  # "**/" may match no folders at all
        ("**/*.pdf", "Finance/2024/Q1/report.pdf", True),
        ("**/*.pdf", "Finance/report.pdf.txt", False),  # anchored to the whole path
        ("Finance/**", "Finance/report.pdf", True),
        ("Finance/**", "Finance/2024/Q1/report.pdf", True),
        ("Finance/**", "Finances/report.pdf", False),
        ("Finance/**/budget.xlsx", "Finance/budget.xlsx", True),
        ("Finance/**/budget.xlsx", "Finance/2024/Q1/budget.xlsx", True),
        ("Finance/**/budget.xlsx", "HR/Finance/budget.xlsx", False),
        ("**/Archive/**", "Archive/old.doc", True),
        ("**/Archive/**", "Finance/Archive/2019/old.doc", True),
        ("**/Archive/**", "Finance/Archives/old.doc", False),
        ("**", "any/thing/at/all.txt", True),
        ("report-?.pdf", "report-1.pdf", True),
        ("report-?.pdf", "report-10.pdf", False),
        ("a?b.txt", "a/b.txt", False),  # "?" never matches a folder separator
        ("report-[0-9].pdf", "report-7.pdf", True),
        ("report-[!0-9].pdf", "report-x.pdf", True),
        ("report-[!0-9].pdf", "report-7.pdf", False),
        ("[[]draft].docx", "[draft].docx", True),
        ("*.PDF", "report.pdf", True),  # Windows shares ignore case, so do the globs
        ("finance/**", "FINANCE/Report.PDF", True),
        ("Café – résumé ü.docx", "café – RÉSUMÉ Ü.docx", True),
        ("📁 */*.txt", "📁 notes/😀.txt", True),
        ("Finance\\**\\*.pdf", "Finance/2024/report.pdf", True),  # Windows-style separators
        ("/Finance/*.pdf", "Finance/report.pdf", True),  # a leading slash means the root
        ("Finance/", "Finance/2024/report.pdf", True),  # a trailing slash means the folder
        ("file (1).txt", "file (1).txt", True),  # regex metacharacters are literal
        ("a+b^c$.txt", "a+b^c$.txt", True),
    ],
)
def test_include_patterns(pattern: str, path: str, expected: bool) -> None:
    assert path_selected(path, include=[pattern]) is expected


def test_any_include_pattern_selects() -> None:
    include = ["Finance/**", "**/*.docx"]
    assert path_selected("Finance/x.bin", include)
    assert path_selected("HR/contract.docx", include)
    assert not path_selected("HR/contract.pdf", include)


def test_exclude_wins_over_include() -> None:
    include = ["Finance/**"]
    exclude = ["**/*.tmp", "Finance/Archive/**"]
    assert path_selected("Finance/budget.xlsx", include, exclude)
    assert not path_selected("Finance/~budget.tmp", include, exclude)
    assert not path_selected("Finance/Archive/2019/old.xlsx", include, exclude)
    assert not path_selected("HR/contract.docx", include, exclude)


def test_exclude_alone_keeps_everything_else() -> None:
    exclude = ["**/Thumbs.db", "**/~$*"]
    assert path_selected("Photos/a.jpg", exclude=exclude)
    assert not path_selected("Photos/Thumbs.db", exclude=exclude)
    assert not path_selected("Minutes/~$agenda.docx", exclude=exclude)


@pytest.mark.parametrize("pattern", ["", "/", "\\"])
def test_empty_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(ValueError, match="empty glob pattern"):
        PathFilter(include=[pattern])


@pytest.mark.parametrize(
    ("exclude", "folder", "enters"),
    [
        (["Archive/**"], "Archive", False),
        (["Archive/**"], "Finance/Archive", True),  # anchored: only the top-level Archive
        (["**/Archive/**"], "Finance/Archive", False),
        (["**/Archive/**"], "Finance/Archives", True),
        (["Archive/"], "Archive", False),
        (["**"], "Anything", False),
        (["Archive/*.pdf"], "Archive", True),  # only some files excluded: must look inside
        (["**/*.tmp"], "Finance", True),
    ],
)
def test_excluded_folders_are_pruned(exclude: list[str], folder: str, enters: bool) -> None:
    assert PathFilter(exclude=exclude).enters(folder) is enters


@pytest.mark.parametrize(
    ("include", "folder", "enters"),
    [
        (["Finance/**"], "Finance", True),
        (["Finance/**"], "Finance/2024/Q1", True),
        (["Finance/**"], "HR", False),
        (["Finance/**"], "HR/Finance", False),
        (["*/Reports/*.pdf"], "Planning", True),
        (["*/Reports/*.pdf"], "Planning/Reports", True),
        (["*/Reports/*.pdf"], "Planning/Other", False),
        (["*/Reports/*.pdf"], "Planning/Reports/2024", False),  # files sit directly inside
        (["*.pdf"], "Anything", False),  # root-level files only
        (["**/*.pdf"], "Any/depth/at/all", True),
        (["Fin*/**"], "Finance", True),
        (["finance/**"], "FINANCE", True),
        (["Finance/**", "HR/Policies/*"], "HR", True),
        (["Finance/**", "HR/Policies/*"], "HR/Policies", True),
        (["Finance/**", "HR/Policies/*"], "HR/Staff", False),
    ],
)
def test_folders_no_include_can_reach_are_pruned(
    include: list[str], folder: str, enters: bool
) -> None:
    assert PathFilter(include=include).enters(folder) is enters


def test_no_patterns_enter_every_folder() -> None:
    assert PathFilter().enters("Any/Folder")


@pytest.mark.parametrize(
    ("root", "rel_path", "unc"),
    [
        ("", "", r"\\fs01\Shared"),
        ("", "a/b/c.txt", r"\\fs01\Shared\a\b\c.txt"),
        ("Finance/2024", "", r"\\fs01\Shared\Finance\2024"),
        ("Finance/2024", "Q1/budget.xlsx", r"\\fs01\Shared\Finance\2024\Q1\budget.xlsx"),
        ("\\Finance\\2024\\", "/Q1//budget.xlsx", r"\\fs01\Shared\Finance\2024\Q1\budget.xlsx"),
        ("", "会议记录/预算 2024.txt", r"\\fs01\Shared\会议记录\预算 2024.txt"),
    ],
)
def test_unc_puts_the_root_folder_between_share_and_path(
    root: str, rel_path: str, unc: str
) -> None:
    assert ShareLocation("fs01", 445, "Shared", root).unc(rel_path) == unc


@pytest.mark.parametrize("rel_path", ["../Other/secret.txt", "a/../../b", "./a"])
def test_unc_refuses_to_climb_out_of_the_root(rel_path: str) -> None:
    with pytest.raises(ValueError, match=r"'\.' or '\.\.'"):
        ShareLocation("fs01", 445, "Shared", "Finance").unc(rel_path)


# Security trimming: which SIDs a file's DACL lets read it (the filter search applies).

OWNER = "S-1-5-21-1004336348-1177238915-682003330-1000"
STAFF = "S-1-5-21-1004336348-1177238915-682003330-1101"
TEMPS = "S-1-5-21-1004336348-1177238915-682003330-1102"


def _sid(text: str) -> SIDPacket:
    sid = SIDPacket()
    sid.from_string(text)
    return sid


def _ace(sid: str, mask: int, *, allow: bool = True, flags: int = 0) -> Any:
    ace = AccessAllowedAce() if allow else AccessDeniedAce()
    ace["ace_flags"] = flags
    ace["mask"] = mask
    ace["sid"] = _sid(sid)
    return ace


def _callback_deny(sid: str, mask: int) -> bytes:
    body = bytes(_sid(sid).pack()) + b"artx\x00\x00\x00\x00"  # condition data follows the SID
    return struct.pack("<BBHI", 0x0A, 0, 8 + len(body), mask) + body


def _descriptor(aces: list[Any] | None) -> bytes:
    descriptor = SMB2CreateSDBuffer()
    descriptor["control"].set_flag(SDControl.SELF_RELATIVE)
    descriptor.set_owner(_sid(OWNER))
    if aces is not None:
        dacl = AclPacket()
        dacl["aces"] = aces
        descriptor.set_dacl(dacl)
    return bytes(descriptor.pack())


def test_readers_are_the_sids_allowed_to_read_data() -> None:
    acl = parse_security_descriptor(
        _descriptor(
            [
                _ace(OWNER, 0x001F01FF),  # full control
                _ace(STAFF, 0x00120089, flags=0x10),  # read, inherited from the folder
                _ace(TEMPS, 0x00100080),  # read attributes + synchronize: not the content
                _ace("S-1-3-0", 0x10000000, flags=0x0B),  # CREATOR OWNER, inherit-only
                _ace("S-1-1-0", 0x80000000),  # GENERIC_READ
            ]
        )
    )

    assert acl.owner == OWNER
    assert acl.allow_sids == (OWNER, STAFF, "S-1-1-0")
    assert acl.deny_sids == ()
    assert [ace.inherited for ace in acl.aces] == [False, True, False, False, False]
    assert [ace.inherit_only for ace in acl.aces] == [False, False, False, True, False]


def test_deny_aces_including_conditional_ones_are_denies() -> None:
    acl = parse_security_descriptor(
        _descriptor(
            [
                _ace(TEMPS, 0x00000001, allow=False),
                _callback_deny(STAFF, 0x00120089),
                _ace(STAFF, 0x001F01FF),
            ]
        )
    )

    assert acl.deny_sids == (TEMPS, STAFF)
    assert acl.allow_sids == (STAFF,)


def test_a_null_dacl_lets_everyone_read_and_an_empty_one_no_one() -> None:
    assert parse_security_descriptor(_descriptor(None)).allow_sids == ("S-1-1-0",)
    assert parse_security_descriptor(_descriptor([])).allow_sids == ()
