"""Retention schedules: which record class a document belongs to, and when it falls due.

A schedule is YAML (``seed_schedule.yaml`` shows the shape). Loading validates the whole file
and reports every problem at once, so an officer fixes a schedule in one sitting rather than
one error per run. Classification is pure and deterministic: the first class whose criteria all
match wins, so the order of the file is its priority.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from retention.globs import matches_any


class ScheduleError(ValueError):
    """The schedule cannot be used as written; each of ``problems`` says where and why."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Action(StrEnum):
    DESTROY = "destroy"
    REVIEW = "review"
    PERMANENT = "permanent"


class Trigger(StrEnum):
    LAST_MODIFIED = "last_modified"
    CREATED = "created"
    FINANCIAL_YEAR_END = "financial_year_end"
    CASE_CLOSED = "case_closed"


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
_METADATA_FIELDS = frozenset({
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
    """Where a document sits in the schedule; ``reason`` shows the working in words."""

    class_id: str
    class_name: str
    action: Action
    authority: str
    disposal_date: date | None
    reason: str


_TRIGGER_WORDS = {
    Trigger.LAST_MODIFIED: "last modification",
    Trigger.CREATED: "creation",
    Trigger.FINANCIAL_YEAR_END: "the end of the financial year of last modification",
    Trigger.CASE_CLOSED: "case closure",
}


def _document_date(raw: Any) -> date | None:
    # The calendar date as written: converting the offset could move a record across a
    # financial year end at midnight, and officers read the date the file shows.
    if isinstance(raw, date):
        return raw.date() if isinstance(raw, datetime) else raw
    try:
        return date.fromisoformat(raw[:10]) if isinstance(raw, str) else None
    except ValueError:
        return None


def _classification(rc: RecordClass, doc: Mapping[str, Any], closed: date | None) -> Classification:
    def result(disposal: date | None, working: str) -> Classification:
        reason = f"{rc.id} {rc.name}: {working}"
        return Classification(rc.id, rc.name, rc.action, rc.authority, disposal, reason)

    if rc.period is None:
        return result(None, "keep permanently")
    rule = f"{rc.action} {rc.period} after {_TRIGGER_WORDS[rc.trigger]}"
    if rc.trigger is Trigger.CASE_CLOSED:
        if closed is None:
            return result(None, f"{rule}; awaiting case closure, so no disposal date yet")
        start, shown = closed, f"closed {closed}"
    else:
        name = "created" if rc.trigger is Trigger.CREATED else "modified"
        found = _document_date(doc.get(name))
        if found is None:
            return result(None, f"{rule}; the document has no {name} date, so no disposal date")
        start, shown = found, f"{name} {found}"
        if rc.trigger is Trigger.FINANCIAL_YEAR_END:
            start = financial_year_end(found)
            shown += f"; year ended {start}"
    try:
        disposal = rc.period.add_to(start)
    except (ValueError, OverflowError):
        return result(None, f"{rule} ({shown}); that falls after the year 9999, so no date")
    return result(disposal, f"{rule} ({shown}) → {disposal}")


@dataclass(frozen=True)
class Schedule:
    """A validated schedule; ``text`` is the YAML it came from, kept for certificates."""

    version: str
    title: str
    classes: tuple[RecordClass, ...]
    text: str = field(repr=False)

    def classify(
        self, doc: Mapping[str, Any], *, case_closed: date | None = None
    ) -> Classification | None:
        """The first matching class's verdict, or None: a gap the council must fill."""
        for record_class in self.classes:
            if record_class.match.matches(doc):
                return _classification(record_class, doc, case_closed)
        return None

    def get(self, class_id: str) -> RecordClass:
        """The class with this id; KeyError if the schedule has none."""
        return {record_class.id: record_class for record_class in self.classes}[class_id]


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that rejects a repeated key, which PyYAML would resolve to the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: list[Any] = []
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark, problem = key_node.start_mark, f"duplicate key {key!r}"
                raise yaml.constructor.ConstructorError(None, None, problem, mark)
            seen.append(key)
        return super().construct_mapping(node, deep=deep)


_ID = re.compile(r"[A-Za-z0-9_.-]+")
_PERIOD = re.compile(r"([0-9]+)\s*(years?|y|months?|m|days?|d)", re.IGNORECASE)
_UNITS = {"y": ("years", 1), "m": ("months", 12), "d": ("days", 365)}
_CLASS_KEYS = ("id", "name", "authority", "match", "retention", "trigger", "action", "sign_off")
_MATCH_LISTS = ("sources", "paths", "extensions", "mime_types")
_SIGN_OFF = {"required": False, "signed_off": True}
_Choice = TypeVar("_Choice", bound=StrEnum)


def _shown(raw: Any) -> str:
    if raw is None or isinstance(raw, bool):
        return {None: "nothing", True: "true", False: "false"}[raw]
    if isinstance(raw, list | dict):
        return "a list" if isinstance(raw, list) else "a mapping"
    return repr(raw) if isinstance(raw, str) else str(raw)


class _Validator:
    """Collects every problem rather than stopping at the first. A parser that finds a problem
    records it and returns a placeholder; a class with any problem is then discarded."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def report(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def mapping(self, raw: Any, where: str, allowed: Sequence[str]) -> dict[Any, Any]:
        if not isinstance(raw, dict):
            self.report(where, f"expected a mapping of {', '.join(allowed)}; got {_shown(raw)}")
            return {}
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"use {', '.join(allowed)}"
                self.report(f"{where}.{key}" if where else str(key), f"unknown key; {hint}")
        return raw

    def text(self, raw: Any, where: str) -> str:
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
        if raw is None or isinstance(raw, str):
            self.report(where, "missing" if raw is None else "is empty")
        else:
            quote = "; put it in quotes" if isinstance(raw, bool | int | float | date) else ""
            self.report(where, f"expected text, got {_shown(raw)}{quote}")
        return ""

    def texts(self, raw: Any, where: str) -> tuple[str, ...]:
        if raw == []:
            self.report(where, "is empty; list at least one value or remove the key")
        if not isinstance(raw, list):
            return (self.text(raw, where),)
        return tuple(self.text(value, f"{where}[{index}]") for index, value in enumerate(raw))

    def choice(self, raw: Any, kind: type[_Choice], where: str) -> _Choice:
        values = [member.value for member in kind]
        if isinstance(raw, str) and raw.strip().lower() in values:
            return kind(raw.strip().lower())
        noun = "an action" if kind is Action else f"a {kind.__name__.lower()}"
        self.report(where, f"{_shown(raw)} is not {noun}; use {', '.join(values)}")
        return kind(values[0])

    def period(self, raw: Any, where: str) -> Period | None:
        if isinstance(raw, str) and raw.strip().lower() == "permanent":
            return None
        found = _PERIOD.fullmatch(raw.strip()) if isinstance(raw, str) else None
        if found is None:
            hint = "use e.g. '6 years', '18 months', 'permanent'"
            self.report(where, f"{_shown(raw)} is not a period; {hint}")
            return Period()
        (unit, per_year), count = _UNITS[found[2][0].lower()], int(found[1])
        if count > 200 * per_year:
            self.report(where, f"{raw!r} is over 200 years; use 'permanent'")
            return Period()
        return Period(**{unit: count})

    def match(self, raw: Any, where: str) -> Match:
        if raw is None or raw == {}:
            self.report(where, "is empty, so it would match every document; add criteria")
            return Match()
        data = self.mapping(raw, where, (*_MATCH_LISTS, "metadata"))
        lists = {
            key: self.texts(data[key], f"{where}.{key}") for key in _MATCH_LISTS if key in data
        }
        for index, glob in enumerate(lists.get("paths", ())):
            if glob.startswith("/") or "\\" in glob:
                self.report(f"{where}.paths[{index}]", "must be relative to the share, using '/'")
        for index, extension in enumerate(lists.get("extensions", ())):
            if extension.startswith("."):
                self.report(f"{where}.extensions[{index}]", f"write {extension[1:]!r}, no dot")
        metadata: dict[Any, Any] = {}
        if "metadata" in data:
            metadata = self.mapping(data["metadata"], f"{where}.metadata", sorted(_METADATA_FIELDS))
            if data["metadata"] == {}:
                self.report(f"{where}.metadata", "is empty; name at least one field")
        return Match(
            sources=lists.get("sources", ()),
            paths=lists.get("paths", ()),
            extensions=tuple(extension.lower() for extension in lists.get("extensions", ())),
            mime_types=lists.get("mime_types", ()),
            metadata=tuple(
                (str(name), self.texts(globs, f"{where}.metadata.{name}"))
                for name, globs in metadata.items()
            ),
        )

    def record_class(self, raw: Any, where: str) -> RecordClass | None:
        before = len(self.problems)
        data = self.mapping(raw, where, _CLASS_KEYS)
        if not isinstance(raw, dict):
            return None
        class_id = self.text(data.get("id"), f"{where}.id")
        if class_id and not _ID.fullmatch(class_id):
            self.report(f"{where}.id", "use only letters, digits, '_', '.' and '-'")
        name = self.text(data.get("name"), f"{where}.name")
        authority = self.text(data.get("authority"), f"{where}.authority")
        match = self.match(data.get("match"), f"{where}.match")
        parsed = len(self.problems)
        period = self.period(data.get("retention"), f"{where}.retention")
        trigger = self.choice(data.get("trigger"), Trigger, f"{where}.trigger")
        action = self.choice(data.get("action"), Action, f"{where}.action")
        if len(self.problems) == parsed and (action is Action.PERMANENT) != (period is None):
            pair = f"'{action}' with retention '{period or 'permanent'}'"
            self.report(f"{where}.action", f"{pair}: both must be permanent, or neither")
        sign_off = data.get("sign_off", "required")
        if sign_off not in _SIGN_OFF:
            self.report(f"{where}.sign_off", f"{_shown(sign_off)} is not required or signed_off")
        if len(self.problems) > before:
            return None
        return RecordClass(
            class_id, name, authority, action, period, trigger, match, _SIGN_OFF[sign_off]
        )


def load_schedule(text: str) -> Schedule:
    """Parse and validate a schedule, raising ScheduleError that lists every problem found."""
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScheduleError([f"YAML syntax error{at}: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise ScheduleError([f"YAML syntax error: {exc}"]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScheduleError([f"the schedule: expected a mapping, got {_shown(data)}"])
    check = _Validator()
    check.mapping(data, "", ("version", "title", "classes"))
    version = check.text(data.get("version"), "version")
    title = check.text(data["title"], "title") if "title" in data else ""
    raw_classes = data.get("classes")
    if not isinstance(raw_classes, list) or not raw_classes:
        check.report("classes", f"expected a list of at least one class; got {_shown(raw_classes)}")
        raw_classes = []
    classes: list[RecordClass] = []
    first_use: dict[str, int] = {}
    for index, raw in enumerate(raw_classes):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        raw_id = raw_id.strip() if isinstance(raw_id, str) and raw_id.strip() else None
        where = f"classes[{index}] ({raw_id})" if raw_id else f"classes[{index}]"
        record_class = check.record_class(raw, where)
        classes += [record_class] if record_class else []
        if raw_id and raw_id.casefold() in first_use:
            check.report(f"{where}.id", f"already used by classes[{first_use[raw_id.casefold()]}]")
        elif raw_id:
            first_use[raw_id.casefold()] = index
    if check.problems:
        raise ScheduleError(check.problems)
    return Schedule(version=version, title=title, classes=tuple(classes), text=text)


def load_schedule_file(path: Path) -> Schedule:
    """Load a schedule from disk; every problem is prefixed with the path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScheduleError([f"{path}: cannot read the schedule ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError:
        raise ScheduleError([f"{path}: the schedule is not UTF-8 text"]) from None
    try:
        return load_schedule(text)
    except ScheduleError as exc:
        raise ScheduleError([f"{path}: {problem}" for problem in exc.problems]) from None


def seed_schedule_text() -> str:
    """The packaged seed schedule: a starting point that needs the council's own sign-off."""
    return resources.files("retention").joinpath("seed_schedule.yaml").read_text(encoding="utf-8")
