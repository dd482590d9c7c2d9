"""Request cases and statistics in the JSON API (/api/v1): the same services, roles and audit
as the pages (search_app.cases.views, search_app.cases.evidence, search_app.cases.statistics).

Bad input is a 400 with a message saying what to send; a refusal by the service (a transition
that is not allowed, a refusal with no exemptions) is a 400 carrying the service's message; an
unknown case is a 404; a role that may not work cases is a 403. Reading one case is audited
(`case_view`): it carries the requester's contact details.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from elasticsearch import ApiError, TransportError
from flask import Blueprint, Response, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from cases.collection import (
    adequacy_statement,
    collect,
    collect_search,
    reclassify_case,
    run_scoping_search,
)
from cases.service import OPEN_STATUSES, CaseError, create_case, transition
from cases.statistics import statistics_csv
from foi_core.audit import record
from foi_core.db import transaction
from foi_core.models import Case
from indexer.bulk import BulkWriteError
from search_app import permissions
from search_app.api.case_json import (
    case_json,
    document_json,
    export_json,
    row_json,
    search_json,
    statistics_json,
)
from search_app.api.requests import (
    INDEX_UNAVAILABLE,
    answer_errors_as_json,
    json_object,
    page_number,
    refused,
)
from search_app.auth import require_role, services, signed_in_user, signed_in_username
from search_app.cases.evidence_facts import (
    case_exports,
    document_page,
    export_row,
    index_describer,
    scoping_searches,
    search_row,
)
from search_app.cases.facts import case_by_reference, listed_cases, officers, statistics_facts
from search_app.cases.forms import REFERENCE, STATUS_LABELS, estimate_rates, iso_date
from search_app.cases.statistics import statistics_rows
from search_app.records.holds import search_params
from search_app.request_input import DOC_ID, client_ip

bp = Blueprint("api_cases", __name__, url_prefix="/api/v1")
answer_errors_as_json(bp)


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        abort(400, description=f"{name} must be a string")
    if required and not value.strip():
        abort(400, description=f"required: {name}")
    return value.strip()


def _date(body: dict[str, Any], name: str) -> dt.date:
    found = iso_date(body.get(name))
    if found is None:
        abort(400, description=f"{name} must be a date as YYYY-MM-DD")
    return found


def _case_id(reference: str) -> int:
    if REFERENCE.fullmatch(reference):
        with services().sessions() as session:
            found = case_by_reference(session, reference)
            if found is not None:
                return found.id
    abort(404, description=f"there is no case {reference[:40]!r}")


@bp.get("/cases")
@require_role(*permissions.CASEWORK)
def list_cases() -> ResponseReturnValue:
    status = request.args.get("status", "all")
    if status not in ("open", "closed", "all"):
        abort(400, description="status must be open, closed or all")
    where: list[Any] = []
    if status == "open":
        where.append(Case.status.in_(OPEN_STATUSES))
    elif status == "closed":
        where.append(Case.status.not_in(OPEN_STATUSES))
    assigned = request.args.get("assigned_to", "").strip()
    if assigned:
        where.append(Case.assigned_to == assigned[:150])
    page = page_number()
    with services().sessions() as session:
        found = listed_cases(
            session, page, dt.date.today(), services().settings.internal_target_days, *where
        )
    return jsonify(
        cases=[row_json(r) for r in found.rows],
        page=found.page,
        pages=found.pages,
        total=found.total,
    )


def _case_response(case_id: int, status: int = 200) -> ResponseReturnValue:
    settings = services().settings
    with services().sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            abort(404, description="there is no such case")
        body = case_json(session, case, settings.internal_target_days, estimate_rates(settings))
    return jsonify(body), status


@bp.post("/cases")
@require_role(*permissions.CASEWORK)
def create() -> ResponseReturnValue:
    body = json_object()
    fields = {
        name: _text(body, name, required=name not in ("requester_contact", "assigned_to"))
        for name in (
            "regime",
            "title",
            "request_text",
            "requester_name",
            "requester_contact",
            "assigned_to",
        )
    }
    received = _date(body, "received")
    if fields["assigned_to"]:
        with services().sessions() as session:
            if fields["assigned_to"] not in officers(session):
                abort(400, description="assigned_to must be an active FOI officer's username")
    settings = services().settings
    try:
        case = create_case(
            services().sessions,
            received=received,
            actor=signed_in_username(),
            prefix_spec=settings.case_prefixes,
            target_days=settings.internal_target_days,
            ip=client_ip(),
            **fields,
        )
    except CaseError as refusal:
        return refused(refusal)
    return _case_response(case.id, 201)


@bp.get("/cases/<reference>")
@require_role(*permissions.CASEWORK)
def get_case(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    response = _case_response(case_id)
    with transaction(services().sessions) as session:
        record(
            session,
            actor=signed_in_username(),
            action="case_view",
            target=f"case:{reference}",
            ip=client_ip(),
            details={"via": "api"},
        )
    return response


@bp.post("/cases/<reference>/transitions")
@require_role(*permissions.CASEWORK)
def move(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    body = json_object()
    to = _text(body, "to", required=True)
    if to not in STATUS_LABELS:
        abort(400, description=f"to must be one of: {', '.join(STATUS_LABELS)}")
    exemptions = body.get("exemptions", [])
    if not isinstance(exemptions, list) or not all(isinstance(e, str) for e in exemptions):
        abort(400, description="exemptions must be a list of strings")
    try:
        moved = transition(
            services().sessions,
            case_id,
            to,
            on=_date(body, "on"),
            actor=signed_in_username(),
            target_days=services().settings.internal_target_days,
            outcome=_text(body, "outcome"),
            exemptions=exemptions[:100],
            stop_reason=_text(body, "stop_reason"),
            ip=client_ip(),
        )
    except CaseError as refusal:
        return refused(refusal)
    if moved.status == "closed":
        # The case_closed retention trigger starts now for its records.
        reclassify_case(services().records, moved.id)
    return _case_response(case_id)


@bp.get("/cases/<reference>/documents")
@require_role(*permissions.CASEWORK)
def documents(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    page = page_number()
    app = services()
    describe = index_describer(app.es, app.names.read_alias, signed_in_user().principal())
    with app.sessions() as session:
        found = document_page(session, case_id, page, describe)
    return jsonify(
        page=found.page,
        pages=found.pages,
        total=found.total,
        described=found.described,
        items=[document_json(r) for r in found.rows],
    )


@bp.post("/cases/<reference>/documents")
@require_role(*permissions.CASEWORK)
def add_documents(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    body = json_object()
    doc_ids, query = body.get("doc_ids"), body.get("query")
    if (doc_ids is None) == (query is None):
        abort(400, description="send either doc_ids (a list of document ids) or query")
    try:
        if doc_ids is not None:
            if not isinstance(doc_ids, list) or not doc_ids:
                abort(400, description="doc_ids must be a non-empty list of document ids")
            if not all(isinstance(d, str) and DOC_ID.match(d) for d in doc_ids):
                abort(400, description="each doc_id must be 40 lower-case hexadecimal characters")
            added = collect(
                services().records, case_id, doc_ids, actor=signed_in_username(), ip=client_ip()
            )
        else:
            params = search_params(query) if isinstance(query, str) else ""
            if not params:
                abort(400, description="query must be search words or the search page's query")
            added = collect_search(
                services().records, case_id, params, actor=signed_in_username(), ip=client_ip()
            )
    except CaseError as refusal:
        return refused(refusal)
    except (ApiError, TransportError, BulkWriteError):
        abort(503, description=INDEX_UNAVAILABLE)
    services().preserver.submit(signed_in_username())
    with services().sessions() as session:
        hold_id = session.get_one(Case, case_id).hold_id
    return jsonify(reference=reference, collected=added, hold_id=hold_id), 201


@bp.get("/cases/<reference>/searches")
@require_role(*permissions.CASEWORK)
def searches(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    with services().sessions() as session:
        rows = scoping_searches(session, case_id)
        statement = adequacy_statement(session, case_id)
    return jsonify(searches=[search_json(r) for r in rows], adequacy=statement.text)


@bp.post("/cases/<reference>/searches")
@require_role(*permissions.CASEWORK)
def run_search(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    query = search_params(_text(json_object(), "query", required=True))
    if not query:
        abort(400, description="query must be search words or the search page's query")
    try:
        found = run_scoping_search(
            services().records, case_id, query, actor=signed_in_username(), ip=client_ip()
        )
    except CaseError as refusal:
        return refused(refusal)
    except (ApiError, TransportError, BulkWriteError):
        abort(503, description=INDEX_UNAVAILABLE)
    return jsonify(search_json(search_row(found))), 201


@bp.get("/cases/<reference>/exports")
@require_role(*permissions.CASEWORK)
def exports(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    with services().sessions() as session:
        rows = case_exports(session, case_id)
    return jsonify(exports=[export_json(r) for r in rows])


@bp.post("/cases/<reference>/exports")
@require_role(*permissions.CASEWORK)
def export(reference: str) -> ResponseReturnValue:
    case_id = _case_id(reference)
    try:
        made = services().exporter.request(case_id, actor=signed_in_username(), ip=client_ip())
    except CaseError as refusal:
        return refused(refusal)
    response = jsonify(export_json(export_row(made)))
    response.headers["Location"] = url_for("api_cases.exports", reference=reference)
    return response, 202


@bp.get("/statistics")
@require_role(*permissions.CASEWORK)
def statistics() -> ResponseReturnValue:
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        abort(400, description="format must be json or csv")
    rows, problem = statistics_rows()
    if problem:
        abort(409, description=f"these cases cannot be counted until they are fixed: {problem}")
    if wanted == "csv":
        response = Response(statistics_csv(rows), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="request-statistics.csv"'
        return response
    with services().sessions() as session:
        references = {f.id: f.reference for f in statistics_facts(session)}
    return jsonify(rows=[statistics_json(row, references) for row in rows])
