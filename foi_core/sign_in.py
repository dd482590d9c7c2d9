"""Password sign-in: equal work for every refusal, and throttling instead of lockout.

Invariants:
- every attempt costs exactly one Argon2 verification: against the account's hash, or against a
  dummy hash when the account is unknown or disabled or the attempt is paused, so the time
  taken does not tell a guesser which accounts exist or are paused;
- failures pause the (account name, address) pair that made them, and an address that fails
  across many accounts, for exponentially longer: nobody can lock an account's owner out from
  another address, and a guesser gets a few dozen tries a day per pair;
- a pause refuses even the right password, with the same message as any other refusal; the
  reason goes to the audit log only.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foi_core.accounts import PASSWORD_HASHER, USERNAME_MAX
from foi_core.models import AuditEvent, LoginThrottle, User, as_utc, utcnow

# The per-address counter's row has no account name.
_ANY_ACCOUNT = ""


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures allowed before a pause, and the pauses: `first_pause`, doubling with each
    further failure up to `longest_pause`. A counter restarts after `forget_after` without
    failures."""

    account_free_failures: int = 5
    # Many staff can share one address (an office's proxy): the address allows far more.
    address_free_failures: int = 20
    first_pause: timedelta = timedelta(seconds=15)
    longest_pause: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=1)
    # An address an account signed in from within this long is its own, not a stranger's.
    known_address_for: timedelta = timedelta(days=30)

    def pause(self, failures: int, free: int) -> timedelta | None:
        if failures < free:
            return None
        doublings = min(failures - free, 16)
        return min(self.first_pause * (1 << doublings), self.longest_pause)


DEFAULT_POLICY = ThrottlePolicy()
PAUSED = "paused after repeated failures from this address"


class LoginRefused(Exception):
    """Sign-in failed; `reason` is for the audit log, never shown to the user verbatim."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@functools.cache
def _dummy_hash() -> str:
    # Made with the hasher's own parameters, so verifying against it costs what a real one does.
    return PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


def prepare() -> None:
    """Make the dummy hash now (at start-up), so the first refusal costs no more than others."""
    _dummy_hash()


def authenticate(
    db: Session,
    username: str,
    password: str,
    ip: str,
    *,
    now: datetime | None = None,
    policy: ThrottlePolicy = DEFAULT_POLICY,
) -> User:
    """The user `username` names if `password` is theirs and the attempt is not paused; else
    LoginRefused. Records failures and the sign-in; commits nothing itself (the caller commits
    refusals too, so the counters stick)."""
    now = utcnow() if now is None else now
    name = username[:USERNAME_MAX]
    ip = ip[:64]
    user = db.execute(select(User).where(User.username == name)).scalar_one_or_none()
    # The address-wide pause slows a stranger trying many accounts; it never holds back
    # someone who has signed in from that address lately (an office's shared address), so a
    # stranger's failures there cannot lock staff out. Both looks cost the same every time.
    known = _signed_in_from(db, name, ip, now - policy.known_address_for)
    paused = _paused(db, name, ip, now) or (_paused(db, _ANY_ACCOUNT, ip, now) and not known)
    usable = user is not None and user.active and not paused
    verified = _verify(user.password_hash if usable and user else _dummy_hash(), password)
    if paused:
        raise LoginRefused(PAUSED)
    if user is None or not user.active or not verified:
        reason = "unknown user" if user is None else "wrong password"
        if user is not None and not user.active:
            reason = "account disabled"
        _count_failure(db, name, ip, now, policy, policy.account_free_failures)
        _count_failure(db, _ANY_ACCOUNT, ip, now, policy, policy.address_free_failures)
        raise LoginRefused(reason)
    db.execute(delete(LoginThrottle).where(LoginThrottle.username == name, LoginThrottle.ip == ip))
    user.last_login_at = now
    if PASSWORD_HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = PASSWORD_HASHER.hash(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _row(db: Session, name: str, ip: str) -> LoginThrottle | None:
    return db.execute(
        select(LoginThrottle).where(LoginThrottle.username == name, LoginThrottle.ip == ip)
    ).scalar_one_or_none()


def _paused(db: Session, name: str, ip: str, now: datetime) -> bool:
    row = _row(db, name, ip)
    return row is not None and row.blocked_until is not None and as_utc(row.blocked_until) > now


def _count_failure(
    db: Session, name: str, ip: str, now: datetime, policy: ThrottlePolicy, free: int
) -> None:
    row = _row(db, name, ip)
    if row is None:
        try:
            # Two failures of a new pair at once: the second insert loses and counts on the row.
            with db.begin_nested():
                row = LoginThrottle(username=name, ip=ip, failures=0, last_failure_at=now)
                db.add(row)
        except IntegrityError:
            row = _row(db, name, ip)
            if row is None:
                raise
    if now - as_utc(row.last_failure_at) > policy.forget_after:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    pause = policy.pause(row.failures, free)
    row.blocked_until = None if pause is None else now + pause
    # Counters nobody has touched for a while are forgotten, so the table stays small.
    db.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - policy.forget_after - policy.longest_pause
        )
    )


def _signed_in_from(db: Session, name: str, ip: str, since: datetime) -> bool:
    return (
        db.execute(
            select(AuditEvent.id)
            .where(
                AuditEvent.action == "login",
                AuditEvent.actor == name,
                AuditEvent.ip == ip,
                AuditEvent.outcome == "ok",
                AuditEvent.at >= since,
            )
            .limit(1)
        ).scalar_one_or_none()
        is not None
    )
