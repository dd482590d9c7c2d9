"""`foi cases`: request cases from the command line (the web app does the same, with forms),
deadline reminders, statistics and the purge of expired disclosure bundles."""

from __future__ import annotations

import datetime as dt
import json
import sys
from urllib.parse import urlencode

import click
from sqlalchemy import select

from cases.collection import (
    adequacy_statement,
    collect_search,
    reclassify_case,
    run_scoping_search,
)
from cases.destroyed import search_destroyed
from cases.export import ExportSettings, purge_expired
from cases.export_jobs import ExportState, export_case, run_queued
from cases.relations import add_part
from cases.reminders import MailError, due_reminders, send_reminders
from cases.service import (
    OPEN_STATUSES,
    CaseError,
    case_clock,
    create_case,
    transition,
    working_calendar,
)
from cases.upkeep import reminder_cases, set_non_working_day
from foi_cli.runtime import record_refusal
from foi_core.models import Case, User
from foi_core.settings import Settings
from indexer.search.facets import STATUS_LABELS
from retention.preservation import run_pending
from services import Services


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _case_id(services: Services, reference: str) -> int:
    with services.sessions() as session:
        found = session.execute(select(Case.id).where(Case.reference == reference)).scalar()
    if found is None:
        raise click.ClickException(f"there is no case {reference}")
    return int(found)


def _refused(
    services: Services, actor: str, action: str, target: str, why: Exception | str
) -> click.ClickException:
    """Audit a refused action as a refused web action is (outcome denied), attributed to the
    person named with --as; returns the error to raise."""
    record_refusal(services, actor=actor, action=action, target=target, reason=str(why))
    return click.ClickException(str(why))


def _as(services: Services, username: str, action: str, target: str = "") -> str:
    """`username`, if they may work cases; otherwise the refusal is audited and raised."""
    with services.sessions() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active or user.role == "front_office":
        raise _refused(
            services,
            username,
            action,
            target,
            f"{username!r} is not an active FOI officer, records manager or admin",
        )
    return username


_AS = click.option("--as", "username", required=True, help="The officer doing this.")


@click.group("cases")
def cases_group() -> None:
    """FOI / EIR / SAR request cases."""


@cases_group.command("create")
@click.option("--regime", type=click.Choice(["FOIA", "EIR", "SAR"]), required=True)
@click.option("--received", required=True, help="YYYY-MM-DD (any calendar day)")
@click.option("--title", required=True)
@click.option("--request", "request_text", required=True, help="The request as received.")
@click.option("--requester", required=True)
@click.option("--contact", default="")
@_AS
@click.pass_obj
def cases_create(
    settings: Settings,
    regime: str,
    received: str,
    title: str,
    request_text: str,
    requester: str,
    contact: str,
    username: str,
) -> None:
    services = Services(settings)
    actor = _as(services, username, "case_create")
    try:
        case = create_case(
            services.sessions,
            regime=regime,
            received=_date(received),
            title=title,
            request_text=request_text,
            requester_name=requester,
            requester_contact=contact,
            actor=actor,
            prefix_spec=settings.case_prefixes,
            target_days=settings.internal_target_days,
        )
    except CaseError as exc:
        raise _refused(services, actor, "case_create", "", exc) from None
    due = case.due.isoformat() if case.due else "clock stopped"
    click.echo(f"{case.reference} created; due {due}")


@cases_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cases_list(settings: Settings, as_json: bool) -> None:
    """Open cases, most urgent first."""
    services = Services(settings)
    with services.sessions() as session:
        calendar = working_calendar(session)
        rows = []
        for case in session.execute(select(Case).where(Case.status.in_(OPEN_STATUSES))).scalars():
            clock = case_clock(case, calendar, settings.internal_target_days)
            rows.append(
                {
                    "reference": case.reference,
                    "status": case.status,
                    "assigned_to": case.assigned_to,
                    "due": case.due.isoformat() if case.due else None,
                    "internal_target": clock.internal_target.isoformat()
                    if clock.internal_target
                    else None,
                    "awaiting": clock.awaiting,
                    "title": case.title,
                }
            )
    rows.sort(key=lambda r: r["due"] or "9999")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        due = row["due"] or f"stopped ({row['awaiting']})"
        click.echo(f"{row['reference']:<16} {row['status']:<24} due {due:<12} {row['title']}")


@cases_group.command("move")
@click.argument("reference")
@click.argument("status")
@click.option("--on", "on", default=None, help="YYYY-MM-DD (default today)")
@click.option("--outcome", default="")
@click.option("--exemption", "exemptions", multiple=True)
@_AS
@click.pass_obj
def cases_move(
    settings: Settings,
    reference: str,
    status: str,
    on: str | None,
    outcome: str,
    exemptions: tuple[str, ...],
    username: str,
) -> None:
    """Move a case to STATUS (e.g. clarification_requested, in_progress, responded)."""
    services = Services(settings)
    case_id, target = _case_id(services, reference), f"case:{reference}"
    actor = _as(services, username, "case_transition", target)
    try:
        case = transition(
            services.sessions,
            case_id,
            status,
            on=_date(on) if on else dt.date.today(),
            actor=actor,
            target_days=settings.internal_target_days,
            outcome=outcome,
            exemptions=exemptions,
        )
    except CaseError as exc:
        raise _refused(services, actor, "case_transition", target, exc) from None
    if case.status == "closed":
        changed = reclassify_case(services.indexed_records(), case.id)
        click.echo(f"{changed} collected files re-classified (retention from case closure)")
    click.echo(f"{case.reference} is {case.status}; due {case.due or 'clock stopped'}")


@cases_group.command("search")
@click.argument("reference")
@click.argument("words")
@click.option("--collect", is_flag=True, help="Also collect every result into the case.")
@_AS
@click.pass_obj
def cases_search(
    settings: Settings, reference: str, words: str, collect: bool, username: str
) -> None:
    """Run (and keep) a scoping search for the case."""
    services = Services(settings)
    case_id, target, query = (
        _case_id(services, reference),
        f"case:{reference}",
        urlencode({"q": words}),
    )
    actor = _as(services, username, "case_scoping_search", target)
    try:
        found = run_scoping_search(services.indexed_records(), case_id, query, actor=actor)
    except CaseError as exc:
        raise _refused(services, actor, "case_scoping_search", target, exc) from None
    counts = found.counts
    click.echo(
        f"{found.hits} matching documents among {counts['documents_in_scope']} live documents "
        f"searched in {', '.join(counts['sources']) or 'no source'}"
    )
    unreadable = counts["not_searchable"]
    if unreadable:
        labels = ", ".join(f"{STATUS_LABELS.get(k, k)}: {n}" for k, n in sorted(unreadable.items()))
        click.echo(f"Found by name and metadata only (content not searchable): {labels}")
    for group in search_destroyed(counts):
        click.echo(str(group))
    if collect and found.hits:
        try:
            added = collect_search(services.indexed_records(), case_id, query, actor=actor)
        except CaseError as exc:
            raise _refused(services, actor, "case_collect", target, exc) from None
        click.echo(f"{added} documents collected and placed on the case's hold")
        # Copy-on-hold now, as the web app does in the background: the versions collected are
        # what a bundle discloses, even if they change at source later.
        report = run_pending(services.indexed_records(), include_failed=False, actor=actor)
        if report.failed:
            click.echo(f"{report.failed} preservation copies failed: see `foi holds`", err=True)


@cases_group.command("adequacy")
@click.argument("reference")
@click.pass_obj
def cases_adequacy(settings: Settings, reference: str) -> None:
    """Print the adequacy-of-search statement."""
    services = Services(settings)
    with services.sessions() as session:
        sys.stdout.write(adequacy_statement(session, _case_id(services, reference)).text + "\n")


@cases_group.command("export")
@click.argument("reference")
@_AS
@click.pass_obj
def cases_export(settings: Settings, reference: str, username: str) -> None:
    """Write the disclosure bundle (re-reading every file and checking its hash)."""
    services = Services(settings)
    case_id, target = _case_id(services, reference), f"case:{reference}"
    actor = _as(services, username, "case_export_requested", target)
    try:
        export = export_case(
            services.indexed_records(), ExportSettings.from_settings(settings), case_id, actor=actor
        )
    except CaseError as exc:
        raise _refused(services, actor, "case_export_requested", target, exc) from None
    if export.status == ExportState.FAILED:
        raise click.ClickException(f"bundle {export.name} failed: {export.error}")
    if export.status != ExportState.DONE:  # another process claimed it first
        raise click.ClickException(f"bundle {export.name} is {export.status} in another process")
    counts = export.counts
    click.echo(
        f"{export.directory}: {counts['included']} of {counts['documents']} documents, "
        f"{counts['failed']} failed, {counts['mismatched']} hash mismatches, "
        f"{counts.get('deleted', 0)} deleted at source, parts {export.parts}"
    )
    if counts["mismatched"] or counts.get("deleted"):
        click.echo(
            "Documents changed or deleted at source since they were collected are disclosed as "
            "collected, from the preservation store: see the manifest."
        )
    if counts["failed"]:
        raise SystemExit(1)


@cases_group.command("export-pending")
@click.pass_obj
def cases_export_pending(settings: Settings) -> None:
    """Write bundles asked for in the web app but never started (its process stopped), after
    failing those whose writer stopped mid-way."""
    written = run_queued(
        Services(settings).indexed_records(), ExportSettings.from_settings(settings)
    )
    for export in written:
        state = export.status if export.status != ExportState.FAILED else f"failed: {export.error}"
        click.echo(f"{export.name}: {state}")
    click.echo(f"{len(written)} queued bundles written")
    if any(e.status == ExportState.FAILED for e in written):
        raise SystemExit(1)


@cases_group.command("purge-exports")
@click.pass_obj
def cases_purge(settings: Settings) -> None:
    """Delete disclosure bundles past their download period (FOI_EXPORT_KEEP_DAYS)."""
    click.echo(f"{purge_expired(Services(settings).indexed_records())} expired bundles deleted")


@cases_group.command("non-working-day")
@click.argument("day")
@click.argument("name")
@click.option("--nation", "nations", multiple=True, default=("UK",), show_default=True)
@click.option("--withdraw", is_flag=True)
@_AS
@click.pass_obj
def cases_non_working_day(
    settings: Settings, day: str, name: str, nations: tuple[str, ...], withdraw: bool, username: str
) -> None:
    """Add (or withdraw) an extra non-working day, e.g. by proclamation; open cases are
    recalculated."""
    services = Services(settings)
    target = day
    actor = _as(services, username, "non_working_day_change", target)
    try:
        changed = set_non_working_day(
            services.sessions,
            _date(day),
            name,
            nations,
            active=not withdraw,
            actor=actor,
            target_days=settings.internal_target_days,
        )
    except CaseError as exc:
        raise _refused(services, actor, "non_working_day_change", target, exc) from None
    click.echo(f"{changed} open cases have a new due date")


@cases_group.command("remind")
@click.option("--soon", "soon_days", default=5, show_default=True, help="Working days ahead.")
@click.option("--dry-run", is_flag=True, help="Print the e-mails instead of sending them.")
@click.pass_obj
def cases_remind(settings: Settings, soon_days: int, dry_run: bool) -> None:
    """E-mail each officer their overdue, due-soon and past-target cases (FOI_SMTP_URL)."""
    services = Services(settings)
    with services.sessions() as session:
        reminders = due_reminders(
            reminder_cases(session, settings.internal_target_days),
            dt.date.today(),
            working_calendar(session),
            soon_days=soon_days,
        )
    if dry_run:
        for reminder in reminders:
            click.echo(f"To: {reminder.to}\nSubject: {reminder.subject}\n\n{reminder.body}\n")
        return
    if not settings.smtp_url:
        raise click.ClickException("FOI_SMTP_URL is not set: no mail server to send through")
    try:
        sent = send_reminders(reminders, settings.smtp_url, settings.mail_from)
    except MailError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{sent} reminder e-mail(s) sent")


@cases_group.command("add-part")
@click.argument("reference")
@click.option("--regime", type=click.Choice(["FOIA", "EIR", "SAR"]), required=True)
@_AS
@click.pass_obj
def cases_add_part(settings: Settings, reference: str, regime: str, username: str) -> None:
    """A part of the request handled under another regime (own case, reference and clock)."""
    services = Services(settings)
    case_id, target = _case_id(services, reference), f"case:{reference}"
    actor = _as(services, username, "case_part_add", target)
    try:
        part = add_part(
            services.sessions,
            case_id,
            regime,
            actor=actor,
            prefix_spec=settings.case_prefixes,
            target_days=settings.internal_target_days,
        )
    except CaseError as exc:
        raise _refused(services, actor, "case_part_add", target, exc) from None
    click.echo(f"{part.reference} is the {regime} part of {reference}; due {part.due}")
