"""Retention schedules: which record class a document belongs to, and when it falls due.

A schedule is YAML (``seed_schedule.yaml`` shows the shape). Loading validates the whole file
and reports every problem at once, so an officer fixes a schedule in one sitting rather than
one error per run. Classification is pure and deterministic: the first class whose criteria all
match wins, so the order of the file is its priority.

The record classes themselves (matching, triggers, sign-off) are in `retention.record_class`;
their names are re-exported here.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from retention.record_class import (
    METADATA_FIELDS,
    NOT_SIGNED_OFF,
    Action,
    Classification,
    Match,
    Period,
    RecordClass,
    Trigger,
    classify_document,
    financial_year_end,
    rule_words,
)

__all__ = [
    "NOT_SIGNED_OFF",
    "Action",
    "Classification",
    "Match",
    "Period",
    "RecordClass",
    "Schedule",
    "ScheduleError",
    "Trigger",
    "financial_year_end",
    "load_schedule",
    "load_schedule_file",
    "rule_words",
    "seed_schedule_text",
]


class ScheduleError(ValueError):
    """The schedule cannot be used as written; each of ``problems`` says where and why."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Schedule:
    """A validated schedule; ``text`` is the YAML it came from, kept for certificates."""

    version: str
    title: str
    classes: tuple[RecordClass, ...]
    text: str = field(repr=False)

    @cached_property
    def sha256(self) -> str:
        """The hash of the text as stored (`retention_schedules.sha256`), cited on certificates."""
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def disposable_classes(self) -> tuple[str, ...]:
        """The ids of the signed-off `destroy` classes: the only ones anything is destroyed
        under."""
        return tuple(c.id for c in self.classes if c.action is Action.DESTROY and c.signed_off)

    def classify(
        self, doc: Mapping[str, Any], *, case_closed: date | None = None
    ) -> Classification | None:
        """The first matching class's verdict, or None: a gap the council must fill."""
        for record_class in self.classes:
            if record_class.match.matches(doc):
                return classify_document(record_class, doc, case_closed)
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
    records it and returns a placeholder; a class with any problem is then discarded.

    ``sources``, when given, are the registered source names: a class naming any other source
    would match nothing, silently leaving its files to a later, broader class."""

    def __init__(self, sources: Collection[str] | None = None) -> None:
        self.problems: list[str] = []
        self.sources = None if sources is None else sorted(sources)

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
        self.registered(lists.get("sources", ()), f"{where}.sources")
        for index, extension in enumerate(lists.get("extensions", ())):
            if extension.startswith("."):
                self.report(f"{where}.extensions[{index}]", f"write {extension[1:]!r}, no dot")
        metadata: dict[Any, Any] = {}
        if "metadata" in data:
            metadata = self.mapping(data["metadata"], f"{where}.metadata", sorted(METADATA_FIELDS))
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

    def registered(self, names: Sequence[str], where: str) -> None:
        if self.sources is None:
            return
        known = {name.casefold() for name in self.sources}
        for index, name in enumerate(names):
            if not name or name.casefold() in known:
                continue
            close = difflib.get_close_matches(name, self.sources, n=1)
            if close:
                hint = f"did you mean '{close[0]}'?"
            elif self.sources:
                hint = f"the sources are {', '.join(self.sources)}"
            else:
                hint = "no source is registered yet (foi sources add)"
            self.report(f"{where}[{index}]", f"{name!r} is not a registered source; {hint}")

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
        if not isinstance(sign_off, str) or sign_off not in _SIGN_OFF:
            self.report(f"{where}.sign_off", f"{_shown(sign_off)} is not required or signed_off")
        if len(self.problems) > before:
            return None
        return RecordClass(
            class_id, name, authority, action, period, trigger, match, _SIGN_OFF[sign_off]
        )


def load_schedule(text: str, *, sources: Collection[str] | None = None) -> Schedule:
    """Parse and validate a schedule, raising ScheduleError that lists every problem found.

    With ``sources`` (the registered source names), a class naming any other source is a
    problem too; schedules already in force are read without it."""
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
    check = _Validator(sources)
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
