"""The UK working-day calendar that every statutory deadline is counted on.

A working day is any day other than a Saturday, a Sunday, Christmas Day, Good Friday or a day
that is a bank holiday in *any* part of the United Kingdom (FOIA s.10(6), EIR reg 2(1)). So a
Scotland-only or Northern Ireland-only holiday is not a working day for an English council,
while council closure days (24 December, 29-31 December) are.

Holidays come from the `holidays` package (union of the GB subdivisions ENG, WLS, SCT and NIR),
plus Christmas Day and Good Friday named by the statute itself, plus administrator-maintained
`ExtraNonWorkingDay` records for days created by proclamation that the package lacks.

`UKWorkingCalendar.version` identifies the rules, the package release and the extra days, so a
stored deadline can say which calendar produced it and be recalculated when that changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import holidays
from holidays.countries.united_kingdom import UnitedKingdom
from holidays.version import __version__ as holidays_version

# Bump when the working-day definition in this module changes, so stored deadlines can tell.
CALENDAR_RULES_VERSION = "1"

_ONE_DAY = dt.timedelta(days=1)


class NationTag(StrEnum):
    """Where a day is not a working day: one UK nation, all of them, or the weekend."""

    ENG = "ENG"
    WLS = "WLS"
    SCT = "SCT"
    NIR = "NIR"
    UK = "UK"
    WEEKEND = "weekend"


_NATIONS: tuple[NationTag, ...] = (NationTag.ENG, NationTag.WLS, NationTag.SCT, NationTag.NIR)


class CalendarRangeError(ValueError):
    """A date lies outside the years the holiday data covers, so no deadline can be trusted."""


@dataclass(frozen=True)
class NonWorkingReason:
    """One reason a day is not a working day.

    `nations` is ("weekend",) for Saturdays and Sundays, ("UK",) for a holiday of that name in
    all four nations, otherwise the nations that keep it, in the order ENG, WLS, SCT, NIR.
    Reasons that are not about the calendar (a deadline's fee window) have no nations.
    """

    name: str
    nations: tuple[NationTag, ...]

    def label(self) -> str:
        """'New Year Holiday [SCT]'; just the name when no nation applies."""
        if not self.nations:
            return self.name
        return f"{self.name} [{', '.join(self.nations)}]"


@dataclass(frozen=True)
class ExtraNonWorkingDay:
    """A non-working day the `holidays` package does not know, e.g. one made by proclamation.

    `nations` holds ENG, WLS, SCT, NIR or UK tags (plain strings with those values are
    accepted from stored data) and is normalised to the form `NonWorkingReason.nations` uses.
    """

    date: dt.date
    name: str
    nations: tuple[NationTag, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.date, dt.date) or isinstance(self.date, dt.datetime):
            raise ValueError(f"extra non-working day needs a date, got {self.date!r}")
        if not self.name.strip():
            raise ValueError(f"extra non-working day {self.date} needs a name")
        tags: set[NationTag] = set()
        for raw in self.nations:
            try:
                tag = NationTag(raw)
            except ValueError:
                raise ValueError(
                    f"extra non-working day {self.date}: unknown nation {raw!r} "
                    "(use ENG, WLS, SCT, NIR or UK)"
                ) from None
            if tag is NationTag.WEEKEND:
                raise ValueError(f"extra non-working day {self.date}: 'weekend' is not a nation")
            tags.update(_NATIONS if tag is NationTag.UK else (tag,))
        if not tags:
            raise ValueError(f"extra non-working day {self.date} needs at least one nation")
        object.__setattr__(self, "nations", _collapse(tags))


def _collapse(nations: Iterable[NationTag]) -> tuple[NationTag, ...]:
    present = set(nations)
    if present >= set(_NATIONS):
        return (NationTag.UK,)
    return tuple(nation for nation in _NATIONS if nation in present)


def add_calendar_months(day: dt.date, months: int) -> dt.date:
    """The same date `months` later, or that month's last day when the date does not exist."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_month_first = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (next_month_first - _ONE_DAY).day))


def _easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (the anonymous Meeus/Jones/Butcher algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


class UKWorkingCalendar:
    """Working days for UK statutory deadlines.

    Invariants: `is_working_day(d)` is False exactly when `reason(d)` is non-empty; holiday data
    is built once per year and then only read, so one instance can be shared across threads
    (a race at worst builds the same year twice). Dates outside `first_year`..`last_year`
    raise `CalendarRangeError` rather than silently counting as working days.
    """

    first_year: int = UnitedKingdom.start_year
    last_year: int = UnitedKingdom.end_year

    def __init__(self, extra_non_working_days: Iterable[ExtraNonWorkingDay] = ()) -> None:
        self._extra = tuple(
            sorted(extra_non_working_days, key=lambda day: (day.date, day.name, day.nations))
        )
        self._by_year: dict[int, Mapping[dt.date, tuple[NonWorkingReason, ...]]] = {}
        self._version = self._compute_version()

    @property
    def version(self) -> str:
        """Rules, `holidays` release and extra days; equal versions give equal answers."""
        return self._version

    @property
    def extra_non_working_days(self) -> tuple[ExtraNonWorkingDay, ...]:
        return self._extra

    def is_working_day(self, day: dt.date) -> bool:
        if day.weekday() >= 5:
            self._check_year(day.year)
            return False
        return day not in self._holidays_in(day.year)

    def reason(self, day: dt.date) -> list[NonWorkingReason]:
        """Why `day` is not a working day; an empty list means it is one."""
        reasons: list[NonWorkingReason] = []
        if day.weekday() >= 5:
            reasons.append(NonWorkingReason(f"{day:%A}", (NationTag.WEEKEND,)))
        reasons.extend(self._holidays_in(day.year).get(day, ()))
        return reasons

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        return self.first_working_day_on_or_after(day + _ONE_DAY)

    def first_working_day_on_or_after(self, day: dt.date) -> dt.date:
        """`day` itself if it is a working day, otherwise the next one."""
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The `n`th working day after `start`; day 1 is the first working day after `start`.

        `start` itself never counts, whether or not it is a working day, and `n=0` returns
        `start`. For any n >= 0, `working_days_between(start, result) == n`.
        """
        if n < 0:
            raise ValueError(f"cannot add a negative number of working days ({n})")
        day = start
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in the half-open span (start, end]; negative when `end` is earlier."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    def _check_year(self, year: int) -> None:
        if not self.first_year <= year <= self.last_year:
            raise CalendarRangeError(
                f"no UK holiday data for {year}; the calendar covers "
                f"{self.first_year}-{self.last_year}"
            )

    def _holidays_in(self, year: int) -> Mapping[dt.date, tuple[NonWorkingReason, ...]]:
        cached = self._by_year.get(year)
        if cached is None:
            self._check_year(year)
            cached = self._build_year(year)
            self._by_year[year] = cached
        return cached

    def _build_year(self, year: int) -> Mapping[dt.date, tuple[NonWorkingReason, ...]]:
        nations_by_name: defaultdict[dt.date, defaultdict[str, set[NationTag]]] = defaultdict(
            lambda: defaultdict(set)
        )
        for nation in _NATIONS:
            subdivision = holidays.country_holidays("GB", subdiv=nation.value, years=year)
            for day in subdivision:
                for name in subdivision.get_list(day):
                    nations_by_name[day][name].add(nation)
        # Named by FOIA s.10(6) itself, so they hold whatever the package says.
        nations_by_name[dt.date(year, 12, 25)]["Christmas Day"].update(_NATIONS)
        nations_by_name[_easter_sunday(year) - 2 * _ONE_DAY]["Good Friday"].update(_NATIONS)
        for extra in self._extra:
            if extra.date.year == year:
                nations = _NATIONS if extra.nations == (NationTag.UK,) else extra.nations
                nations_by_name[extra.date][extra.name].update(nations)
        return {
            day: tuple(
                NonWorkingReason(name, _collapse(nations))
                for name, nations in sorted(names.items())
            )
            for day, names in nations_by_name.items()
        }

    def _compute_version(self) -> str:
        extra_lines = "\n".join(
            f"{day.date.isoformat()}|{day.name}|{','.join(day.nations)}" for day in self._extra
        )
        digest = hashlib.sha256(extra_lines.encode("utf-8")).hexdigest()[:12]
        return (
            f"uk-working-days-{CALENDAR_RULES_VERSION}/holidays-{holidays_version}/extra-{digest}"
        )
