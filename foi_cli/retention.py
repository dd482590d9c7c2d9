"""`foi holds` and `foi retention`: legal holds, schedules, reports and disposal batches.

The CLI runs on the server, by the people who run it; decisions that need a named person
(placing and releasing holds, approving and executing disposal) take `--as USERNAME`, which
must be an active account with the records-manager role, and are audited under it. Commands
that may run unattended take `--as` optionally and are otherwise audited under the
operating-system account that ran them. A refused command (no such account, not a records
manager, or the step itself refused) is audited as denied, under the name given, as a refused
web action is.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlencode

import click
from sqlalchemy import func, select

from foi_cli.runtime import operator, record_refusal
from foi_core.mail import MailError
from foi_core.models import (
    DisposalBatch,
    DisposalItem,
    HeldDocument,
    Hold,
    PreservationTask,
    Role,
    User,
)
from foi_core.settings import Settings
from retention.alerts import send_alerts
from retention.classify import current_schedule, reclassify, report, save_schedule
from retention.disposal import DisposalError, approve, build_batch, exclude, execute
from retention.holds import (
    HoldError,
    WholeSourceNeedsConfirmation,
    add_scope,
    create_hold,
)
from retention.preservation import run_pending
from retention.release import approve_release, request_release
from retention.schedule import ScheduleError, load_schedule_file, seed_schedule_text
from services import Services

_MANAGERS = (Role.RECORDS_MANAGER,)


def _person(services: Services, username: str, action: str, target: str) -> str:
    """`username` if it is an active records manager; otherwise the attempt is audited as
    denied and refused."""
    with services.sessions() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        _refuse(services, username, action, target, f"no active account called {username!r}")
    elif user.role not in _MANAGERS:
        why = f"{username} is a {user.role.replace('_', ' ')}; this needs a records manager"
        _refuse(services, username, action, target, why)
    return username


def _actor(services: Services, username: str | None, action: str, target: str) -> str:
    """The person named by an optional `--as`, else the operating-system account."""
    return operator() if username is None else _person(services, username, action, target)


def _refuse(services: Services, actor: str, action: str, target: str, reason: str) -> NoReturn:
    record_refusal(services, actor=actor, action=action, target=target, reason=reason)
    raise click.ClickException(reason)


_AS = click.option("--as", "username", required=True, help="The records manager doing this.")
_AS_OPTIONAL = click.option(
    "--as",
    "username",
    default=None,
    help="The records manager doing this (default: the operating-system account).",
)


@click.group("holds")
def holds_group() -> None:
    """Legal holds: nothing held is ever disposed of, and held originals are preserved."""


@holds_group.command("create")
@click.argument("name")
@click.option("--reason", required=True)
@click.option("--case", "case_ref", default="", help="The request case this hold serves.")
@_AS
@click.pass_obj
def holds_create(settings: Settings, name: str, reason: str, case_ref: str, username: str) -> None:
    """Create a hold (then add documents, folders or searches to it)."""
    services = Services(settings)
    actor = _person(services, username, "hold_create", f"hold:{name}")
    try:
        hold_id = create_hold(
            services.indexed_records(),
            name=name,
            reason=reason,
            owner=actor,
            actor=actor,
            case_ref=case_ref,
        )
    except HoldError as exc:
        _refuse(services, actor, "hold_create", f"hold:{name}", str(exc))
    click.echo(f"hold {hold_id} created: {name}")


@holds_group.command("add")
@click.argument("hold_id", type=int)
@click.option("--document", "doc_id", default="", help="A document id.")
@click.option("--folder", default="", help="SOURCE:FOLDER, e.g. hr:Cases/Smith (hr:/ is all of hr)")
@click.option("--search", "query", default="", help='Search words, e.g. "riverside wharf".')
@click.option(
    "--confirm-whole-source",
    is_flag=True,
    help="Needed to hold every file of a source (--folder SOURCE:/).",
)
@_AS
@click.pass_obj
def holds_add(
    settings: Settings,
    hold_id: int,
    doc_id: str,
    folder: str,
    query: str,
    confirm_whole_source: bool,
    username: str,
) -> None:
    """Cover a document, a folder or a search (new matches join after every crawl). A folder
    is refused, and the refusal audited, when it is not a folder of the source ("..", another
    share...) or is the whole source without --confirm-whole-source."""
    if sum(bool(x) for x in (doc_id, folder, query)) != 1:
        raise click.UsageError("give exactly one of --document, --folder, --search")
    services = Services(settings)
    actor = _person(services, username, "hold_add", f"hold:{hold_id}")
    try:
        if doc_id:
            joined = add_scope(
                services.indexed_records(), hold_id, kind="item", doc_id=doc_id, actor=actor
            )
        elif folder:
            source, _, path = folder.partition(":")
            joined = add_scope(
                services.indexed_records(),
                hold_id,
                kind="folder",
                source=source,
                folder=path,
                actor=actor,
                confirm_whole_source=confirm_whole_source,
            )
        else:
            joined = add_scope(
                services.indexed_records(),
                hold_id,
                kind="query",
                query=urlencode({"q": query}),
                actor=actor,
            )
    except WholeSourceNeedsConfirmation as exc:
        why = f"{exc}: add --confirm-whole-source to go ahead"
        _refuse(services, actor, "hold_add", f"hold:{hold_id}", why)
    except HoldError as exc:
        _refuse(services, actor, "hold_add", f"hold:{hold_id}", str(exc))
    report_ = run_pending(services.indexed_records(), actor=actor, include_failed=False)
    click.echo(
        f"{joined} files joined hold {hold_id}; {report_.preserved} originals preserved, "
        f"{report_.failed} could not be"
    )
    for path, error in report_.failures:
        click.echo(f"  NOT PRESERVED {path}: {error}", err=True)


@holds_group.command("list")
@click.pass_obj
def holds_list(settings: Settings) -> None:
    """Every hold with its status, file count, case and creator."""
    services = Services(settings)
    with services.sessions() as session:
        counts = dict(
            session.execute(
                select(HeldDocument.hold_id, func.count()).group_by(HeldDocument.hold_id)
            ).all()
        )
        holds = session.execute(select(Hold).order_by(Hold.id)).scalars().all()
        for hold in holds:
            click.echo(
                f"{hold.id:>4}  {hold.status:<18} {counts.get(hold.id, 0):>6} files  "
                f"{hold.name}  (case {hold.case_ref or '-'}, by {hold.created_by})"
            )


@holds_group.command("release-request")
@click.argument("hold_id", type=int)
@click.option("--reason", required=True)
@_AS
@click.pass_obj
def holds_release_request(settings: Settings, hold_id: int, reason: str, username: str) -> None:
    """First step of a release; a different records manager must approve it."""
    services = Services(settings)
    actor = _person(services, username, "hold_release_request", f"hold:{hold_id}")
    try:
        request_release(services.indexed_records(), hold_id, actor=actor, reason=reason)
    except HoldError as exc:
        _refuse(services, actor, "hold_release_request", f"hold:{hold_id}", str(exc))
    click.echo(f"release of hold {hold_id} requested; another records manager must approve it")


@holds_group.command("release-approve")
@click.argument("hold_id", type=int)
@_AS
@click.pass_obj
def holds_release_approve(settings: Settings, hold_id: int, username: str) -> None:
    """Second step of a release, by a records manager other than the one who asked."""
    services = Services(settings)
    actor = _person(services, username, "hold_release_approve", f"hold:{hold_id}")
    try:
        approve_release(services.indexed_records(), hold_id, approver=actor)
    except HoldError as exc:
        if not _asked_by(services, hold_id, actor):  # approve_release audits that refusal itself
            record_refusal(
                services,
                actor=actor,
                action="hold_release_approve",
                target=f"hold:{hold_id}",
                reason=str(exc),
            )
        raise click.ClickException(str(exc)) from None
    click.echo(f"hold {hold_id} released")


def _asked_by(services: Services, hold_id: int, actor: str) -> bool:
    with services.sessions() as session:
        hold = session.get(Hold, hold_id)
    return hold is not None and hold.release_requested_by == actor


@holds_group.command("preserve")
@_AS_OPTIONAL
@click.pass_obj
def holds_preserve(settings: Settings, username: str | None) -> None:
    """Copy every held original not yet in the preservation store (retries failures)."""
    services = Services(settings)
    actor = _actor(services, username, "preservation_copy", "holds")
    result = run_pending(services.indexed_records(), actor=actor)
    click.echo(f"{result.preserved} preserved, {result.failed} failed")
    for path, error in result.failures:
        click.echo(f"  NOT PRESERVED {path}: {error}", err=True)
    with services.sessions() as session:
        open_tasks = session.execute(
            select(func.count()).where(PreservationTask.status != "preserved")
        ).scalar_one()
    if open_tasks:
        raise SystemExit(1)


@holds_group.command("alert")
@click.pass_obj
def holds_alert(settings: Settings) -> None:
    """E-mail records managers about held files that could not be preserved (each failure
    once; needs FOI_SMTP_URL and records managers with an e-mail address)."""
    if not settings.smtp_url:
        raise click.ClickException("FOI_SMTP_URL is not set: there is no mail server to send to")
    try:
        mailed = send_alerts(
            Services(settings).indexed_records(),
            settings.smtp_url,
            settings.mail_from,
            settings.organisation,
        )
    except MailError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{mailed} preservation failures mailed to records managers")


@click.group("retention")
def retention_group() -> None:
    """Retention schedules, the retention report, and disposal batches."""


@retention_group.group("schedule")
def schedule_group() -> None:
    """The retention schedule in force (YAML, versioned)."""


@schedule_group.command("load")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_AS
@click.pass_obj
def schedule_load(settings: Settings, path: Path, username: str) -> None:
    """Validate a schedule file, put it in force and re-classify every file."""
    services = Services(settings)
    actor = _person(services, username, "retention_schedule_load", f"file:{path}")
    try:
        load_schedule_file(path)
        schedule = save_schedule(
            services.indexed_records(), path.read_text(encoding="utf-8"), actor=actor
        )
    except ScheduleError as exc:
        _refuse(
            services,
            actor,
            "retention_schedule_load",
            f"file:{path}",
            f"the schedule was not loaded:\n{exc}",
        )
    click.echo(f"schedule {schedule.version} in force: {len(schedule.classes)} classes")


@schedule_group.command("seed")
def schedule_seed() -> None:
    """Print the seed schedule (council classes that need local sign-off) to edit and load."""
    sys.stdout.write(seed_schedule_text())


@schedule_group.command("show")
@click.pass_obj
def schedule_show(settings: Settings) -> None:
    with Services(settings).sessions() as session:
        schedule = current_schedule(session)
    if schedule is None:
        raise click.ClickException("no schedule loaded (foi retention schedule load FILE)")
    sys.stdout.write(schedule.text)


@retention_group.command("classify")
@click.pass_obj
def retention_classify(settings: Settings) -> None:
    """Re-classify every indexed file under the schedule in force."""
    services = Services(settings)
    with services.sessions() as session:
        schedule = current_schedule(session)
    click.echo(f"{reclassify(services.indexed_records(), schedule)} files re-classified")


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


@retention_group.command("report")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def retention_report(settings: Settings, as_json: bool) -> None:
    """Files per class and action, unclassified files, and the storage disposal can reclaim."""
    result = report(Services(settings).indexed_records(), date.today())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "schedule_version": result.schedule_version,
                    "files": result.files,
                    "by_class": {
                        c.class_id: {
                            "files": c.files,
                            "bytes": c.bytes,
                            "past_disposal_date": c.due,
                            "disposable": c.disposable,
                            "note": c.note,
                        }
                        for c in result.by_class
                    },
                    "by_action": dict(result.by_action),
                    "unclassified": {
                        "files": result.unclassified,
                        "bytes": result.unclassified_bytes,
                        "folders": dict(result.unclassified_folders),
                    },
                    "eligible": {"files": result.eligible, "bytes": result.eligible_bytes},
                    "awaiting_sign_off": {"files": result.awaiting_sign_off},
                },
                indent=2,
            )
        )
        return
    click.echo(f"schedule: {result.schedule_version or 'none loaded'}; {result.files} files")
    click.echo("per class:")
    for entry in result.by_class:
        click.echo(
            f"  {entry.class_id:<16} {entry.files:>8} files  {_mib(entry.bytes):>14}  "
            f"{entry.due:>8} past date  {entry.note}"
        )
    click.echo("per action:")
    for action, files in result.by_action:
        click.echo(f"  {action:<16} {files:>8} files")
    click.echo(
        f"unclassified: {result.unclassified} files ({_mib(result.unclassified_bytes)}) "
        "- a gap in the schedule to fix"
    )
    for folder, files in result.unclassified_folders:
        click.echo(f"  {files:>8}  {folder or '(top folder)'}")
    click.echo(
        f"eligible for disposal today: {result.eligible} files, "
        f"{_mib(result.eligible_bytes)} reclaimable"
    )
    if result.awaiting_sign_off:
        click.echo(
            f"awaiting sign-off: {result.awaiting_sign_off} files past their disposal date in "
            "classes not signed off (sign_off: required) - never destroyed until signed off"
        )


@retention_group.command("run")
@_AS_OPTIONAL
@click.pass_obj
def retention_run(settings: Settings, username: str | None) -> None:
    """Build a disposal batch of everything eligible today (it then needs review and approval)."""
    services = Services(settings)
    actor = _actor(services, username, "disposal_batch_create", "batch:new")
    try:
        batch = build_batch(services.indexed_records(), actor=actor, today=date.today())
    except DisposalError as exc:
        _refuse(services, actor, "disposal_batch_create", "batch:new", str(exc))
    click.echo("nothing is eligible for disposal" if batch is None else f"batch {batch} built")


@retention_group.command("batches")
@click.pass_obj
def retention_batches(settings: Settings) -> None:
    """Disposal batches with their status and approvals."""
    with Services(settings).sessions() as session:
        for batch in session.execute(select(DisposalBatch).order_by(DisposalBatch.id)).scalars():
            approvals = f"{len(batch.approved_by)}/{batch.approvals_needed}"
            click.echo(
                f"{batch.id:>4}  {batch.status:<10} {batch.counts.get('items', 0):>6} files  "
                f"approvals {approvals}  schedule {batch.schedule_version}"
            )


@retention_group.command("show")
@click.argument("batch_id", type=int)
@click.pass_obj
def retention_show(settings: Settings, batch_id: int) -> None:
    """The files of a batch and what is (or was) to happen to each."""
    with Services(settings).sessions() as session:
        items = session.execute(
            select(DisposalItem).where(DisposalItem.batch_id == batch_id).order_by(DisposalItem.id)
        ).scalars()
        for item in items:
            state = "excluded" if item.excluded else item.outcome or "proposed"
            click.echo(f"{item.doc_id}  {state:<9} {item.class_id:<14} {item.unc}")
            why = item.exclude_reason if item.excluded else item.outcome_reason
            if why:
                click.echo(f"    {why}")


@retention_group.command("exclude")
@click.argument("batch_id", type=int)
@click.argument("doc_ids", nargs=-1, required=True)
@click.option("--reason", required=True)
@_AS
@click.pass_obj
def retention_exclude(
    settings: Settings, batch_id: int, doc_ids: tuple[str, ...], reason: str, username: str
) -> None:
    """Take files out of a batch under review, with a reason."""
    services = Services(settings)
    target = f"batch:{batch_id}"
    actor = _person(services, username, "disposal_exclude", target)
    try:
        count = exclude(services.indexed_records(), batch_id, doc_ids, actor=actor, reason=reason)
    except DisposalError as exc:
        _refuse(services, actor, "disposal_exclude", target, str(exc))
    click.echo(f"{count} items excluded from batch {batch_id}")


@retention_group.command("approve")
@click.argument("batch_id", type=int)
@_AS
@click.pass_obj
def retention_approve(settings: Settings, batch_id: int, username: str) -> None:
    """Approve a batch under review (held files, files collected for open requests and files
    in classes not signed off are taken out, and audited). By default two records managers
    approve, neither of them the batch's builder; a refusal is audited as denied."""
    services = Services(settings)
    actor = _person(services, username, "disposal_approve", f"batch:{batch_id}")
    try:
        status = approve(services.indexed_records(), batch_id, actor=actor)
    except DisposalError as exc:
        _refuse(services, actor, "disposal_approve", f"batch:{batch_id}", str(exc))
    click.echo(f"batch {batch_id} is {status}")


@retention_group.command("execute")
@click.argument("batch_id", type=int)
@click.option("--certificate-dir", type=click.Path(file_okay=False, path_type=Path))
@_AS
@click.pass_obj
def retention_execute(
    settings: Settings, batch_id: int, certificate_dir: Path | None, username: str
) -> None:
    """Destroy an approved batch's files (held or changed files are skipped and reported; the
    counts are the certificate's). By default the executor may not be the batch's builder."""
    services = Services(settings)
    actor = _person(services, username, "disposal_execute", f"batch:{batch_id}")
    try:
        result = execute(services.indexed_records(), batch_id, actor=actor)
    except DisposalError as exc:
        _refuse(services, actor, "disposal_execute", f"batch:{batch_id}", str(exc))
    click.echo(
        f"batch {batch_id}: {result.destroyed} destroyed, {result.skipped} skipped, "
        f"{result.failed} failed, {result.excluded} excluded before execution"
    )
    if certificate_dir is not None:
        certificate_dir.mkdir(parents=True, exist_ok=True)
        with services.sessions() as session:
            batch = session.get_one(DisposalBatch, batch_id)
            for ext, data in (("pdf", batch.certificate_pdf), ("csv", batch.certificate_csv)):
                target = certificate_dir / f"destruction-certificate-batch-{batch_id}.{ext}"
                target.write_bytes(data or b"")
                click.echo(f"certificate: {target}")
    if result.failed:
        raise SystemExit(1)
