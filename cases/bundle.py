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
* Only the version collected is disclosed (cases.bundle_read): from the share while it still
  holds those bytes, else from the preservation store, and the manifest says which and why
  (changed or deleted at source since collection, a held version). A collected version that
  neither holds is an error row, never other bytes.
* Failures are data: an unreadable document is recorded in the manifest and `errors.csv`; a
  document changed or deleted at source since collection is included as collected and listed
  in `errors.csv`; one collected before versions were pinned whose SHA-256 differs from the one
  recorded at index time is included but flagged. `summary.txt` counts them all.
* After the parts are published each is hashed (SHA-256) as it is on disk, for the audit log.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from cases.bundle_metadata import (
    METADATA_FILES,
    CustodyEvent,
    ManifestRow,
    Tally,
    render,
    tally,
)
from cases.bundle_names import archive_name
from cases.bundle_read import (
    CHUNK_BYTES,
    Opener,
    Origin,
    Original,
    ShareFacts,
    SourceState,
    read_collected,
    read_indexed,
)
from cases.bundle_zip import Parts, entry_bound, part_name
from foi_core.csv_safe import csv_cell

__all__ = [
    "METADATA_FILES",
    "BundleExistsError",
    "BundleItem",
    "BundleNameError",
    "BundleRequest",
    "BundleResult",
    "CustodyEvent",
    "ShareFacts",
    "archive_name",
    "csv_cell",
    "write_bundle",
]

_BUNDLE_NAME = re.compile(r"[A-Za-z0-9._-]{1,150}")


class BundleNameError(ValueError):
    """The bundle name is not safe to use in file names: choose another."""


class BundleExistsError(FileExistsError):
    """Files of a bundle with this name already exist in the directory: choose another name."""


@dataclass(frozen=True)
class BundleItem:
    """One collected document. `open_original` reads the file where it lives now (the share);
    with `collected_sha256` (the version collected) only bytes hashing to it are disclosed,
    from the share or else from `open_preserved` (the preservation store's copy). Without it,
    `sha256` (the hash indexed) is what the bytes read are checked against."""

    doc_id: str
    unc: str
    path: str
    filename: str
    size: int
    modified: datetime | None  # the document's own metadata (Tika), if it carries one
    sha256: str
    extraction_status: str
    extracted_text: str | None
    collected_by: str
    collected_at: datetime
    open_original: Opener
    created: datetime | None = None
    collected_sha256: str = ""
    open_preserved: Opener | None = None
    share_facts: Callable[[], ShareFacts | None] | None = None
    collected_share_modified: datetime | None = None
    held_version: bool = False
    deleted_at_source: bool = False


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
    # The audit log's head as the bundle is written (foi_core.audit.head_statement).
    audit_head: str = ""


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
    origin: str = ""
    source_state: str = ""


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
    # SHA-256 of each part as published, in `parts` order.
    part_sha256: tuple[str, ...] = ()
    counts: Tally | None = None


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
        render(request, rows, parts, total, partials)
        if not parts.fits(_metadata_bound(partials)):
            # Part names are in the metadata, and one more part may change them all.
            total += 1
            render(request, rows, parts, total, partials)
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
    counts = tally(rows)
    return BundleResult(
        parts=final_parts,
        items=tuple(_entry_result(row, request.name, parts.count) for row in rows),
        included=counts.included,
        failed=counts.failed,
        mismatched=counts.mismatched,
        total_bytes=counts.total_bytes,
        manifest_csv=sidecars[0],
        metadata_files=tuple(sidecars),
        part_sha256=tuple(_file_sha256(part) for part in final_parts),
        counts=counts,
    )


def _read(item: BundleItem, directory: Path) -> Original:
    if not item.collected_sha256:
        return read_indexed(item.open_original, directory)
    return read_collected(
        item.collected_sha256,
        None if item.held_version else item.open_original,
        item.open_preserved,
        directory,
        known_deleted=item.deleted_at_source,
    )


def _add_document(
    request: BundleRequest, number: int, item: BundleItem, parts: Parts, directory: Path
) -> ManifestRow:
    original = _read(item, directory)
    try:
        share = item.share_facts() if item.share_facts is not None else None
    except Exception:  # the dates are facts about the share, not a reason to lose the document
        share = None
    from_share = original.origin == Origin.SHARE
    row = ManifestRow(
        number=number,
        doc_id=item.doc_id,
        unc=item.unc,
        file_name=item.filename,
        origin=str(original.origin or ""),
        source_state=_state(original),
        held_version=item.held_version,
        deleted_at_source=item.deleted_at_source or original.state == SourceState.DELETED,
        share_modified=share.modified
        if share is not None and from_share
        else item.collected_share_modified,
        share_created=share.created if share is not None else None,
        embedded_created=item.created,
        embedded_modified=item.modified,
        collected_sha256=item.collected_sha256,
        share_sha256=original.share_sha256,
        indexed_sha256=item.sha256,
        extraction_status=item.extraction_status,
        collected_by=item.collected_by,
        collected_at=item.collected_at,
    )
    if original.spool is None:
        return replace(row, error=original.error)
    try:
        size, spool = original.size, original.spool
        archive_path = archive_name("documents", number, item.filename)
        entries = [(archive_path, size)]
        text = item.extracted_text if request.include_text else None
        text_path = archive_name("text", number, item.filename + ".txt") if text is not None else ""
        if text is not None:
            entries.append((text_path, sum(len(c) for c in _text_chunks(text))))
        parts.reserve(sum(entry_bound(name, entry_size) for name, entry_size in entries))
        when = item.modified or request.exported_at
        parts.add(archive_path, iter(lambda: spool.read(CHUNK_BYTES), b""), size, when)
        if text is not None:
            parts.add(text_path, _text_chunks(text), entries[1][1], when)
        parts.record_document(size)
    finally:
        original.close()
    expected = (item.collected_sha256 or item.sha256).strip().lower()
    return replace(
        row,
        archive_path=archive_path,
        text_path=text_path,
        part=parts.count,
        size=size,
        sha256=original.sha256,
        md5=original.md5,
        hash_matches=(expected == original.sha256) if expected else None,
    )


def _state(original: Original) -> str:
    if original.state is None or original.state == SourceState.NOT_PINNED:
        return ""
    if original.state_detail:
        return f"{original.state}: {original.state_detail}"
    return str(original.state)


def _metadata_bound(paths: Sequence[Path]) -> int:
    sizes = (path.stat().st_size for path in paths)
    return sum(entry_bound(name, size) for name, size in zip(METADATA_FILES, sizes, strict=True))


def _entry_result(row: ManifestRow, bundle: str, total: int) -> BundleEntryResult:
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
        row.origin,
        row.source_state,
    )


def _text_chunks(text: str) -> Iterable[bytes]:
    # A quarter of a chunk in characters is at most one chunk in UTF-8 bytes.
    step = CHUNK_BYTES // 4
    for start in range(0, len(text), step):
        yield text[start : start + step].encode("utf-8", "replace")


def _file_chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as source:
        yield from iter(lambda: source.read(CHUNK_BYTES), b"")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()
