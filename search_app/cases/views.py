"""Request case pages: the dashboard, new cases, the case page and its workflow (status with
its clock, linked cases, time logged), and the extra non-working days.

Roles: FOI officers, records managers and admins work cases (`permissions.CASEWORK`);
front-office staff get 403 everywhere here. Only admins change the extra non-working days,
which move every open case's statutory deadline (`permissions.CASE_CALENDAR`).

Every decision is made and audited by `cases.service`; its refusals (`CaseError`) come back as
form errors on the page, never as a server error. Every view of a case is audited (case_page.py).
Scoping searches, collection and bundles are in case_evidence.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from cases.collection import adequacy_statement, reclassify_case
from cases.deadlines.records import long_date
from cases.relations import add_part as add_request_part
from cases.relations import link_cases
from cases.service import (
    OPEN_STATUSES,
    OUTCOMES,
    CaseError,
    create_case,
    log_time,
    transition,
)
from cases.upkeep import set_non_working_day
from foi_core.audit import record
from foi_core.db import transaction
from foi_core.models import CaseStatus, NonWorkingDay
from search_app import formats, permissions
from search_app.auth import require_role, services, signed_in_user, signed_in_username
from search_app.cases.facts import non_working_days, officers, open_cases, other_cases
from search_app.cases.forms import (
    FIELD_CHARS,
    NATIONS,
    STATUS_LABELS,
    STOP_CLOCK,
    STOP_REASONS,
    Errors,
    date_fields,
    date_from_fields,
    minutes_from,
)
from search_app.cases.page import case_id_for, render_case
from search_app.page_messages import sentence
from search_app.request_input import client_ip, form_field, page_number

bp = Blueprint("cases", __name__, url_prefix="/cases")
bp.add_app_template_filter(formats.when, "when")
bp.add_app_template_filter(long_date, "long_date")
bp.add_app_template_filter(lambda s: STATUS_LABELS.get(s, s), "case_status")

REGIMES = {
    "FOIA": "FOIA (Freedom of Information Act)",
    "EIR": "EIR (Environmental Information Regulations)",
    "SAR": "Subject access request (UK GDPR)",
}
_NEW_CASE_FIELDS = ("regime", "title", "request_text", "requester_name", "requester_contact")
# Which form field a service refusal is about, by what its message says.
_CREATE_REFUSALS = (
    ("unknown regime", "regime"),
    ("the received date", "received"),
    ("the calendar covers", "received"),
    ("a short title", "title"),
    ("the request text", "request_text"),
    ("the requester's name", "requester_name"),
    ("contact details", "requester_contact"),
)


@bp.get("")
@require_role(*permissions.CASEWORK)
def index() -> ResponseReturnValue:
    return _dashboard({}, {})


def _dashboard(errors: Errors, values: dict[str, Any], status: int = 200) -> ResponseReturnValue:
    user = signed_in_user()
    settings = services().settings
    today = dt.date.today()
    with services().sessions() as session:
        running = open_cases(session, today, settings.internal_target_days)
        others = other_cases(session, page_number(), today, settings.internal_target_days)
        assignable = officers(session)
    default_officer = user.username if user.username in assignable else ""
    return (
        render_template(
            "cases.html",
            mine=[row for row in running if row.assigned_to == user.username],
            running=running,
            others=others,
            officers=assignable,
            regimes=REGIMES,
            errors=errors,
            values={"assigned_to": default_officer, "received": {}, **values},
            may_keep_calendar=user.role in permissions.CASE_CALENDAR,
            today=today,
        ),
        status,
    )


@bp.post("")
@require_role(*permissions.CASEWORK)
def create() -> ResponseReturnValue:
    values: dict[str, Any] = {name: form_field(name, FIELD_CHARS) for name in _NEW_CASE_FIELDS}
    values["assigned_to"] = form_field("assigned_to", 150)
    values["received"] = date_fields("received")
    received, problem = date_from_fields(values["received"], "the date the request was received")
    errors = _missing_new_case_fields(values)
    if problem:
        errors["received"] = problem
    if not errors:
        with services().sessions() as session:
            if values["assigned_to"] and values["assigned_to"] not in officers(session):
                errors["assigned_to"] = "Choose an FOI officer from the list"
    if errors or received is None:
        return _dashboard(_in_form_order(errors), values, 400)
    settings = services().settings
    try:
        case = create_case(
            services().sessions,
            regime=values["regime"],
            received=received,
            title=values["title"],
            request_text=values["request_text"],
            requester_name=values["requester_name"],
            requester_contact=values["requester_contact"],
            assigned_to=values["assigned_to"],
            actor=signed_in_username(),
            prefix_spec=settings.case_prefixes,
            target_days=settings.internal_target_days,
            ip=client_ip(),
        )
    except CaseError as refused:
        message = str(refused)
        key = next((f for start, f in _CREATE_REFUSALS if start in message.lower()), "title")
        return _dashboard({key: sentence(message)}, values, 400)
    due = f" It is due on {long_date(case.due)}." if case.due else ""
    flash(f"Case {case.reference} created.{due}")
    return redirect(url_for("cases.detail", reference=case.reference))


def _missing_new_case_fields(values: dict[str, Any]) -> Errors:
    errors: Errors = {}
    if values["regime"] not in REGIMES:
        errors["regime"] = "Choose whether the request is FOIA, EIR or a subject access request"
    if not values["title"]:
        errors["title"] = "Enter a short title for the case"
    if not values["request_text"]:
        errors["request_text"] = "Enter the request as the requester made it"
    if not values["requester_name"]:
        errors["requester_name"] = "Enter the requester's name"
    return errors


def _in_form_order(errors: Errors) -> Errors:
    order = ("regime", "received", "title", "request_text", "requester_name", "assigned_to")
    return {
        key: errors[key]
        for key in sorted(errors, key=lambda k: order.index(k) if k in order else 99)
    }


@bp.get("/<reference>")
@require_role(*permissions.CASEWORK)
def detail(reference: str) -> ResponseReturnValue:
    return render_case(reference, {}, {})


@bp.post("/<reference>/transitions")
@require_role(*permissions.CASEWORK)
def move(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    to = form_field("to", 40)
    stop_reason = form_field("stop_reason", 40)
    outcome = form_field("outcome", 20)
    exemptions = [e.strip() for e in request.form.getlist("exemptions")][:100]
    values: dict[str, Any] = {
        "on": date_fields("on"),
        "outcome": outcome,
        "exemptions": exemptions,
        "stop_reason": stop_reason,
    }
    on, problem = date_from_fields(values["on"], "the date")
    errors: Errors = {"on": problem} if problem else {}
    if to == STOP_CLOCK:
        if stop_reason not in STOP_REASONS:
            errors["stop_reason"] = "Choose why the clock stops"
        to = CaseStatus.FEE_NOTICE if stop_reason == "fee" else CaseStatus.CLARIFICATION
    elif to not in STATUS_LABELS:
        abort(400)
    else:
        stop_reason = ""
    if to == CaseStatus.RESPONDED and outcome not in OUTCOMES:
        errors["outcome"] = "Choose the outcome of the response"
    if not errors and on is not None:
        try:
            moved = transition(
                services().sessions,
                case_id,
                to,
                on=on,
                actor=signed_in_username(),
                target_days=services().settings.internal_target_days,
                outcome=outcome if to == CaseStatus.RESPONDED else "",
                exemptions=exemptions if to == CaseStatus.RESPONDED else (),
                stop_reason=stop_reason,
                ip=client_ip(),
            )
        except CaseError as refused:
            errors = {_transition_field(str(refused)): sentence(str(refused))}
        else:
            if moved.status == CaseStatus.CLOSED:
                # The case_closed retention trigger starts now for its records.
                reclassify_case(services().records, moved.id)
            due = ""
            if to in (CaseStatus.CLARIFICATION, CaseStatus.FEE_NOTICE):
                due = " The clock is stopped."
            elif moved.status in OPEN_STATUSES and moved.due:
                due = f" It is due on {long_date(moved.due)}."
            flash(f"{reference} is now {STATUS_LABELS[to].lower()}.{due}")
            return redirect(url_for("cases.detail", reference=reference, _anchor="status"))
    return render_case(reference, errors, values, 400)


def _transition_field(message: str) -> str:
    lowered = message.lower()
    for word, key in (("exemption", "exemptions"), ("outcome", "outcome"), ("date", "on")):
        if word in lowered:
            return key
    return "stop_reason" if "clock stop" in lowered else "transition"


@bp.post("/<reference>/links")
@require_role(*permissions.CASEWORK)
def link(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    other = form_field("other", 64)
    if not other:
        return render_case(reference, {"other": "Enter the other case's reference"}, {}, 400)
    try:
        link_cases(services().sessions, case_id, other, actor=signed_in_username(), ip=client_ip())
    except CaseError as refused:
        return render_case(reference, {"other": sentence(str(refused))}, {"other": other}, 400)
    flash(f"{reference} and {other} are now linked.")
    return redirect(url_for("cases.detail", reference=reference, _anchor="links"))


@bp.post("/<reference>/parts")
@require_role(*permissions.CASEWORK)
def add_part(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    regime = form_field("part_regime", 8).upper()
    if regime not in ("FOIA", "EIR", "SAR"):
        return render_case(reference, {"part_regime": "Choose FOIA, EIR or SAR"}, {}, 400)
    try:
        part = add_request_part(
            services().sessions,
            case_id,
            regime,
            actor=signed_in_username(),
            prefix_spec=services().settings.case_prefixes,
            target_days=services().settings.internal_target_days,
            ip=client_ip(),
        )
    except CaseError as refused:
        return render_case(reference, {"part_regime": sentence(str(refused))}, {}, 400)
    flash(f"{part.reference} is the {regime} part of {reference}.")
    return redirect(url_for("cases.detail", reference=part.reference))


@bp.post("/<reference>/time")
@require_role(*permissions.CASEWORK)
def add_time(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    raw = form_field("minutes", 20)
    minutes = minutes_from(raw)
    if minutes is None:
        errors = {"minutes": "Enter the time in minutes, for example 90, or as 1:30"}
        return render_case(reference, errors, {"minutes": raw}, 400)
    try:
        log_time(services().sessions, case_id, minutes, actor=signed_in_username(), ip=client_ip())
    except CaseError as refused:
        return render_case(reference, {"minutes": sentence(str(refused))}, {"minutes": raw}, 400)
    flash(f"{minutes} minute{'' if minutes == 1 else 's'} logged against {reference}.")
    return redirect(url_for("cases.detail", reference=reference, _anchor="estimate"))


@bp.get("/<reference>/adequacy.txt")
@require_role(*permissions.CASEWORK)
def adequacy(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    with services().sessions() as session:
        statement = adequacy_statement(session, case_id)
    with transaction(services().sessions) as session:
        record(
            session,
            actor=signed_in_username(),
            action="case_adequacy_download",
            target=f"case:{reference}",
            ip=client_ip(),
            details={"searches": statement.searches, "collected": statement.collected},
        )
    response = Response(statement.text + "\n", mimetype="text/plain")
    filename = f"{reference}-adequacy-of-search.txt"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/non-working-days", methods=["GET", "POST"])
@require_role(*permissions.CASE_CALENDAR)
def calendar() -> ResponseReturnValue:
    errors: Errors = {}
    values: dict[str, Any] = {"day": {}, "name": "", "nations": []}
    if request.method == "POST":
        values = {
            "day": date_fields("day"),
            "name": form_field("name", 200),
            "nations": [n for n in request.form.getlist("nations") if n in NATIONS],
        }
        day, problem = date_from_fields(values["day"], "the date")
        if problem:
            errors["day"] = problem
        if not values["name"]:
            errors["name"] = "Enter the day's name, for example Proclamation bank holiday"
        if not values["nations"]:
            errors["nations"] = "Choose where the day is not a working day"
        if not errors and day is not None:
            refused = _change_day(day, values["name"], values["nations"], active=True)
            if refused is None:
                return redirect(url_for("cases.calendar"))
            errors["day"] = refused
    with services().sessions() as session:
        versions = non_working_days(session)
    page = render_template(
        "cases_calendar.html", versions=versions, nations=NATIONS, errors=errors, values=values
    )
    return page, 400 if errors else 200


@bp.post("/non-working-days/<int(max=2147483647):version_id>/withdraw")
@require_role(*permissions.CASE_CALENDAR)
def withdraw_day(version_id: int) -> ResponseReturnValue:
    with services().sessions() as session:
        found = session.execute(
            select(NonWorkingDay).where(NonWorkingDay.id == version_id)
        ).scalar_one_or_none()
        if found is None or not found.active:
            abort(404)
        day, name, nations = found.day, found.name, list(found.nations)
    refused = _change_day(day, name, nations, active=False)
    if refused is not None:
        flash(refused)
    return redirect(url_for("cases.calendar"))


def _change_day(day: dt.date, name: str, nations: list[str], *, active: bool) -> str | None:
    """Add or withdraw the day, flashing how many cases moved; the refusal message, or None."""
    try:
        changed = set_non_working_day(
            services().sessions,
            day,
            name,
            nations,
            active=active,
            actor=signed_in_username(),
            target_days=services().settings.internal_target_days,
            ip=client_ip(),
        )
    except CaseError as refused:
        return sentence(str(refused))
    what = "added as a non-working day" if active else "withdrawn as an extra non-working day"
    moved = f"{changed} open case{' has its' if changed == 1 else 's have their'}"
    flash(f"{long_date(day)} ({name}) {what}. {moved} due date recalculated.")
    return None
