"""Quarterly request statistics of the kind the s.45 Code of Practice recommends publishing.

Pure functions, no I/O. Cases are grouped by the calendar quarter of the day they were received
("2026 Q1" is January to March) and by regime (FOIA, EIR, SAR), with an "All" row per quarter.
Every quarter from the earliest to the latest one received gets rows for all three regimes,
even when nothing arrived, so a published table never hides an empty quarter.

Definitions, which the CSV column headings repeat so a published file explains itself:

- answered: the case has a responded date;
- answered in time: responded on or before the due date (responding on the due day is in time);
- late: answered after the due date; still open: no responded date;
- percentage answered in time = answered in time / answered x 100, over the cases *answered*
  (not received), so open cases neither help nor hurt it; None when nothing was answered;
- average days: mean calendar days from received to responded over the answered cases; None
  when nothing was answered.

Invariants for every row: in_time + late == answered and answered + open == received, and each
count equals the number of case ids listed under its key in `StatRow.cases`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from xml.sax.saxutils import escape

__all__ = [
    "ALL_REGIMES",
    "REGIMES",
    "CaseFacts",
    "StatRow",
    "StatisticsInputError",
    "quarterly_statistics",
    "statistics_chart_svg",
    "statistics_csv",
]

REGIMES: tuple[str, ...] = ("FOIA", "EIR", "SAR")
ALL_REGIMES = "All"
_DRILL_KEYS = ("received", "answered", "in_time", "late", "open")

_DIVIDE = "\u00f7"
_TIMES = "\u00d7"
CSV_HEADER: tuple[str, ...] = (
    "Quarter received",
    "Regime",
    "Received",
    "Answered",
    "Answered in time (on or before the due date)",
    "Answered late",
    "Still open",
    f"Percentage answered in time (answered in time {_DIVIDE} answered {_TIMES} 100; "
    "blank when none answered)",
    "Average calendar days from received to responded (blank when none answered)",
)


class StatisticsInputError(ValueError):
    """A case whose facts cannot be counted (unknown regime, impossible dates): fix the record."""


@dataclass(frozen=True)
class CaseFacts:
    """The facts about one case that the statistics need; `responded` is None while open."""

    id: int
    reference: str
    regime: str
    received: date
    due: date | None
    responded: date | None


@dataclass(frozen=True)
class StatRow:
    """One quarter and regime (or "All"). `cases` maps each count's name to its case ids."""

    quarter: str
    regime: str
    received: int
    answered: int
    in_time: int
    late: int
    open: int
    percentage: float | None
    average_days: float | None
    cases: Mapping[str, tuple[int, ...]]


def _quarter_key(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def _quarter_label(key: tuple[int, int]) -> str:
    return f"{key[0]} Q{key[1]}"


def _quarters_between(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    keys = []
    year, quarter = first
    while (year, quarter) <= last:
        keys.append((year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return keys


def _check(facts: CaseFacts) -> list[str]:
    problems = []
    if facts.regime not in REGIMES:
        problems.append(f"unknown regime {facts.regime!r} (use FOIA, EIR or SAR)")
    if facts.responded is not None:
        if facts.responded < facts.received:
            problems.append(f"responded {facts.responded} before received {facts.received}")
        if facts.due is None:
            # Without a due date an answer is neither in time nor late, which would break
            # in_time + late == answered; the record is missing its deadline.
            problems.append("answered but has no due date")
    return [f"case {facts.id} ({facts.reference}): {problem}" for problem in problems]


def _row(quarter: str, regime: str, group: Sequence[CaseFacts]) -> StatRow:
    drill: dict[str, list[int]] = {key: [] for key in _DRILL_KEYS}
    days = []
    for case in group:
        drill["received"].append(case.id)
        if case.responded is None:
            drill["open"].append(case.id)
            continue
        drill["answered"].append(case.id)
        days.append((case.responded - case.received).days)
        # _check guarantees every answered case has a due date.
        in_time = case.due is not None and case.responded <= case.due
        drill["in_time" if in_time else "late"].append(case.id)
    answered, on_time = len(drill["answered"]), len(drill["in_time"])
    return StatRow(
        quarter=quarter,
        regime=regime,
        received=len(group),
        answered=answered,
        in_time=on_time,
        late=len(drill["late"]),
        open=len(drill["open"]),
        percentage=on_time / answered * 100 if answered else None,
        average_days=sum(days) / len(days) if days else None,
        cases=MappingProxyType({key: tuple(sorted(ids)) for key, ids in drill.items()}),
    )


def quarterly_statistics(cases: Iterable[CaseFacts]) -> list[StatRow]:
    """Rows sorted by quarter, then FOIA, EIR, SAR and the quarter's "All" total.

    Raises `StatisticsInputError` listing every case that cannot be counted, so one report run
    shows all the records to fix rather than the first.
    """
    facts = list(cases)
    problems = [problem for item in facts for problem in _check(item)]
    seen: set[int] = set()
    for item in facts:
        if item.id in seen:
            problems.append(f"case {item.id} ({item.reference}): listed more than once")
        seen.add(item.id)
    if problems:
        raise StatisticsInputError("; ".join(problems))
    if not facts:
        return []
    by_quarter: defaultdict[tuple[int, int], list[CaseFacts]] = defaultdict(list)
    for item in facts:
        by_quarter[_quarter_key(item.received)].append(item)
    rows = []
    for key in _quarters_between(min(by_quarter), max(by_quarter)):
        in_quarter = by_quarter.get(key, [])
        label = _quarter_label(key)
        for regime in REGIMES:
            rows.append(_row(label, regime, [c for c in in_quarter if c.regime == regime]))
        rows.append(_row(label, ALL_REGIMES, in_quarter))
    return rows


def _rounded(value: float | None, places: str = "0.1") -> str:
    """Half up, as people round; via the shortest repr so 6.25 gives 6.3, not binary 6.2."""
    if value is None:
        return ""
    return str(Decimal(repr(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def statistics_csv(rows: Sequence[StatRow]) -> bytes:
    """UTF-8 with a byte order mark (so Excel reads the symbols), one heading row, CRLF lines.

    Percentages and averages have one decimal place and are blank when None. The headings carry
    the definitions, so the file stays a plain table that any CSV reader can load.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            (
                row.quarter,
                row.regime,
                row.received,
                row.answered,
                row.in_time,
                row.late,
                row.open,
                _rounded(row.percentage),
                _rounded(row.average_days),
            )
        )
    return buffer.getvalue().encode("utf-8-sig")


# Okabe-Ito hues, darkened until each has at least 4.5:1 contrast on white (WCAG AA for text,
# above the 3:1 that graphics need), so bars and their value labels share a colour.
_COLOURS = {"FOIA": "#0072B2", "EIR": "#B34700", "SAR": "#00704F"}
_INK = "#222222"
_GRID = "#767676"
_FONT = 'font-family="sans-serif"'

_BAR_W, _BAR_GAP, _GROUP_GAP = 26, 4, 30
_GROUP_W = len(REGIMES) * _BAR_W + (len(REGIMES) - 1) * _BAR_GAP
_LEFT, _RIGHT, _TOP, _PLOT_H = 70, 20, 70, 200
_BOTTOM, _MIN_WIDTH = 60, 360


# Characters XML 1.0 forbids even when escaped; hostile text must not make the chart unreadable.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _percent_text(row: StatRow | None) -> str:
    if row is None or row.percentage is None:
        return "no requests answered"
    return f"{_rounded(row.percentage)}% ({row.in_time} of {row.answered} answered in time)"


def _describe(quarters: Sequence[str], by_key: Mapping[tuple[str, str], StatRow]) -> str:
    parts = [
        f"{quarter}: "
        + ", ".join(
            f"{regime} {_percent_text(by_key.get((quarter, regime)))}" for regime in REGIMES
        )
        for quarter in quarters
    ]
    return (
        "Percentage of answered requests that were answered within the deadline, by quarter "
        "received and regime. " + "; ".join(parts) + "."
    )


def _svg_open(width: int, height: int, title: str, desc: str) -> list[str]:
    # Ids are derived from the content so two different charts can share a page without
    # clashing, while the same data always gives byte-identical output.
    suffix = hashlib.sha256(f"{title}\n{desc}".encode()).hexdigest()[:8]
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title-{suffix} chart-desc-{suffix}">',
        f'<title id="chart-title-{suffix}">{_text(title)}</title>',
        f'<desc id="chart-desc-{suffix}">{_text(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>',
        f'<text x="{width // 2}" y="24" text-anchor="middle" font-size="16" '
        f'font-weight="bold" fill="{_INK}" {_FONT}>{_text(title)}</text>',
    ]


def statistics_chart_svg(
    rows: Sequence[StatRow], *, title: str = "Requests answered in time"
) -> str:
    """A self-contained, accessible bar chart of the percentage answered in time.

    One group of bars per quarter, one bar per regime (the "All" rows are not drawn). Each bar
    carries its value as text and a tooltip, and <desc> spells out every number, so the chart
    reads without colour or sight. No scripts, styles or external resources; deterministic.
    """
    quarters = list(dict.fromkeys(row.quarter for row in rows))
    if not quarters:
        width, height = 400, 120
        lines = _svg_open(width, height, title, "No requests in this period.")
        lines.append(
            f'<text x="{width // 2}" y="70" text-anchor="middle" font-size="14" '
            f'fill="{_INK}" {_FONT}>No requests in this period</text>'
        )
        return "\n".join([*lines, "</svg>"]) + "\n"

    by_key = {(row.quarter, row.regime): row for row in rows}
    # Never narrower than the legend, however few quarters there are.
    width = max(_LEFT + len(quarters) * (_GROUP_W + _GROUP_GAP) + _RIGHT, _MIN_WIDTH)
    height = _TOP + _PLOT_H + _BOTTOM
    base = _TOP + _PLOT_H
    lines = _svg_open(width, height, title, _describe(quarters, by_key))

    legend_x = _LEFT
    for regime in REGIMES:
        lines.append(
            f'<rect x="{legend_x}" y="38" width="12" height="12" fill="{_COLOURS[regime]}"/>'
            f'<text x="{legend_x + 16}" y="48" font-size="12" fill="{_INK}" {_FONT}>'
            f"{regime}</text>"
        )
        legend_x += 70

    for tick in range(0, 101, 25):
        y = base - tick * _PLOT_H // 100
        lines.append(
            f'<line x1="{_LEFT}" y1="{y}" x2="{width - _RIGHT}" y2="{y}" stroke="{_GRID}" '
            f'stroke-width="{1 if tick == 0 else 0.5}"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4}" text-anchor="end" font-size="11" '
            f'fill="{_INK}" {_FONT}>{tick}%</text>'
        )
    mid_y = _TOP + _PLOT_H // 2
    lines.append(
        f'<text x="18" y="{mid_y}" text-anchor="middle" font-size="12" fill="{_INK}" {_FONT} '
        f'transform="rotate(-90 18 {mid_y})">Answered in time (%)</text>'
    )

    for index, quarter in enumerate(quarters):
        group_x = _LEFT + _GROUP_GAP // 2 + index * (_GROUP_W + _GROUP_GAP)
        for slot, regime in enumerate(REGIMES):
            row = by_key.get((quarter, regime))
            x = group_x + slot * (_BAR_W + _BAR_GAP)
            centre = x + _BAR_W // 2
            tooltip = _text(f"{quarter} {regime}: {_percent_text(row)}")
            if row is None or row.percentage is None:
                lines.append(
                    f'<text x="{centre}" y="{base - 4}" text-anchor="middle" font-size="9" '
                    f'fill="{_INK}" {_FONT}><title>{tooltip}</title>n/a</text>'
                )
                continue
            bar_h = round(row.percentage * _PLOT_H / 100, 1)
            lines.append(
                f'<rect x="{x}" y="{base - bar_h}" width="{_BAR_W}" height="{bar_h}" '
                f'fill="{_COLOURS[regime]}"><title>{tooltip}</title></rect>'
                f'<text x="{centre}" y="{round(base - bar_h - 4, 1)}" text-anchor="middle" '
                f'font-size="9" fill="{_COLOURS[regime]}" {_FONT}>'
                f"{_rounded(row.percentage, '1')}%</text>"
            )
        lines.append(
            f'<text x="{group_x + _GROUP_W // 2}" y="{base + 18}" text-anchor="middle" '
            f'font-size="12" fill="{_INK}" {_FONT}>{_text(quarter)}</text>'
        )
    lines.append(
        f'<text x="{(_LEFT + width - _RIGHT) // 2}" y="{height - 12}" text-anchor="middle" '
        f'font-size="12" fill="{_INK}" {_FONT}>Quarter received</text>'
    )
    return "\n".join([*lines, "</svg>"]) + "\n"
