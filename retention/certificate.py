"""Certificates of destruction: the council's lasting record of what a disposal batch removed.

A certificate is produced once a batch has run and is kept as a record in its own right, so
both renderings are deterministic: the same batch gives byte-identical CSV and PDF (for a given
fpdf2 version and font files). Every destroyed and every other record of the batch (excluded,
skipped, failed) appears in both; nothing supplied is left out. Each certificate names the
schedule version and the SHA-256 of its text, who built, approved and executed the batch (with
their roles), the checks made before destruction, the audit log's head when it was produced,
and for each record the share's last-write time, any date inside the file shown apart, the
rule applied and the date it counted from.

Paths come from file shares and are treated as hostile: the CSV neutralises spreadsheet
formulas, and the PDF prints characters its font cannot show as "?" and says so, leaving the
CSV as the exact copy. Codes (document ids, hashes) are set in a monospaced font on lines of
their own and never broken where they fit on one line. Dates read as people write them
("26 Nov 2026 14:03:05 UTC"); naive datetimes are taken to be UTC (SQLite drops the zone).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from foi_core.csv_safe import csv_cell
from retention.certificate_layout import (
    DEJAVU_DIR,
    STUB_NOTE,
    CertificateFontMissing,
    CertificatePdf,
)
from retention.wording import day, moment, utc

__all__ = [
    "CSV_COLUMNS",
    "DEJAVU_DIR",
    "STUB_NOTE",
    "CertificateFontMissing",
    "CertificateInfo",
    "DestroyedItem",
    "Person",
    "SkippedItem",
    "certificate_csv",
    "certificate_filename",
    "certificate_pdf",
]

CSV_COLUMNS = (
    "doc_id",
    "source",
    "unc",
    "path",
    "size_bytes",
    "sha256",
    "last_written_on_share",
    "date_inside_file",
    "class_id",
    "class_name",
    "authority",
    "rule",
    "trigger_date",
    "disposal_date",
    "destroyed_at",
    "method",
    "batch_id",
    "schedule_version",
    "schedule_sha256",
    "built_by",
    "approved_by",
    "executed_by",
    "audit_head",
    "outcome",
    "skip_reason",
)


@dataclass(frozen=True)
class DestroyedItem:
    """One destroyed record. ``modified`` is the share's last-write time (what retention
    counts from); ``embedded_modified`` the date inside the file, when it differs."""

    doc_id: str
    source: str
    unc: str
    path: str
    size: int
    sha256: str
    modified: datetime | None
    class_id: str
    class_name: str
    authority: str
    destroyed_at: datetime
    method: str
    rule: str = ""
    trigger_date: date | None = None
    disposal_date: date | None = None
    embedded_modified: datetime | None = None


@dataclass(frozen=True)
class SkippedItem:
    """A record of the batch that was not destroyed: ``outcome`` is excluded (in review or
    at approval), skipped (at execution) or failed."""

    doc_id: str
    unc: str
    reason: str
    outcome: str = "skipped"


@dataclass(frozen=True)
class Person:
    """Who did a step, and in what role ("records manager", or a scheduled job's name)."""

    name: str
    role: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name


@dataclass(frozen=True)
class CertificateInfo:
    organisation: str
    batch_id: int
    schedule_version: str
    created_at: datetime
    approved_by: tuple[Person, ...]
    approved_at: datetime
    executed_by: Person
    executed_at: datetime
    schedule_sha256: str = ""
    built_by: Person = Person("")
    # `foi_core.audit.head_statement` when the certificate was made, as a sentence.
    audit_head: str = ""
    checks: str = ""
    # Printed prominently on the PDF when the destruction was not decided by two people
    # (one-person disposal under FOI_DISPOSAL_APPROVALS=1); the CSV's people columns show it.
    warning: str = ""


def certificate_filename(info: CertificateInfo, ext: str) -> str:
    """Name the certificate by batch and execution date (UTC); ext is e.g. "pdf" or ".csv"."""
    suffix = ext.removeprefix(".")
    if not re.fullmatch(r"[A-Za-z0-9]+", suffix):
        raise ValueError(f"not a file extension: {ext!r}")
    return (
        f"destruction-certificate-batch-{info.batch_id}-{utc(info.executed_at):%Y-%m-%d}.{suffix}"
    )


def certificate_csv(
    info: CertificateInfo, destroyed: Sequence[DestroyedItem], skipped: Sequence[SkippedItem]
) -> bytes:
    """One rectangular table (CSV_COLUMNS), destroyed rows then the others, UTF-8 with BOM;
    the batch's facts are repeated on every row.

    Cells that a spreadsheet would run as a formula get a leading apostrophe. Text that is not
    valid Unicode (lone surrogates from undecodable file names) is written as backslash escapes.
    """
    _require_approval(info)
    batch = {
        "batch_id": str(info.batch_id),
        "schedule_version": info.schedule_version,
        "schedule_sha256": info.schedule_sha256,
        "built_by": str(info.built_by),
        "approved_by": "; ".join(map(str, info.approved_by)),
        "executed_by": str(info.executed_by),
        "audit_head": info.audit_head,
    }
    rows: list[dict[str, str]] = [
        {
            "doc_id": item.doc_id,
            "source": item.source,
            "unc": item.unc,
            "path": item.path,
            "size_bytes": str(item.size),
            "sha256": item.sha256,
            "last_written_on_share": _moment_or_blank(item.modified),
            "date_inside_file": _moment_or_blank(item.embedded_modified),
            "class_id": item.class_id,
            "class_name": item.class_name,
            "authority": item.authority,
            "rule": item.rule,
            "trigger_date": day(item.trigger_date) if item.trigger_date else "",
            "disposal_date": day(item.disposal_date) if item.disposal_date else "",
            "destroyed_at": moment(item.destroyed_at),
            "method": item.method,
            **batch,
            "outcome": "destroyed",
        }
        for item in destroyed
    ]
    rows += [
        {
            "doc_id": skip.doc_id,
            "unc": skip.unc,
            **batch,
            "outcome": skip.outcome,
            "skip_reason": skip.reason,
        }
        for skip in skipped
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({column: csv_cell(value) for column, value in row.items()} for row in rows)
    return buffer.getvalue().encode("utf-8-sig", errors="backslashreplace")


def certificate_pdf(
    info: CertificateInfo,
    destroyed: Sequence[DestroyedItem],
    skipped: Sequence[SkippedItem],
    *,
    font_dir: Path = DEJAVU_DIR,
) -> bytes:
    """An A4 certificate: batch facts, a summary per class, every destroyed record and every
    record not destroyed with the reason.

    Raises CertificateFontMissing when the DejaVu fonts are not under font_dir.
    """
    _require_approval(info)
    pdf = CertificatePdf(info, font_dir)
    pdf.front_matter(destroyed, skipped)
    if destroyed:
        pdf.class_summary(destroyed)
        pdf.destroyed_list(destroyed)
    pdf.skipped_list(skipped, nothing_destroyed=not destroyed)
    pdf.replacement_note()
    return bytes(pdf.output())


def _require_approval(info: CertificateInfo) -> None:
    if not info.approved_by:
        raise ValueError(f"batch {info.batch_id} has no approver: disposal must be authorised")


def _moment_or_blank(value: datetime | None) -> str:
    return moment(value) if value is not None else ""
