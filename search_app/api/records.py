"""Holds and retention in the JSON API (/api/v1): the same services, roles and audit as the
pages (search_app.records.holds and search_app.records.retention), with JSON errors.

Bad input is a 400 with a message saying what to send; a refusal by the service (a hold
that already exists, a release approved by its requester, a disposal approved or executed by
its builder) is a 400 carrying the service's message, and refused hold scopes and disposal
steps are audited as denied, as the pages audit them; a missing hold or batch is a 404; a role
that may not do this is a 403. A hold on a whole source needs `"confirm_whole_source": true`;
executing a batch needs `"confirm": true`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from elasticsearch import ApiError, TransportError
from flask import Blueprint, Response, abort, jsonify
from flask.typing import ResponseReturnValue

from foi_core.audit import Outcome, record
from foi_core.db import transaction
from foi_core.models import DisposalBatch, HoldScope
from indexer.bulk import BulkWriteError
from retention.classify import report
from retention.disposal import DisposalError, approve, build_batch, execute
from retention.disposal_checks import ONE_PERSON_WARNING, one_person
from retention.holds import (
    HoldError,
    WholeSourceNeedsConfirmation,
    add_scope,
    create_hold,
)
from retention.release import approve_release, request_release
from search_app import permissions
from search_app.api.requests import (
    INDEX_UNAVAILABLE,
    answer_errors_as_json,
    flag,
    iso,
    page_number,
    path_number,
    refused,
    string_fields,
)
from search_app.auth import require_role, services, signed_in_user
from search_app.records.batch_facts import batch, batches, item_page, state_counts
from search_app.records.hold_facts import (
    HoldSummary,
    hold_scopes,
    hold_summaries,
    hold_summary,
    member_page,
)
from search_app.records.holds import search_params
from search_app.request_input import DOC_ID, client_ip

bp = Blueprint("api_records", __name__, url_prefix="/api/v1")
answer_errors_as_json(bp)
_KINDS = ("item", "folder", "query")


def _audit_refusal(action: str, target: str, error: ValueError, **details: Any) -> None:
    """Audit a refused step (its own work rolled back) as the pages and the CLI do."""
    with transaction(services().sessions) as session:
        record(
            session,
            actor=signed_in_user().username,
            action=action,
            target=target,
            ip=client_ip(),
            outcome=Outcome.DENIED,
            details={**details, "reason": str(error), "via": "api"},
        )


def _hold_json(hold: HoldSummary) -> dict[str, Any]:
    return {
        "id": hold.id,
        "name": hold.name,
        "status": hold.status,
        "case_ref": hold.case_ref,
        "owner": hold.owner,
        "reason": hold.reason,
        "files": hold.files,
        "preservation_failures": hold.preservation_failures,
        "created_by": hold.created_by,
        "created_at": iso(hold.created_at),
        "release_requested_by": hold.release_requested_by or None,
        "release_requested_at": iso(hold.release_requested_at),
        "release_reason": hold.release_reason or None,
        "released_by": hold.released_by or None,
        "released_at": iso(hold.released_at),
    }


def _scope_json(scope: HoldScope) -> dict[str, Any]:
    return {
        "id": scope.id,
        "kind": scope.kind,
        "description": scope.description,
        "added_by": scope.added_by,
        "added_at": iso(scope.added_at),
    }


@bp.get("/holds")
@require_role(*permissions.HOLDS)
def list_holds() -> ResponseReturnValue:
    with services().sessions() as session:
        return jsonify(holds=[_hold_json(h) for h in hold_summaries(session)])


@bp.post("/holds")
@require_role(*permissions.HOLDS)
def create() -> ResponseReturnValue:
    body = string_fields("name", "reason")
    user = signed_in_user()
    try:
        hold_id = create_hold(
            services().records,
            name=body["name"],
            reason=body["reason"],
            owner=user.username,
            actor=user.username,
            case_ref=body.get("case_ref", ""),
            ip=client_ip(),
        )
    except HoldError as refusal:
        return refused(refusal)
    return _hold_response(hold_id, 201)


def _hold_response(hold_id: int, status: int = 200) -> ResponseReturnValue:
    page = page_number()
    with services().sessions() as session:
        hold = hold_summary(session, hold_id)
        if hold is None:
            abort(404, description=f"there is no hold {hold_id}")
        scopes = hold_scopes(session, hold_id)
        members = member_page(session, hold_id, page)
    body = {
        **_hold_json(hold),
        "scopes": [_scope_json(s) for s in scopes],
        "members": {
            "page": members.page,
            "pages": members.pages,
            "total": members.total,
            "items": [
                {
                    "root_id": m.root_id,
                    "doc_id": m.doc_id,
                    "source": m.source,
                    "path": m.path,
                    "unc": m.unc,
                    "conservative": m.conservative,
                    "preservation": [
                        {"status": t.status, "error": t.error} for t in m.preservation
                    ],
                }
                for m in members.rows
            ],
        },
    }
    return jsonify(body), status


@bp.get("/holds/<hold_id>")
@require_role(*permissions.HOLDS)
def get_hold(hold_id: str) -> ResponseReturnValue:
    number = path_number(hold_id, "hold")
    response = _hold_response(number)
    with transaction(services().sessions) as session:
        record(
            session,
            actor=signed_in_user().username,
            action="hold_view",
            target=f"hold:{number}",
            ip=client_ip(),
            details={"via": "api"},
        )
    return response


@bp.post("/holds/<hold_id>/scopes")
@require_role(*permissions.HOLDS)
def add(hold_id: str) -> ResponseReturnValue:
    number = path_number(hold_id, "hold")
    body = string_fields("kind", flags=("confirm_whole_source",))
    kind = body["kind"]
    if kind not in _KINDS:
        abort(400, description="kind must be item, folder or query")
    needed = {"item": ("doc_id",), "folder": ("source", "folder"), "query": ("query",)}[kind]
    missing = [name for name in needed if not body.get(name, "").strip()]
    if missing:
        abort(400, description=f"a {kind} scope needs: {', '.join(missing)}")
    scope = {name: body[name].strip() for name in needed}
    if kind == "query":
        scope["query"] = search_params(scope["query"])
    if kind == "item" and not DOC_ID.match(scope["doc_id"]):
        abort(400, description="doc_id must be 40 lower-case hexadecimal characters")
    _known_hold(number)
    user = signed_in_user()
    try:
        joined = add_scope(
            services().records,
            number,
            kind=kind,
            actor=user.username,
            ip=client_ip(),
            confirm_whole_source=flag("confirm_whole_source"),
            **scope,
        )
    except WholeSourceNeedsConfirmation as asked:
        _audit_refusal("hold_add", f"hold:{number}", asked, kind=kind, **scope)
        message = f'{asked}: send the scope again with "confirm_whole_source": true'
        return jsonify(error="Refused", message=message, files=asked.files), 400
    except HoldError as refusal:
        _audit_refusal("hold_add", f"hold:{number}", refusal, kind=kind, **scope)
        return refused(refusal)
    except (ApiError, TransportError, BulkWriteError):
        abort(503, description=INDEX_UNAVAILABLE)
    services().preserver.submit(user.username)
    return jsonify(hold_id=number, kind=kind, joined=joined), 201


@bp.post("/holds/<hold_id>/release-request")
@require_role(*permissions.HOLD_RELEASE)
def release_request(hold_id: str) -> ResponseReturnValue:
    number = path_number(hold_id, "hold")
    body = string_fields("reason")
    _known_hold(number)
    try:
        request_release(
            services().records,
            number,
            actor=signed_in_user().username,
            reason=body["reason"],
            ip=client_ip(),
        )
    except HoldError as refusal:
        return refused(refusal)
    return _hold_response(number)


@bp.post("/holds/<hold_id>/release-approve")
@require_role(*permissions.HOLD_RELEASE)
def release_approve(hold_id: str) -> ResponseReturnValue:
    number = path_number(hold_id, "hold")
    _known_hold(number)
    try:
        approve_release(
            services().records, number, approver=signed_in_user().username, ip=client_ip()
        )
    except HoldError as refusal:
        return refused(refusal)
    return _hold_response(number)


def _known_hold(hold_id: int) -> None:
    with services().sessions() as session:
        if hold_summary(session, hold_id) is None:
            abort(404, description=f"there is no hold {hold_id}")


@bp.get("/retention/report")
@require_role(*permissions.RETENTION)
def retention_report() -> ResponseReturnValue:
    try:
        found = report(services().records, date.today())
    except (ApiError, TransportError, BulkWriteError):
        abort(503, description=INDEX_UNAVAILABLE)
    return jsonify(
        schedule_version=found.schedule_version or None,
        files=found.files,
        by_class=[
            {"class_id": c.class_id, "files": c.files, "bytes": c.bytes} for c in found.by_class
        ],
        by_action=dict(found.by_action),
        unclassified={
            "files": found.unclassified,
            "bytes": found.unclassified_bytes,
            "folders": [{"folder": f, "files": n} for f, n in found.unclassified_folders],
        },
        eligible={"files": found.eligible, "bytes": found.eligible_bytes},
    )


def _batch_json(found: DisposalBatch) -> dict[str, Any]:
    alone = one_person(found, services().records.approvals_needed)
    return {
        "id": found.id,
        "status": found.status,
        "schedule_version": found.schedule_version,
        "created_by": found.created_by,
        "created_at": iso(found.created_at),
        "approvals_needed": found.approvals_needed,
        "approved_by": list(found.approved_by),
        "approved_at": iso(found.approved_at),
        "executed_by": found.executed_by or None,
        "executed_at": iso(found.executed_at),
        "note": found.note or None,
        "counts": dict(found.counts),
        "one_person": alone,
        "warning": ONE_PERSON_WARNING if alone else None,
    }


@bp.get("/retention/batches")
@require_role(*permissions.RETENTION)
def list_batches() -> ResponseReturnValue:
    with services().sessions() as session:
        return jsonify(batches=[_batch_json(b) for b in batches(session)])


@bp.get("/retention/batches/<batch_id>")
@require_role(*permissions.RETENTION)
def get_batch(batch_id: str) -> ResponseReturnValue:
    number = path_number(batch_id, "disposal batch")
    page = page_number()
    with services().sessions() as session:
        found = batch(session, number)
        if found is None:
            abort(404, description=f"there is no disposal batch {number}")
        items = item_page(session, number, page)
        states = state_counts(session, number)
        body = _batch_json(found)
    return jsonify(
        {
            **body,
            "states": states,
            "items": {
                "page": items.page,
                "pages": items.pages,
                "total": items.total,
                "items": [
                    {
                        "doc_id": i.doc_id,
                        "source": i.source,
                        "path": i.path,
                        "unc": i.unc,
                        "class_id": i.class_id,
                        "class_name": i.class_name,
                        "rule": i.rule or None,
                        "trigger_date": iso(i.trigger_date),
                        "disposal_date": iso(i.disposal_date),
                        "size": i.size,
                        "share_modified": iso(i.modified),
                        "embedded_modified": iso(i.embedded_modified),
                        "modified": iso(i.modified),
                        "state": i.state,
                        "reason": i.reason or None,
                    }
                    for i in items.rows
                ],
            },
        }
    )


def _batch_response(batch_id: int, **extra: Any) -> Response:
    with services().sessions() as session:
        found = batch(session, batch_id)
        if found is None:
            abort(404, description=f"there is no disposal batch {batch_id}")
        return jsonify({**_batch_json(found), **extra})


@bp.post("/retention/batches")
@require_role(*permissions.DISPOSAL)
def build() -> ResponseReturnValue:
    """Build a batch of everything eligible today (then it needs review and approval)."""
    try:
        built = build_batch(
            services().records, actor=signed_in_user().username, today=date.today(), ip=client_ip()
        )
    except DisposalError as refusal:
        _audit_refusal("disposal_batch_create", "batch:new", refusal)
        return refused(refusal)
    except (ApiError, TransportError, BulkWriteError):
        abort(503, description=INDEX_UNAVAILABLE)
    if built is None:
        return jsonify(batch=None, message="nothing is eligible for disposal today"), 200
    return _batch_response(built), 201


def _known_batch(raw: str) -> int:
    number = path_number(raw, "disposal batch")
    with services().sessions() as session:
        if batch(session, number) is None:
            abort(404, description=f"there is no disposal batch {number}")
    return number


@bp.post("/retention/batches/<batch_id>/approve")
@require_role(*permissions.DISPOSAL)
def approve_batch(batch_id: str) -> ResponseReturnValue:
    """One approval, under the rule of who may decide (`retention.disposal_checks`)."""
    number = _known_batch(batch_id)
    try:
        approve(services().records, number, actor=signed_in_user().username, ip=client_ip())
    except DisposalError as refusal:
        _audit_refusal("disposal_approve", f"batch:{number}", refusal)
        return refused(refusal)
    return _batch_response(number)


@bp.post("/retention/batches/<batch_id>/execute")
@require_role(*permissions.DISPOSAL)
def execute_batch(batch_id: str) -> ResponseReturnValue:
    """Destroy an approved batch's files: needs `"confirm": true`, as the page needs its box
    ticked. Returns the batch with what happened (the certificate's counts)."""
    number = _known_batch(batch_id)
    if not flag("confirm"):
        abort(400, description='destruction cannot be undone: send {"confirm": true} to go ahead')
    try:
        done = execute(services().records, number, actor=signed_in_user().username, ip=client_ip())
    except DisposalError as refusal:
        _audit_refusal("disposal_execute", f"batch:{number}", refusal)
        return refused(refusal)
    except (ApiError, TransportError, BulkWriteError):
        abort(503, description=INDEX_UNAVAILABLE)
    return _batch_response(
        number,
        destroyed=done.destroyed,
        skipped=done.skipped,
        failed=done.failed,
        excluded=done.excluded,
    )
