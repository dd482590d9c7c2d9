"""The metadata files of a disclosure bundle (see cases.bundle): the manifest (CSV and JSON),
the errors, the chain of custody (CSV and text) and the summary.

Manifests and the custody CSV carry ISO 8601 times (to the second) for programs; the summary
and the custody text are for people, with dates as people write them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cases.bundle_read import Origin, SourceState
from cases.bundle_zip import Parts, part_name
from foi_core.csv_safe import csv_cell

if TYPE_CHECKING:
    from cases.bundle import BundleRequest

METADATA_FILES = (
    "manifest.csv",
    "manifest.json",
    "summary.txt",
    "errors.csv",
    "chain-of-custody.csv",
    "chain-of-custody.txt",
)


@dataclass(frozen=True)
class CustodyEvent:
    """One step in the chain of custody: from the audit log (`entry_id`), about the case as a
    whole or about one `document` (its id) in it."""

    at: datetime
    actor: str
    action: str
    details: str
    entry_id: int | None = None
    document: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ManifestRow:
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
    origin: str = ""  # share | preservation store; "" when not included
    source_state: str = ""
    held_version: bool = False
    deleted_at_source: bool = False
    share_modified: datetime | None = None  # SMB last-write time of the version disclosed
    share_created: datetime | None = None  # SMB creation time of the file at its path
    embedded_created: datetime | None = None  # the document's own metadata (Tika)
    embedded_modified: datetime | None = None
    sha256: str = ""
    md5: str = ""
    collected_sha256: str = ""
    share_sha256: str = ""  # the share's content, when it is not the version collected
    indexed_sha256: str
    hash_matches: bool | None = None
    extraction_status: str
    collected_by: str
    collected_at: datetime
    error: str = ""


MANIFEST_FIELDS = tuple(field.name for field in fields(ManifestRow))
_TIMES = ("share_modified", "share_created", "embedded_created", "embedded_modified")


@dataclass(frozen=True)
class Tally:
    included: int
    failed: int
    # Changed at source since collection, and (documents with no pinned version) exported
    # bytes that differ from the hash indexed.
    mismatched: int
    changed: int
    deleted: int
    held_versions: int
    from_share: int
    from_store: int
    unpinned_mismatched: int
    total_bytes: int


def tally(rows: Sequence[ManifestRow]) -> Tally:
    failed = sum(1 for row in rows if row.error)
    changed = sum(1 for row in rows if row.source_state == SourceState.CHANGED)
    unpinned = sum(1 for row in rows if row.hash_matches is False)
    return Tally(
        included=len(rows) - failed,
        failed=failed,
        mismatched=changed + unpinned,
        changed=changed,
        deleted=sum(1 for row in rows if row.source_state == SourceState.DELETED),
        held_versions=sum(1 for row in rows if row.held_version),
        from_share=sum(1 for row in rows if row.origin == Origin.SHARE),
        from_store=sum(1 for row in rows if row.origin == Origin.STORE),
        unpinned_mismatched=unpinned,
        total_bytes=sum(row.size for row in rows),
    )


def render(
    request: BundleRequest, rows: list[ManifestRow], parts: Parts, total: int, paths: list[Path]
) -> None:
    """Write the metadata files (to `paths`, in METADATA_FILES order) for `total` parts."""
    manifest_csv, manifest_json, summary, errors, custody_csv, custody_txt = paths
    # Manifest rows are made as they are written, so memory holds only the small rows.
    manifest = (manifest_values(row, request.name, total).values() for row in rows)
    _write_csv(manifest_csv, MANIFEST_FIELDS, manifest)
    with manifest_json.open("w", encoding="utf-8") as out:
        header = {
            "bundle": request.name,
            "case_reference": request.case_reference,
            "title": request.title,
            "exported_by": request.exported_by,
            "exported_at": iso(request.exported_at),
            "audit_head": request.audit_head,
        }
        # Streamed a row at a time: the header object is written without its closing brace.
        out.write(json.dumps(header, ensure_ascii=False, indent=2)[:-2] + ',\n  "documents": [')
        for i, row in enumerate(rows):
            document = manifest_values(row, request.name, total)
            out.write(("," if i else "") + "\n    " + json.dumps(document, ensure_ascii=False))
        out.write("\n  ]\n}\n")
    error_fields = ("number", "doc_id", "unc", "file_name", "problem", "detail", "included")
    _write_csv(errors, error_fields, _error_rows(rows))
    events = [*request.custody, *_export_events(request, parts, total)]
    columns = ("at", "actor", "action", "details", "audit_entry", "document")
    custody = (
        (iso(e.at), e.actor, e.action, e.details, e.entry_id or "", e.document) for e in events
    )
    _write_csv(custody_csv, columns, custody)
    _write_custody_text(custody_txt, request, rows, events)
    summary.write_text(_summary(request, rows, total), encoding="utf-8")


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Iterable[object]]) -> None:
    # The BOM makes Excel read the file as UTF-8.
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([csv_cell(value) for value in row] for row in rows)


def manifest_values(row: ManifestRow, bundle: str, total: int) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in MANIFEST_FIELDS}
    values["part"] = part_name(bundle, row.part, total) if row.part else ""
    for name in (*_TIMES, "collected_at"):
        values[name] = iso(values[name])
    return values


def _error_rows(rows: Iterable[ManifestRow]) -> Iterator[tuple[object, ...]]:
    for row in rows:
        cells = (row.number, row.doc_id, row.unc, row.file_name)
        if row.error:
            yield (*cells, "not included", row.error, "no")
        elif row.source_state in (SourceState.CHANGED, SourceState.DELETED):
            now = f"; the share now holds sha256 {row.share_sha256}" if row.share_sha256 else ""
            yield (
                *cells,
                row.source_state,
                f"collected sha256 {row.collected_sha256}{now}; the version collected is "
                "included, from the preservation store",
                "yes",
            )
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


def _write_custody_text(
    path: Path, request: BundleRequest, rows: Sequence[ManifestRow], events: list[CustodyEvent]
) -> None:
    def line(e: CustodyEvent) -> str:
        entry = f"  (audit entry {e.entry_id})" if e.entry_id else ""
        return f"{iso(e.at)}  {e.actor}  {e.action}{entry}\n    {e.details}\n"

    by_document: dict[str, list[CustodyEvent]] = {}
    for event in events:
        if event.document:
            by_document.setdefault(event.document, []).append(event)
    with path.open("w", encoding="utf-8") as out:
        out.write(f"Chain of custody: {request.case_reference} ({request.name})\n\n")
        for event in events:
            if not event.document:
                out.write(line(event))
        for row in rows:
            own = by_document.get(row.doc_id, [])
            out.write(f"\nDocument {row.number}: {row.file_name} ({row.doc_id})\n")
            out.writelines(line(e) for e in own)
            if not own:
                out.write("    no audit entries name this document\n")


def _summary(request: BundleRequest, rows: list[ManifestRow], total: int) -> str:
    counts = tally(rows)
    names = ", ".join(part_name(request.name, i, total) for i in range(1, total + 1))
    lines = [
        f"Disclosure bundle {request.name}",
        f"Case reference: {request.case_reference}",
        f"Title: {request.title}",
        f"Exported by: {request.exported_by}",
        f"Exported at: {people_moment(request.exported_at)}",
    ]
    if request.audit_head:
        lines.append(f"Audit log head when the bundle was written: {request.audit_head}")
    lines += [
        "",
        f"Documents: {len(rows)}",
        f"Included: {counts.included}",
        f"  From the share: {counts.from_share}",
        f"  From the preservation store: {counts.from_store}",
        f"Failed (not included): {counts.failed}",
        f"Changed at source since collection: {counts.changed}",
        f"Deleted at source since collection: {counts.deleted}",
        f"Held versions: {counts.held_versions}",
        f"Hash mismatches (included, flagged): {counts.unpinned_mismatched}",
        f"Bytes included: {counts.total_bytes:,}",
        f"Parts: {total} ({names})",
    ]
    if counts.failed:
        lines += [
            "",
            f"WARNING: {counts.failed} document(s) could not be read and are not included.",
        ]
    if counts.changed or counts.deleted:
        lines += [
            "",
            f"NOTE: {counts.changed + counts.deleted} document(s) changed or were deleted at "
            "source after they were collected. Each is included as it was collected, from the "
            "preservation store, with the SHA-256 it had then; see errors.csv.",
        ]
    if counts.unpinned_mismatched:
        lines += [
            "",
            f"WARNING: {counts.unpinned_mismatched} document(s) changed after they were "
            "indexed: the SHA-256 at export differs from the one recorded at index time. They "
            "are included; check them before disclosure.",
        ]
    flagged = counts.failed or counts.unpinned_mismatched
    return "\n".join(lines) + ("\nSee errors.csv.\n" if flagged else "\n")


def iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when is not None else ""


def people_moment(when: datetime) -> str:
    """'Thursday 26 November 2026 at 10:15 UTC'."""
    when = when.astimezone(UTC) if when.tzinfo else when
    return f"{when:%A} {when.day} {when:%B %Y} at {when:%H:%M} UTC"
