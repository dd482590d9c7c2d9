"""API tokens: random secrets shown once, stored only as SHA-256 digests.

Invariants:
- a token authenticates only while it is unrevoked, unexpired and its user is active;
- every token expires (FOI_TOKEN_DAYS after creation by default, at most MAX_TOKEN_DAYS);
- its last use is recorded, so an admin can see which tokens are still in use.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core.accounts import AccountError, find_user
from foi_core.models import ApiToken, User, as_utc, utcnow

_PREFIX = "foi_"
MAX_TOKEN_DAYS = 366
NAME_MAX = 100


@dataclass(frozen=True)
class TokenSummary:
    """A token as the admin pages and `foi tokens list` show it (never the secret)."""

    id: int
    user_id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool

    def state(self, now: datetime) -> str:
        if self.revoked:
            return "revoked"
        return "expired" if as_utc(self.expires_at) <= now else "valid"


@dataclass(frozen=True)
class TokenRefusal:
    """A token that matched a row but may not be used: for the audit log."""

    username: str
    token_id: int
    reason: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, name: str = "api", *, days: int = 90) -> str:
    """A new token for `username`, valid for `days`; the caller shows it once, it is never
    stored in clear."""
    user = find_user(session, username)
    if not user.active:
        raise AccountError(f"{username!r} is disabled: enable the account first")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise AccountError(f"a token needs a label of 1 to {NAME_MAX} characters")
    token = _PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_sha256=_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=days),
            revoked=False,
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token_id: int, username: str | None = None) -> TokenSummary:
    """Revoke a token by its id (and, when given, only if it is `username`'s)."""
    row = session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or (username is not None and user.username != username):
        raise AccountError(f"there is no token {token_id}")
    if row.revoked:
        raise AccountError(f"token {token_id} is already revoked")
    row.revoked = True
    return _summary(row, user.username)


def list_tokens(session: Session, username: str | None = None) -> list[TokenSummary]:
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if username is not None:
        query = query.where(User.username == username)
    rows = session.execute(query.order_by(User.username, ApiToken.id)).all()
    return [_summary(token, owner) for token, owner in rows]


def user_for_token(session: Session, token: str) -> User | TokenRefusal | None:
    """The active user a valid token belongs to (its use noted); a TokenRefusal when the token
    exists but is revoked, expired or its user disabled; None when it is not a token at all."""
    if not token.startswith(_PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == _digest(token))
    ).scalar_one_or_none()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None:
        return None
    now = utcnow()
    reason = ""
    if row.revoked:
        reason = "token revoked"
    elif as_utc(row.expires_at) <= now:
        reason = "token expired"
    elif not user.active:
        reason = "account disabled"
    if reason:
        return TokenRefusal(user.username, row.id, reason)
    row.last_used_at = now
    return user


def _summary(row: ApiToken, username: str) -> TokenSummary:
    return TokenSummary(
        id=row.id,
        user_id=row.user_id,
        username=username,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked=row.revoked,
    )
