"""`foi deadline`: when a FOIA, EIR or subject access request is due, and why.

Counts on the UK working calendar from the `holidays` package with no administrator-added
proclamation days. Every mistake in the arguments ends in a one-line usage error.
"""

from __future__ import annotations

import datetime as dt
import json

import click

from cases.deadlines.calendar import UKWorkingCalendar
from cases.deadlines.engine import (
    CountStep,
    Deadline,
    DeadlineInputError,
    Regime,
    RequestClock,
    compute_deadline,
    long_date,
)

# A date with no time; callers turn the parsed datetime into a date with `.date()`.
ISO_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("deadline")
@click.argument(
    "regime", metavar="REGIME", type=click.Choice(["foia", "eir", "sar"], case_sensitive=False)
)
@click.argument("received", metavar="RECEIVED_DATE", type=ISO_DATE)
@click.option("--clarified", type=ISO_DATE, help="Day the clarification was received.")
@click.option("--fee-notice", type=ISO_DATE, help="Day the fees notice was given.")
@click.option("--fee-paid", type=ISO_DATE, help="Day the fee was received.")
@click.option(
    "--extended",
    is_flag=True,
    help="FOIA public interest extension, EIR reg 7 extension or SAR two-month extension.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the deadline as JSON.")
def deadline_command(
    regime: str,
    received: dt.datetime,
    clarified: dt.datetime | None,
    fee_notice: dt.datetime | None,
    fee_paid: dt.datetime | None,
    extended: bool,
    as_json: bool,
) -> None:
    """Show when a request received on RECEIVED_DATE is due, with the day-by-day count.

    REGIME is foia, eir or sar (any case).
    """
    if (fee_notice is None) != (fee_paid is None):
        raise click.UsageError("--fee-notice and --fee-paid must be given together")
    try:
        clock = RequestClock(
            regime=Regime(regime.upper()),
            received=received.date(),
            clarified=_day(clarified),
            fee_notice=_day(fee_notice),
            fee_paid=_day(fee_paid),
            extended=extended,
        )
        deadline = compute_deadline(clock, UKWorkingCalendar())
    except DeadlineInputError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(deadline.to_json_dict(), indent=2))
    else:
        click.echo(_explain(deadline))


def _day(moment: dt.datetime | None) -> dt.date | None:
    return None if moment is None else moment.date()


def _explain(deadline: Deadline) -> str:
    if deadline.working_days is not None:
        period = f"{deadline.working_days} working days after receipt"
    elif deadline.extended:
        period = "one calendar month from receipt (receipt is day one) and two further months"
    else:
        period = "one calendar month from receipt (receipt is day one)"
    lines = [
        f"Due: {long_date(deadline.due)}",
        f"{deadline.regime} request received {long_date(deadline.received)}; {period}.",
        "",
        *(_step_line(step) for step in deadline.steps),
        "",
        "Notes:",
        *(f"  - {note}" for note in deadline.notes),
        f"Calendar: {deadline.calendar_version}",
    ]
    return "\n".join(lines)


def _step_line(step: CountStep) -> str:
    number = "" if step.day_number is None else f"day {step.day_number}"
    text = step.note
    if step.reasons:
        text = f"{text}: {'; '.join(reason.label() for reason in step.reasons)}"
    return f"  {step.date:%a %d %b %Y}  {number:<7} {text}".rstrip()
