"""Local staff accounts: creation and password checks (Argon2id)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core.models import Group, GroupMember, Role, User

_HASHER = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,150}$")
_SID = re.compile(r"^S-1-\d+(-\d+)+$")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
MIN_PASSWORD_LENGTH = 12
# Throttling: after this many consecutive failures the account is locked for a while.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


class AccountError(ValueError):
    """The requested account change is invalid; the message says why, for the user."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    sids: Sequence[str] = (),
    email: str = "",
) -> User:
    if not _USERNAME.match(username):
        raise AccountError("username may use letters, digits and . _ @ - (2-150 characters)")
    try:
        role_value = Role(role).value
    except ValueError:
        raise AccountError(
            f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}"
        ) from None
    bad = [sid for sid in sids if not _SID.match(sid)]
    if bad:
        raise AccountError(f"not a Windows SID: {', '.join(bad)}")
    if email and not _EMAIL.fullmatch(email):
        raise AccountError(f"not an e-mail address: {email!r}")
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        role=role_value,
        password_hash=hash_password(password),
        sids=list(sids),
        email=email,
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


class LoginRefused(Exception):
    """Sign-in failed; `reason` is for the audit log, never shown to the user verbatim."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def authenticate(session: Session, username: str, password: str) -> User:
    """Check a password, applying lockout after repeated failures. Commits nothing itself."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        # Hash anyway so response time does not reveal whether the account exists.
        _HASHER.hash(password or "x")
        raise LoginRefused("unknown or inactive user")
    now = datetime.now(UTC)
    locked = user.locked_until
    if locked is not None and (locked if locked.tzinfo else locked.replace(tzinfo=UTC)) > now:
        raise LoginRefused("account locked after repeated failures")
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        raise LoginRefused("wrong password") from None
    user.failed_logins = 0
    user.locked_until = None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user


def create_group(session: Session, name: str, sids: Sequence[str]) -> Group:
    name = name.strip()
    if not name or len(name) > 150:
        raise AccountError("a group needs a name of at most 150 characters")
    bad = [sid for sid in sids if not _SID.match(sid)]
    if bad:
        raise AccountError(f"not a Windows SID: {', '.join(bad)}")
    if not sids:
        raise AccountError("a group needs at least one SID (that is what it is for)")
    if session.execute(select(Group).where(Group.name == name)).scalar_one_or_none():
        raise AccountError(f"group {name!r} already exists")
    group = Group(name=name, sids=list(dict.fromkeys(sids)))
    session.add(group)
    session.flush()
    return group


def add_to_group(session: Session, group_name: str, username: str) -> None:
    group = session.execute(select(Group).where(Group.name == group_name)).scalar_one_or_none()
    if group is None:
        raise AccountError(f"there is no group {group_name!r}")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise AccountError(f"there is no user {username!r}")
    exists = session.execute(
        select(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == user.id)
    ).scalar_one_or_none()
    if exists is None:
        session.add(GroupMember(group_id=group.id, user_id=user.id))
        session.flush()


def effective_sids(session: Session, user: User) -> tuple[str, ...]:
    """The user's own SIDs and those of every group they belong to (trimming uses these)."""
    group_sids = session.execute(
        select(Group.sids)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user.id)
    ).scalars()
    found = [*(user.sids or ())]
    for sids in group_sids:
        found.extend(sids or ())
    return tuple(dict.fromkeys(found))
