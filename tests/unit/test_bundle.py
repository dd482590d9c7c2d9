"""Disclosure bundles written to a temporary directory and read back with zipfile and csv."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.bundle import (
    METADATA_FILES,
    BundleExistsError,
    BundleItem,
    BundleNameError,
    BundleRequest,
    BundleResult,
    CustodyEvent,
    archive_name,
    csv_cell,
    write_bundle,
)

EXPORTED_AT = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
CUSTODY = (
    CustodyEvent(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "a.officer", "searched", "offer"),
    CustodyEvent(datetime(2026, 11, 20, 9, 5, tzinfo=UTC), "a.officer", "collected", "3 docs"),
)


def from_bytes(data: bytes) -> Callable[[], AbstractContextManager[BinaryIO]]:
    return lambda: io.BytesIO(data)


def refusing(exc: BaseException) -> Callable[[], AbstractContextManager[BinaryIO]]:
    def open_original() -> AbstractContextManager[BinaryIO]:
        raise exc

    return open_original


class FailingAfterFirstRead(io.RawIOBase):
    """A share read that returns one chunk, then loses the connection."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise OSError("STATUS_CONNECTION_DISCONNECTED")
        return b"x" * 1000


def make_item(
    number: int, data: bytes, filename: str | None = None, **changes: object
) -> BundleItem:
    item = BundleItem(
        doc_id=f"doc-{number}",
        unc=rf"\\fs01\share\folder\file{number}.txt",
        path=f"folder/file{number}.txt",
        filename=filename or f"file{number}.txt",
        size=len(data),
        modified=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        sha256=hashlib.sha256(data).hexdigest(),
        extraction_status="extracted",
        extracted_text=f"text of document {number}",
        collected_by="a.officer",
        collected_at=datetime(2026, 11, 20, 9, 5, tzinfo=UTC),
        open_original=from_bytes(data),
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def bundle(directory: Path, items: object, **changes: object) -> BundleResult:
    request = BundleRequest(
        name="FOI-2026-0042-bundle-20261126T101500Z",
        case_reference="FOI-2026-0042",
        title="Offer letters sent in 2025",
        exported_by="b.officer",
        exported_at=EXPORTED_AT,
        items=items,  # type: ignore[arg-type]
        custody=CUSTODY,
    )
    return write_bundle(replace(request, **changes), directory)  # type: ignore[arg-type]


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so that Excel reads UTF-8"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def member(part: Path, name: str) -> bytes:
    with zipfile.ZipFile(part) as archive:
        return archive.read(name)


def names_in(part: Path) -> list[str]:
    with zipfile.ZipFile(part) as archive:
        return archive.namelist()


def documents_by_part(result: BundleResult) -> dict[Path, list[str]]:
    found = {}
    for part in result.parts:
        with zipfile.ZipFile(part) as archive:
            assert archive.testzip() is None
            found[part] = [n for n in archive.namelist() if n.startswith("documents/")]
    return found


def test_one_part_holds_documents_text_and_metadata_last(tmp_path: Path) -> None:
    sources = {
        "Offer letter.docx": os.urandom(5000),
        "notes.txt": b"plain words " * 500,
        "scan.pdf": os.urandom(3000),
    }
    items = [make_item(i, data, name) for i, (name, data) in enumerate(sources.items(), start=1)]

    result = bundle(tmp_path, items)

    assert result.parts == (tmp_path / "FOI-2026-0042-bundle-20261126T101500Z.zip",)
    with zipfile.ZipFile(result.parts[0]) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names[-len(METADATA_FILES) :] == list(METADATA_FILES)
        assert archive.read("documents/0001 - Offer letter.docx") == sources["Offer letter.docx"]
        assert archive.read("text/0002 - notes.txt.txt") == b"text of document 2"
        kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert kinds["documents/0001 - Offer letter.docx"] == zipfile.ZIP_STORED
    assert kinds["documents/0003 - scan.pdf"] == zipfile.ZIP_STORED
    assert kinds["documents/0002 - notes.txt"] == zipfile.ZIP_DEFLATED
    rows = read_csv(member(result.parts[0], "manifest.csv"))
    assert [row["file_name"] for row in rows] == list(sources)
    for row, data in zip(rows, sources.values(), strict=True):
        assert row["sha256"] == hashlib.sha256(data).hexdigest() == row["indexed_sha256"]
        assert row["md5"] == hashlib.md5(data).hexdigest()  # noqa: S324 - md5 is the record
        assert row["hash_matches"] == "True"
        assert row["size"] == str(len(data))
        assert row["part"] == result.parts[0].name
        assert row["error"] == ""
    assert (result.included, result.failed, result.mismatched) == (3, 0, 0)
    assert result.total_bytes == sum(len(d) for d in sources.values())
    assert result.items[0].archive_path == "documents/0001 - Offer letter.docx"
    for name, sidecar in zip(METADATA_FILES, result.metadata_files, strict=True):
        assert sidecar.read_bytes() == member(result.parts[0], name)
    assert result.manifest_csv == result.metadata_files[0]
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".partial"]


def test_manifest_json_matches_csv(tmp_path: Path) -> None:
    result = bundle(tmp_path, [make_item(1, b"a"), make_item(2, b"b", sha256="")])

    manifest = json.loads(member(result.parts[0], "manifest.json"))

    assert manifest["case_reference"] == "FOI-2026-0042"
    assert [d["hash_matches"] for d in manifest["documents"]] == [True, None]
    assert manifest["documents"][1]["size"] == 1
    assert read_csv(result.manifest_csv.read_bytes())[1]["hash_matches"] == ""


def test_hash_mismatch_is_included_but_reported(tmp_path: Path) -> None:
    changed = make_item(2, b"edited after indexing", sha256="AB" * 32)

    result = bundle(tmp_path, [make_item(1, b"fine"), changed])

    assert (result.included, result.failed, result.mismatched) == (2, 0, 1)
    assert result.items[1].hash_matches is False
    assert member(result.parts[0], result.items[1].archive_path) == b"edited after indexing"
    (error,) = read_csv(member(result.parts[0], "errors.csv"))
    assert (error["doc_id"], error["problem"], error["included"]) == (
        "doc-2",
        "hash mismatch",
        "yes",
    )
    assert "ab" * 32 in error["detail"]
    summary = member(result.parts[0], "summary.txt").decode()
    assert "Hash mismatches (included, flagged): 1" in summary
    assert "changed after they were indexed" in summary


def test_unopenable_document_is_reported_and_the_rest_included(tmp_path: Path) -> None:
    items = [
        make_item(1, b"one"),
        make_item(2, b"", open_original=refusing(OSError(13, "Permission denied"))),
        make_item(3, b"three"),
    ]

    result = bundle(tmp_path, items)

    assert (result.included, result.failed) == (2, 1)
    assert result.items[1].error.startswith("could not open: PermissionError")
    assert result.items[1].archive_path == result.items[1].part == ""
    names = names_in(result.parts[0])
    assert "documents/0001 - file1.txt" in names and "documents/0003 - file3.txt" in names
    assert not [n for n in names if n.startswith(("documents/0002", "text/0002"))]
    (error,) = read_csv(member(result.parts[0], "errors.csv"))
    assert (error["number"], error["problem"], error["included"]) == ("2", "not included", "no")
    assert "Permission denied" in error["detail"]
    assert "Failed (not included): 1" in member(result.parts[0], "summary.txt").decode()


def test_read_failure_midway_leaves_no_entry_behind(tmp_path: Path) -> None:
    broken = make_item(1, b"", open_original=FailingAfterFirstRead)

    result = bundle(tmp_path, [broken, make_item(2, b"two")])

    assert result.items[0].error == (
        "could not read (after 1,000 bytes): OSError: STATUS_CONNECTION_DISCONNECTED"
    )
    with zipfile.ZipFile(result.parts[0]) as archive:
        assert archive.testzip() is None
        assert not [n for n in archive.namelist() if "0001" in n]
    assert read_csv(result.manifest_csv.read_bytes())[0]["sha256"] == ""


def test_large_file_read_from_disk_spills_and_hashes(tmp_path: Path) -> None:
    source = tmp_path / "source" / "big.csv"
    source.parent.mkdir()
    source.write_bytes(os.urandom(9 * 1024 * 1024 + 17))
    data = source.read_bytes()
    item = make_item(1, data, "big.csv", open_original=lambda: source.open("rb"))

    result = bundle(tmp_path / "out", [item])

    assert member(result.parts[0], "documents/0001 - big.csv") == data
    assert result.items[0].sha256 == hashlib.sha256(data).hexdigest()
    assert result.items[0].hash_matches is True


def test_small_parts_split_without_splitting_files(tmp_path: Path) -> None:
    limit = 10_000
    items = [make_item(i, os.urandom(2500 + i), f"scan {i}.pdf") for i in range(1, 13)]

    result = bundle(tmp_path, items, max_part_bytes=limit)

    assert len(result.parts) > 3
    assert [p.name for p in result.parts][:2] == [
        "FOI-2026-0042-bundle-20261126T101500Z-part01.zip",
        "FOI-2026-0042-bundle-20261126T101500Z-part02.zip",
    ]
    found = documents_by_part(result)
    every = [name for names in found.values() for name in names]
    assert sorted(every) == sorted(r.archive_path for r in result.items)
    assert len(every) == len(set(every)) == 12
    for part, names in found.items():
        assert part.stat().st_size <= limit or len(names) <= 1
        for name in names:
            data = member(part, name)
            assert hashlib.sha256(data).hexdigest() == items[int(name[10:14]) - 1].sha256
    for entry in result.items:
        assert entry.archive_path in found[tmp_path / entry.part]
    for part in result.parts[:-1]:
        assert not set(METADATA_FILES) & set(names_in(part))
    assert set(METADATA_FILES) <= set(names_in(result.parts[-1]))
    custody = read_csv(member(result.parts[-1], "chain-of-custody.csv"))
    exported = [e for e in custody if e["action"] == "exported"]
    assert [e["details"].split(":")[0] for e in exported] == [p.name for p in result.parts]
    assert [e["action"] for e in custody[:2]] == ["searched", "collected"]


def test_oversize_file_has_a_part_to_itself(tmp_path: Path) -> None:
    items = [
        make_item(1, os.urandom(1000), "a.pdf"),
        make_item(2, os.urandom(50_000), "huge.pdf"),
        make_item(3, os.urandom(1000), "b.pdf"),
    ]

    result = bundle(tmp_path, items, max_part_bytes=10_000)

    found = documents_by_part(result)
    assert found[tmp_path / result.items[1].part] == ["documents/0002 - huge.pdf"]
    assert result.items[0].part != result.items[1].part != result.items[2].part


def test_metadata_moves_to_a_part_of_its_own_when_it_does_not_fit(tmp_path: Path) -> None:
    items = [make_item(1, os.urandom(9000), "full.pdf")]

    result = bundle(tmp_path, items, max_part_bytes=10_000, include_text=False)

    assert [p.name[-10:] for p in result.parts] == ["part01.zip", "part02.zip"]
    assert names_in(result.parts[1]) == list(METADATA_FILES)
    assert read_csv(result.manifest_csv.read_bytes())[0]["part"] == result.parts[0].name
    assert result.parts[0].stat().st_size <= 10_000


def test_hostile_and_unicode_names_are_made_safe(tmp_path: Path) -> None:
    hostile = [
        "../../etc/passwd",
        "a\\b",
        "tab\tnew\nline\x00nul\x1b.txt",
        "=cmd|' /C calc'!A0",
        "Résumé – Zoë’s 2026 ✓.docx",
        "..",
        "",
        "invoice\u202egpj.exe",
        "C:\\Windows\\system32",
    ]
    items = [make_item(i, b"data", name) for i, name in enumerate(hostile, start=1)]

    result = bundle(tmp_path, items)

    with zipfile.ZipFile(result.parts[0]) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        archive.extractall(tmp_path / "extracted")
    for name in infos:
        path = PurePosixPath(name)
        assert not path.is_absolute() and ".." not in path.parts and "\\" not in name
        assert not any(ord(c) < 32 or c == "\u202e" for c in name)
    assert "documents/0005 - Résumé – Zoë’s 2026 ✓.docx" in infos
    assert infos["documents/0005 - Résumé – Zoë’s 2026 ✓.docx"].flag_bits & 0x800
    assert "documents/0006 - unnamed" in infos
    extracted = [p.resolve() for p in (tmp_path / "extracted").rglob("*")]
    assert all(p.is_relative_to((tmp_path / "extracted").resolve()) for p in extracted)
    rows = read_csv(result.manifest_csv.read_bytes())
    assert rows[3]["file_name"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["file_name"] == "../../etc/passwd"
    manifest = json.loads(member(result.parts[0], "manifest.json"))
    assert manifest["documents"][3]["file_name"] == "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+2", "'=1+2"), ("+44", "'+44"), ("-1", "'-1"), ("@SUM", "'@SUM"), ("\tx", "'\tx"),
     ("\rx", "'\rx"), ("plain", "plain"), (None, ""), (12, "12")],
)  # fmt: skip
def test_csv_cells_are_guarded_against_formulas(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_text_with_lone_surrogates_is_still_written(tmp_path: Path) -> None:
    result = bundle(tmp_path, [make_item(1, b"x", extracted_text="bad \udc80 byte")])

    assert member(result.parts[0], "text/0001 - file1.txt.txt") == b"bad ? byte"


def test_items_are_iterated_once(tmp_path: Path) -> None:
    yielded = []

    def generate() -> Iterator[BundleItem]:
        for i in range(1, 4):
            yielded.append(i)
            yield make_item(i, b"x" * i)

    result = bundle(tmp_path, generate())

    assert yielded == [1, 2, 3]
    assert result.included == 3


def test_no_items_still_makes_a_bundle_with_its_metadata(tmp_path: Path) -> None:
    result = bundle(tmp_path, [])

    assert [p.name for p in result.parts] == ["FOI-2026-0042-bundle-20261126T101500Z.zip"]
    assert names_in(result.parts[0]) == list(METADATA_FILES)
    assert "Documents: 0" in member(result.parts[0], "summary.txt").decode()


def test_two_thousand_documents(tmp_path: Path) -> None:
    items = (make_item(i, f"document {i}".encode() * 20) for i in range(1, 2001))

    result = bundle(tmp_path, items, include_text=False)

    assert result.included == 2000
    with zipfile.ZipFile(result.parts[0]) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == 2000 + len(METADATA_FILES)
    assert len(read_csv(result.manifest_csv.read_bytes())) == 2000


def test_custody_text_is_readable(tmp_path: Path) -> None:
    result = bundle(tmp_path, [make_item(1, b"x")])

    text = member(result.parts[0], "chain-of-custody.txt").decode()

    assert "2026-11-20T09:00:00+00:00  a.officer  searched" in text
    assert "b.officer  exported\n    FOI-2026-0042-bundle-20261126T101500Z.zip: 1 documents" in text


@pytest.mark.parametrize("name", ["../escape", "a b", "", "x/y", "ok\n"])
def test_unsafe_bundle_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(BundleNameError):
        bundle(tmp_path, [], name=name)


def test_an_existing_bundle_is_never_overwritten(tmp_path: Path) -> None:
    bundle(tmp_path, [make_item(1, b"first")])

    with pytest.raises(BundleExistsError):
        bundle(tmp_path, [make_item(1, b"second")])


def test_an_interrupted_export_leaves_nothing_behind(tmp_path: Path) -> None:
    items = [make_item(1, b"one"), make_item(2, b"", open_original=refusing(KeyboardInterrupt()))]

    with pytest.raises(KeyboardInterrupt):
        bundle(tmp_path, items)

    assert list(tmp_path.iterdir()) == []


# Every code point, lone surrogates included: names from Windows shares can carry them.
@given(st.lists(st.text(st.characters(exclude_categories=())), min_size=1, max_size=20))
def test_archive_names_never_escape_and_are_unique(filenames: list[str]) -> None:
    names = [archive_name("documents", i, f) for i, f in enumerate(filenames, start=1)]

    assert len(set(names)) == len(names)
    for name in names:
        path = PurePosixPath(name)
        assert len(path.parts) == 2 and path.parts[0] == "documents"
        assert ".." not in name and "\\" not in name and not path.is_absolute()
        assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in name)
        assert len(name.encode("utf-8")) <= 200


COLLECTED = b"the version collected"
LATER = b"written at source after collection"


def missing(message: str) -> Callable[[], AbstractContextManager[BinaryIO]]:
    return refusing(FileNotFoundError(message))


def collected_item(number: int, **changes: object) -> BundleItem:
    """A document whose version was pinned at collection, kept in the store too."""
    item = make_item(
        number,
        COLLECTED,
        collected_sha256=hashlib.sha256(COLLECTED).hexdigest(),
        open_preserved=from_bytes(COLLECTED),
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def test_the_collected_version_comes_from_the_share_while_it_holds_it(tmp_path: Path) -> None:
    result = bundle(tmp_path, [collected_item(1, open_preserved=missing("not stored"))])

    (row,) = read_csv(result.manifest_csv.read_bytes())
    assert (row["origin"], row["source_state"], row["hash_matches"]) == (
        "share",
        "unchanged since collection",
        "True",
    )
    assert member(result.parts[0], row["archive_path"]) == COLLECTED


def test_changed_or_deleted_at_source_is_disclosed_from_the_store(tmp_path: Path) -> None:
    items = [
        collected_item(1, open_original=from_bytes(LATER)),
        collected_item(2, open_original=missing("gone")),
    ]

    result = bundle(tmp_path, items)

    changed, deleted = read_csv(result.manifest_csv.read_bytes())
    for row in (changed, deleted):
        assert member(result.parts[0], row["archive_path"]) == COLLECTED
        assert row["origin"] == "preservation store"
        assert row["sha256"] == row["collected_sha256"] == hashlib.sha256(COLLECTED).hexdigest()
    assert changed["source_state"] == "changed at source since collection"
    assert changed["share_sha256"] == hashlib.sha256(LATER).hexdigest()
    assert (deleted["source_state"], deleted["deleted_at_source"]) == (
        "deleted at source since collection",
        "True",
    )
    errors = read_csv(member(result.parts[0], "errors.csv"))
    assert [(e["number"], e["included"]) for e in errors] == [("1", "yes"), ("2", "yes")]
    summary = member(result.parts[0], "summary.txt").decode()
    assert "From the preservation store: 2" in summary
    assert "Changed at source since collection: 1" in summary
    assert "Deleted at source since collection: 1" in summary


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        (missing("absent"), "not in the preservation store"),
        (from_bytes(b"tampered"), "not the version collected"),
    ],
)
def test_no_copy_of_the_collected_version_is_an_error_never_other_bytes(
    tmp_path: Path, stored: Callable[[], AbstractContextManager[BinaryIO]], problem: str
) -> None:
    item = collected_item(1, open_original=from_bytes(LATER), open_preserved=stored)

    result = bundle(tmp_path, [item])

    assert (result.included, result.failed) == (0, 1)
    assert not [n for n in names_in(result.parts[0]) if n.startswith(("documents/", "text/"))]
    (row,) = read_csv(result.manifest_csv.read_bytes())
    assert problem in row["error"] and row["sha256"] == "" and row["origin"] == ""


def test_a_held_version_is_read_from_the_store_only(tmp_path: Path) -> None:
    def never() -> AbstractContextManager[BinaryIO]:
        raise AssertionError("a held version's path holds a later version")

    result = bundle(tmp_path, [collected_item(1, held_version=True, open_original=never)])

    (row,) = read_csv(result.manifest_csv.read_bytes())
    assert (row["origin"], row["held_version"]) == ("preservation store", "True")
    assert row["source_state"].startswith("held version")


def test_custody_lists_each_documents_audit_entries(tmp_path: Path) -> None:
    custody = (
        *CUSTODY,
        CustodyEvent(
            datetime(2026, 11, 20, 9, 5, tzinfo=UTC),
            "a.officer",
            "case_collect",
            "added=1",
            entry_id=41,
            document="doc-1",
        ),
    )

    result = bundle(tmp_path, [make_item(1, b"x")], custody=custody, audit_head="entry 42")

    rows = read_csv(member(result.parts[0], "chain-of-custody.csv"))
    assert [(r["audit_entry"], r["document"]) for r in rows if r["action"] == "case_collect"] == [
        ("41", "doc-1")
    ]
    text = member(result.parts[0], "chain-of-custody.txt").decode()
    assert "Document 1: file1.txt (doc-1)\n" in text and "case_collect  (audit entry 41)" in text
    summary = member(result.parts[0], "summary.txt").decode()
    assert "Exported at: Thursday 26 November 2026 at 10:15 UTC" in summary
    assert "Audit log head when the bundle was written: entry 42" in summary
    assert result.part_sha256 == (hashlib.sha256(result.parts[0].read_bytes()).hexdigest(),)
