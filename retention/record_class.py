"""Record classes: what a class covers, its rule, and a document's classification under it.

Dates: `last_modified`, `created` and `financial_year_end` count from the share's own
timestamps of the file (`share_modified`, `share_created`: the SMB last-write and creation
times the crawler records). Dates written inside a file (Office, PDF or e-mail metadata: the
index's `modified` and `created`) can be anything a template or an author left there, so they
are used only by a class that asks for them by name (`embedded_modified`, `embedded_created`).

Sign-off: a class is disposable only once the schedule says `sign_off: signed_off`. Its files
are classified and dated all the same, and the reason says why nothing will be destroyed.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from retention.globs import matches_any


class Action(StrEnum):
    DESTROY = "destroy"
    REVIEW = "review"
    PERMANENT = "permanent"


class Trigger(StrEnum):
    LAST_MODIFIED = "last_modified"
    CREATED = "created"
    FINANCIAL_YEAR_END = "financial_year_end"
    CASE_CLOSED = "case_closed"
    EMBEDDED_MODIFIED = "embedded_modified"
    EMBEDDED_CREATED = "embedded_created"


@dataclass(frozen=True)
class Period:
    """A non-negative retention period in calendar years, months and days."""

    years: int = 0
    months: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        if min(self.years, self.months, self.days) < 0:
            raise ValueError(f"a retention period cannot be negative: {self!r}")

    def add_to(self, start: date) -> date:
        """``start`` plus the period. Years and months are calendar steps, and a day past the
        end of the target month clamps to its last day (29 Feb 2024 + 1 year = 28 Feb 2025),
        so a disposal date never rolls over into the following month."""
        month_index = start.month - 1 + self.years * 12 + self.months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(days=self.days)

    def __str__(self) -> str:
        units = ((self.years, "year"), (self.months, "month"), (self.days, "day"))
        parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
        return " ".join(parts) or "0 days"


def financial_year_end(day: date) -> date:
    """The 31 March that ends the UK financial year containing ``day``."""
    end = date(day.year, 3, 31)
    return end if day <= end else date(day.year + 1, 3, 31)


# Only text fields of the index document. A misspelt field would make its class match nothing,
# silently pushing documents into a later, broader class, so unknown names are rejected.
METADATA_FIELDS = frozenset({
    "authors", "title", "filename", "folder", "share", "kind", "language",
    "email_from", "email_to", "email_cc", "email_subject", "acl_owner",
})  # fmt: skip


def _strings(raw: Any) -> list[str]:
    values = raw if isinstance(raw, list | tuple) else [raw]
    return [value for value in values if isinstance(value, str)]


@dataclass(frozen=True)
class Match:
    """What a class covers: every criterion given must match (AND); within a criterion any
    listed value may (OR). A document lacking the field a criterion tests does not match."""

    sources: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    mime_types: tuple[str, ...] = ()
    metadata: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def matches(self, doc: Mapping[str, Any]) -> bool:
        for wanted, key in ((self.sources, "source"), (self.extensions, "extension")):
            folded = {value.casefold() for value in wanted}
            if wanted and not any(v.casefold() in folded for v in _strings(doc.get(key))):
                return False
        globbed = [("path", self.paths), ("mime_type", self.mime_types), *self.metadata]
        return all(
            matches_any(globs, _strings(doc.get(key)), path=key == "path")
            for key, globs in globbed
            if globs
        )


@dataclass(frozen=True)
class RecordClass:
    """One line of the schedule. ``period`` is None exactly when the action is permanent."""

    id: str
    name: str
    authority: str
    action: Action
    period: Period | None
    trigger: Trigger
    match: Match
    signed_off: bool


@dataclass(frozen=True)
class Classification:
    """Where a document sits in the schedule; ``reason`` shows the working in words.

    ``rule`` is the class's rule in words ("destroy 6 years after last modification on the
    share"); ``trigger_date`` the date it counts from (None when there is none yet);
    ``disposal_date`` the date the period runs out, which is a date of destruction only when
    ``disposable`` (a `destroy` class that is signed off)."""

    class_id: str
    class_name: str
    action: Action
    authority: str
    disposal_date: date | None
    reason: str
    rule: str = ""
    trigger_date: date | None = None
    signed_off: bool = False

    @property
    def disposable(self) -> bool:
        return self.action is Action.DESTROY and self.signed_off


_TRIGGER_WORDS = {
    Trigger.LAST_MODIFIED: "last modification on the share",
    Trigger.CREATED: "creation on the share",
    Trigger.FINANCIAL_YEAR_END: "the end of the financial year of last modification on the share",
    Trigger.CASE_CLOSED: "case closure",
    Trigger.EMBEDDED_MODIFIED: "the last-modified date recorded inside the file",
    Trigger.EMBEDDED_CREATED: "the creation date recorded inside the file",
}

# Which index field each date trigger reads, and how the working names the date found. The
# index's `modified` and `created` hold the share's time when a file records none of its own.
_TRIGGER_FIELDS = {
    Trigger.LAST_MODIFIED: ("share_modified", "last written"),
    Trigger.FINANCIAL_YEAR_END: ("share_modified", "last written"),
    Trigger.CREATED: ("share_created", "created"),
    Trigger.EMBEDDED_MODIFIED: ("modified", "modified, by the file's own metadata,"),
    Trigger.EMBEDDED_CREATED: ("created", "created, by the file's own metadata,"),
}
_SHARE_FIELD = {"modified": "share_modified", "created": "share_created"}
_SHARE_WORDS = {"modified": "last written", "created": "created"}
NOT_SIGNED_OFF = "not signed off in the schedule (sign_off: required), so never destroyed"


def _document_date(raw: Any) -> date | None:
    # The calendar date as written: converting the offset could move a record across a
    # financial year end at midnight, and officers read the date the file shows.
    if isinstance(raw, date):
        return raw.date() if isinstance(raw, datetime) else raw
    try:
        return date.fromisoformat(raw[:10]) if isinstance(raw, str) else None
    except ValueError:
        return None


def rule_words(rc: RecordClass) -> str:
    """The class's rule in words, e.g. "destroy 6 years after last modification on the share"."""
    if rc.period is None:
        return "keep permanently"
    return f"{rc.action} {rc.period} after {_TRIGGER_WORDS[rc.trigger]}"


def classify_document(
    rc: RecordClass, doc: Mapping[str, Any], closed: date | None
) -> Classification:
    rule = rule_words(rc)

    def result(
        disposal: date | None, working: str, trigger_date: date | None = None
    ) -> Classification:
        if rc.action is Action.DESTROY and not rc.signed_off:
            working += f"; {NOT_SIGNED_OFF}"
        reason = f"{rc.id} {rc.name}: {working}"
        return Classification(
            rc.id,
            rc.name,
            rc.action,
            rc.authority,
            disposal,
            reason,
            rule,
            trigger_date,
            rc.signed_off,
        )

    if rc.period is None:
        return result(None, rule)
    if rc.trigger is Trigger.CASE_CLOSED:
        if closed is None:
            return result(None, f"{rule}; awaiting case closure, so no disposal date yet")
        start, shown = closed, f"closed {closed}"
    else:
        field_name, words = _TRIGGER_FIELDS[rc.trigger]
        found_date = _document_date(doc.get(field_name))
        if found_date is None:
            missing = (
                "the file records no such date"
                if field_name in _SHARE_FIELD
                else "the share's time is not recorded for this file (indexed before it was: "
                "crawl again with `foi crawl --full`)"
            )
            return result(None, f"{rule}; {missing}, so no disposal date")
        if field_name in _SHARE_FIELD and doc.get(field_name) == doc.get(_SHARE_FIELD[field_name]):
            words = f"the file records no date of its own; {_SHARE_WORDS[field_name]} on the share"
        start, shown = found_date, f"{words} {found_date}"
        if rc.trigger is Trigger.FINANCIAL_YEAR_END:
            start = financial_year_end(found_date)
            shown += f"; year ended {start}"
    try:
        disposal = rc.period.add_to(start)
    except (ValueError, OverflowError):
        return result(None, f"{rule} ({shown}); that falls after the year 9999, so no date", start)
    return result(disposal, f"{rule} ({shown}) → {disposal}", start)
