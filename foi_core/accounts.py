"""Local staff accounts and staff groups: creation, changes over their lifetime (Argon2id
passwords).

Invariants:
- a change to what an account may see or do (disabling it, its role, its SIDs, its groups or a
  group's SIDs, its password) ends every session of the people concerned in the same
  transaction, so nobody keeps access granted before the change;
- the last active admin can be neither disabled nor given another role (someone must be able
  to manage accounts);
- every change is validated here and refused with an AccountError that says why; the callers
  (the `foi` command, the admin pages) audit both outcomes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from foi_core.models import ApiToken, Group, GroupMember, Role, User
from foi_core.web_sessions import count_user_sessions, end_user_sessions

PASSWORD_HASHER = PasswordHasher()
USERNAME_MAX = 150
GROUP_NAME_MAX = 150
_USERNAME = re.compile(r"[A-Za-z0-9._@-]{2,150}")
_SID = re.compile(r"S-1-[0-9]{1,15}(-[0-9]{1,10}){1,15}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
MIN_PASSWORD_LENGTH = 12
# Argon2 hashes any length, but nobody types more, and it bounds the work a request can ask.
MAX_PASSWORD_LENGTH = 1024


class AccountError(ValueError):
    """The requested account change is invalid; the message says why, for the user."""


@dataclass(frozen=True)
class AccountSummary:
    """One account as the admin pages and `foi users list` show it."""

    id: int
    username: str
    role: str
    active: bool
    sids: tuple[str, ...]
    email: str
    groups: tuple[str, ...]
    created_at: datetime
    last_login_at: datetime | None
    sessions: int


@dataclass(frozen=True)
class GroupSummary:
    id: int
    name: str
    sids: tuple[str, ...]
    members: tuple[str, ...]


def generate_password() -> str:
    """A password for someone to change or keep: 20 random characters (120 bits)."""
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return PASSWORD_HASHER.hash(password)


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    sids: Sequence[str] = (),
    email: str = "",
) -> User:
    if not _USERNAME.fullmatch(username):
        raise AccountError("username may use letters, digits and . _ @ - (2-150 characters)")
    role_value = _role(role)
    _check_sids(sids)
    _check_email(email)
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        role=role_value,
        password_hash=hash_password(password),
        sids=list(dict.fromkeys(sids)),
        email=email,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise AccountError(f"there is no user {username[:USERNAME_MAX]!r}")
    return user


def set_active(session: Session, username: str, *, active: bool) -> bool:
    """Enable or disable an account; True if that changed it. Disabling signs it out."""
    user = find_user(session, username)
    if user.active == active:
        return False
    if not active:
        _keep_an_admin(session, user)
    user.active = active
    end_user_sessions(session, user.id)
    if not active:
        # Enabling the account again must not bring back tokens issued before it was disabled.
        _revoke_tokens(session, user.id)
    return True


def set_role(session: Session, username: str, role: str) -> bool:
    user = find_user(session, username)
    role_value = _role(role)
    if user.role == role_value:
        return False
    if user.role == Role.ADMIN:
        _keep_an_admin(session, user)
    user.role = role_value
    end_user_sessions(session, user.id)
    return True


def set_sids(session: Session, username: str, sids: Sequence[str]) -> bool:
    user = find_user(session, username)
    _check_sids(sids)
    wanted = list(dict.fromkeys(sids))
    if list(user.sids or ()) == wanted:
        return False
    user.sids = wanted
    end_user_sessions(session, user.id)
    return True


def set_email(session: Session, username: str, email: str) -> bool:
    user = find_user(session, username)
    _check_email(email)
    if user.email == email:
        return False
    user.email = email
    return True


def reset_password(session: Session, username: str, password: str) -> None:
    """A new password; every session of the account ends (whoever knew the old one)."""
    user = find_user(session, username)
    user.password_hash = hash_password(password)
    end_user_sessions(session, user.id)
    # Whoever knew the old password may have made tokens with it.
    _revoke_tokens(session, user.id)


def create_group(session: Session, name: str, sids: Sequence[str]) -> Group:
    name = name.strip()
    if not name or len(name) > GROUP_NAME_MAX:
        raise AccountError(f"a group needs a name of at most {GROUP_NAME_MAX} characters")
    _check_group_sids(sids)
    if session.execute(select(Group).where(Group.name == name)).scalar_one_or_none():
        raise AccountError(f"group {name!r} already exists")
    group = Group(name=name, sids=list(dict.fromkeys(sids)))
    session.add(group)
    session.flush()
    return group


def find_group(session: Session, name: str) -> Group:
    group = session.execute(select(Group).where(Group.name == name)).scalar_one_or_none()
    if group is None:
        raise AccountError(f"there is no group {name[:GROUP_NAME_MAX]!r}")
    return group


def set_group_sids(session: Session, name: str, sids: Sequence[str]) -> bool:
    """New SIDs for a group; its members' sessions end (what they may see changed)."""
    group = find_group(session, name)
    _check_group_sids(sids)
    wanted = list(dict.fromkeys(sids))
    if list(group.sids or ()) == wanted:
        return False
    group.sids = wanted
    for user_id in _member_ids(session, group.id):
        end_user_sessions(session, user_id)
    return True


def add_to_group(session: Session, group_name: str, username: str) -> bool:
    """Add a member (True if they were not one); their sessions end."""
    group = find_group(session, group_name)
    user = find_user(session, username)
    if user.id in _member_ids(session, group.id):
        return False
    session.add(GroupMember(group_id=group.id, user_id=user.id))
    session.flush()
    end_user_sessions(session, user.id)
    return True


def remove_from_group(session: Session, group_name: str, username: str) -> None:
    group = find_group(session, group_name)
    user = find_user(session, username)
    membership = session.execute(
        select(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == user.id)
    ).scalar_one_or_none()
    if membership is None:
        raise AccountError(f"{username!r} is not in group {group_name!r}")
    session.delete(membership)
    session.flush()
    end_user_sessions(session, user.id)


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


def list_accounts(session: Session) -> list[AccountSummary]:
    memberships: dict[int, list[str]] = {}
    for user_id, group in session.execute(
        select(GroupMember.user_id, Group.name)
        .join(Group, Group.id == GroupMember.group_id)
        .order_by(Group.name)
    ):
        memberships.setdefault(user_id, []).append(group)
    return [
        summarise(session, user, tuple(memberships.get(user.id, ())))
        for user in session.execute(select(User).order_by(User.username)).scalars()
    ]


def summarise(
    session: Session, user: User, groups: tuple[str, ...] | None = None
) -> AccountSummary:
    if groups is None:
        groups = tuple(
            session.execute(
                select(Group.name)
                .join(GroupMember, GroupMember.group_id == Group.id)
                .where(GroupMember.user_id == user.id)
                .order_by(Group.name)
            ).scalars()
        )
    return AccountSummary(
        id=user.id,
        username=user.username,
        role=user.role,
        active=user.active,
        sids=tuple(user.sids or ()),
        email=user.email,
        groups=groups,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        sessions=count_user_sessions(session, user.id),
    )


def list_groups(session: Session) -> list[GroupSummary]:
    members: dict[int, list[str]] = {}
    for group_id, username in session.execute(
        select(GroupMember.group_id, User.username)
        .join(User, User.id == GroupMember.user_id)
        .order_by(User.username)
    ):
        members.setdefault(group_id, []).append(username)
    return [
        GroupSummary(
            group.id, group.name, tuple(group.sids or ()), tuple(members.get(group.id, ()))
        )
        for group in session.execute(select(Group).order_by(Group.name)).scalars()
    ]


def _member_ids(session: Session, group_id: int) -> list[int]:
    return list(
        session.execute(select(GroupMember.user_id).where(GroupMember.group_id == group_id))
        .scalars()
        .all()
    )


def _keep_an_admin(session: Session, user: User) -> None:
    others = session.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
    ).scalar_one()
    if user.role == Role.ADMIN and user.active and others == 0:
        raise AccountError(f"{user.username!r} is the last active admin: keep at least one")


def _role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        raise AccountError(
            f"unknown role {role[:40]!r}; choose one of {', '.join(r.value for r in Role)}"
        ) from None


def _check_sids(sids: Sequence[str]) -> None:
    bad = [sid for sid in sids if not _SID.fullmatch(sid)]
    if bad:
        raise AccountError(f"not a Windows SID: {', '.join(s[:80] for s in bad[:5])}")


def _check_group_sids(sids: Sequence[str]) -> None:
    _check_sids(sids)
    if not sids:
        raise AccountError("a group needs at least one SID (that is what it is for)")


def _check_email(email: str) -> None:
    if email and not _EMAIL.fullmatch(email):
        raise AccountError(f"not an e-mail address: {email[:80]!r}")


def _revoke_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
        .values(revoked=True)
    )
