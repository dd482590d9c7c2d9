"""Template filters shared by the records-management pages (holds, retention, disposal)."""

from __future__ import annotations

from datetime import date, datetime

_KIB = 1024
_MIB = _KIB * 1024
_GIB = _MIB * 1024


def file_size(value: int | None) -> str:
    """A size people read at a glance: bytes below 1 KiB, then KiB, MiB or GiB."""
    size = int(value or 0)
    if size < _KIB:
        return f"{size:,} bytes"
    if size < _MIB:
        return f"{size / _KIB:,.1f} KiB"
    if size < _GIB:
        return f"{size / _MIB:,.1f} MiB"
    return f"{size / _GIB:,.2f} GiB"


def when(value: datetime | date | None) -> str:
    """A moment as stored (UTC), to the minute; "—" when there is none."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return value.isoformat()
