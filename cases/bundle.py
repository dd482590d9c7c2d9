"""Disclosure bundles: a case's documents, their extracted text and the record of how they were
exported, as one or more independently openable zip files.

Invariants:

* Memory stays flat. Each document is read once, in 1 MiB chunks, into a spool that lives in
  memory up to 8 MiB and spills to an unlinked temporary file in the output directory beyond
  that; SHA-256 and MD5 are computed on that one read. Only small per-document manifest rows
  are kept, and the metadata files are streamed to disk, then into the zip.
* Spooling first is what makes failures clean: a zip cannot take back a half-written entry, so a
  document that fails to open or fails mid-read never reaches a zip (it is listed as failed),
  and its exact size is known before its part is chosen.
* A part never exceeds `max_part_bytes` unless one document (with its text) is larger on its
  own; that document then has a part to itself. No file is ever split across parts. The
  metadata files go, together, after the documents in the last part.
* Parts and metadata files are written as `*.partial` and renamed only when the whole bundle is
  complete; an error that is not one document's fault (disk full, say) removes them all.
* Failures are data: an unreadable document is recorded in the manifest and `errors.csv`; a
  document whose SHA-256 differs from the one recorded at index time is included but listed in
  `errors.csv` and counted in `summary.txt`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cases.bundle_names import archive_name, csv_cell
from cases.bundle_zip import Parts, entry_bound, part_name

CHUNK_BYTES = 1024 * 1024
SPOOL_MEMORY_BYTES = 8 * CHUNK_BYTES
METADATA_FILES = (
    "manifest.csv",
    "manifest.json",
    "summary.txt",
    "errors.csv",
    "chain-of-custody.csv",
    "chain-of-custody.txt",
)

_BUNDLE_NAME = re.compile(r"[A-Za-z0-9._-]{1,150}")


class BundleNameError(ValueError):
    """The bundle name is not safe to use in file names: choose another."""


class BundleExistsError(FileExistsError):
    """Files of a bundle with this name already exist in the directory: choose another name."""


@dataclass(frozen=True)
class BundleItem:
    doc_id: str
    unc: str
    path: str
    filename: str
    size: int
    modified: datetime | None
    sha256: str
    extraction_status: str
    extracted_text: str | None
    collected_by: str
    collected_at: datetime
    open_original: Callable[[], AbstractContextManager[BinaryIO]]


@dataclass(frozen=True)
class CustodyEvent:
    at: datetime
    actor: str
    action: str
    details: str


@dataclass(frozen=True)
class BundleRequest:
    name: str
    case_reference: str
    title: str
    exported_by: str
    exported_at: datetime
    items: Iterable[BundleItem]
    custody: Sequence[CustodyEvent]
    max_part_bytes: int = 2 * 1024**3
    include_text: bool = True


@dataclass(frozen=True)
class BundleEntryResult:
    doc_id: str
    archive_path: str
    part: str
    size: int
    sha256: str
    md5: str
    hash_matches: bool | None
    error: str


@dataclass(frozen=True)
class BundleResult:
    parts: tuple[Path, ...]
    items: tuple[BundleEntryResult, ...]
    included: int
    failed: int
    mismatched: int
    total_bytes: int
    manifest_csv: Path
    metadata_files: tuple[Path, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Row:
    """One document's manifest row, fields in manifest order. It never keeps the item itself,
    whose text and opener would make memory grow with the number of documents."""

    number: int
    doc_id: str
    unc: str
    file_name: str
    archive_path: str = ""
    text_path: str = ""
    part: int = 0  # 1-based; 0 when not included. Names depend on the final part count.
    size: int = 0
    modified: datetime | None
    sha256: str = ""
    md5: str = ""
    indexed_sha256: str
    hash_matches: bool | None = None
    extraction_status: str
    collected_by: str
    collected_at: datetime
    error: str = ""


MANIFEST_FIELDS = tuple(field.name for field in fields(_Row))


def write_bundle(request: BundleRequest, directory: Path) -> BundleResult:
    """Write `request`'s bundle into `directory` and the metadata files beside it.

    `request.items` is iterated once. Raises `BundleNameError` for an unsafe name and
    `BundleExistsError` if any of the bundle's files (or leftover `*.partial`s) exist already.
    """
    if not _BUNDLE_NAME.fullmatch(request.name):
        raise BundleNameError(f"bundle name {request.name!r} must match [A-Za-z0-9._-]{{1,150}}")
    if request.max_part_bytes <= 0:
        raise ValueError("max_part_bytes must be positive")
    directory.mkdir(parents=True, exist_ok=True)
    sidecars = [directory / f"{request.name}-{name}" for name in METADATA_FILES]
    partials = [p.with_name(p.name + ".partial") for p in sidecars]
    ours = "|".join(re.escape(f"-{name}") for name in METADATA_FILES)
    clash = re.compile(re.escape(request.name) + rf"(\.zip|-part\d+\.zip|{ours})(\.partial)?")
    if existing := sorted(p.name for p in directory.iterdir() if clash.fullmatch(p.name)):
        raise BundleExistsError(f"bundle files exist already: {', '.join(existing)}")
    parts = Parts(directory, request.name, request.max_part_bytes)
    try:
        rows = [
            _add_document(request, number, item, parts, directory)
            for number, item in enumerate(request.items, start=1)
        ]
        total = max(parts.count, 1)  # with no documents, the metadata is the first part
        _render_metadata(request, rows, parts, total, partials)
        if not parts.fits(_metadata_bound(partials)):
            # Part names are in the metadata, and one more part may change them all.
            total += 1
            _render_metadata(request, rows, parts, total, partials)
            parts.close()
        parts.reserve(_metadata_bound(partials))
        for name, path in zip(METADATA_FILES, partials, strict=True):
            parts.add(name, _file_chunks(path), path.stat().st_size, request.exported_at)
        final_parts = parts.publish()
        for partial, sidecar in zip(partials, sidecars, strict=True):
            partial.replace(sidecar)
    except BaseException:
        parts.discard()
        for path in partials:
            path.unlink(missing_ok=True)
        raise
    included, failed, mismatched, total_bytes = _tally(rows)
    return BundleResult(
        parts=final_parts,
        items=tuple(_entry_result(row, request.name, parts.count) for row in rows),
        included=included,
        failed=failed,
        mismatched=mismatched,
        total_bytes=total_bytes,
        manifest_csv=sidecars[0],
        metadata_files=tuple(sidecars),
    )


def _add_document(
    request: BundleRequest, number: int, item: BundleItem, parts: Parts, directory: Path
) -> _Row:
    row = _Row(
        number=number,
        doc_id=item.doc_id,
        unc=item.unc,
        file_name=item.filename,
        modified=item.modified,
        indexed_sha256=item.sha256,
        extraction_status=item.extraction_status,
        collected_by=item.collected_by,
        collected_at=item.collected_at,
    )
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, dir=str(directory)) as spool:
        sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        size, opened = 0, False
        try:
            with item.open_original() as source:
                opened = True
                while chunk := source.read(CHUNK_BYTES):
                    sha256.update(chunk)
                    md5.update(chunk)
                    spool.write(chunk)
                    size += len(chunk)
        except Exception as exc:
            stage = f"could not read (after {size:,} bytes)" if opened else "could not open"
            return replace(row, error=f"{stage}: {type(exc).__name__}: {exc}")
        archive_path = archive_name("documents", number, item.filename)
        entries = [(archive_path, size)]
        text = item.extracted_text if request.include_text else None
        text_path = archive_name("text", number, item.filename + ".txt") if text is not None else ""
        if text is not None:
            entries.append((text_path, sum(len(c) for c in _text_chunks(text))))
        parts.reserve(sum(entry_bound(name, entry_size) for name, entry_size in entries))
        spool.seek(0)
        when = item.modified or request.exported_at
        parts.add(archive_path, iter(lambda: spool.read(CHUNK_BYTES), b""), size, when)
        if text is not None:
            parts.add(text_path, _text_chunks(text), entries[1][1], when)
        parts.record_document(size)
    indexed = item.sha256.strip().lower()
    digest = sha256.hexdigest()
    return replace(
        row,
        archive_path=archive_path,
        text_path=text_path,
        part=parts.count,
        size=size,
        sha256=digest,
        md5=md5.hexdigest(),
        hash_matches=(indexed == digest) if indexed else None,
    )


def _metadata_bound(paths: Sequence[Path]) -> int:
    sizes = (path.stat().st_size for path in paths)
    return sum(entry_bound(name, size) for name, size in zip(METADATA_FILES, sizes, strict=True))


def _render_metadata(
    request: BundleRequest, rows: list[_Row], parts: Parts, total: int, paths: list[Path]
) -> None:
    manifest_csv, manifest_json, summary, errors, custody_csv, custody_txt = paths
    # Manifest rows are made as they are written, so memory holds only the small `_Row`s.
    manifest = (_manifest_row(row, request.name, total).values() for row in rows)
    _write_csv(manifest_csv, MANIFEST_FIELDS, manifest)
    with manifest_json.open("w", encoding="utf-8") as out:
        header = {
            "bundle": request.name,
            "case_reference": request.case_reference,
            "title": request.title,
            "exported_by": request.exported_by,
            "exported_at": _iso(request.exported_at),
        }
        # Streamed a row at a time: the header object is written without its closing brace.
        out.write(json.dumps(header, ensure_ascii=False, indent=2)[:-2] + ',\n  "documents": [')
        for i, row in enumerate(rows):
            document = _manifest_row(row, request.name, total)
            out.write(("," if i else "") + "\n    " + json.dumps(document, ensure_ascii=False))
        out.write("\n  ]\n}\n")
    error_fields = ("number", "doc_id", "unc", "file_name", "problem", "detail", "included")
    _write_csv(errors, error_fields, _error_rows(rows))
    events = [*request.custody, *_export_events(request, parts, total)]
    custody = ((_iso(e.at), e.actor, e.action, e.details) for e in events)
    _write_csv(custody_csv, ("at", "actor", "action", "details"), custody)
    with custody_txt.open("w", encoding="utf-8") as out:
        out.write(f"Chain of custody: {request.case_reference} ({request.name})\n\n")
        for e in events:
            out.write(f"{_iso(e.at)}  {e.actor}  {e.action}\n    {e.details}\n")
    summary.write_text(_summary(request, rows, total), encoding="utf-8")


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Iterable[object]]) -> None:
    # The BOM makes Excel read the file as UTF-8.
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([csv_cell(value) for value in row] for row in rows)


def _manifest_row(row: _Row, bundle: str, total: int) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in MANIFEST_FIELDS}
    values["part"] = part_name(bundle, row.part, total) if row.part else ""
    values["modified"], values["collected_at"] = _iso(row.modified), _iso(row.collected_at)
    return values


def _error_rows(rows: Iterable[_Row]) -> Iterator[tuple[object, ...]]:
    for row in rows:
        cells = (row.number, row.doc_id, row.unc, row.file_name)
        if row.error:
            yield (*cells, "not included", row.error, "no")
        elif row.hash_matches is False:
            indexed = row.indexed_sha256.strip().lower()
            yield (
                *cells,
                "hash mismatch",
                f"indexed sha256 {indexed}, exported {row.sha256}",
                "yes",
            )


def _export_events(request: BundleRequest, parts: Parts, total: int) -> Iterator[CustodyEvent]:
    for index in range(1, total + 1):
        documents = parts.documents[index - 1] if index <= parts.count else 0
        size = parts.document_bytes[index - 1] if index <= parts.count else 0
        at = parts.closed_at[index - 1] if index <= len(parts.closed_at) else datetime.now(UTC)
        details = f"{part_name(request.name, index, total)}: {documents} documents, {size:,} bytes"
        if index == total:
            details += ", and the bundle metadata"
        yield CustodyEvent(at, request.exported_by, "exported", details)


def _summary(request: BundleRequest, rows: list[_Row], total: int) -> str:
    included, failed, mismatched, total_bytes = _tally(rows)
    names = ", ".join(part_name(request.name, i, total) for i in range(1, total + 1))
    lines = [
        f"Disclosure bundle {request.name}",
        f"Case reference: {request.case_reference}",
        f"Title: {request.title}",
        f"Exported by: {request.exported_by}",
        f"Exported at: {_iso(request.exported_at)}",
        "",
        f"Documents: {len(rows)}",
        f"Included: {included}",
        f"Failed (not included): {failed}",
        f"Hash mismatches (included, flagged): {mismatched}",
        f"Bytes included: {total_bytes:,}",
        f"Parts: {total} ({names})",
    ]
    if failed:
        lines += ["", f"WARNING: {failed} document(s) could not be read and are not included."]
    if mismatched:
        lines += [
            "",
            f"WARNING: {mismatched} document(s) changed after they were indexed: the SHA-256 at "
            "export differs from the one recorded at index time. They are included; check them "
            "before disclosure.",
        ]
    return "\n".join(lines) + ("\nSee errors.csv.\n" if failed or mismatched else "\n")


def _tally(rows: Sequence[_Row]) -> tuple[int, int, int, int]:
    """Included, failed, hash mismatches, bytes included."""
    failed = sum(1 for row in rows if row.error)
    mismatched = sum(1 for row in rows if row.hash_matches is False)
    return len(rows) - failed, failed, mismatched, sum(row.size for row in rows)


def _entry_result(row: _Row, bundle: str, total: int) -> BundleEntryResult:
    part = part_name(bundle, row.part, total) if row.part else ""
    return BundleEntryResult(
        row.doc_id,
        row.archive_path,
        part,
        row.size,
        row.sha256,
        row.md5,
        row.hash_matches,
        row.error,
    )


def _text_chunks(text: str) -> Iterator[bytes]:
    # A quarter of a chunk in characters is at most one chunk in UTF-8 bytes.
    step = CHUNK_BYTES // 4
    for start in range(0, len(text), step):
        yield text[start : start + step].encode("utf-8", "replace")


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        yield from iter(lambda: source.read(CHUNK_BYTES), b"")


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when is not None else ""
