"""FOIA section 12 cost estimates: is answering a request over the appropriate limit?

Pure arithmetic, no I/O. Money is integer pence; the cost is rounded half up to the penny once,
at the end. The limit for local authorities is £450, charged at £25 an hour (18 hours): the
Freedom of Information and Data Protection (Appropriate Limit and Fees) Regulations 2004,
regs. 3(3) and 4(4). Only the activities in reg. 4(3) count: determining whether the
information is held, locating, retrieving and extracting it. Reading for redaction and
considering exemptions do not, so this estimate has no lines for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "Estimate",
    "EstimateInputError",
    "EstimateLine",
    "EstimateRates",
    "estimate_s12",
    "pounds",
]

LOGGED = "Time already spent"
_TIMES = "\u00d7"  # the multiplication sign, for the working shown to people
REGULATION_NOTE = (
    "Only the time to determine whether the information is held, and to locate, retrieve and "
    "extract it, counts towards the limit (Freedom of Information and Data Protection "
    "(Appropriate Limit and Fees) Regulations 2004, reg. 4(3)). Time spent redacting or "
    "considering exemptions does not."
)


class EstimateInputError(ValueError):
    """A count, a time or a rate that no estimate can be made from: correct the input."""


# Used by EstimateRates, whose default instance is built when this module is imported.
def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_minutes(name: str, minutes: float) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise EstimateInputError(f"{name} must be a number of minutes, not {minutes!r}")
    if not math.isfinite(minutes) or minutes < 0:
        raise EstimateInputError(f"{name} must be zero or more minutes, not {minutes}")


@dataclass(frozen=True)
class EstimateRates:
    """Minutes per document for each activity, and the money rules. Defaults: one minute to
    locate and one to retrieve each document, three to extract from it; £25 an hour; £450."""

    locate_minutes: float = 1.0
    retrieve_minutes: float = 1.0
    extract_minutes: float = 3.0
    hourly_rate_pence: int = 2500
    limit_pence: int = 45000

    def __post_init__(self) -> None:
        for name in ("locate_minutes", "retrieve_minutes", "extract_minutes"):
            _check_minutes(name, getattr(self, name))
        rate, limit = self.hourly_rate_pence, self.limit_pence
        if not _is_whole(rate) or rate <= 0:
            raise EstimateInputError(f"hourly_rate_pence must be whole pence above 0, not {rate!r}")
        if not _is_whole(limit) or limit < 0:
            raise EstimateInputError(f"limit_pence must be whole pence, 0 or more, not {limit!r}")


@dataclass(frozen=True)
class EstimateLine:
    activity: str
    quantity: int | float
    unit_minutes: float
    minutes: float
    explanation: str


@dataclass(frozen=True)
class Estimate:
    """`exceeds_limit` is true only when the cost is more than the limit: a cost of exactly
    the limit can be met."""

    lines: tuple[EstimateLine, ...]
    total_minutes: float
    hours: float
    cost_pence: int
    limit_pence: int
    exceeds_limit: bool
    working: str


def estimate_s12(
    document_count: int, logged_minutes: float = 0.0, rates: EstimateRates = EstimateRates()
) -> Estimate:
    """The s.12 estimate for `document_count` documents still to be dealt with, plus
    `logged_minutes` already spent on the counted activities for this request.

    Raises `EstimateInputError` (a `ValueError`) for a negative or non-whole document count, or
    a negative or non-finite number of logged minutes.
    """
    if not _is_whole(document_count):
        raise EstimateInputError(f"document_count must be a whole number, not {document_count!r}")
    if document_count < 0:
        raise EstimateInputError(f"document_count cannot be negative, not {document_count}")
    _check_minutes("logged_minutes", logged_minutes)

    count = document_count
    lines = [
        _per_document("Locating", count, rates.locate_minutes, "finding where each is held"),
        _per_document("Retrieving", count, rates.retrieve_minutes, "opening or fetching each"),
        _per_document(
            "Extracting", count, rates.extract_minutes, "taking the requested information out"
        ),
    ]
    if logged_minutes:
        lines.append(
            EstimateLine(
                LOGGED,
                logged_minutes,
                1.0,
                float(logged_minutes),
                "logged against this request, on the activities that count",
            )
        )
    total_minutes = math.fsum(line.minutes for line in lines)
    # Decimal from the shortest repr, so that 0.1 minutes is a tenth and not 0.1000000000000000055.
    exact = Decimal(repr(total_minutes)) * rates.hourly_rate_pence / 60
    cost_pence = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    estimate = Estimate(
        lines=tuple(lines),
        total_minutes=total_minutes,
        hours=total_minutes / 60,
        cost_pence=cost_pence,
        limit_pence=rates.limit_pence,
        exceeds_limit=cost_pence > rates.limit_pence,
        working="",
    )
    return replace(estimate, working=_working(estimate, rates))


def pounds(pence: int) -> str:
    """`pence` as pounds for people: 43750 -> '£437.50', 123456 -> '£1,234.56'."""
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) // 100:,}.{abs(pence) % 100:02d}"


def _per_document(activity: str, count: int, unit: float, explanation: str) -> EstimateLine:
    return EstimateLine(activity, count, unit, count * unit, explanation)


def _working(estimate: Estimate, rates: EstimateRates) -> str:
    rate = pounds(rates.hourly_rate_pence)
    out = ["Section 12 cost estimate (Freedom of Information Act 2000)", ""]
    for line in estimate.lines:
        if line.activity == LOGGED:
            out.append(f"{LOGGED}: {_plural(line.minutes, 'minute')} ({line.explanation})")
        else:
            out.append(
                f"{line.activity}: {_plural(line.quantity, 'document')} {_TIMES} "
                f"{_plural(line.unit_minutes, 'minute')} each = {_plural(line.minutes, 'minute')}"
                f" ({line.explanation})"
            )
    limit_hours = float(Decimal(rates.limit_pence) / rates.hourly_rate_pence)
    hours = round(estimate.hours, 2)
    about = "" if hours == estimate.hours else "about "
    out += [
        "",
        f"Total: {_plural(estimate.total_minutes, 'minute')} = {about}{_plural(hours, 'hour')}",
        f"Cost: {_number(estimate.total_minutes)} minutes ÷ 60 {_TIMES} {rate} an hour = "
        f"{pounds(estimate.cost_pence)}",
        f"Appropriate limit: {pounds(rates.limit_pence)} "
        f"({_number(round(limit_hours, 2))} hours at {rate} an hour)",
    ]
    difference = pounds(abs(estimate.cost_pence - rates.limit_pence))
    if estimate.exceeds_limit:
        out.append(f"Result: exceeds the appropriate limit by {difference}.")
    else:
        out.append(f"Result: within the appropriate limit ({difference} to spare).")
    out += ["", REGULATION_NOTE]
    return "\n".join(out) + "\n"


def _number(value: float) -> str:
    """1.0 -> '1', 2.5 -> '2.5', 1234 -> '1,234': figures as a person writes them."""
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value):,}"


def _plural(count: float, noun: str) -> str:
    return f"{_number(count)} {noun}" + ("" if count == 1 else "s")
