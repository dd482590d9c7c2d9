"""Server-side browser sessions: the store behind the web app's session cookie.

Invariants:
- the cookie carries a random 256-bit id and nothing else; the database keeps only its SHA-256,
  so neither a copied cookie nor a read of the table outlives the row;
- a session ends when its row is deleted: at sign-out, when its user is disabled or their role,
  SIDs, groups or password change (`end_user_sessions`), after `idle` without a request and
  `absolute` after it began, whatever the activity;
- a session's facts are written back only to the row it was read from (an UPDATE, never an
  insert), so a request that finishes after the session ended cannot bring it back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from foi_core.models import WebSession, as_utc
from foi_core.settings import Settings

# `secrets.token_urlsafe(32)`: 43 characters of URL-safe base64.
_ID = re.compile(r"[A-Za-z0-9_-]{43}")
# Activity is written back at most this often (the idle limit is counted in minutes).
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionLimits:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
        )

    def expired(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - as_utc(last_seen_at) > self.idle or now - as_utc(created_at) > self.absolute


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_session(
    db: Session, *, data: str, user_id: int | None, ip: str, now: datetime, limits: SessionLimits
) -> str:
    """Store a new session and return its id (for the cookie; it is not kept in clear).
    Sessions past their limits are purged here, so the table holds live sessions only."""
    purge_expired(db, limits, now)
    session_id = secrets.token_urlsafe(32)
    db.add(
        WebSession(
            id_sha256=session_digest(session_id),
            user_id=user_id,
            data=data,
            ip=ip[:64],
            created_at=now,
            last_seen_at=now,
        )
    )
    db.flush()
    return session_id


def live_session(
    db: Session, session_id: str, limits: SessionLimits, now: datetime
) -> WebSession | None:
    """The session with this id if it is still within its limits (one past them is ended)."""
    if not _ID.fullmatch(session_id):
        return None
    row = db.execute(
        select(WebSession).where(WebSession.id_sha256 == session_digest(session_id))
    ).scalar_one_or_none()
    if row is None:
        return None
    if limits.expired(row.created_at, row.last_seen_at, now):
        db.delete(row)
        return None
    return row


def save_session(
    db: Session, session_id: str, *, data: str, user_id: int | None, now: datetime
) -> None:
    """Write a session's contents back (a session ended meanwhile stays ended)."""
    db.execute(
        update(WebSession)
        .where(WebSession.id_sha256 == session_digest(session_id))
        .values(data=data, user_id=user_id, last_seen_at=now)
    )


def touch_session(db: Session, session_id: str, now: datetime) -> None:
    db.execute(
        update(WebSession)
        .where(WebSession.id_sha256 == session_digest(session_id))
        .values(last_seen_at=now)
    )


def end_session(db: Session, session_id: str) -> None:
    db.execute(delete(WebSession).where(WebSession.id_sha256 == session_digest(session_id)))


def end_user_sessions(db: Session, user_id: int) -> int:
    """End every session of a user at once; returns how many there were."""
    ended = db.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(ended, "rowcount", 0) or 0)


def count_user_sessions(db: Session, user_id: int) -> int:
    counted = select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)
    return int(db.execute(counted).scalar_one())


def purge_expired(db: Session, limits: SessionLimits, now: datetime) -> None:
    db.execute(
        delete(WebSession).where(
            or_(
                WebSession.last_seen_at < now - limits.idle,
                WebSession.created_at < now - limits.absolute,
            )
        )
    )


def access_fingerprint(role: str, sids: tuple[str, ...], password_hash: str) -> str:
    """What a signed-in session was granted: its user's role, effective SIDs and password.
    A session whose user no longer matches it is ended, whichever route made the change."""
    facts = "\n".join((role, password_hash, *sorted(sids)))
    return hashlib.sha256(facts.encode()).hexdigest()
