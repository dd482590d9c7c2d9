"""The PDF rendering of a destruction certificate (A4, DejaVu fonts, fpdf2).

Wrapping is done here rather than by fpdf2 (whose line breaking costs milliseconds per cell):
text breaks after a space or a path separator; codes (document ids, hashes) are set in the
monospaced font on lines of their own and break only where a single code is wider than its
column, and then without losing a character.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fpdf import FPDF
from fpdf.fonts import TTFFont

from retention.wording import day, moment, utc

if TYPE_CHECKING:
    from retention.certificate import CertificateInfo, DestroyedItem, SkippedItem

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
STUB_NOTE = (
    "Metadata stubs for the destroyed records remain in the index as the record of destruction."
)

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
_FACT_SIZE = 9.0
_FACT_LINE = 4.4
_ROW_PAD = 0.8
_GREY = 90
_WARNING_RED = (170, 0, 0)
_OUTCOMES = {"excluded": "Excluded", "skipped": "Skipped", "failed": "Failed"}


class CertificateFontMissing(RuntimeError):
    """The PDF font is not installed; install the Debian package fonts-dejavu-core."""


@dataclass(frozen=True)
class _Column:
    title: str
    width: float
    align: Literal["L", "R"] = "L"


@dataclass(frozen=True)
class _Para:
    text: str
    mono: bool = False
    size: float = _BODY_SIZE
    bold: bool = False

    @property
    def font(self) -> str:
        return _MONO if self.mono else _SANS + ("B" if self.bold else "")

    @property
    def line(self) -> float:
        if self.mono:
            return _MONO_LINE
        return _FACT_LINE if self.size >= _FACT_SIZE else _BODY_LINE


_Cell = tuple[_Para, ...]


def _code(text: str) -> _Para:
    return _Para(text, mono=True, size=_MONO_SIZE)


class CertificatePdf(FPDF):
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
        self.set_creation_date(utc(info.executed_at))
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

    def _text(self, text: str, size: float = _BODY_SIZE) -> _Para:
        """Text in the body font, with what the font cannot draw replaced."""
        return _Para(self.fit(text), size=size)

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
        if info.warning:
            self.set_font(_SANS, "B", 11)
            self.set_text_color(*_WARNING_RED)
            self.multi_cell(
                0, 5.5, self.fit(info.warning), border=1, padding=2, new_x="LMARGIN", new_y="NEXT"
            )
            self.set_text_color(0)
        self.ln(3)
        approvers = " and ".join(str(person) for person in info.approved_by)
        facts: list[tuple[str, _Cell]] = [
            ("Batch", (self._fact(str(info.batch_id)),)),
            ("Retention schedule version", (self._fact(info.schedule_version),)),
        ]
        if info.schedule_sha256:
            facts.append(("Schedule text SHA-256", (_code(self.fit(info.schedule_sha256, _MONO)),)))
        if info.built_by.name:
            facts.append(("Built by", (self._fact(str(info.built_by)),)))
        facts += [
            ("Batch built", (self._fact(moment(info.created_at)),)),
            ("Approved by", (self._fact(approvers),)),
            ("Approved at", (self._fact(moment(info.approved_at)),)),
            ("Executed by", (self._fact(str(info.executed_by)),)),
            ("Executed at", (self._fact(moment(info.executed_at)),)),
        ]
        facts += [
            ("Method of destruction", (self._fact(method),))
            for method in sorted({item.method for item in destroyed})
        ]
        if info.checks:
            facts.append(("Checks made", (self._fact(info.checks),)))
        if info.audit_head:
            words, _, code = info.audit_head.rpartition(" ")
            head = (self._fact(words), _code(self.fit(code, _MONO))) if words else ()
            facts.append(("Audit log head", head or (self._fact(info.audit_head),)))
        columns = (_Column("", 52), _Column("", 128))
        rows = [((_Para(name, size=_FACT_SIZE, bold=True),), value) for name, value in facts]
        self.grid(columns, rows, header=False, rules=False)
        self.ln(3)
        self.set_font(_SANS, size=10)
        self.multi_cell(0, 5, _statement(destroyed, skipped), new_x="LMARGIN", new_y="NEXT")

    def _fact(self, text: str) -> _Para:
        return self._text(text, _FACT_SIZE)

    def class_summary(self, destroyed: Sequence[DestroyedItem]) -> None:
        groups: dict[tuple[str, str, str, str], list[DestroyedItem]] = {}
        for item in destroyed:
            key = (item.class_id, item.class_name, item.authority, item.rule)
            groups.setdefault(key, []).append(item)
        rows = []
        for (class_id, name, authority, rule), items in sorted(groups.items()):
            dates = sorted(utc(item.modified) for item in items if item.modified is not None)
            span = f"{day(dates[0])} to {day(dates[-1])}" if dates else "unknown"
            size = sum(item.size for item in items)
            rows.append(
                (
                    (self._text(class_id),),
                    (self._text(name),),
                    (self._text(authority),),
                    (self._text(rule or "—"),),
                    (self._text(span),),
                    (self._text(f"{len(items):,}"),),
                    (self._text(f"{size:,}"),),
                )
            )
        columns = (
            _Column("Class", 18),
            _Column("Name", 30),
            _Column("Authority", 38),
            _Column("Rule applied", 38),
            _Column("Last written on the share", 24),
            _Column("Records", 12, "R"),
            _Column("Bytes", 20, "R"),
        )
        self.section("Summary by record class")
        self.grid(columns, rows)

    def destroyed_list(self, destroyed: Sequence[DestroyedItem]) -> None:
        columns = (
            _Column("No.", 8, "R"),
            _Column("Record (UNC path; document id and SHA-256 below)", 85),
            _Column("Bytes", 14, "R"),
            _Column("Last written on the share", 27),
            _Column("Class, rule applied, dates", 46),
        )
        self.section("Records destroyed")
        self.grid(columns, (self._destroyed_row(n, item) for n, item in enumerate(destroyed, 1)))

    def _destroyed_row(self, number: int, item: DestroyedItem) -> Sequence[_Cell]:
        written: list[_Para] = [self._text(moment(item.modified))]
        if item.embedded_modified is not None:
            written.append(self._text(f"Date inside the file: {moment(item.embedded_modified)}"))
        rule: list[_Para] = [self._text(item.class_id)]
        if item.rule:
            rule.append(self._text(item.rule))
        dates = "; ".join(
            f"{label} {day(value)}"
            for label, value in (("from", item.trigger_date), ("due", item.disposal_date))
            if value is not None
        )
        if dates:
            rule.append(self._text(dates[0].upper() + dates[1:]))
        return (
            (_Para(str(number)),),
            (
                self._text(item.unc),
                _code(f"id {self.fit(item.doc_id, _MONO)}"),
                _code(f"sha256 {self.fit(item.sha256, _MONO)}"),
            ),
            (_Para(f"{item.size:,}"),),
            tuple(written),
            tuple(rule),
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
            _Column("Record (UNC path; document id below)", 96),
            _Column("Outcome and reason", 74),
        )
        self.grid(columns, (self._skipped_row(n, skip) for n, skip in enumerate(skipped, 1)))

    def _skipped_row(self, number: int, skip: SkippedItem) -> Sequence[_Cell]:
        record = (self._text(skip.unc), _code(f"id {self.fit(skip.doc_id, _MONO)}"))
        outcome = _OUTCOMES.get(skip.outcome, skip.outcome.capitalize())
        return ((_Para(str(number)),), record, (self._text(f"{outcome}: {skip.reason}"),))

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

    def grid(
        self,
        columns: Sequence[_Column],
        rows: Iterable[Sequence[_Cell]],
        *,
        header: bool = True,
        rules: bool = True,
    ) -> None:
        """Draw rows under a header that repeats on each page; a row never splits across pages.

        Wrapping and drawing bypass cell()/multi_cell(): their line breaking costs milliseconds
        per cell, which made a 2,000-record certificate take a minute and a half.
        """
        if header:
            self._table_header(columns)
        for row in rows:
            wrapped = [
                [(para, self._wrap(para, column.width)) for para in cell]
                for column, cell in zip(columns, row, strict=True)
            ]
            height = 2 * _ROW_PAD + max(
                sum(len(lines) * para.line for para, lines in cell) for cell in wrapped
            )
            if self.will_page_break(height):
                self.add_page()
                if header:
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
                        self.text(x + indent, y + 0.5 * para.line + 0.3 * self.font_size, line)
                        y += para.line
                x += column.width
            self.set_text_color(0)
            if rules:
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
        """Greedy line breaking. Text breaks after a space or a path separator; a code only
        at a space, and inside a code only when the code alone is wider than the column.
        Every character of the text is on some line (until the cut after _MAX_CELL_LINES)."""
        widths, scale = self._metrics(para)
        room = (width - 2 * self.c_margin) / scale
        breaks = frozenset(" ") if para.mono else _BREAK_AFTER
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
                if ch in breaks:
                    breakable = i + 1
            lines.append(text[start:])
        if len(lines) > _MAX_CELL_LINES:
            marker = _Para(_CUT_MARKER, para.mono, para.size, para.bold)
            return lines[:_MAX_CELL_LINES] + self._wrap(marker, width)
        return lines

    def _width(self, para: _Para, text: str) -> float:
        widths, scale = self._metrics(para)
        return sum(widths[ord(ch)] for ch in text) * scale

    def _metrics(self, para: _Para) -> tuple[Mapping[int, float], float]:
        """Glyph advances (thousandths of an em) and the factor turning them into millimetres."""
        return self._widths[para.font], para.size / 1000 / self.k

    def _use(self, para: _Para) -> None:
        if para.mono:
            self.set_font(_MONO, size=para.size)
            self.set_text_color(_GREY)
        else:
            self.set_font(_SANS, "B" if para.bold else "", size=para.size)
            self.set_text_color(0)


def _records(count: int) -> str:
    return f"{count:,} record" if count == 1 else f"{count:,} records"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _statement(destroyed: Sequence[DestroyedItem], skipped: Sequence[SkippedItem]) -> str:
    """What happened to the batch, in the same counts the CLI and the web page report."""
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
        counts = {outcome: 0 for outcome in _OUTCOMES}
        for skip in skipped:
            counts[skip.outcome] = counts.get(skip.outcome, 0) + 1
        parts = [f"{count:,} {outcome}" for outcome, count in counts.items() if count]
        statement += (
            f" {_records(len(skipped))} in the batch {_were(len(skipped))} not destroyed "
            f"({', '.join(parts)}); see “Records not destroyed” for the reasons."
        )
    return statement
