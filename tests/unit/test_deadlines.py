"""FOIA, EIR and SAR deadlines, checked against the worked example and hand counts."""

from __future__ import annotations

import datetime as dt
from calendar import monthrange

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.deadlines.calendar import NationTag, NonWorkingReason, UKWorkingCalendar
from cases.deadlines.engine import (
    ClockStop,
    ClockStoppedError,
    ClockStopReason,
    DeadlineInputError,
    Regime,
    RequestClock,
    compute_deadline,
)

FOIA, EIR, SAR = Regime.FOIA, Regime.EIR, Regime.SAR
IDENTITY, CLARIFICATION, FEE = (
    ClockStopReason.IDENTITY,
    ClockStopReason.CLARIFICATION,
    ClockStopReason.FEE,
)
WORKED_EXAMPLE = dt.date(2025, 12, 18)

DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))


@pytest.fixture(scope="module")
def calendar() -> UKWorkingCalendar:
    return UKWorkingCalendar()


def due(
    calendar: UKWorkingCalendar, regime: Regime, received: dt.date, **kwargs: object
) -> dt.date:
    return compute_deadline(RequestClock(regime, received, **kwargs), calendar).due  # type: ignore[arg-type]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class TestWorkedExample:
    """Request received Thursday 18 December 2025 (foi-rules.md)."""

    def test_foia_due_wednesday_21_january(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(FOIA, WORKED_EXAMPLE), calendar)
        assert deadline.due == d("2026-01-21")
        assert deadline.working_days == 20
        assert deadline.start == WORKED_EXAMPLE
        assert deadline.calendar_version == calendar.version

    def test_foia_day_numbers_match_the_note(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(FOIA, WORKED_EXAMPLE), calendar)
        numbered = {step.date: step.day_number for step in deadline.steps if step.day_number}
        expected_days = [
            "2025-12-19",
            *(f"2025-12-{day}" for day in (22, 23, 24, 29, 30, 31)),
            *(f"2026-01-{day:02d}" for day in (5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 19, 20, 21)),
        ]
        assert numbered == {d(day): number for number, day in enumerate(expected_days, start=1)}

    def test_foia_excluded_days_are_named_and_tagged(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(FOIA, WORKED_EXAMPLE), calendar)
        excluded = {day.date: day.reasons for day in deadline.excluded_days}
        assert sorted(excluded) == [
            d(day)
            for day in (
                *(f"2025-12-{day}" for day in (20, 21, 25, 26, 27, 28)),
                *(f"2026-01-{day:02d}" for day in (1, 2, 3, 4, 10, 11, 17, 18)),
            )
        ]
        assert excluded[d("2026-01-02")] == (
            NonWorkingReason("New Year Holiday", (NationTag.SCT,)),
        )
        assert excluded[d("2025-12-25")] == (NonWorkingReason("Christmas Day", (NationTag.UK,)),)

    def test_an_england_only_count_would_be_a_day_early(self, calendar: UKWorkingCalendar) -> None:
        england = holidays.country_holidays("GB", subdiv="ENG", years=[2025, 2026])
        day, count = WORKED_EXAMPLE, 0
        while count < 20:
            day += dt.timedelta(days=1)
            count += day.weekday() < 5 and day not in england
        assert day == d("2026-01-20")
        assert due(calendar, FOIA, WORKED_EXAMPLE) != day

    def test_foia_public_interest_extension(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(FOIA, WORKED_EXAMPLE, extended=True), calendar)
        assert deadline.due == d("2026-02-18")
        assert deadline.working_days == 40
        assert any("ICO guidance, not statute" in note for note in deadline.notes)
        assert any("Wednesday 21 January 2026" in note for note in deadline.notes)

    def test_eir_standard_and_extended(self, calendar: UKWorkingCalendar) -> None:
        assert due(calendar, EIR, WORKED_EXAMPLE) == d("2026-01-21")
        assert due(calendar, EIR, WORKED_EXAMPLE, extended=True) == d("2026-02-18")

    def test_sar_due_monday_19_january(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(SAR, WORKED_EXAMPLE), calendar)
        assert deadline.due == d("2026-01-19")
        assert deadline.working_days is None
        assert [day.date for day in deadline.excluded_days] == [d("2026-01-18")]

    def test_sar_extended_wednesday_18_march(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(SAR, WORKED_EXAMPLE, extended=True), calendar)
        assert deadline.due == d("2026-03-18")
        assert any("Monday 19 January 2026" in note for note in deadline.notes)


class TestReceiptOnNonWorkingDays:
    @pytest.mark.parametrize("received", ["2025-12-19", "2025-12-20", "2025-12-21"])
    def test_weekend_receipt_counts_from_the_next_working_day(
        self, calendar: UKWorkingCalendar, received: str
    ) -> None:
        assert due(calendar, FOIA, d(received)) == d("2026-01-22")

    def test_receipt_on_christmas_day(self, calendar: UKWorkingCalendar) -> None:
        assert due(calendar, FOIA, d("2025-12-25")) == d("2026-01-27")

    def test_christmas_2021_on_a_weekend(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(FOIA, d("2021-12-24")), calendar)
        assert deadline.due == d("2022-01-27")
        excluded = {day.date: day.reasons for day in deadline.excluded_days}
        assert excluded[d("2021-12-27")] == (
            NonWorkingReason("Christmas Day (observed)", (NationTag.UK,)),
        )
        assert excluded[d("2022-01-04")] == (
            NonWorkingReason("New Year Holiday (observed)", (NationTag.SCT,)),
        )

    def test_christmas_2022_on_a_sunday(self, calendar: UKWorkingCalendar) -> None:
        # 26 and 27 Dec are UK days, 2 Jan the UK substitute and 3 Jan the Scottish one, so
        # days 1-3 are 28-30 Dec and day 4 is Wed 4 Jan.
        assert due(calendar, FOIA, d("2022-12-23")) == d("2023-01-26")

    def test_good_friday_and_easter_monday(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(FOIA, d("2026-04-02")), calendar)
        assert deadline.due == d("2026-05-05")
        excluded = {day.date: day.reasons for day in deadline.excluded_days}
        assert excluded[d("2026-04-03")] == (NonWorkingReason("Good Friday", (NationTag.UK,)),)

    def test_scottish_and_ni_only_holidays_move_the_deadline(
        self, calendar: UKWorkingCalendar
    ) -> None:
        # St Andrew's Day substitute (Mon 1 Dec 2025, SCT) falls inside this count.
        assert due(calendar, FOIA, d("2025-11-28")) == d("2025-12-31")
        # St Patrick's Day (Tue 17 Mar 2026, NIR).
        assert due(calendar, FOIA, d("2026-03-02")) == d("2026-03-31")
        # Battle of the Boyne (Tue 12 Jul 2022, NIR), then Scotland's summer holiday (1 Aug).
        assert due(calendar, FOIA, d("2022-07-01")) == d("2022-08-02")


class TestFoiaClockStops:
    def test_clarification_restarts_the_count(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(
            RequestClock(FOIA, WORKED_EXAMPLE, clarified=d("2026-01-05")), calendar
        )
        assert deadline.due == d("2026-02-02")
        assert deadline.start == d("2026-01-05")
        assert deadline.steps[1].note.startswith("clarification received")

    def test_clarification_on_a_weekend(self, calendar: UKWorkingCalendar) -> None:
        assert due(calendar, FOIA, WORKED_EXAMPLE, clarified=d("2026-01-10")) == d("2026-02-06")

    def test_fee_window_disregards_its_working_days(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(
            RequestClock(
                FOIA, WORKED_EXAMPLE, fee_notice=d("2025-12-22"), fee_paid=d("2025-12-23")
            ),
            calendar,
        )
        assert deadline.due == d("2026-01-23")
        assert calendar.working_days_between(WORKED_EXAMPLE, deadline.due) == 22
        disregarded = [day.date for day in deadline.excluded_days if day.reasons[0].nations == ()]
        assert disregarded == [d("2025-12-22"), d("2025-12-23")]

    def test_fee_window_counts_only_working_days(self, calendar: UKWorkingCalendar) -> None:
        # 24 Dec and 29 Dec are the only working days from Wed 24 to Mon 29 December.
        kwargs = {"fee_notice": d("2025-12-24"), "fee_paid": d("2025-12-29")}
        assert due(calendar, FOIA, WORKED_EXAMPLE, **kwargs) == d("2026-01-23")

    def test_fee_window_over_a_weekend_changes_nothing(self, calendar: UKWorkingCalendar) -> None:
        kwargs = {"fee_notice": d("2025-12-20"), "fee_paid": d("2025-12-21")}
        assert due(calendar, FOIA, WORKED_EXAMPLE, **kwargs) == d("2026-01-21")

    def test_fee_paid_on_the_due_day(self, calendar: UKWorkingCalendar) -> None:
        kwargs = {"fee_notice": d("2026-01-21"), "fee_paid": d("2026-01-21")}
        assert due(calendar, FOIA, WORKED_EXAMPLE, **kwargs) == d("2026-01-22")

    def test_late_fee_is_flagged(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(
            RequestClock(
                FOIA, WORKED_EXAMPLE, fee_notice=d("2025-12-22"), fee_paid=d("2026-03-23")
            ),
            calendar,
        )
        assert any("s.9(2)" in note for note in deadline.notes)

    def test_fee_notice_without_payment_stops_the_clock(self, calendar: UKWorkingCalendar) -> None:
        clock = RequestClock(FOIA, WORKED_EXAMPLE, fee_notice=d("2025-12-22"))
        with pytest.raises(ClockStoppedError) as raised:
            compute_deadline(clock, calendar)
        assert (raised.value.awaiting, raised.value.since) == ("fee", d("2025-12-22"))

    def test_eir_uses_the_same_fee_and_clarification_rules(
        self, calendar: UKWorkingCalendar
    ) -> None:
        assert due(calendar, EIR, WORKED_EXAMPLE, clarified=d("2026-01-05")) == d("2026-02-02")
        kwargs = {"fee_notice": d("2025-12-22"), "fee_paid": d("2025-12-23")}
        assert due(calendar, EIR, WORKED_EXAMPLE, **kwargs) == d("2026-01-23")


class TestSubjectAccess:
    @pytest.mark.parametrize(
        ("received", "expected"),
        [
            ("2025-01-31", "2025-02-28"),  # no 31 February: last day, a Friday
            ("2024-01-31", "2024-02-29"),  # leap year
            ("2026-01-31", "2026-03-02"),  # 28 February 2026 is a Saturday
            ("2025-03-31", "2025-04-30"),
            ("2024-02-29", "2024-04-02"),  # 29 March 2024 is Good Friday, then Easter
            ("2025-11-03", "2025-12-03"),
        ],
    )
    def test_one_calendar_month(
        self, calendar: UKWorkingCalendar, received: str, expected: str
    ) -> None:
        assert due(calendar, SAR, d(received)) == d(expected)

    def test_extension_counts_on_from_the_unadjusted_month_end(
        self, calendar: UKWorkingCalendar
    ) -> None:
        assert due(calendar, SAR, d("2025-01-31"), extended=True) == d("2025-04-28")

    def test_identity_stop_adds_calendar_days(self, calendar: UKWorkingCalendar) -> None:
        stop = ClockStop(IDENTITY, WORKED_EXAMPLE, d("2025-12-22"))
        deadline = compute_deadline(
            RequestClock(SAR, WORKED_EXAMPLE, clock_stops=(stop,)), calendar
        )
        assert deadline.due == d("2026-01-22")
        assert any("Art. 12A" in note for note in deadline.notes)

    def test_same_day_reply_adds_nothing(self, calendar: UKWorkingCalendar) -> None:
        stop = ClockStop(CLARIFICATION, d("2026-01-05"), d("2026-01-05"))
        assert due(calendar, SAR, WORKED_EXAMPLE, clock_stops=(stop,)) == d("2026-01-19")

    def test_overlapping_stops_count_once(self, calendar: UKWorkingCalendar) -> None:
        stops = (
            ClockStop(IDENTITY, d("2025-12-18"), d("2025-12-22")),
            ClockStop(FEE, d("2025-12-20"), d("2025-12-24")),
        )
        # Stopped 18-24 December: 6 days, so Sat 24 January, moved to Monday.
        assert due(calendar, SAR, WORKED_EXAMPLE, clock_stops=stops) == d("2026-01-26")

    def test_stop_after_the_deadline_is_ignored(self, calendar: UKWorkingCalendar) -> None:
        stop = ClockStop(CLARIFICATION, d("2026-01-20"), d("2026-01-25"))
        deadline = compute_deadline(
            RequestClock(SAR, WORKED_EXAMPLE, clock_stops=(stop,)), calendar
        )
        assert deadline.due == d("2026-01-19")
        assert any("ignored" in note for note in deadline.notes)

    def test_month_end_takes_the_earlier_reading(self, calendar: UKWorkingCalendar) -> None:
        # Adding 3 days to 28 Feb gives 3 March; starting the month on 1 Feb gives 1 March
        # (a Sunday), so Monday 2 March.
        stop = ClockStop(IDENTITY, d("2026-01-29"), d("2026-02-01"))
        assert due(calendar, SAR, d("2026-01-29"), clock_stops=(stop,)) == d("2026-03-02")

    def test_extension_notice_date_includes_stops(self, calendar: UKWorkingCalendar) -> None:
        stop = ClockStop(IDENTITY, WORKED_EXAMPLE, d("2025-12-22"))
        deadline = compute_deadline(
            RequestClock(SAR, WORKED_EXAMPLE, extended=True, clock_stops=(stop,)), calendar
        )
        assert deadline.due == d("2026-03-23")
        assert any("Thursday 22 January 2026" in note for note in deadline.notes)

    def test_open_stop_means_no_deadline(self, calendar: UKWorkingCalendar) -> None:
        stops = (
            ClockStop(FEE, d("2025-12-22")),
            ClockStop(IDENTITY, d("2025-12-19")),
        )
        with pytest.raises(ClockStoppedError) as raised:
            compute_deadline(RequestClock(SAR, WORKED_EXAMPLE, clock_stops=stops), calendar)
        assert raised.value.awaiting == "identity verification"
        assert raised.value.since == d("2025-12-19")


class TestInputErrors:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"regime": FOIA, "clarified": d("2025-12-17")}, "clarification"),
            ({"regime": FOIA, "fee_paid": d("2025-12-22")}, "fees notice"),
            ({"regime": FOIA, "fee_notice": d("2025-12-17")}, "fees notice"),
            (
                {"regime": EIR, "fee_notice": d("2025-12-22"), "fee_paid": d("2025-12-21")},
                "fee paid",
            ),
            ({"regime": SAR, "clarified": d("2025-12-19")}, "clock stops"),
            (
                {"regime": FOIA, "clock_stops": (ClockStop(IDENTITY, d("2025-12-19")),)},
                "subject access",
            ),
            (
                {"regime": SAR, "clock_stops": (ClockStop(IDENTITY, d("2025-12-17")),)},
                "before the request",
            ),
            ({"regime": "FOIA"}, "regime"),
            ({"regime": FOIA, "extended": "yes"}, "extended"),
        ],
    )
    def test_inconsistent_dates_are_refused(self, kwargs: dict[str, object], message: str) -> None:
        with pytest.raises(DeadlineInputError, match=message):
            RequestClock(received=WORKED_EXAMPLE, **kwargs)  # type: ignore[arg-type]

    def test_resume_before_stop_is_refused(self) -> None:
        with pytest.raises(DeadlineInputError, match="resumes"):
            ClockStop(IDENTITY, d("2025-12-20"), d("2025-12-19"))

    def test_datetime_is_refused(self) -> None:
        with pytest.raises(DeadlineInputError, match="date"):
            RequestClock(FOIA, dt.datetime(2025, 12, 18, 9, 30))

    @pytest.mark.parametrize("received", ["1850-06-01", "2100-12-20"])
    def test_dates_beyond_the_calendar_are_refused(
        self, calendar: UKWorkingCalendar, received: str
    ) -> None:
        for regime in Regime:
            with pytest.raises(DeadlineInputError, match="calendar covers"):
                compute_deadline(RequestClock(regime, d(received)), calendar)

    def test_deadline_is_frozen(self, calendar: UKWorkingCalendar) -> None:
        deadline = compute_deadline(RequestClock(FOIA, WORKED_EXAMPLE), calendar)
        with pytest.raises(AttributeError):
            deadline.due = WORKED_EXAMPLE  # type: ignore[misc]


def test_json_dict_uses_plain_types(calendar: UKWorkingCalendar) -> None:
    payload = compute_deadline(RequestClock(FOIA, WORKED_EXAMPLE), calendar).to_json_dict()
    assert payload["due"] == "2026-01-21"
    assert {
        "date": "2026-01-02",
        "reasons": [{"name": "New Year Holiday", "nations": ["SCT"]}],
    } in (
        payload["excluded_days"]  # type: ignore[operator]
    )


# Properties over many dates. ------------------------------------------------------------------


def stop_strategy(received: dt.date) -> st.SearchStrategy[ClockStop]:
    return st.builds(
        lambda reason, start, length: ClockStop(
            reason,
            received + dt.timedelta(days=start),
            received + dt.timedelta(days=start + length),
        ),
        st.sampled_from(list(ClockStopReason)),
        st.integers(min_value=0, max_value=120),
        st.integers(min_value=0, max_value=40),
    )


@st.composite
def clocks(draw: st.DrawFn) -> RequestClock:
    regime = draw(st.sampled_from(list(Regime)))
    received = draw(DATES)
    extended = draw(st.booleans())
    if regime is SAR:
        stops = tuple(draw(st.lists(stop_strategy(received), max_size=3)))
        return RequestClock(regime, received, extended=extended, clock_stops=stops)
    clarified = draw(st.none() | st.integers(0, 30).map(lambda n: received + dt.timedelta(n)))
    fee_notice = draw(st.none() | st.integers(0, 40).map(lambda n: received + dt.timedelta(n)))
    fee_paid = None
    if fee_notice is not None:
        fee_paid = fee_notice + dt.timedelta(days=draw(st.integers(0, 60)))
    return RequestClock(regime, received, clarified, fee_notice, fee_paid, extended)


def plain(clock: RequestClock, **changes: object) -> RequestClock:
    fields = {
        "regime": clock.regime,
        "received": clock.received,
        "clarified": None,
        "fee_notice": None,
        "fee_paid": None,
        "extended": clock.extended,
        "clock_stops": (),
    }
    fields.update(changes)
    return RequestClock(**fields)  # type: ignore[arg-type]


@settings(deadline=None)
@given(clock=clocks())
def test_due_is_always_a_working_day(calendar: UKWorkingCalendar, clock: RequestClock) -> None:
    deadline = compute_deadline(clock, calendar)
    assert calendar.is_working_day(deadline.due)
    assert deadline.due > clock.received


@settings(deadline=None)
@given(clock=clocks())
def test_clock_stops_never_make_a_deadline_earlier(
    calendar: UKWorkingCalendar, clock: RequestClock
) -> None:
    assert compute_deadline(clock, calendar).due >= compute_deadline(plain(clock), calendar).due


@settings(deadline=None)
@given(clock=clocks())
def test_extension_never_makes_a_deadline_earlier(
    calendar: UKWorkingCalendar, clock: RequestClock
) -> None:
    standard = compute_deadline(
        RequestClock(
            clock.regime,
            clock.received,
            clock.clarified,
            clock.fee_notice,
            clock.fee_paid,
            False,
            clock.clock_stops,
        ),
        calendar,
    )
    extended = compute_deadline(
        RequestClock(
            clock.regime,
            clock.received,
            clock.clarified,
            clock.fee_notice,
            clock.fee_paid,
            True,
            clock.clock_stops,
        ),
        calendar,
    )
    assert extended.due >= standard.due


@settings(deadline=None)
@given(received=DATES, regime=st.sampled_from([FOIA, EIR]), extended=st.booleans())
def test_working_day_deadline_has_exactly_its_count_after_receipt(
    calendar: UKWorkingCalendar, received: dt.date, regime: Regime, extended: bool
) -> None:
    deadline = compute_deadline(RequestClock(regime, received, extended=extended), calendar)
    expected = 40 if extended else 20
    assert deadline.due > received
    assert calendar.working_days_between(received, deadline.due) == expected
    assert deadline.working_days == expected
    assert [step.day_number for step in deadline.steps if step.day_number] == list(
        range(1, expected + 1)
    )


@settings(deadline=None)
@given(received=DATES, notice=st.integers(0, 40), length=st.integers(0, 60))
def test_fee_window_moves_the_deadline_by_its_working_days_in_the_count(
    calendar: UKWorkingCalendar, received: dt.date, notice: int, length: int
) -> None:
    fee_notice = received + dt.timedelta(days=notice)
    fee_paid = fee_notice + dt.timedelta(days=length)
    deadline = compute_deadline(
        RequestClock(FOIA, received, fee_notice=fee_notice, fee_paid=fee_paid), calendar
    )
    in_window = sum(
        calendar.is_working_day(day)
        for day in (fee_notice + dt.timedelta(days=n) for n in range(length + 1))
        if received < day <= deadline.due
    )
    assert calendar.working_days_between(received, deadline.due) == 20 + in_window
    assert not fee_notice <= deadline.due <= fee_paid


@settings(deadline=None)
@given(received=DATES)
def test_sar_due_is_the_first_working_day_from_the_corresponding_date(
    calendar: UKWorkingCalendar, received: dt.date
) -> None:
    year, month_index = divmod(received.year * 12 + received.month, 12)
    month = month_index + 1
    corresponding = dt.date(year, month, min(received.day, monthrange(year, month)[1]))
    deadline = compute_deadline(RequestClock(SAR, received), calendar)
    assert deadline.due == calendar.first_working_day_on_or_after(corresponding)
    assert [day.date for day in deadline.excluded_days] == [
        corresponding + dt.timedelta(days=n) for n in range((deadline.due - corresponding).days)
    ]
