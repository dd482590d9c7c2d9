"""Matches that are no longer held: records destroyed under the retention schedule, whose
stubs a scoping search still finds by their name and metadata.

A scoping search counts live records only and names these apart, with when and under which
class they were destroyed, so a statement never drops them silently: "not held" is an answer
the requester is owed (FOIA s.1(1)(a)), and the destruction certificate is its evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core.models import DisposalItem


@dataclass(frozen=True)
class DestroyedGroup:
    """Destroyed matches destroyed on one day under one class."""

    count: int
    day: dt.date | None
    class_id: str
    class_name: str

    def __str__(self) -> str:
        when = f" on {people_date(self.day)}" if self.day else ""
        under = f" under {self.class_id}" if self.class_id else ""
        named = f" ({self.class_name})" if self.class_name else ""
        return f"{self.count} not held — destroyed{when}{under}{named}"


def people_date(day: dt.date) -> str:
    """'3 March 2026': a date as people write it."""
    return f"{day.day} {day:%B %Y}"


def with_class_names(session: Session, found: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The destroyed matches with each one's class name, as its disposal batch recorded it."""
    ids = [str(m.get("doc_id") or "") for m in found]
    names: dict[tuple[str, int], str] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(DisposalItem.doc_id, DisposalItem.batch_id, DisposalItem.class_name).where(
                DisposalItem.doc_id.in_(ids[start : start + 500]),
                DisposalItem.outcome == "destroyed",
            )
        )
        names.update({(doc_id, batch): name for doc_id, batch, name in rows})
    return [
        {**m, "class_name": names.get((str(m.get("doc_id")), int(m.get("disposal_batch") or 0)))}
        for m in found
    ]


def destroyed_groups(matches: Iterable[Mapping[str, Any]], total: int = 0) -> list[DestroyedGroup]:
    """Destroyed matches grouped by day and class, oldest first; `total` beyond those listed
    (a search keeps a bounded list) is one group more, of unknown day and class."""
    groups: dict[tuple[dt.date | None, str, str], int] = {}
    seen: set[str] = set()
    for match in matches:
        doc_id = str(match.get("doc_id") or "")
        if doc_id in seen:
            continue
        seen.add(doc_id)
        key = (
            _day(match.get("destroyed")),
            str(match.get("destruction_class") or ""),
            str(match.get("class_name") or ""),
        )
        groups[key] = groups.get(key, 0) + 1
    ordered = sorted(groups.items(), key=lambda item: (item[0][0] or dt.date.max, item[0][1]))
    found = [DestroyedGroup(count, *key) for key, count in ordered]
    if total > len(seen):
        found.append(DestroyedGroup(total - len(seen), None, "", ""))
    return found


def search_destroyed(counts: Mapping[str, Any]) -> list[DestroyedGroup]:
    """The destroyed matches a kept scoping search recorded (none for searches kept before
    they were recorded)."""
    return destroyed_groups(
        counts.get("destroyed_matches") or (), int(counts.get("destroyed") or 0)
    )


def _day(value: object) -> dt.date | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC).date() if moment.tzinfo else moment.date()
