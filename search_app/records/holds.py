"""Legal hold pages: list and create holds, add what they cover, watch preservation, release.

Roles: FOI officers, records managers and admins may see holds, place them and add to them
(`permissions.HOLDS`); only records managers may request, approve or withdraw a release
(`permissions.HOLD_RELEASE`; the service itself refuses an approval by the person who asked).
Front-office staff get 403 everywhere here.

Every decision is made and audited by `retention.holds`; refusals (`HoldError`) come back as
form errors on the page, never as a server error, and a refused scope is audited here as
denied. A folder that is the whole source takes a second step: the page asks, and only a
ticked confirmation box adds it. Opening a hold page is audited here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from elasticsearch import ApiError, TransportError
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from foi_core.audit import Outcome, record
from foi_core.db import transaction
from foi_core.sources import list_sources
from indexer.bulk import BulkWriteError
from indexer.search import records as index_records
from retention.holds import (
    HoldError,
    WholeSourceNeedsConfirmation,
    add_scope,
    create_hold,
)
from retention.preservation import run_pending
from retention.release import approve_release, request_release, withdraw_release_request
from search_app import formats, permissions
from search_app.auth import require_role, services, signed_in_user
from search_app.page_messages import INDEX_UNAVAILABLE, sentence
from search_app.records.hold_facts import (
    hold_scopes,
    hold_summaries,
    hold_summary,
    member_page,
    source_changes,
    unpreserved_roots,
)
from search_app.request_input import DOC_ID, client_ip, form_field, page_number
from search_app.search.saved import clean_params

# Route ids are capped at the database's integer range: a larger one names nothing (404)
# rather than overflowing the database driver.
bp = Blueprint("holds", __name__, url_prefix="/holds")
bp.add_app_template_filter(formats.when, "when")

_FIELD_CHARS = 4000
Errors = dict[str, str]


def _field(name: str) -> str:
    return form_field(name, _FIELD_CHARS)


def search_params(raw: str) -> str:
    """The search page's query string from what a person pasted: the page's address, its
    query string, or just search words."""
    raw = raw.strip()
    if "?" in raw:
        raw = raw.split("?", 1)[1]
    if "=" not in raw:
        raw = urlencode({"q": raw}) if raw else ""
    return clean_params(raw)


@bp.get("")
@require_role(*permissions.HOLDS)
def index() -> ResponseReturnValue:
    return _list_page({}, {})


def _list_page(errors: Errors, values: dict[str, str], status: int = 200) -> ResponseReturnValue:
    with services().sessions() as session:
        holds = hold_summaries(session)
    return render_template("holds.html", holds=holds, errors=errors, values=values), status


@bp.post("")
@require_role(*permissions.HOLDS)
def create() -> ResponseReturnValue:
    user = signed_in_user()
    values = {name: _field(name) for name in ("name", "reason", "case_ref")}
    try:
        hold_id = create_hold(
            services().records,
            name=values["name"],
            reason=values["reason"],
            owner=user.username,
            actor=user.username,
            case_ref=values["case_ref"],
            ip=client_ip(),
        )
    except HoldError as refused:
        message = str(refused)
        field = "reason" if message.lower().startswith("a reason") else "name"
        return _list_page({field: sentence(message)}, values, 400)
    flash(f"Hold {hold_id} created. Add the folders, searches or documents it covers.")
    return redirect(url_for("holds.detail", hold_id=hold_id))


@bp.get("/<int(max=2147483647):hold_id>")
@require_role(*permissions.HOLDS)
def detail(hold_id: int) -> ResponseReturnValue:
    values = {"query": request.args.get("add_query", "")[:_FIELD_CHARS]}
    return _detail_page(hold_id, {}, values, audit_view=True)


def _detail_page(
    hold_id: int,
    errors: Errors,
    values: dict[str, str],
    status: int = 200,
    *,
    audit_view: bool = False,
    whole_source: WholeSourceNeedsConfirmation | None = None,
) -> ResponseReturnValue:
    user = signed_in_user()
    with services().sessions() as session:
        hold = hold_summary(session, hold_id)
        if hold is None:
            abort(404)
        context: dict[str, Any] = {
            "hold": hold,
            "scopes": hold_scopes(session, hold_id),
            "members": member_page(session, hold_id, page_number()),
            "changes": source_changes(session, hold_id),
            "sources": [s.name for s in list_sources(session)],
        }
    if audit_view:
        with transaction(services().sessions) as session:
            record(
                session,
                actor=user.username,
                action="hold_view",
                target=f"hold:{hold_id}",
                ip=client_ip(),
                details={"page": context["members"].page},
            )
    may_decide = user.role in permissions.HOLD_RELEASE
    return (
        render_template(
            "hold.html",
            errors=errors,
            values=values,
            may_decide=may_decide,
            may_approve=may_decide and hold.release_requested_by != user.username,
            whole_source=whole_source,
            **context,
        ),
        status,
    )


@bp.post("/<int(max=2147483647):hold_id>/scopes")
@require_role(*permissions.HOLDS)
def add(hold_id: int) -> ResponseReturnValue:
    kind = request.form.get("kind", "")
    values = {name: _field(name) for name in ("source", "folder", "query", "doc_id")}
    errors, scope = _scope_from_form(kind, values)
    if not errors:
        confirmed = request.form.get("confirm_whole_source") == "yes"
        try:
            refused = _add_scope(hold_id, kind, scope, confirm_whole_source=confirmed)
        except WholeSourceNeedsConfirmation as asked:
            # The question, or (from the question's own form) a box left unticked.
            if request.form.get("whole_source") == "yes":
                why = f"Tick the box to hold every file on source {asked.source}"
                errors = {"confirm_whole_source": why}
            return _detail_page(hold_id, errors, values, 400 if errors else 200, whole_source=asked)
        if refused is None:
            return redirect(url_for("holds.detail", hold_id=hold_id, _anchor="members"))
        errors = {_ERROR_FIELD[kind]: refused}
    return _detail_page(hold_id, errors, values, 400)


_ERROR_FIELD = {"folder": "folder", "query": "query", "item": "doc_id"}


def _scope_from_form(kind: str, values: dict[str, str]) -> tuple[Errors, dict[str, str]]:
    """The add_scope arguments for a form, or the form's errors (nothing is checked here that
    the service checks too, except what the form itself offers: sources, id shape)."""
    if kind == "folder":
        with services().sessions() as session:
            known = {s.name for s in list_sources(session)}
        if values["source"] not in known:
            return {"source": "Choose the source the folder is on"}, {}
        if not values["folder"]:
            return {"folder": "Enter the folder, for example Cases/Smith (/ for all of it)"}, {}
        # As typed: the service normalises it (Windows and UNC paths too) or says what is wrong.
        return {}, {"source": values["source"], "folder": values["folder"]}
    if kind == "query":
        params = search_params(values["query"])
        if not params:
            return {"query": "Enter search words or the search page's address"}, {}
        return {}, {"query": params}
    if kind == "item":
        doc_id = values["doc_id"].lower()
        if not DOC_ID.match(doc_id):
            return {
                "doc_id": "Enter the document's id: the 40 letters and digits in its address"
            }, {}
        return {}, {"doc_id": doc_id}
    abort(400)


def _add_scope(
    hold_id: int, kind: str, scope: dict[str, str], *, confirm_whole_source: bool = False
) -> str | None:
    """Add the scope and start copy-on-hold; returns the refusal message, or None. Every
    refusal is audited; WholeSourceNeedsConfirmation is raised on, for the page to ask."""
    user = signed_in_user()
    try:
        joined = add_scope(
            services().records,
            hold_id,
            kind=kind,
            actor=user.username,
            ip=client_ip(),
            confirm_whole_source=confirm_whole_source,
            **scope,
        )
    except HoldError as refused:
        with transaction(services().sessions) as session:
            record(
                session,
                actor=user.username,
                action="hold_add",
                target=f"hold:{hold_id}",
                ip=client_ip(),
                outcome=Outcome.DENIED,
                details={"kind": kind, **scope, "reason": str(refused)},
            )
        if isinstance(refused, WholeSourceNeedsConfirmation):
            raise
        return sentence(str(refused))
    except (ApiError, TransportError, BulkWriteError):
        return INDEX_UNAVAILABLE
    services().preserver.submit(user.username)
    flash(f"{joined} file{'' if joined == 1 else 's'} joined the hold. Copies are being preserved.")
    return None


@bp.post("/<int(max=2147483647):hold_id>/preserve")
@require_role(*permissions.HOLDS)
def retry_preservation(hold_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    with services().sessions() as session:
        if hold_summary(session, hold_id) is None:
            abort(404)
        roots = unpreserved_roots(session, hold_id)
    if not roots:
        flash("Every file on this hold is preserved.")
    else:
        report = run_pending(services().records, root_ids=roots, actor=user.username)
        flash(f"Preservation retried: {report.preserved} preserved, {report.failed} still failing.")
    return redirect(url_for("holds.detail", hold_id=hold_id))


@bp.post("/<int(max=2147483647):hold_id>/release-request")
@require_role(*permissions.HOLD_RELEASE)
def release_request(hold_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    reason = _field("reason")
    try:
        request_release(
            services().records, hold_id, actor=user.username, reason=reason, ip=client_ip()
        )
    except HoldError as refused:
        return _detail_page(
            hold_id, {"release-reason": sentence(str(refused))}, {"reason": reason}, 400
        )
    flash("Release requested. Another records manager must approve it.")
    return redirect(url_for("holds.detail", hold_id=hold_id))


@bp.post("/<int(max=2147483647):hold_id>/release-approve")
@require_role(*permissions.HOLD_RELEASE)
def release_approve(hold_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    try:
        approve_release(services().records, hold_id, approver=user.username, ip=client_ip())
    except HoldError as refused:
        return _detail_page(hold_id, {"release": sentence(str(refused))}, {}, 400)
    flash("Hold released. Its files may be disposed of again unless another hold covers them.")
    return redirect(url_for("holds.detail", hold_id=hold_id))


@bp.post("/<int(max=2147483647):hold_id>/release-withdraw")
@require_role(*permissions.HOLD_RELEASE)
def release_withdraw(hold_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    try:
        withdraw_release_request(services().records, hold_id, actor=user.username, ip=client_ip())
    except HoldError as refused:
        return _detail_page(hold_id, {"release": sentence(str(refused))}, {}, 400)
    flash("Release request withdrawn. The hold stays in force.")
    return redirect(url_for("holds.detail", hold_id=hold_id))


@bp.route("/add-document", methods=["GET", "POST"])
@require_role(*permissions.HOLDS)
def add_document() -> ResponseReturnValue:
    """Chooser for the document page's "Hold this document": pick an active hold."""
    doc_id = request.values.get("doc_id", "").strip().lower()
    if not DOC_ID.match(doc_id):
        abort(404)
    try:
        doc = index_records.get_document(
            services().es, services().names.read_alias, doc_id, signed_in_user().principal()
        )
    except (ApiError, TransportError, BulkWriteError):
        abort(503)
    if doc is None:
        abort(404)
    label = str(doc.get("unc") or doc.get("path") or doc_id)
    link = url_for("documents.view", doc_id=doc_id)
    return _choose("item", {"doc_id": doc_id}, "the document", label, link)


@bp.route("/add-search", methods=["GET", "POST"])
@require_role(*permissions.HOLDS)
def add_search() -> ResponseReturnValue:
    """Chooser for the search page's "Hold these results": pick an active hold."""
    params = search_params(request.values.get("query", ""))
    if not params:
        flash("Run a search first, then choose “Hold these results”.")
        return redirect(url_for("search.index"))
    link = url_for("search.index") + "?" + params
    return _choose("query", {"query": params}, "everything found by the search", params, link)


def _choose(
    kind: str, scope: dict[str, str], described: str, label: str, link: str
) -> ResponseReturnValue:
    errors: Errors = {}
    chosen = request.form.get("hold", "")
    if request.method == "POST":
        if not (chosen.isdecimal() and len(chosen) < 10):
            errors = {"hold": "Choose the hold to add this to"}
        else:
            refused = _add_scope(int(chosen), kind, scope)
            if refused is None:
                return redirect(url_for("holds.detail", hold_id=int(chosen), _anchor="members"))
            errors = {"hold": refused}
    with services().sessions() as session:
        holds = hold_summaries(session, active_only=True)
    return (
        render_template(
            "hold_choose.html",
            kind=kind,
            scope=scope,
            described=described,
            label=label,
            link=link,
            holds=holds,
            chosen=chosen,
            errors=errors,
        ),
        400 if errors else 200,
    )
