"""`foi db`, `foi users`, `foi groups`, `foi tokens`, `foi audit`: the database, accounts over
their lifetime (every change audited under the operator, refusals as denied) and the audit log."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_cli.runtime import operator, record_refusal
from foi_core import audit
from foi_core.accounts import (
    AccountError,
    add_to_group,
    create_group,
    create_user,
    generate_password,
    list_accounts,
    list_groups,
    remove_from_group,
    reset_password,
    set_active,
    set_group_sids,
    set_role,
    set_sids,
)
from foi_core.csv_safe import csv_cells
from foi_core.db import transaction
from foi_core.migrate import FIRST_SEALED_REVISION, current_revision, upgrade
from foi_core.models import AuditEvent, Role, as_utc, utcnow
from foi_core.settings import Settings
from foi_core.tokens import MAX_TOKEN_DAYS, create_token, list_tokens, revoke_token
from services import Services


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Apply every pending migration, then anchor the audit log's head outside the database.

    Upgrading a database from before sealing anchors its existing (unsealed) entries: from
    that checkpoint on, every entry must be sealed."""
    services = Services(settings)
    before = current_revision(services.engine)
    upgrade(services.engine)
    adopting = before is not None and before < FIRST_SEALED_REVISION
    try:
        anchor = audit.checkpoint(services.sessions, initial=adopting)
    except audit.AnchorMissing as exc:
        click.echo(f"database is up to date, but the audit log is not anchored: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"database is up to date; audit log anchored at entry {anchor.entry_id}")


ROLES = click.Choice([role.value for role in Role])
T = TypeVar("T")


def _audited(
    settings: Settings,
    action: str,
    target: str,
    change: Callable[[Session], T],
    details: dict[str, Any] | None = None,
) -> T:
    """Run an account change and audit it under the operator, in one transaction; a refused
    change is audited as denied and reported as the error it is."""
    services = Services(settings)
    try:
        with transaction(services.sessions) as session:
            result = change(session)
            audit.record(
                session, actor=operator(), action=action, target=target, details=details or {}
            )
    except AccountError as exc:
        record_refusal(services, actor=operator(), action=action, target=target, reason=str(exc))
        raise click.ClickException(str(exc)) from None
    return result


def _new_password(from_stdin: bool) -> tuple[str, bool]:
    """The password typed on standard input, or a generated one (to show once)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return generate_password(), True


def _when(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "never"


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=ROLES)
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
    password, generated = _new_password(password_stdin)

    def change(session: Session) -> None:
        create_user(session, username, role, password, sids, email)
        for group in groups:
            add_to_group(session, group, username)

    details = {"role": role, "sids": list(sids), "groups": list(groups)}
    _audited(settings, "user.create", username, change, details)
    click.echo(f"created {role} {username}")
    if generated:
        click.echo(f"password (shown once): {password}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def users_list(settings: Settings, as_json: bool) -> None:
    """Every account: role, state, SIDs, groups, last sign-in and open sessions."""
    with Services(settings).sessions() as session:
        accounts = list_accounts(session)
    if as_json:
        rows = [
            {
                **asdict(a),
                "created_at": _when(a.created_at),
                "last_login_at": _when(a.last_login_at),
            }
            for a in accounts
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for a in accounts:
        state = "active" if a.active else "DISABLED"
        click.echo(
            f"{a.username}\t{a.role}\t{state}\tlast sign-in {_when(a.last_login_at)}\t"
            f"{a.sessions} session(s)\tSIDs: {', '.join(a.sids) or '-'}\t"
            f"groups: {', '.join(a.groups) or '-'}"
        )


@users_group.command("disable")
@click.argument("username")
@click.pass_obj
def users_disable(settings: Settings, username: str) -> None:
    """Disable an account: it is signed out at once, and its API tokens stop working."""
    changed = _audited(
        settings, "user.disable", username, lambda s: set_active(s, username, active=False)
    )
    click.echo(f"{username} disabled" if changed else f"{username} was already disabled")


@users_group.command("enable")
@click.argument("username")
@click.pass_obj
def users_enable(settings: Settings, username: str) -> None:
    """Enable a disabled account again (its old sessions stay ended)."""
    changed = _audited(
        settings, "user.enable", username, lambda s: set_active(s, username, active=True)
    )
    click.echo(f"{username} enabled" if changed else f"{username} was already enabled")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLES)
@click.pass_obj
def users_set_role(settings: Settings, username: str, role: str) -> None:
    """Give an account another role (its sessions end)."""
    changed = _audited(
        settings, "user.role", username, lambda s: set_role(s, username, role), {"role": role}
    )
    click.echo(f"{username} is now {role}" if changed else f"{username} already is {role}")


@users_group.command("set-sids")
@click.argument("username")
@click.argument("sids", nargs=-1)
@click.option("--clear", is_flag=True, help="Remove every SID of the account.")
@click.pass_obj
def users_set_sids(settings: Settings, username: str, sids: tuple[str, ...], clear: bool) -> None:
    """Replace an account's own Windows SIDs (its sessions end). Group SIDs are the groups'."""
    if bool(sids) == clear:
        raise click.UsageError("give the account's SIDs, or --clear to remove them all")
    changed = _audited(
        settings, "user.sids", username, lambda s: set_sids(s, username, sids), {"sids": list(sids)}
    )
    click.echo(f"{username}: {len(sids)} SID(s)" if changed else f"{username}: SIDs unchanged")


@users_group.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def users_reset_password(settings: Settings, username: str, password_stdin: bool) -> None:
    """Set a new password (generated and shown once without --password-stdin); the account's
    sessions end."""
    password, generated = _new_password(password_stdin)
    _audited(
        settings, "user.password_reset", username, lambda s: reset_password(s, username, password)
    )
    click.echo(f"password of {username} reset")
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

    def change(session: Session) -> None:
        create_group(session, name, sids)
        for member in members:
            add_to_group(session, name, member)

    _audited(settings, "group.create", name, change, {"sids": list(sids), "members": list(members)})
    click.echo(f"group {name} created with {len(sids)} SID(s), {len(members)} member(s)")


@groups_group.command("list")
@click.pass_obj
def groups_list(settings: Settings) -> None:
    """Every group with its SIDs and members."""
    with Services(settings).sessions() as session:
        groups = list_groups(session)
    for group in groups:
        click.echo(
            f"{group.name}\tSIDs: {', '.join(group.sids)}\t"
            f"members: {', '.join(group.members) or '-'}"
        )


@groups_group.command("join")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
@click.pass_obj
def groups_join(settings: Settings, name: str, usernames: tuple[str, ...]) -> None:
    """Add users to a group (their sessions end: what they may see changed)."""

    def change(session: Session) -> None:
        for username in usernames:
            add_to_group(session, name, username)

    _audited(settings, "group.join", name, change, {"members": list(usernames)})
    click.echo(f"{len(usernames)} user(s) in group {name}")


@groups_group.command("leave")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
@click.pass_obj
def groups_leave(settings: Settings, name: str, usernames: tuple[str, ...]) -> None:
    """Take users out of a group (their sessions end)."""

    def change(session: Session) -> None:
        for username in usernames:
            remove_from_group(session, name, username)

    _audited(settings, "group.leave", name, change, {"members": list(usernames)})
    click.echo(f"{len(usernames)} user(s) left group {name}")


@groups_group.command("set-sids")
@click.argument("name")
@click.option("--sid", "sids", multiple=True, required=True, help="A Windows group SID.")
@click.pass_obj
def groups_set_sids(settings: Settings, name: str, sids: tuple[str, ...]) -> None:
    """Replace a group's SIDs (its members' sessions end)."""
    changed = _audited(
        settings, "group.sids", name, lambda s: set_group_sids(s, name, sids), {"sids": list(sids)}
    )
    click.echo(f"group {name}: {len(sids)} SID(s)" if changed else f"group {name}: unchanged")


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for the JSON API (/api/v1)."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", default="api", show_default=True, help="A label for the token.")
@click.option(
    "--days", type=click.IntRange(1, MAX_TOKEN_DAYS), help="Days it stays valid [FOI_TOKEN_DAYS]."
)
@click.pass_obj
def tokens_create(settings: Settings, username: str, name: str, days: int | None) -> None:
    """Create a bearer token for USERNAME; it is printed once and stored only as a hash."""
    days = settings.token_days if days is None else days
    token = _audited(
        settings,
        "token.create",
        username,
        lambda s: create_token(s, username, name, days=days),
        {"name": name, "days": days},
    )
    click.echo(f"token for {username}, valid {days} days (shown once): {token}")


@tokens_group.command("list")
@click.argument("username", required=False)
@click.pass_obj
def tokens_list(settings: Settings, username: str | None) -> None:
    """Every token (or USERNAME's): label, state, expiry and last use. Never the secret."""
    with Services(settings).sessions() as session:
        tokens = list_tokens(session, username)
    now = utcnow()
    for token in tokens:
        click.echo(
            f"{token.id}\t{token.username}\t{token.name}\t{token.state(now)}\t"
            f"expires {_when(token.expires_at)}\tlast used {_when(token.last_used_at)}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_obj
def tokens_revoke(settings: Settings, token_id: int) -> None:
    """Revoke a token (by the id `foi tokens list` shows): it stops working at once."""
    revoked = _audited(
        settings, "token.revoke", f"token {token_id}", lambda s: revoke_token(s, token_id)
    )
    click.echo(f"token {token_id} ({revoked.name}) of {revoked.username} revoked")


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.pass_obj
def audit_verify(settings: Settings) -> None:
    """Re-hash the whole chain, check every entry's seal and every checkpoint of the anchor
    file; exit 1 at the first thing that does not fit. An intact log's head is anchored."""
    services = Services(settings)
    with services.sessions() as session:
        result = audit.verify_chain(session)
    if result.ok:
        anchor = audit.checkpoint(services.sessions)
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
    services = Services(settings)
    try:
        anchor = audit.checkpoint(services.sessions, initial=initial)
    except audit.AnchorMissing as exc:
        record_refusal(
            services, actor=operator(), action="audit.checkpoint", target="", reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    if initial:
        with transaction(services.sessions) as session:
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
    with Services(settings).sessions() as session:
        for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
            writer.writerow(csv_cells(audit.csv_row(event)))
