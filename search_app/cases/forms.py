"""What the case pages and the cases API accept, and the words they use for statuses and steps.

Parsing here only checks shape (a real date, a whole number, a known choice); every rule about
cases themselves (a date in the future, a transition that is not allowed, a refusal without
exemptions) is the services' to decide, and their `CaseError` message is shown as given.
"""

from __future__ import annotations

import datetime as dt
import re

from cases.estimator import EstimateRates
from foi_core.models import CaseStatus
from foi_core.settings import Settings
from search_app.page_messages import sentence
from search_app.request_input import form_field

REFERENCE = re.compile(r"[A-Za-z0-9]{1,12}-\d{4}-\d{4,9}")
NATIONS = ("ENG", "WLS", "SCT", "NIR", "UK")
FIELD_CHARS = 20_000
Errors = dict[str, str]

S = CaseStatus
STATUS_LABELS: dict[str, str] = {
    S.RECEIVED: "Received",
    S.CLARIFICATION: "Awaiting clarification",
    S.FEE_NOTICE: "Awaiting fee",
    S.IN_PROGRESS: "In progress",
    S.PI_EXTENSION: "Extended",
    S.RESPONDED: "Responded",
    S.INTERNAL_REVIEW: "Internal review",
    S.ICO_COMPLAINT: "ICO complaint",
    S.CLOSED: "Closed",
}
OUTCOME_LABELS = {
    "full": "Information provided in full",
    "part": "Provided in part (some withheld)",
    "refused": "Refused in full",
    "not_held": "Information not held",
}
LINK_REASONS = {
    "same_requester": "Same requester",
    "same_topic": "Same topic (linked by hand)",
    "part_of_request": "Part of the same request, under another regime",
}
# A SAR's clarification and fee waits are clock stops, chosen by reason on one button.
STOP_CLOCK = "stop_clock"
STOP_REASONS = {
    "identity verification": "Verifying the requester's identity",
    "clarification": "Waiting for clarification",
    "fee": "Waiting for a fee",
}


def transition_label(regime: str, status: str, to: str) -> str:
    """The button for moving a case from `status` to `to`."""
    restarting = status in (S.CLARIFICATION, S.FEE_NOTICE)
    if to == S.IN_PROGRESS and restarting:
        if regime == "SAR":
            return "Reply received: restart the clock"
        if status == S.CLARIFICATION:
            return "Clarification received: restart the clock"
        return "Fee paid: restart the clock"
    if to == S.PI_EXTENSION:
        return {
            "FOIA": "Extend for the public interest test",
            "EIR": "Extend: complex and voluminous (reg 7)",
            "SAR": "Extend by two months (complex or numerous)",
        }.get(regime, "Extend")
    if to == S.CLOSED and status in (S.RECEIVED, S.CLARIFICATION, S.FEE_NOTICE):
        return "Close without a response"
    return {
        STOP_CLOCK: "Stop the clock",
        S.CLARIFICATION: "Ask for clarification (stops the clock)",
        S.FEE_NOTICE: "Send a fees notice (stops the clock)",
        S.IN_PROGRESS: "Start work",
        S.RESPONDED: "Record the response",
        S.INTERNAL_REVIEW: "Start an internal review",
        S.ICO_COMPLAINT: "Record an ICO complaint",
        S.CLOSED: "Close the case",
    }.get(to, to.replace("_", " "))


def next_steps(regime: str, allowed: frozenset[str]) -> list[str]:
    """The allowed transitions in workflow order, a SAR's two clock stops as one step."""
    steps: list[str] = [s for s in STATUS_LABELS if s in allowed]
    if regime == "SAR" and S.CLARIFICATION in steps and S.FEE_NOTICE in steps:
        at = steps.index(S.CLARIFICATION)
        steps = [s for s in steps if s not in (S.CLARIFICATION, S.FEE_NOTICE)]
        steps.insert(at, STOP_CLOCK)
    return steps


def date_fields(prefix: str) -> dict[str, str]:
    """The day, month and year boxes of a GOV.UK date input, as typed."""
    return {part: form_field(f"{prefix}-{part}", 8) for part in ("day", "month", "year")}


def today_fields() -> dict[str, str]:
    today = dt.date.today()
    return {"day": str(today.day), "month": str(today.month), "year": str(today.year)}


def date_from_fields(parts: dict[str, str], what: str) -> tuple[dt.date | None, str]:
    """The date in the boxes, or a message saying what is wrong with them."""
    missing = [name for name in ("day", "month", "year") if not parts.get(name)]
    if len(missing) == 3:
        return None, f"Enter {what}"
    if missing:
        return None, f"{sentence(what)} must include a {' and '.join(missing)}"
    if not all(parts[name].isdecimal() for name in ("day", "month", "year")):
        return None, f"{sentence(what)} must be a real date, in numbers"
    if len(parts["year"]) != 4:
        return None, "The year must have 4 numbers"
    try:
        day = dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return None, f"{sentence(what)} must be a real date"
    return day, ""


def iso_date(raw: object) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) sent to the API, or None."""
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None


def minutes_from(raw: str) -> int | None:
    """Whole minutes from "90", "1:30" or "1h 30m"; None if it is none of those."""
    text = raw.strip().lower().replace(" ", "")
    if text.isdecimal() and len(text) < 6:
        return int(text)
    found = re.fullmatch(
        r"(\d{1,2}):(\d{2})|(?:(\d{1,2})h)?(?:(\d{1,4})m(?:in(?:s|utes)?)?)?", text
    )
    if not found or not text:
        return None
    if found.group(1) is not None:
        return int(found.group(1)) * 60 + int(found.group(2))
    return int(found.group(3) or 0) * 60 + int(found.group(4) or 0)


def estimate_rates(settings: Settings) -> EstimateRates:
    return EstimateRates(
        locate_minutes=settings.s12_locate_minutes,
        retrieve_minutes=settings.s12_retrieve_minutes,
        extract_minutes=settings.s12_extract_minutes,
    )
