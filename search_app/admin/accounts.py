"""Account administration pages (admins only: `permissions.ADMINISTRATION`): staff accounts,
their groups and API tokens.

Invariants:
- every change goes through foi_core.accounts / foi_core.tokens (which end the sessions of the
  people it concerns) and is audited under the signed-in admin; a refused change is audited as
  denied and its reason shown;
- secrets (a new password, a new token) are shown once, on the response to the form that made
  them, and never stored in the session or a redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

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
    set_email,
    set_group_sids,
    set_role,
    set_sids,
    summarise,
)
from foi_core.audit import Outcome, record
from foi_core.db import transaction
from foi_core.models import Group, Role, User, utcnow
from foi_core.tokens import MAX_TOKEN_DAYS, create_token, list_tokens, revoke_token
from search_app import permissions
from search_app.auth import require_role, services, signed_in_user
from search_app.request_input import client_ip

bp = Blueprint("accounts", __name__, url_prefix="/admin")
T = TypeVar("T")
ROLES = tuple(role.value for role in Role)
_MAX_FIELD = 4000


def _field(name: str) -> str:
    return request.form.get(name, "")[:_MAX_FIELD].strip()


def _sids(name: str = "sids") -> list[str]:
    """SIDs typed one per line (or separated by commas or spaces)."""
    return [sid for sid in _field(name).replace(",", " ").split() if sid]


def _change(
    action: str, target: str, change: Callable[[Session], T], details: dict[str, Any] | None = None
) -> T:
    """Make an account change as the signed-in admin, audited in the same transaction. A
    refusal (AccountError) is audited as denied, then raised for the view to show."""
    admin = signed_in_user()
    ip = client_ip()
    try:
        with transaction(services().sessions) as db:
            result = change(db)
            record(
                db, actor=admin.username, action=action, target=target, ip=ip, details=details or {}
            )
    except AccountError as refused:
        with transaction(services().sessions) as db:
            record(
                db,
                actor=admin.username,
                action=action,
                target=target,
                ip=ip,
                outcome=Outcome.DENIED,
                details={"reason": str(refused)},
            )
        raise
    return result


def _username(user_id: int) -> str:
    with services().sessions() as db:
        user = db.get(User, user_id)
        if user is None:
            abort(404)
        return user.username


def _group_name(group_id: int) -> str:
    with services().sessions() as db:
        group = db.get(Group, group_id)
        if group is None:
            abort(404)
        return group.name


@bp.get("/users")
@require_role(*permissions.ADMINISTRATION)
def users() -> ResponseReturnValue:
    return _users_page({}, {}, 200)


def _users_page(values: dict[str, str], errors: dict[str, str], status: int) -> ResponseReturnValue:
    with services().sessions() as db:
        accounts = list_accounts(db)
        groups = list_groups(db)
    page = render_template(
        "users.html", accounts=accounts, groups=groups, roles=ROLES, values=values, errors=errors
    )
    return page, status


@bp.post("/users")
@require_role(*permissions.ADMINISTRATION)
def create() -> ResponseReturnValue:
    values = {name: _field(name) for name in ("username", "role", "sids", "email")}
    joined = [g[:150] for g in request.form.getlist("groups")[:100]]
    password = generate_password()

    def change(db: Session) -> None:
        create_user(db, values["username"], values["role"], password, _sids(), values["email"])
        for group in joined:
            add_to_group(db, group, values["username"])

    details = {"role": values["role"], "sids": _sids(), "groups": joined}
    try:
        _change("user.create", values["username"][:150], change, details)
    except AccountError as refused:
        return _users_page(values, {"form": str(refused)}, 400)
    return render_template(
        "secret_shown.html",
        heading=f"Account {values['username']} created",
        label="Password",
        secret=password,
        back=url_for("accounts.users"),
    )


@bp.get("/users/<int:user_id>")
@require_role(*permissions.ADMINISTRATION)
def user_page(user_id: int) -> ResponseReturnValue:
    with services().sessions() as db:
        user = db.get(User, user_id)
        if user is None:
            abort(404)
        account = summarise(db, user)
        tokens = list_tokens(db, user.username)
        groups = [g.name for g in list_groups(db) if g.name not in account.groups]
    return render_template(
        "user.html",
        account=account,
        tokens=tokens,
        other_groups=groups,
        roles=ROLES,
        now=utcnow(),
        max_days=MAX_TOKEN_DAYS,
        token_days=services().settings.token_days,
    )


def _user_change(
    user_id: int, action: str, change: Callable[[Session, str], object], done: str, **details: Any
) -> ResponseReturnValue:
    username = _username(user_id)
    try:
        _change(action, username, lambda db: change(db, username), details)
    except AccountError as refused:
        flash(f"Not changed: {refused}")
    else:
        flash(done.replace("{username}", username))
    return redirect(url_for("accounts.user_page", user_id=user_id))


@bp.post("/users/<int:user_id>/active")
@require_role(*permissions.ADMINISTRATION)
def set_user_active(user_id: int) -> ResponseReturnValue:
    active = _field("active") == "yes"
    return _user_change(
        user_id,
        "user.enable" if active else "user.disable",
        lambda db, name: set_active(db, name, active=active),
        "{username} is enabled." if active else "{username} is disabled and signed out.",
    )


@bp.post("/users/<int:user_id>/role")
@require_role(*permissions.ADMINISTRATION)
def set_user_role(user_id: int) -> ResponseReturnValue:
    role = _field("role")
    return _user_change(
        user_id,
        "user.role",
        lambda db, name: set_role(db, name, role),
        "{username}'s role is " + role[:40] + ".",
        role=role[:40],
    )


@bp.post("/users/<int:user_id>/sids")
@require_role(*permissions.ADMINISTRATION)
def set_user_sids(user_id: int) -> ResponseReturnValue:
    sids = _sids()
    return _user_change(
        user_id,
        "user.sids",
        lambda db, name: set_sids(db, name, sids),
        "{username}'s SIDs are saved.",
        sids=sids[:50],
    )


@bp.post("/users/<int:user_id>/email")
@require_role(*permissions.ADMINISTRATION)
def set_user_email(user_id: int) -> ResponseReturnValue:
    email = _field("email")
    return _user_change(
        user_id,
        "user.email",
        lambda db, name: set_email(db, name, email),
        "{username}'s e-mail address is saved.",
        email=email[:320],
    )


def _membership(
    user_id: int, action: str, change: Callable[[Session, str, str], object], done: str
) -> ResponseReturnValue:
    """Join or leave a group from the user's page: audited against the group, as from its own."""
    username = _username(user_id)
    group = _field("group")[:150]
    try:
        _change(action, group, lambda db: change(db, group, username), {"members": [username]})
    except AccountError as refused:
        flash(f"Not changed: {refused}")
    else:
        flash(f"{username} {done} {group}.")
    return redirect(url_for("accounts.user_page", user_id=user_id))


@bp.post("/users/<int:user_id>/groups")
@require_role(*permissions.ADMINISTRATION)
def join_group(user_id: int) -> ResponseReturnValue:
    return _membership(user_id, "group.join", add_to_group, "joined")


@bp.post("/users/<int:user_id>/groups/leave")
@require_role(*permissions.ADMINISTRATION)
def leave_group(user_id: int) -> ResponseReturnValue:
    return _membership(user_id, "group.leave", remove_from_group, "left")


@bp.post("/users/<int:user_id>/password")
@require_role(*permissions.ADMINISTRATION)
def new_password(user_id: int) -> ResponseReturnValue:
    username = _username(user_id)
    password = generate_password()
    try:
        _change("user.password_reset", username, lambda db: reset_password(db, username, password))
    except AccountError as refused:
        flash(f"Not changed: {refused}")
        return redirect(url_for("accounts.user_page", user_id=user_id))
    return render_template(
        "secret_shown.html",
        heading=f"New password for {username}",
        label="Password",
        secret=password,
        back=url_for("accounts.user_page", user_id=user_id),
    )


@bp.post("/users/<int:user_id>/tokens")
@require_role(*permissions.ADMINISTRATION)
def new_token(user_id: int) -> ResponseReturnValue:
    username = _username(user_id)
    label = _field("name")[:100] or "api"
    raw_days = _field("days")
    days = int(raw_days) if raw_days.isdecimal() and len(raw_days) < 5 else 0
    try:
        token = _change(
            "token.create",
            username,
            lambda db: create_token(db, username, label, days=days),
            {"name": label, "days": days},
        )
    except AccountError as refused:
        flash(f"No token created: {refused}")
        return redirect(url_for("accounts.user_page", user_id=user_id))
    return render_template(
        "secret_shown.html",
        heading=f"API token for {username} ({label}), valid {days} days",
        label="Token",
        secret=token,
        back=url_for("accounts.user_page", user_id=user_id),
    )


@bp.post("/tokens/<int:token_id>/revoke")
@require_role(*permissions.ADMINISTRATION)
def revoke(token_id: int) -> ResponseReturnValue:
    try:
        revoked = _change(
            "token.revoke", f"token {token_id}", lambda db: revoke_token(db, token_id)
        )
    except AccountError as refused:
        flash(f"Not revoked: {refused}")
        return redirect(url_for("accounts.users"))
    flash(f"Token {revoked.name!r} of {revoked.username} revoked.")
    return redirect(url_for("accounts.user_page", user_id=revoked.user_id))


@bp.get("/groups")
@require_role(*permissions.ADMINISTRATION)
def groups() -> ResponseReturnValue:
    return _groups_page({}, "", 200)


def _groups_page(values: dict[str, str], error: str, status: int) -> ResponseReturnValue:
    with services().sessions() as db:
        found = list_groups(db)
    return render_template("groups.html", groups=found, values=values, error=error), status


@bp.post("/groups")
@require_role(*permissions.ADMINISTRATION)
def create_staff_group() -> ResponseReturnValue:
    values = {"name": _field("name")[:150], "sids": _field("sids")}
    sids = _sids()
    try:
        _change(
            "group.create",
            values["name"],
            lambda db: create_group(db, values["name"], sids),
            {"sids": sids[:50]},
        )
    except AccountError as refused:
        return _groups_page(values, str(refused), 400)
    flash(f"Group {values['name']} created.")
    return redirect(url_for("accounts.groups"))


@bp.get("/groups/<int:group_id>")
@require_role(*permissions.ADMINISTRATION)
def group_page(group_id: int) -> ResponseReturnValue:
    name = _group_name(group_id)
    with services().sessions() as db:
        [group] = [g for g in list_groups(db) if g.id == group_id]
        others = [a.username for a in list_accounts(db) if a.username not in group.members]
    return render_template("group.html", group=group, others=others, name=name)


def _group_change(
    group_id: int, action: str, change: Callable[[Session, str], object], done: str, **details: Any
) -> ResponseReturnValue:
    name = _group_name(group_id)
    try:
        _change(action, name, lambda db: change(db, name), details)
    except AccountError as refused:
        flash(f"Not changed: {refused}")
    else:
        flash(done)
    return redirect(url_for("accounts.group_page", group_id=group_id))


@bp.post("/groups/<int:group_id>/sids")
@require_role(*permissions.ADMINISTRATION)
def set_staff_group_sids(group_id: int) -> ResponseReturnValue:
    sids = _sids()
    return _group_change(
        group_id,
        "group.sids",
        lambda db, name: set_group_sids(db, name, sids),
        "SIDs saved.",
        sids=sids[:50],
    )


@bp.post("/groups/<int:group_id>/members")
@require_role(*permissions.ADMINISTRATION)
def add_member(group_id: int) -> ResponseReturnValue:
    username = _field("username")[:150]
    return _group_change(
        group_id,
        "group.join",
        lambda db, name: add_to_group(db, name, username),
        f"{username} joined the group.",
        members=[username],
    )


@bp.post("/groups/<int:group_id>/members/leave")
@require_role(*permissions.ADMINISTRATION)
def remove_member(group_id: int) -> ResponseReturnValue:
    username = _field("username")[:150]
    return _group_change(
        group_id,
        "group.leave",
        lambda db, name: remove_from_group(db, name, username),
        f"{username} left the group.",
        members=[username],
    )
