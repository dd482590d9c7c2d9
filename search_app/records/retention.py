"""Retention pages: the report, the schedule in force, and disposal batches from building to
the destruction certificate.

Roles: records managers and admins may see everything here (`permissions.RETENTION`); only
records managers decide (`permissions.DISPOSAL`: load a schedule, build, exclude from,
approve, cancel or execute a batch). FOI officers and front-office staff get 403: disposal is
records management's business, and an FOI officer who needs to know whether something was
destroyed finds its stub in search.

Every decision is made and audited by `retention.classify` and `retention.disposal`; their
refusals come back as form errors and are audited here as denied (as the CLI audits its own).
Who may approve or execute a batch is `retention.disposal_checks.people_refusal`: the pages
say in advance when the signed-in person may not, and the service refuses it anyway. Under
FOI_DISPOSAL_APPROVALS=1 every retention page warns that one person may decide alone.
Opening a batch and downloading a certificate are audited here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from elasticsearch import ApiError, TransportError
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from foi_core.audit import Outcome, record
from foi_core.db import transaction
from foi_core.models import BatchStatus, DisposalBatch
from indexer.bulk import BulkWriteError
from retention.classify import current_schedule, report, save_schedule
from retention.disposal import DisposalError, approve, build_batch, cancel, exclude, execute
from retention.disposal_checks import (
    ONE_PERSON_WARNING,
    approvals_needed,
    one_person,
    people_refusal,
)
from retention.schedule import ScheduleError, seed_schedule_text
from retention.wording import day, moment
from search_app import formats, permissions
from search_app.auth import require_role, services, signed_in_user, signed_in_username
from search_app.page_messages import sentence
from search_app.records.batch_facts import (
    batch,
    batches,
    item_page,
    previews,
    schedule_versions,
    state_counts,
)
from search_app.request_input import DOC_ID, client_ip, page_number

# Route ids are capped at the database's integer range: a larger one names nothing (404)
# rather than overflowing the database driver.
bp = Blueprint("retention", __name__, url_prefix="/retention")
bp.add_app_template_filter(formats.file_size, "file_size")
bp.add_app_template_filter(formats.when, "when")
bp.add_app_template_filter(day, "calendar_day")
bp.add_app_template_filter(moment, "utc_moment")

CERTIFICATES = {"pdf": "application/pdf", "csv": "text/csv"}
Errors = dict[str, str]


def _audit(action: str, target: str, *, outcome: str = Outcome.OK, **details: Any) -> None:
    with transaction(services().sessions) as session:
        record(
            session,
            actor=signed_in_username(),
            action=action,
            target=target,
            ip=client_ip(),
            outcome=outcome,
            details=details,
        )


def _refused(action: str, target: str, refusal: Exception) -> str:
    """Audit a refused decision (its own work rolled back) and return the message to show."""
    _audit(action, target, outcome=Outcome.DENIED, reason=str(refusal))
    return sentence(str(refusal))


@bp.get("")
@require_role(*permissions.RETENTION)
def index() -> ResponseReturnValue:
    return _overview({})


def _overview(errors: Errors, status: int = 200) -> ResponseReturnValue:
    try:
        summary = report(services().records, date.today())
    except (ApiError, TransportError, BulkWriteError):
        abort(503)
    with services().sessions() as session:
        versions = schedule_versions(session)
        schedule = current_schedule(session)
        listed = batches(session)
    return (
        render_template(
            "retention.html",
            summary=summary,
            schedule=schedule,
            loaded=versions[0] if versions else None,
            batches=listed,
            errors=errors,
            may_decide=signed_in_user().role in permissions.DISPOSAL,
            one_person_warning=_one_person_setting(),
        ),
        status,
    )


def _one_person_setting() -> str:
    """The warning every retention page shows while FOI_DISPOSAL_APPROVALS=1 ("" otherwise)."""
    return ONE_PERSON_WARNING if services().records.approvals_needed < 2 else ""


def _one_person_batch(found: DisposalBatch) -> str:
    """The warning a batch's pages show when one person may decide its destruction alone."""
    return ONE_PERSON_WARNING if one_person(found, services().records.approvals_needed) else ""


@bp.post("/batches")
@require_role(*permissions.DISPOSAL)
def build() -> ResponseReturnValue:
    try:
        batch_id = build_batch(
            services().records, actor=signed_in_username(), today=date.today(), ip=client_ip()
        )
    except DisposalError as refused:
        return _overview({"build": _refused("disposal_batch_create", "batch:new", refused)}, 400)
    except (ApiError, TransportError, BulkWriteError):
        abort(503)
    if batch_id is None:
        flash("Nothing is eligible for disposal today, or every eligible file is in a batch.")
        return redirect(url_for("retention.index"))
    flash(f"Disposal batch {batch_id} built. Review it, then approve it.")
    return redirect(url_for("retention.batch_page", batch_id=batch_id))


@bp.get("/schedule")
@require_role(*permissions.RETENTION)
def schedule() -> ResponseReturnValue:
    return _schedule_page(None, [])


def _schedule_page(text: str | None, problems: list[str], status: int = 200) -> ResponseReturnValue:
    with services().sessions() as session:
        versions = schedule_versions(session)
    loaded = versions[0] if versions else None
    if text is None:
        text = loaded.text if loaded else seed_schedule_text()
    return (
        render_template(
            "retention_schedule.html",
            loaded=loaded,
            versions=versions,
            text=text,
            problems=problems,
            may_decide=signed_in_user().role in permissions.DISPOSAL,
        ),
        status,
    )


@bp.post("/schedule")
@require_role(*permissions.DISPOSAL)
def save() -> ResponseReturnValue:
    # Browsers send a textarea with CRLF line ends; the stored text (and its hash) use LF.
    text = request.form.get("schedule", "").replace("\r\n", "\n")
    try:
        loaded = save_schedule(services().records, text, actor=signed_in_username(), ip=client_ip())
    except ScheduleError as refused:
        _audit(
            "retention_schedule_load",
            "schedule:form",
            outcome=Outcome.DENIED,
            reason=f"{len(refused.problems)} problems",
            problems=refused.problems[:50],
        )
        return _schedule_page(text, refused.problems, 400)
    except (ApiError, TransportError, BulkWriteError):
        # The schedule is stored and in force; re-classification resumes with the next crawl.
        flash(
            "The schedule is in force, but files could not all be re-classified just now: "
            "run `foi retention classify` or wait for the next crawl."
        )
        return redirect(url_for("retention.schedule"))
    flash(f"Schedule {loaded.version} is now in force and every file has been re-classified.")
    return redirect(url_for("retention.schedule"))


@bp.get("/batches/<int(max=2147483647):batch_id>")
@require_role(*permissions.RETENTION)
def batch_page(batch_id: int) -> ResponseReturnValue:
    return _batch_page(batch_id, {}, {}, audit_view=True)


def _batch_page(
    batch_id: int,
    errors: Errors,
    values: dict[str, Any],
    status: int = 200,
    *,
    audit_view: bool = False,
) -> ResponseReturnValue:
    user = signed_in_user()
    with services().sessions() as session:
        found = batch(session, batch_id)
        if found is None:
            abort(404)
        items = item_page(session, batch_id, page_number())
        counts = state_counts(session, batch_id)
        samples = (
            previews(
                session, services().es, services().names.read_alias, batch_id, user.principal()
            )
            if found.status == BatchStatus.PENDING
            else []
        )
        step = {"pending": "approve", "approved": "execute"}.get(found.status, "")
        not_you = (
            people_refusal(session, found, user.username, step, _needed(found))
            if step and user.role in permissions.DISPOSAL
            else ""
        )
    if audit_view:
        _audit("disposal_batch_view", f"batch:{batch_id}", page=items.page)
    return (
        render_template(
            "batch.html",
            batch=found,
            items=items,
            counts=counts,
            samples=samples,
            errors=errors,
            values=values,
            may_decide=user.role in permissions.DISPOSAL,
            not_you=sentence(not_you),
            needed=_needed(found),
            one_person_warning=_one_person_batch(found),
        ),
        status,
    )


def _needed(found: DisposalBatch) -> int:
    return approvals_needed(found, services().records.approvals_needed)


@bp.post("/batches/<int(max=2147483647):batch_id>/exclude")
@require_role(*permissions.DISPOSAL)
def exclude_items(batch_id: int) -> ResponseReturnValue:
    doc_ids = [d for d in request.form.getlist("doc_id") if DOC_ID.match(d)]
    reason = request.form.get("reason", "").strip()[:2000]
    values = {"reason": reason, "chosen": doc_ids}
    if not doc_ids:
        return _batch_page(batch_id, {"items": "Select the files to exclude"}, values, 400)
    try:
        count = exclude(
            services().records,
            batch_id,
            doc_ids,
            actor=signed_in_username(),
            reason=reason,
            ip=client_ip(),
        )
    except DisposalError as refused:
        why = _refused("disposal_exclude", f"batch:{batch_id}", refused)
        return _batch_page(batch_id, {"exclude-reason": why}, values, 400)
    flash(f"{count} file{'' if count == 1 else 's'} excluded: they will not be destroyed.")
    return redirect(url_for("retention.batch_page", batch_id=batch_id))


@bp.post("/batches/<int(max=2147483647):batch_id>/approve")
@require_role(*permissions.DISPOSAL)
def approve_batch(batch_id: int) -> ResponseReturnValue:
    try:
        status = approve(services().records, batch_id, actor=signed_in_username(), ip=client_ip())
    except DisposalError as refused:
        why = _refused("disposal_approve", f"batch:{batch_id}", refused)
        return _batch_page(batch_id, {"approval": why}, {}, 400)
    if status == BatchStatus.APPROVED:
        flash("Approved. The batch can now be executed.")
    else:
        flash("Your approval is recorded. Another records manager must approve it too.")
    return redirect(url_for("retention.batch_page", batch_id=batch_id))


@bp.post("/batches/<int(max=2147483647):batch_id>/cancel")
@require_role(*permissions.DISPOSAL)
def cancel_batch(batch_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "").strip()[:2000]
    if not reason:
        errors = {"cancel-reason": "Say why the batch is cancelled"}
        return _batch_page(batch_id, errors, {"cancel_reason": reason}, 400)
    try:
        destroyed = cancel(
            services().records, batch_id, actor=signed_in_username(), reason=reason, ip=client_ip()
        )
    except DisposalError as refused:
        errors = {"cancel-reason": _refused("disposal_cancel", f"batch:{batch_id}", refused)}
        return _batch_page(batch_id, errors, {"cancel_reason": reason}, 400)
    if destroyed:
        flash(
            f"Batch cancelled during its execution: {destroyed} files had already been "
            "destroyed and are on its certificate; nothing else will be."
        )
    else:
        flash("Batch cancelled. Nothing in it was destroyed.")
    return redirect(url_for("retention.batch_page", batch_id=batch_id))


@bp.route("/batches/<int(max=2147483647):batch_id>/execute", methods=["GET", "POST"])
@require_role(*permissions.DISPOSAL)
def execute_batch(batch_id: int) -> ResponseReturnValue:
    """Destruction needs a second, explicit step: this page and its confirmation box."""
    with services().sessions() as session:
        found = batch(session, batch_id)
        if found is None:
            abort(404)
        counts = state_counts(session, batch_id)
    # An execution that stopped part-way (its process was killed) is resumed the same way.
    if found.status not in (BatchStatus.APPROVED, BatchStatus.EXECUTING):
        flash(f"Batch {batch_id} is {found.status}: only an approved batch can be executed.")
        return redirect(url_for("retention.batch_page", batch_id=batch_id))
    errors: Errors = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors = {"confirm": "Tick the box to confirm the destruction"}
        else:
            try:
                done = execute(
                    services().records, batch_id, actor=signed_in_username(), ip=client_ip()
                )
            except DisposalError as refused:
                errors = {"confirm": _refused("disposal_execute", f"batch:{batch_id}", refused)}
            except (ApiError, TransportError, BulkWriteError):
                abort(503)
            else:
                ended = (
                    "executed"
                    if done.status == BatchStatus.EXECUTED
                    else "cancelled during its execution"
                )
                flash(
                    f"Batch {batch_id} {ended}: {done.destroyed} destroyed, {done.skipped} "
                    f"skipped, {done.failed} failed, {done.excluded} excluded before "
                    "execution. The destruction certificate is ready."
                )
                return redirect(url_for("retention.batch_page", batch_id=batch_id))
    page = render_template(
        "batch_execute.html",
        batch=found,
        counts=counts,
        errors=errors,
        one_person_warning=_one_person_batch(found),
    )
    return page, 400 if errors else 200


@bp.get("/batches/<int(max=2147483647):batch_id>/certificate.<ext>")
@require_role(*permissions.RETENTION)
def certificate(batch_id: int, ext: str) -> ResponseReturnValue:
    if ext not in CERTIFICATES:
        abort(404)
    column = DisposalBatch.certificate_pdf if ext == "pdf" else DisposalBatch.certificate_csv
    with services().sessions() as session:
        body = session.execute(select(column).where(DisposalBatch.id == batch_id)).scalar()
    if body is None:
        abort(404)
    _audit("certificate_download", f"batch:{batch_id}", format=ext, bytes=len(body))
    response = Response(body, mimetype=CERTIFICATES[ext])
    filename = f"destruction-certificate-batch-{batch_id}.{ext}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
