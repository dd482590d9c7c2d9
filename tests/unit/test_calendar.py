"""The UK working calendar: which days are working days, and why the others are not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.deadlines.calendar import (
    CalendarRangeError,
    ExtraNonWorkingDay,
    NationTag,
    NonWorkingReason,
    UKWorkingCalendar,
    add_calendar_months,
)

ENG, WLS, SCT, NIR, UK = NationTag.ENG, NationTag.WLS, NationTag.SCT, NationTag.NIR, NationTag.UK
WEEKEND = NationTag.WEEKEND

DATES = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2095, 12, 31))


@pytest.fixture(scope="module")
def calendar() -> UKWorkingCalendar:
    return UKWorkingCalendar()


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


class TestWorkedExampleWindow:
    """18 December 2025 to 21 January 2026, from the statutory rules note."""

    def test_non_working_days_are_exactly_the_listed_ones(
        self, calendar: UKWorkingCalendar
    ) -> None:
        non_working = [
            day
            for day in days(dt.date(2025, 12, 19), dt.date(2026, 1, 21))
            if not calendar.is_working_day(day)
        ]
        assert non_working == [
            dt.date(2025, 12, 20),
            dt.date(2025, 12, 21),
            dt.date(2025, 12, 25),
            dt.date(2025, 12, 26),
            dt.date(2025, 12, 27),
            dt.date(2025, 12, 28),
            dt.date(2026, 1, 1),
            dt.date(2026, 1, 2),
            dt.date(2026, 1, 3),
            dt.date(2026, 1, 4),
            dt.date(2026, 1, 10),
            dt.date(2026, 1, 11),
            dt.date(2026, 1, 17),
            dt.date(2026, 1, 18),
        ]

    def test_scottish_second_of_january_is_named_and_tagged(
        self, calendar: UKWorkingCalendar
    ) -> None:
        assert calendar.reason(dt.date(2026, 1, 2)) == [
            NonWorkingReason("New Year Holiday", (SCT,))
        ]

    def test_holidays_of_every_nation_are_tagged_uk(self, calendar: UKWorkingCalendar) -> None:
        assert calendar.reason(dt.date(2025, 12, 25)) == [NonWorkingReason("Christmas Day", (UK,))]
        assert calendar.reason(dt.date(2026, 1, 1)) == [NonWorkingReason("New Year's Day", (UK,))]

    def test_weekend_is_tagged_weekend(self, calendar: UKWorkingCalendar) -> None:
        assert calendar.reason(dt.date(2025, 12, 20)) == [NonWorkingReason("Saturday", (WEEKEND,))]
        assert calendar.reason(dt.date(2025, 12, 21)) == [NonWorkingReason("Sunday", (WEEKEND,))]

    @pytest.mark.parametrize(
        "closure_day",
        [
            dt.date(2025, 12, 24),
            dt.date(2025, 12, 29),
            dt.date(2025, 12, 30),
            dt.date(2025, 12, 31),
        ],
    )
    def test_council_closure_days_are_working_days(
        self, calendar: UKWorkingCalendar, closure_day: dt.date
    ) -> None:
        assert calendar.is_working_day(closure_day)
        assert calendar.reason(closure_day) == []


class TestNationalHolidays:
    @pytest.mark.parametrize(
        ("day", "reason"),
        [
            (dt.date(2025, 12, 1), NonWorkingReason("Saint Andrew's Day (observed)", (SCT,))),
            (dt.date(2026, 11, 30), NonWorkingReason("Saint Andrew's Day", (SCT,))),
            (dt.date(2026, 8, 3), NonWorkingReason("Summer Bank Holiday", (SCT,))),
            (dt.date(2022, 1, 4), NonWorkingReason("New Year Holiday (observed)", (SCT,))),
            (dt.date(2026, 3, 17), NonWorkingReason("Saint Patrick's Day", (NIR,))),
            (dt.date(2022, 7, 12), NonWorkingReason("Battle of the Boyne", (NIR,))),
            (dt.date(2025, 7, 14), NonWorkingReason("Battle of the Boyne (observed)", (NIR,))),
            (dt.date(2026, 4, 6), NonWorkingReason("Easter Monday", (ENG, WLS, NIR))),
            (dt.date(2026, 8, 31), NonWorkingReason("Late Summer Bank Holiday", (ENG, WLS, NIR))),
        ],
    )
    def test_single_nation_holidays_are_excluded_and_tagged(
        self, calendar: UKWorkingCalendar, day: dt.date, reason: NonWorkingReason
    ) -> None:
        assert not calendar.is_working_day(day)
        assert calendar.reason(day) == [reason]

    def test_good_friday_is_excluded(self, calendar: UKWorkingCalendar) -> None:
        assert calendar.reason(dt.date(2026, 4, 3)) == [NonWorkingReason("Good Friday", (UK,))]

    def test_good_friday_falls_once_a_year_on_a_friday(self, calendar: UKWorkingCalendar) -> None:
        for year in range(2000, 2061):
            good_fridays = [
                day
                for day in days(dt.date(year, 3, 1), dt.date(year, 4, 30))
                if any(r.name == "Good Friday" for r in calendar.reason(day))
            ]
            assert len(good_fridays) == 1, year
            assert good_fridays[0].weekday() == 4

    def test_christmas_on_a_weekend_2021_has_substitute_days(
        self, calendar: UKWorkingCalendar
    ) -> None:
        assert calendar.reason(dt.date(2021, 12, 25)) == [
            NonWorkingReason("Saturday", (WEEKEND,)),
            NonWorkingReason("Christmas Day", (UK,)),
        ]
        assert calendar.reason(dt.date(2021, 12, 27)) == [
            NonWorkingReason("Christmas Day (observed)", (UK,))
        ]
        assert calendar.reason(dt.date(2021, 12, 28)) == [
            NonWorkingReason("Boxing Day (observed)", (UK,))
        ]
        assert calendar.next_working_day(dt.date(2021, 12, 24)) == dt.date(2021, 12, 29)

    def test_christmas_on_a_sunday_2022_has_a_substitute_tuesday(
        self, calendar: UKWorkingCalendar
    ) -> None:
        assert calendar.reason(dt.date(2022, 12, 26)) == [NonWorkingReason("Boxing Day", (UK,))]
        assert calendar.reason(dt.date(2022, 12, 27)) == [
            NonWorkingReason("Christmas Day (observed)", (UK,))
        ]
        assert calendar.next_working_day(dt.date(2022, 12, 23)) == dt.date(2022, 12, 28)

    def test_new_year_2022_substitutes_span_two_days(self, calendar: UKWorkingCalendar) -> None:
        assert calendar.next_working_day(dt.date(2021, 12, 31)) == dt.date(2022, 1, 5)


class TestExtraNonWorkingDays:
    def test_extra_day_is_excluded_with_its_name_and_nation(self) -> None:
        extra = ExtraNonWorkingDay(dt.date(2030, 6, 12), "Royal proclamation", (NIR,))
        calendar = UKWorkingCalendar([extra])
        assert not calendar.is_working_day(dt.date(2030, 6, 12))
        assert calendar.reason(dt.date(2030, 6, 12)) == [
            NonWorkingReason("Royal proclamation", (NIR,))
        ]
        assert UKWorkingCalendar().is_working_day(dt.date(2030, 6, 12))

    def test_extra_day_with_a_package_name_merges_nations(self) -> None:
        extra = ExtraNonWorkingDay(dt.date(2026, 3, 17), "Saint Patrick's Day", (ENG, WLS))
        assert UKWorkingCalendar([extra]).reason(dt.date(2026, 3, 17)) == [
            NonWorkingReason("Saint Patrick's Day", (ENG, WLS, NIR))
        ]

    def test_stored_strings_become_tags(self) -> None:
        extra = ExtraNonWorkingDay(dt.date(2030, 6, 12), "Proclamation", ("WLS", "ENG"))  # type: ignore[arg-type]
        assert extra.nations == (ENG, WLS)

    def test_four_nations_collapse_to_uk(self) -> None:
        extra = ExtraNonWorkingDay(dt.date(2030, 6, 12), "Jubilee", (SCT, ENG, NIR, WLS))
        assert extra.nations == (UK,)

    @pytest.mark.parametrize("nations", [(), ("FRA",), ("weekend",)])
    def test_bad_nations_are_refused(self, nations: tuple[str, ...]) -> None:
        with pytest.raises(ValueError, match="nation"):
            ExtraNonWorkingDay(dt.date(2030, 6, 12), "Proclamation", nations)  # type: ignore[arg-type]

    def test_blank_name_is_refused(self) -> None:
        with pytest.raises(ValueError, match="name"):
            ExtraNonWorkingDay(dt.date(2030, 6, 12), " ", (UK,))

    def test_datetime_is_refused(self) -> None:
        with pytest.raises(ValueError, match="date"):
            ExtraNonWorkingDay(dt.datetime(2030, 6, 12, 9), "Proclamation", (UK,))


class TestVersion:
    def test_names_the_holidays_release(self, calendar: UKWorkingCalendar) -> None:
        assert f"holidays-{version('holidays')}" in calendar.version

    def test_is_stable_and_order_insensitive(self) -> None:
        first = ExtraNonWorkingDay(dt.date(2030, 6, 12), "A", (UK,))
        second = ExtraNonWorkingDay(dt.date(2031, 6, 12), "B", (SCT,))
        assert (
            UKWorkingCalendar([first, second]).version == UKWorkingCalendar([second, first]).version
        )
        assert UKWorkingCalendar().version == UKWorkingCalendar().version

    def test_changes_with_the_extra_days(self) -> None:
        extra = ExtraNonWorkingDay(dt.date(2030, 6, 12), "A", (UK,))
        assert UKWorkingCalendar([extra]).version != UKWorkingCalendar().version


class TestHelpers:
    def test_day_one_is_the_first_working_day_after_start(
        self, calendar: UKWorkingCalendar
    ) -> None:
        assert calendar.add_working_days(dt.date(2025, 12, 18), 1) == dt.date(2025, 12, 19)
        assert calendar.add_working_days(dt.date(2025, 12, 20), 1) == dt.date(2025, 12, 22)
        assert calendar.add_working_days(dt.date(2025, 12, 18), 20) == dt.date(2026, 1, 21)

    def test_adding_zero_returns_start(self, calendar: UKWorkingCalendar) -> None:
        assert calendar.add_working_days(dt.date(2025, 12, 25), 0) == dt.date(2025, 12, 25)

    def test_adding_negative_days_is_refused(self, calendar: UKWorkingCalendar) -> None:
        with pytest.raises(ValueError, match="negative"):
            calendar.add_working_days(dt.date(2025, 12, 18), -1)

    def test_next_working_day_is_strictly_after(self, calendar: UKWorkingCalendar) -> None:
        assert calendar.next_working_day(dt.date(2025, 12, 19)) == dt.date(2025, 12, 22)
        assert calendar.first_working_day_on_or_after(dt.date(2025, 12, 19)) == dt.date(
            2025, 12, 19
        )
        assert calendar.first_working_day_on_or_after(dt.date(2025, 12, 25)) == dt.date(
            2025, 12, 29
        )

    def test_working_days_between_is_half_open(self, calendar: UKWorkingCalendar) -> None:
        assert calendar.working_days_between(dt.date(2025, 12, 18), dt.date(2026, 1, 21)) == 20
        assert calendar.working_days_between(dt.date(2026, 1, 21), dt.date(2025, 12, 18)) == -20
        assert calendar.working_days_between(dt.date(2025, 12, 18), dt.date(2025, 12, 18)) == 0

    @pytest.mark.parametrize("day", [dt.date(1800, 1, 1), dt.date(2101, 1, 3)])
    def test_dates_without_holiday_data_are_refused(
        self, calendar: UKWorkingCalendar, day: dt.date
    ) -> None:
        with pytest.raises(CalendarRangeError):
            calendar.is_working_day(day)
        with pytest.raises(CalendarRangeError):
            calendar.reason(day)

    def test_holidays_are_loaded_once_per_year(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[object] = []
        real = holidays.country_holidays

        def counting(*args: Any, **kwargs: Any) -> holidays.HolidayBase:
            calls.append(kwargs.get("years"))
            return real(*args, **kwargs)

        monkeypatch.setattr(holidays, "country_holidays", counting)
        calendar = UKWorkingCalendar()
        for day in days(dt.date(2026, 1, 1), dt.date(2026, 12, 31)):
            calendar.is_working_day(day)
        calendar.reason(dt.date(2026, 5, 4))
        assert calls == [2026, 2026, 2026, 2026]

    @pytest.mark.parametrize(
        ("day", "months", "expected"),
        [
            (dt.date(2025, 12, 18), 1, dt.date(2026, 1, 18)),
            (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
            (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
            (dt.date(2025, 3, 31), 1, dt.date(2025, 4, 30)),
            (dt.date(2025, 11, 30), 3, dt.date(2026, 2, 28)),
            (dt.date(2025, 12, 31), 12, dt.date(2026, 12, 31)),
        ],
    )
    def test_add_calendar_months_clamps_to_month_end(
        self, day: dt.date, months: int, expected: dt.date
    ) -> None:
        assert add_calendar_months(day, months) == expected


@settings(deadline=None)
@given(start=DATES, n=st.integers(min_value=0, max_value=80))
def test_adding_working_days_round_trips(
    calendar: UKWorkingCalendar, start: dt.date, n: int
) -> None:
    end = calendar.add_working_days(start, n)
    assert calendar.working_days_between(start, end) == n
    if n:
        assert end > start
        assert calendar.is_working_day(end)


@settings(deadline=None)
@given(day=DATES)
def test_reason_explains_exactly_the_non_working_days(
    calendar: UKWorkingCalendar, day: dt.date
) -> None:
    assert calendar.is_working_day(day) == (calendar.reason(day) == [])


@settings(deadline=None)
@given(day=DATES)
def test_every_nations_holidays_are_non_working(calendar: UKWorkingCalendar, day: dt.date) -> None:
    for nation in ("ENG", "WLS", "SCT", "NIR"):
        if day in holidays.country_holidays("GB", subdiv=nation, years=day.year):
            assert not calendar.is_working_day(day)


@settings(deadline=None)
@given(first=DATES, second=DATES)
def test_working_days_between_is_antisymmetric(
    calendar: UKWorkingCalendar, first: dt.date, second: dt.date
) -> None:
    assert calendar.working_days_between(first, second) == -calendar.working_days_between(
        second, first
    )
