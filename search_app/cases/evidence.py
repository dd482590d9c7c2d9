"""What a case finds and discloses: scoping searches, collecting records (from the case page,
the search page or a document page), and disclosure bundles with their downloads.

Roles as for every case page (`permissions.CASEWORK`). Collecting places the records on the
case's legal hold (cases.collection) and starts copy-on-hold in the background, as adding to a
hold does. Every decision is made and audited by `cases.collection` and `cases.export`; their
refusals come back as form errors. Downloading a bundle file is audited here.
"""

from __future__ import annotations

import datetime as dt
import mimetypes

from elasticsearch import ApiError, TransportError
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from cases.collection import collect, collect_search, remove, run_scoping_search
from cases.export import export_file
from cases.export_jobs import ExportState
from cases.service import CaseError
from foi_core.audit import record
from foi_core.db import transaction
from foi_core.models import CaseStatus
from indexer.bulk import BulkWriteError
from indexer.search import records as index_records
from search_app import formats, permissions
from search_app.auth import require_role, services, signed_in_user, signed_in_username
from search_app.cases.evidence_facts import case_export, scoping_search
from search_app.cases.facts import case_by_reference, choosable_cases
from search_app.cases.forms import Errors
from search_app.cases.page import case_id_for, render_case
from search_app.page_messages import INDEX_UNAVAILABLE, sentence
from search_app.records.holds import search_params
from search_app.request_input import DOC_ID, client_ip, form_field

bp = Blueprint("case_evidence", __name__, url_prefix="/cases")
bp.add_app_template_filter(formats.when, "when")
bp.add_app_template_filter(formats.file_size, "file_size")


def _collected_message(reference: str, added: int) -> str:
    if not added:
        return f"Those documents were already collected into {reference}; nothing was added."
    documents = f"{added:,} document{'' if added == 1 else 's'}"
    return (
        f"{documents} collected into {reference}. {'It is' if added == 1 else 'They are'} now "
        "on the case's legal hold: nothing collected can be disposed of."
    )


@bp.post("/<reference>/searches")
@require_role(*permissions.CASEWORK)
def run_search(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    raw = form_field("query", 4000)
    query = search_params(raw)
    if not query:
        errors = {"query": "Enter search words or the search page's address"}
        return render_case(reference, errors, {"query": raw}, 400)
    refused = _run(case_id, query)
    if refused is not None:
        return render_case(reference, {"query": refused}, {"query": raw}, 400)
    return redirect(url_for("cases.detail", reference=reference, _anchor="searches"))


@bp.post("/<reference>/searches/<int(max=2147483647):search_id>/rerun")
@require_role(*permissions.CASEWORK)
def rerun_search(reference: str, search_id: int) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    with services().sessions() as session:
        found = scoping_search(session, case_id, search_id)
        if found is None:
            abort(404)
        query = found.query
    refused = _run(case_id, query)
    if refused is not None:
        return render_case(reference, {"searches": refused}, {}, 400)
    return redirect(url_for("cases.detail", reference=reference, _anchor="searches"))


def _run(case_id: int, query: str) -> str | None:
    try:
        search = run_scoping_search(
            services().records, case_id, query, actor=signed_in_username(), ip=client_ip()
        )
    except CaseError as refused:
        return sentence(str(refused))
    except (ApiError, TransportError, BulkWriteError):
        return INDEX_UNAVAILABLE
    flash(
        f"Scoping search run: {search.hits:,} matching document{'' if search.hits == 1 else 's'}."
    )
    return None


@bp.post("/<reference>/searches/<int(max=2147483647):search_id>/collect")
@require_role(*permissions.CASEWORK)
def collect_search_results(reference: str, search_id: int) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    with services().sessions() as session:
        found = scoping_search(session, case_id, search_id)
        if found is None:
            abort(404)
        query = found.query
    refused = _collect(case_id, reference, query=query)
    if refused is not None:
        return render_case(reference, {"searches": refused}, {}, 400)
    return redirect(url_for("cases.detail", reference=reference, _anchor="documents"))


def _collect(case_id: int, reference: str, *, query: str = "", doc_id: str = "") -> str | None:
    """Collect one document or a search's every result; the refusal message, or None."""
    try:
        if doc_id:
            added = collect(
                services().records, case_id, [doc_id], actor=signed_in_username(), ip=client_ip()
            )
        else:
            added = collect_search(
                services().records, case_id, query, actor=signed_in_username(), ip=client_ip()
            )
    except CaseError as refused:
        return sentence(str(refused))
    except (ApiError, TransportError, BulkWriteError):
        return INDEX_UNAVAILABLE
    services().preserver.submit(signed_in_username())
    flash(_collected_message(reference, added))
    return None


@bp.post("/<reference>/documents/remove")
@require_role(*permissions.CASEWORK)
def remove_document(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    doc_id = form_field("doc_id", 64).lower()
    if not DOC_ID.match(doc_id):
        abort(400)
    reason = form_field("reason", 2000)
    key = f"remove-{doc_id}"
    if not reason:
        errors = {key: "Say why the document is removed from the case"}
        return render_case(reference, errors, {}, 400)
    try:
        remove(
            services().records,
            case_id,
            doc_id,
            actor=signed_in_username(),
            reason=reason,
            ip=client_ip(),
        )
    except CaseError as refused:
        return render_case(reference, {key: sentence(str(refused))}, {key: reason}, 400)
    flash("Document removed from the case. It stays on the case's hold until the hold is released.")
    return redirect(url_for("cases.detail", reference=reference, _anchor="documents"))


@bp.route("/collect", methods=["GET", "POST"])
@require_role(*permissions.CASEWORK)
def choose() -> ResponseReturnValue:
    """Chooser for the search page's "Add every result to a request case" (?query=) and the
    document page's "Add to a request case" (?doc_id=): pick a case, collect, go to it."""
    doc_id = request.values.get("doc_id", "").strip().lower()
    if doc_id:
        if not DOC_ID.match(doc_id):
            abort(404)
        label, link = _document_label(doc_id), url_for("documents.view", doc_id=doc_id)
        query, described = "", "the document"
    else:
        query = search_params(request.values.get("query", ""))
        if not query:
            flash("Run a search first, then choose “Add every result to a request case”.")
            return redirect(url_for("search.index"))
        label, link = query, url_for("search.index") + "?" + query
        described = "every result of the search"
    errors: Errors = {}
    chosen = request.form.get("case", "").strip()
    if request.method == "POST":
        with services().sessions() as session:
            found = case_by_reference(session, chosen) if chosen else None
            # Only the cases offered: nothing is collected into a closed case.
            usable = found is not None and found.status != CaseStatus.CLOSED
            case_id = found.id if found is not None and usable else None
        if case_id is None:
            errors = {"case": "Choose the case to add this to"}
        else:
            refused = _collect(case_id, chosen, query=query, doc_id=doc_id)
            if refused is None:
                return redirect(url_for("cases.detail", reference=chosen, _anchor="documents"))
            errors = {"case": refused}
    settings = services().settings
    with services().sessions() as session:
        rows = choosable_cases(
            session, signed_in_username(), dt.date.today(), settings.internal_target_days
        )
    page = render_template(
        "case_choose.html",
        rows=rows,
        doc_id=doc_id,
        query=query,
        described=described,
        label=label,
        link=link,
        chosen=chosen,
        errors=errors,
    )
    return page, 400 if errors else 200


def _document_label(doc_id: str) -> str:
    try:
        doc = index_records.get_document(
            services().es, services().names.read_alias, doc_id, signed_in_user().principal()
        )
    except (ApiError, TransportError, BulkWriteError):
        abort(503)
    if doc is None:
        abort(404)
    return str(doc.get("unc") or doc.get("path") or doc_id)


@bp.post("/<reference>/exports")
@require_role(*permissions.CASEWORK)
def export(reference: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    try:
        # Every original is read again and hashed: minutes for a large case, so the bundle is
        # written on the export thread, not in the request.
        made = services().exporter.request(case_id, actor=signed_in_username(), ip=client_ip())
    except CaseError as refused:
        return render_case(reference, {"export": sentence(str(refused))}, {}, 400)
    flash(
        f"Bundle {made.name} is being prepared ({made.counts.get('documents', 0):,} documents). "
        "Its progress is shown under Disclosure bundles; refresh the page to update it."
    )
    return redirect(url_for("cases.detail", reference=reference, _anchor="exports"))


@bp.get("/<reference>/exports/<int(max=2147483647):export_id>/<filename>")
@require_role(*permissions.CASEWORK)
def download(reference: str, export_id: int, filename: str) -> ResponseReturnValue:
    case_id = case_id_for(reference)
    with services().sessions() as session:
        found = case_export(session, case_id, export_id)
        if found is None or found.status != ExportState.DONE:
            abort(404)  # nothing of a bundle is served until it is complete
        session.expunge(found)
    try:
        path = export_file(found, filename)
    except FileNotFoundError:
        abort(404)
    with transaction(services().sessions) as session:
        record(
            session,
            actor=signed_in_username(),
            action="case_export_download",
            target=f"case:{reference}",
            ip=client_ip(),
            details={"export": found.name, "file": filename, "bytes": path.stat().st_size},
        )
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=filename)
