"""`foi db`, `foi users`, `foi audit`: database, accounts and the audit log."""

from __future__ import annotations

import csv
import secrets
import sys

import click
from sqlalchemy import select

from foi_cli.runtime import Runtime, operator, record_refusal
from foi_core import audit
from foi_core.accounts import AccountError, add_to_group, create_group, create_user
from foi_core.csv_safe import csv_cells
from foi_core.db import transaction
from foi_core.migrate import FIRST_SEALED_REVISION, current_revision, upgrade
from foi_core.models import AuditEvent
from foi_core.settings import Settings
from foi_core.tokens import create_token


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Apply every pending migration, then anchor the audit log's head outside the database.

    Upgrading a database from before sealing anchors its existing (unsealed) entries: from
    that checkpoint on, every entry must be sealed."""
    runtime = Runtime(settings)
    before = current_revision(runtime.engine)
    upgrade(runtime.engine)
    adopting = before is not None and before < FIRST_SEALED_REVISION
    try:
        anchor = audit.checkpoint(runtime.sessions, initial=adopting)
    except audit.AnchorMissing as exc:
        click.echo(f"database is up to date, but the audit log is not anchored: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"database is up to date; audit log anchored at entry {anchor.entry_id}")


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["foi_officer", "records_manager", "front_office", "admin"]),
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--sid", "sids", multiple=True, help="A Windows SID of the user or a group.")
@click.option("--email", default="", help="Where deadline reminders are sent.")
@click.option("--group", "groups", multiple=True, help="A staff group (foi groups add) to join.")
@click.pass_obj
def users_add(
    settings: Settings,
    username: str,
    role: str,
    password_stdin: bool,
    sids: tuple[str, ...],
    email: str,
    groups: tuple[str, ...],
) -> None:
    """Create an account. Without --password-stdin a password is generated and shown once."""
    generated = not password_stdin
    password = secrets.token_urlsafe(15) if generated else sys.stdin.readline().rstrip("\r\n")
    runtime = Runtime(settings)
    try:
        with transaction(runtime.sessions) as session:
            create_user(session, username, role, password, sids, email)
            for group in groups:
                add_to_group(session, group, username)
            audit.record(
                session,
                actor=operator(),
                action="user.create",
                target=username,
                details={"role": role, "sids": list(sids), "groups": list(groups)},
            )
    except AccountError as exc:
        record_refusal(
            runtime, actor=operator(), action="user.create", target=username, reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {username}")
    if generated:
        click.echo(f"password (shown once): {password}")


@click.group("groups")
def groups_group() -> None:
    """Staff groups: Windows group SIDs shared by their members (used to trim results)."""


@groups_group.command("add")
@click.argument("name")
@click.option("--sid", "sids", multiple=True, required=True, help="A Windows group SID.")
@click.option("--member", "members", multiple=True, help="A username to add to the group.")
@click.pass_obj
def groups_add(
    settings: Settings, name: str, sids: tuple[str, ...], members: tuple[str, ...]
) -> None:
    """Create a group with its SIDs (and members)."""
    runtime = Runtime(settings)
    try:
        with transaction(runtime.sessions) as session:
            create_group(session, name, sids)
            for member in members:
                add_to_group(session, name, member)
            audit.record(
                session,
                actor=operator(),
                action="group.create",
                target=name,
                details={"sids": list(sids), "members": list(members)},
            )
    except AccountError as exc:
        record_refusal(
            runtime, actor=operator(), action="group.create", target=name, reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    click.echo(f"group {name} created with {len(sids)} SID(s), {len(members)} member(s)")


@groups_group.command("join")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
@click.pass_obj
def groups_join(settings: Settings, name: str, usernames: tuple[str, ...]) -> None:
    """Add users to a group."""
    runtime = Runtime(settings)
    try:
        with transaction(runtime.sessions) as session:
            for username in usernames:
                add_to_group(session, name, username)
            audit.record(
                session,
                actor=operator(),
                action="group.join",
                target=name,
                details={"members": list(usernames)},
            )
    except AccountError as exc:
        record_refusal(runtime, actor=operator(), action="group.join", target=name, reason=str(exc))
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(usernames)} user(s) in group {name}")


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for the JSON API (/api/v1)."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", default="api", show_default=True, help="A label for the token.")
@click.pass_obj
def tokens_create(settings: Settings, username: str, name: str) -> None:
    """Create a bearer token for USERNAME; it is printed once and stored only as a hash."""
    runtime = Runtime(settings)
    try:
        with transaction(runtime.sessions) as session:
            token = create_token(session, username, name)
            audit.record(
                session,
                actor=operator(),
                action="token.create",
                target=username,
                details={"name": name},
            )
    except AccountError as exc:
        record_refusal(
            runtime, actor=operator(), action="token.create", target=username, reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    click.echo(f"token for {username} (shown once): {token}")


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.pass_obj
def audit_verify(settings: Settings) -> None:
    """Re-hash the whole chain, check every entry's seal and every checkpoint of the anchor
    file; exit 1 at the first thing that does not fit. An intact log's head is anchored."""
    runtime = Runtime(settings)
    with runtime.sessions() as session:
        result = audit.verify_chain(session)
    if result.ok:
        anchor = audit.checkpoint(runtime.sessions)
        click.echo(
            f"audit chain intact: {result.checked} entries verified ({result.sealed} seals "
            f"valid), {result.checkpoints} checkpoints matched; head anchored at entry "
            f"{anchor.entry_id}"
        )
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        return
    click.echo(
        f"AUDIT CHAIN BROKEN at entry {result.first_bad_id}: {result.reason} "
        f"({result.checked} entries verified before it)",
        err=True,
    )
    raise SystemExit(1)


@audit_group.command("checkpoint")
@click.option("--initial", is_flag=True, help="Anchor a log that has no checkpoint yet.")
@click.pass_obj
def audit_checkpoint(settings: Settings, initial: bool) -> None:
    """Anchor the audit log's committed head in FOI_AUDIT_ANCHOR_FILE (run it from cron on an
    in-process deployment; `foi beat` does it hourly). --initial anchors a log that has entries
    but no checkpoint yet (a database from before sealing, or a new anchor file location):
    check first why there is none, since it vouches for everything already in the log."""
    runtime = Runtime(settings)
    try:
        anchor = audit.checkpoint(runtime.sessions, initial=initial)
    except audit.AnchorMissing as exc:
        record_refusal(
            runtime, actor=operator(), action="audit.checkpoint", target="", reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    if initial:
        with transaction(runtime.sessions) as session:
            audit.record(
                session,
                actor=operator(),
                action="audit.checkpoint_initial",
                details={"entry": anchor.entry_id, "unsealed_through": anchor.unsealed_through},
            )
    click.echo(f"checkpoint: entry {anchor.entry_id}, chain hash {anchor.entry_hash}")


@audit_group.command("export")
@click.pass_obj
def audit_export(settings: Settings) -> None:
    """Write the audit log as CSV to standard output."""
    writer = csv.writer(sys.stdout)
    writer.writerow(audit.CSV_HEADER)
    with Runtime(settings).sessions() as session:
        for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
            writer.writerow(csv_cells(audit.csv_row(event)))
