"""Certificates of destruction: the council's lasting record of what a disposal batch removed.

A certificate is produced once a batch has run and is kept as a record in its own right, so
both renderings are deterministic: the same batch gives byte-identical CSV and PDF (for a given
fpdf2 version and font files). Every
destroyed and every skipped record appears in both; nothing supplied is left out. Paths come
from file shares and are treated as hostile: the CSV neutralises spreadsheet formulas, and the
PDF prints characters its font cannot show as "?" and says so, leaving the CSV as the exact
copy. Naive datetimes are taken to be UTC (SQLite drops the zone); all times are shown in UTC.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.fonts import TTFFont

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")

CSV_COLUMNS = (
    "doc_id",
    "source",
    "unc",
    "path",
    "size_bytes",
    "sha256",
    "modified",
    "class_id",
    "class_name",
    "authority",
    "destroyed_at",
    "method",
    "batch_id",
    "schedule_version",
    "approved_by",
    "outcome",
    "skip_reason",
)

STUB_NOTE = (
    "Metadata stubs for the destroyed records remain in the index as the record of destruction."
)

# OWASP's list: a spreadsheet evaluates a cell starting with one of these as a formula.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Must never occur in rendered text, or fpdf2 would replace it with the page count; the control
# characters guarantee that, because every displayed string has its control characters replaced.
_PAGE_COUNT_ALIAS = "\x00pages\x00"

# A row taller than the printable page would run over the footer, so a table cell's text is
# cut after this many lines, with a visible marker (the CSV keeps the value whole).
_MAX_CELL_LINES = 30
_CUT_MARKER = "… [cut short: the CSV certificate has it in full]"

_BREAK_AFTER = frozenset(" \\/_")

_SANS = "dejavu"
_MONO = "dejavumono"
_FONT_FILES = (
    (_SANS, "", "DejaVuSans.ttf"),
    (_SANS, "B", "DejaVuSans-Bold.ttf"),
    (_MONO, "", "DejaVuSansMono.ttf"),
)
_BODY_SIZE = 8.0
_BODY_LINE = 3.6
_MONO_SIZE = 6.0
_MONO_LINE = 2.8
_ROW_PAD = 0.8
_GREY = 90


class CertificateFontMissing(RuntimeError):
    """The PDF font is not installed; install the Debian package fonts-dejavu-core."""


@dataclass(frozen=True)
class DestroyedItem:
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


@dataclass(frozen=True)
class SkippedItem:
    doc_id: str
    unc: str
    reason: str


@dataclass(frozen=True)
class CertificateInfo:
    organisation: str
    batch_id: int
    schedule_version: str
    created_at: datetime
    approved_by: tuple[str, ...]
    approved_at: datetime
    executed_by: str
    executed_at: datetime


def certificate_filename(info: CertificateInfo, ext: str) -> str:
    """Name the certificate by batch and execution date (UTC); ext is e.g. "pdf" or ".csv"."""
    suffix = ext.removeprefix(".")
    if not re.fullmatch(r"[A-Za-z0-9]+", suffix):
        raise ValueError(f"not a file extension: {ext!r}")
    return (
        f"destruction-certificate-batch-{info.batch_id}-{_utc(info.executed_at):%Y-%m-%d}.{suffix}"
    )


def certificate_csv(
    info: CertificateInfo, destroyed: Sequence[DestroyedItem], skipped: Sequence[SkippedItem]
) -> bytes:
    """One rectangular table (CSV_COLUMNS), destroyed rows then skipped rows, UTF-8 with BOM.

    Cells that a spreadsheet would run as a formula get a leading apostrophe. Text that is not
    valid Unicode (lone surrogates from undecodable file names) is written as backslash escapes.
    """
    _require_approval(info)
    batch = {
        "batch_id": str(info.batch_id),
        "schedule_version": info.schedule_version,
        "approved_by": "; ".join(info.approved_by),
    }
    rows: list[dict[str, str]] = [
        {
            "doc_id": item.doc_id,
            "source": item.source,
            "unc": item.unc,
            "path": item.path,
            "size_bytes": str(item.size),
            "sha256": item.sha256,
            "modified": _iso(item.modified) if item.modified is not None else "",
            "class_id": item.class_id,
            "class_name": item.class_name,
            "authority": item.authority,
            "destroyed_at": _iso(item.destroyed_at),
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
            "outcome": "skipped",
            "skip_reason": skip.reason,
        }
        for skip in skipped
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({column: _inert(value) for column, value in row.items()} for row in rows)
    return buffer.getvalue().encode("utf-8-sig", errors="backslashreplace")


def certificate_pdf(
    info: CertificateInfo,
    destroyed: Sequence[DestroyedItem],
    skipped: Sequence[SkippedItem],
    *,
    font_dir: Path = DEJAVU_DIR,
) -> bytes:
    """An A4 certificate: batch facts, a summary per class, every destroyed and skipped record.

    Raises CertificateFontMissing when the DejaVu fonts are not under font_dir.
    """
    _require_approval(info)
    pdf = _CertificatePdf(info, font_dir)
    pdf.front_matter(destroyed, skipped)
    if destroyed:
        pdf.class_summary(destroyed)
        pdf.destroyed_list(destroyed)
    pdf.skipped_list(skipped, nothing_destroyed=not destroyed)
    pdf.replacement_note()
    return bytes(pdf.output())


@dataclass(frozen=True)
class _Column:
    title: str
    width: float
    align: Literal["L", "R"] = "L"


@dataclass(frozen=True)
class _Para:
    text: str
    mono: bool = False


_Cell = tuple[_Para, ...]


class _CertificatePdf(FPDF):
    def __init__(self, info: CertificateInfo, font_dir: Path) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.info = info
        self.lossy = False
        self._cmaps: dict[str, dict[int, str]] = {}
        self._widths: dict[str, Mapping[int, float]] = {}
        for family, style, filename in _FONT_FILES:
            path = font_dir / filename
            if not path.is_file():
                raise CertificateFontMissing(
                    f"{path} not found: install the Debian package fonts-dejavu-core"
                )
            self.add_font(family, style, path)
            font = self.fonts[family + style]
            assert isinstance(font, TTFFont)
            self._cmaps[family + style] = font.cmap
            self._widths[family + style] = font.cw
        self.alias_nb_pages(_PAGE_COUNT_ALIAS)
        self.set_creation_date(_utc(info.executed_at))
        self.set_title(f"Certificate of destruction: batch {info.batch_id}")
        self.set_author(self.fit(info.organisation))
        self.set_creator("foi-discovery")
        self.set_lang("en-GB")
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=20)
        self.add_page()

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(_SANS, size=7)
        self.set_text_color(_GREY)
        org = f"{self.fit(self.info.organisation)} · " if self.info.organisation else ""
        title = f"Certificate of destruction · {org}batch {self.info.batch_id}"
        self.cell(0, 4, title, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(_SANS, size=7)
        self.set_text_color(_GREY)
        self.cell(0, 3.2, STUB_NOTE, align="C", new_x="LMARGIN", new_y="NEXT")
        page = f"Page {self.page_no()} of {_PAGE_COUNT_ALIAS}"
        self.cell(0, 3.2, page, align="C")
        self.set_text_color(0)

    def fit(self, text: str, font: str = _SANS) -> str:
        """Replace what the font cannot draw (and control characters) with "?"."""
        cmap = self._cmaps[font]
        shown = "".join(
            "?" if ord(ch) not in cmap or unicodedata.category(ch).startswith("C") else ch
            for ch in text
        )
        self.lossy = self.lossy or shown != text
        return shown

    def front_matter(
        self, destroyed: Sequence[DestroyedItem], skipped: Sequence[SkippedItem]
    ) -> None:
        info = self.info
        self.set_font(_SANS, "B", 18)
        self.cell(0, 10, "Certificate of destruction", new_x="LMARGIN", new_y="NEXT")
        if info.organisation:
            self.set_font(_SANS, "B", 12)
            self.multi_cell(
                0, 6, self.fit(info.organisation, _SANS + "B"), new_x="LMARGIN", new_y="NEXT"
            )
        self.ln(3)
        methods = sorted({item.method for item in destroyed})
        facts = [
            ("Batch", str(info.batch_id)),
            ("Retention schedule version", info.schedule_version),
            ("Batch created", _shown(info.created_at)),
            ("Approved by", " and ".join(info.approved_by)),
            ("Approved at", _shown(info.approved_at)),
            ("Executed by", info.executed_by),
            ("Executed at", _shown(info.executed_at)),
        ]
        facts += [("Method of destruction", method) for method in methods]
        for label, value in facts:
            self.set_font(_SANS, "B", 9)
            self.cell(55, 5, label)
            self.set_font(_SANS, size=9)
            self.multi_cell(0, 5, self.fit(value), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)
        total = sum(item.size for item in destroyed)
        if destroyed:
            statement = (
                f"The {_records(len(destroyed))} listed below, {total:,} bytes in all, "
                f"{_were(len(destroyed))} destroyed under the retention schedule and approval "
                "stated above."
            )
        else:
            statement = "No records were destroyed in this batch."
        if skipped:
            statement += (
                f" {_records(len(skipped))} in the batch {_were(len(skipped))} not destroyed; "
                "see “Records not destroyed” for the reasons."
            )
        self.set_font(_SANS, size=10)
        self.multi_cell(0, 5, statement, new_x="LMARGIN", new_y="NEXT")

    def class_summary(self, destroyed: Sequence[DestroyedItem]) -> None:
        groups: dict[tuple[str, str, str], list[DestroyedItem]] = {}
        for item in destroyed:
            groups.setdefault((item.class_id, item.class_name, item.authority), []).append(item)
        rows = []
        for (class_id, name, authority), items in sorted(groups.items()):
            dates = sorted(_utc(item.modified) for item in items if item.modified is not None)
            span = f"{dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}" if dates else "unknown"
            size = sum(item.size for item in items)
            rows.append((class_id, name, authority, span, f"{len(items):,}", f"{size:,}"))
        columns = (
            _Column("Class", 22),
            _Column("Name", 40),
            _Column("Authority", 48),
            _Column("Last modified (UTC)", 32),
            _Column("Records", 14, "R"),
            _Column("Bytes", 24, "R"),
        )
        self.section("Summary by record class")
        self.grid(columns, ([(_Para(self.fit(text)),) for text in row] for row in rows))

    def destroyed_list(self, destroyed: Sequence[DestroyedItem]) -> None:
        columns = (
            _Column("No.", 9, "R"),
            _Column("Record (UNC path; document id and SHA-256 below)", 95),
            _Column("Bytes", 18, "R"),
            _Column("Modified (UTC)", 29),
            _Column("Class", 29),
        )
        self.section("Records destroyed")
        self.grid(columns, (self._destroyed_row(n, item) for n, item in enumerate(destroyed, 1)))

    def _destroyed_row(self, number: int, item: DestroyedItem) -> Sequence[_Cell]:
        modified = "unknown" if item.modified is None else f"{_utc(item.modified):%Y-%m-%d %H:%M}"
        ids = f"id {self.fit(item.doc_id, _MONO)}\nsha256 {self.fit(item.sha256, _MONO)}"
        return (
            (_Para(str(number)),),
            (_Para(self.fit(item.unc)), _Para(ids, mono=True)),
            (_Para(f"{item.size:,}"),),
            (_Para(modified),),
            (_Para(self.fit(item.class_id)),),
        )

    def skipped_list(self, skipped: Sequence[SkippedItem], *, nothing_destroyed: bool) -> None:
        self.section("Records not destroyed")
        if not skipped:
            self.set_font(_SANS, size=9)
            text = (
                "None." if nothing_destroyed else "None: every record in the batch was destroyed."
            )
            self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
            return
        columns = (
            _Column("No.", 10, "R"),
            _Column("Record (UNC path; document id below)", 100),
            _Column("Reason", 70),
        )
        self.grid(columns, (self._skipped_row(n, skip) for n, skip in enumerate(skipped, 1)))

    def _skipped_row(self, number: int, skip: SkippedItem) -> Sequence[_Cell]:
        record = (_Para(self.fit(skip.unc)), _Para(f"id {self.fit(skip.doc_id, _MONO)}", mono=True))
        return ((_Para(str(number)),), record, (_Para(self.fit(skip.reason)),))

    def replacement_note(self) -> None:
        if not self.lossy:
            return
        self.ln(4)
        self.set_font(_SANS, size=8)
        note = (
            "Some paths or other values contain characters that this PDF's font cannot show; "
            "they are printed as “?”. The CSV certificate holds every value exactly."
        )
        self.multi_cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")

    def section(self, title: str) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.ln(5)
        self.set_font(_SANS, "B", 12)
        self.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")

    def grid(self, columns: Sequence[_Column], rows: Iterable[Sequence[_Cell]]) -> None:
        """Draw rows under a header that repeats on each page; a row never splits across pages.

        Wrapping and drawing bypass cell()/multi_cell(): their line breaking costs milliseconds
        per cell, which made a 2,000-record certificate take a minute and a half.
        """
        self._table_header(columns)
        for row in rows:
            wrapped = [
                [(para, self._wrap(para, column.width)) for para in cell]
                for column, cell in zip(columns, row, strict=True)
            ]
            height = 2 * _ROW_PAD + max(
                sum(len(lines) * _line(para) for para, lines in cell) for cell in wrapped
            )
            if self.will_page_break(height):
                self.add_page()
                self._table_header(columns)
            top, x = self.get_y(), self.l_margin
            for column, cell in zip(columns, wrapped, strict=True):
                y = top + _ROW_PAD
                for para, lines in cell:
                    self._use(para)
                    for line in lines:
                        indent = self.c_margin
                        if column.align == "R":
                            indent = column.width - self.c_margin - self._width(para, line)
                        self.text(x + indent, y + 0.5 * _line(para) + 0.3 * self.font_size, line)
                        y += _line(para)
                x += column.width
            self.set_text_color(0)
            self.set_draw_color(200)
            self.line(self.l_margin, top + height, x, top + height)
            self.set_xy(self.l_margin, top + height)

    def _table_header(self, columns: Sequence[_Column]) -> None:
        self.set_font(_SANS, "B", 7.5)
        self.set_fill_color(230)
        for column in columns:
            self.cell(column.width, 6, column.title, align=column.align, fill=True)
        self.ln(6)

    def _wrap(self, para: _Para, width: float) -> list[str]:
        """Greedy line breaking, preferring to break after a space or path separator.

        Never more than _MAX_CELL_LINES lines plus the cut marker's.
        """
        widths, scale = self._metrics(para)
        room = (width - 2 * self.c_margin) / scale
        lines: list[str] = []
        for text in para.text.split("\n"):
            start, used, breakable = 0, 0.0, 0
            for i, ch in enumerate(text):
                advance = widths[ord(ch)]
                if used + advance > room and i > start:
                    cut = breakable if breakable > start else i
                    lines.append(text[start:cut])
                    start, used = cut, sum(widths[ord(c)] for c in text[cut:i])
                used += advance
                if ch in _BREAK_AFTER:
                    breakable = i + 1
            lines.append(text[start:])
        if len(lines) > _MAX_CELL_LINES:
            return lines[:_MAX_CELL_LINES] + self._wrap(_Para(_CUT_MARKER, para.mono), width)
        return lines

    def _width(self, para: _Para, text: str) -> float:
        widths, scale = self._metrics(para)
        return sum(widths[ord(ch)] for ch in text) * scale

    def _metrics(self, para: _Para) -> tuple[Mapping[int, float], float]:
        """Glyph advances (thousandths of an em) and the factor turning them into millimetres."""
        font, size = (_MONO, _MONO_SIZE) if para.mono else (_SANS, _BODY_SIZE)
        return self._widths[font], size / 1000 / self.k

    def _use(self, para: _Para) -> None:
        if para.mono:
            self.set_font(_MONO, size=_MONO_SIZE)
            self.set_text_color(_GREY)
        else:
            self.set_font(_SANS, size=_BODY_SIZE)
            self.set_text_color(0)


def _line(para: _Para) -> float:
    return _MONO_LINE if para.mono else _BODY_LINE


def _records(count: int) -> str:
    return f"{count:,} record" if count == 1 else f"{count:,} records"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _require_approval(info: CertificateInfo) -> None:
    if not info.approved_by:
        raise ValueError(f"batch {info.batch_id} has no approver: disposal must be authorised")


def _inert(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_TRIGGERS) else cell


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat()


def _shown(moment: datetime) -> str:
    return f"{_utc(moment):%Y-%m-%d %H:%M:%S} UTC"
