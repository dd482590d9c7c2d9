"""The case page: one request with its clock, workflow, searches, documents, estimate and
bundles. Both case blueprints render it, again with form errors when a service refuses.

Every rendering of the page is audited (`case_view`), a form shown again with its errors
included: the page shows the requester's contact details.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, render_template
from flask.typing import ResponseReturnValue

from cases.collection import adequacy_statement
from cases.estimator import estimate_s12, pounds
from cases.service import EXEMPTIONS, OUTCOMES, TRANSITIONS, case_clock, working_calendar
from foi_core.audit import record
from foi_core.db import transaction
from search_app.auth import services, signed_in_user
from search_app.cases.evidence_facts import (
    case_exports,
    document_page,
    index_describer,
    removed_documents,
    scoping_searches,
)
from search_app.cases.facts import case_by_reference, case_links, case_rows
from search_app.cases.forms import (
    LINK_REASONS,
    OUTCOME_LABELS,
    REFERENCE,
    STOP_REASONS,
    Errors,
    estimate_rates,
    next_steps,
    today_fields,
    transition_label,
)
from search_app.request_input import client_ip, page_number


def case_id_for(reference: str) -> int:
    """The id of the case with this reference; 404 if there is none."""
    if not REFERENCE.fullmatch(reference):
        abort(404)
    with services().sessions() as session:
        found = case_by_reference(session, reference)
        if found is None:
            abort(404)
        return found.id


def render_case(
    reference: str,
    errors: Errors,
    values: dict[str, Any],
    status: int = 200,
) -> ResponseReturnValue:
    if not REFERENCE.fullmatch(reference):
        abort(404)
    user = signed_in_user()
    app = services()
    target_days = app.settings.internal_target_days
    today = dt.date.today()
    describe = index_describer(app.es, app.names.read_alias, user.principal())
    with app.sessions() as session:
        case = case_by_reference(session, reference)
        if case is None:
            abort(404)
        context: dict[str, Any] = {
            "clock": case_clock(case, working_calendar(session), target_days),
            "row": case_rows(session, [case], today, target_days)[0],
            "links": case_links(session, case.id),
            "searches": scoping_searches(session, case.id),
            "documents": document_page(session, case.id, page_number(), describe),
            "removed": removed_documents(session, case.id),
            "exports": case_exports(session, case.id),
            "adequacy": adequacy_statement(session, case.id),
        }
        session.expunge(case)
    details: dict[str, Any] = {"page": context["documents"].page}
    if errors:
        details["form_errors"] = sorted(errors)
    with transaction(app.sessions) as session:
        record(
            session,
            actor=user.username,
            action="case_view",
            target=f"case:{case.reference}",
            ip=client_ip(),
            details=details,
        )
    estimate = estimate_s12(
        context["adequacy"].collected, case.logged_minutes, estimate_rates(app.settings)
    )
    steps = next_steps(case.regime, TRANSITIONS.get(case.status, frozenset()))
    return (
        render_template(
            "case.html",
            case=case,
            errors=errors,
            values={"on": today_fields(), **values},
            estimate=estimate,
            pounds=pounds,
            steps=[(step, transition_label(case.regime, case.status, step)) for step in steps],
            today=today,
            target_days=target_days,
            outcome_labels=OUTCOME_LABELS,
            outcomes=OUTCOMES,
            exemptions=EXEMPTIONS,
            stop_reasons=STOP_REASONS,
            link_reasons=LINK_REASONS,
            **context,
        ),
        status,
    )
