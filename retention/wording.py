"""Dates, times and sizes as people read them on certificates, reasons and reports.

Never a raw ISO timestamp or a count of nanoseconds: "26 Nov 2026" and
"26 Nov 2026 14:03:05 UTC". Stored moments are UTC (a naive one is taken to be UTC, as
SQLite hands them back).
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day(value: date | datetime | None) -> str:
    """A calendar date ("26 Nov 2026"); for a moment, its UTC date; "unknown" for None."""
    if value is None:
        return "unknown"
    if isinstance(value, datetime):
        value = utc(value).date()
    return f"{value.day} {value:%b %Y}"


def moment(value: datetime | None) -> str:
    """A moment to the second, in UTC ("26 Nov 2026 14:03:05 UTC"); "unknown" for None."""
    if value is None:
        return "unknown"
    value = utc(value)
    return f"{day(value)} {value:%H:%M:%S} UTC"


def moment_ns(ns: int) -> str:
    """A time in nanoseconds since 1970 (as the share reports it), to the second."""
    if ns <= 0:
        return "not recorded"
    return moment(datetime.fromtimestamp(ns // 1_000_000_000, UTC))


def byte_count(size: int) -> str:
    return f"{size:,} byte{'' if size == 1 else 's'}"
