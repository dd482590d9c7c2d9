"""Section 12 estimates checked against hand arithmetic at the default £25 an hour, £450 limit."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.estimator import EstimateInputError, EstimateRates, estimate_s12, pounds


def test_default_rates_are_five_minutes_a_document() -> None:
    estimate = estimate_s12(105)

    assert [(line.activity, line.minutes) for line in estimate.lines] == [
        ("Locating", 105),
        ("Retrieving", 105),
        ("Extracting", 315),
    ]
    assert estimate.total_minutes == 525
    assert estimate.hours == 8.75
    assert estimate.cost_pence == 21875  # 8.75 hours x £25
    assert (estimate.limit_pence, estimate.exceeds_limit) == (45000, False)


def test_exactly_the_limit_is_not_over_it() -> None:
    at_limit = estimate_s12(216)  # 216 x 5 = 1,080 minutes = 18 hours = £450
    over = estimate_s12(217)

    assert (at_limit.cost_pence, at_limit.exceeds_limit) == (45000, False)
    assert (over.cost_pence, over.exceeds_limit) == (45208, True)  # 18h 5m: £452.0833...


def test_logged_minutes_are_added() -> None:
    estimate = estimate_s12(200, logged_minutes=90)

    assert estimate.lines[-1].activity == "Time already spent"
    assert estimate.lines[-1].minutes == 90
    assert estimate.total_minutes == 1090
    assert estimate.exceeds_limit
    assert len(estimate_s12(200).lines) == 3


def test_logged_minutes_alone_can_exceed_the_limit() -> None:
    assert not estimate_s12(0, logged_minutes=1080).exceeds_limit
    assert estimate_s12(0, logged_minutes=1080.03).exceeds_limit  # £450.0125 -> £450.01


@pytest.mark.parametrize(
    ("minutes", "pence"),
    [(0.012, 1), (0.036, 2), (0.06, 3), (0.1, 4), (1, 42), (0.0119, 0)],
)
def test_cost_rounds_half_up_to_the_penny(minutes: float, pence: int) -> None:
    # 0.012 minutes at £25 an hour is exactly half a penny; 0.036 is one and a half.
    assert estimate_s12(0, logged_minutes=minutes).cost_pence == pence


def test_custom_rates() -> None:
    rates = EstimateRates(locate_minutes=0.5, retrieve_minutes=2, extract_minutes=10)

    estimate = estimate_s12(40, rates=rates)

    assert estimate.total_minutes == 40 * 12.5
    assert estimate.cost_pence == 20833  # 500 minutes = 8h 20m = £208.333...


def test_working_shows_the_figures() -> None:
    working = estimate_s12(210, logged_minutes=30).working

    assert "Locating: 210 documents × 1 minute each = 210 minutes" in working
    assert "Extracting: 210 documents × 3 minutes each = 630 minutes" in working
    assert "Time already spent: 30 minutes" in working
    assert "Total: 1,080 minutes = 18 hours" in working
    assert "= £450.00" in working
    assert "Appropriate limit: £450.00 (18 hours at £25.00 an hour)" in working
    assert "within the appropriate limit" in working
    assert "reg. 4(3)" in working and "redacting" in working and "exemptions" in working


def test_working_when_over_the_limit() -> None:
    working = estimate_s12(250).working  # 1,250 minutes = £520.83

    assert "Total: 1,250 minutes = about 20.83 hours" in working
    assert "£520.83" in working
    assert "exceeds the appropriate limit by £70.83." in working


@pytest.mark.parametrize(
    ("pence", "text"),
    [(43750, "£437.50"), (0, "£0.00"), (5, "£0.05"), (123456, "£1,234.56"), (-250, "-£2.50")],
)
def test_pounds(pence: int, text: str) -> None:
    assert pounds(pence) == text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1,), "document_count cannot be negative"),
        ((2.5,), "document_count must be a whole number"),
        ((True,), "document_count must be a whole number"),
        ((1, -5), "logged_minutes must be zero or more"),
        ((1, math.nan), "logged_minutes must be zero or more"),
        ((1, math.inf), "logged_minutes must be zero or more"),
    ],
)
def test_invalid_input_is_refused(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_s12(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"locate_minutes": -1}, "locate_minutes must be zero or more"),
        ({"extract_minutes": math.nan}, "extract_minutes must be zero or more"),
        ({"hourly_rate_pence": 0}, "hourly_rate_pence must be whole pence above 0"),
        ({"hourly_rate_pence": 25.0}, "hourly_rate_pence must be whole pence above 0"),
        ({"limit_pence": -1}, "limit_pence must be whole pence, 0 or more"),
    ],
)
def test_invalid_rates_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(EstimateInputError, match=message):
        EstimateRates(**changes)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=0, max_value=100_000))
def test_whole_minutes_cost_what_hand_arithmetic_says(documents: int, logged: int) -> None:
    estimate = estimate_s12(documents, logged_minutes=logged)

    minutes = documents * 5 + logged
    # Whole minutes at 2,500 pence an hour: minutes x 125 / 3 pence, halves rounded up.
    assert estimate.cost_pence == (minutes * 250 + 3) // 6
    assert estimate.exceeds_limit == (estimate.cost_pence > 45000)
