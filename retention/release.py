"""Releasing a hold: two steps by two people. A records manager asks, with a reason; a
different person approves (the requester's own approval is refused and audited). Until then
the hold stands, and a file stays held while any hold covering it stands."""

from __future__ import annotations

from datetime import UTC, datetime

from foi_core import audit
from foi_core.db import transaction
from foi_core.models import HoldStatus
from retention.context import Records
from retention.holds import (
    MAX_REASON_CHARS,
    ReleaseRefused,
    active_hold,
    clean_text,
    hold_members,
    sync_flags,
)


def request_release(
    records: Records, hold_id: int, *, actor: str, reason: str, ip: str = ""
) -> None:
    reason = clean_text(reason, "A reason for the release", MAX_REASON_CHARS)
    with transaction(records.sessions) as session:
        hold = active_hold(session, hold_id)
        if hold.status == HoldStatus.RELEASE_REQUESTED:
            raise ReleaseRefused(
                f"release of hold {hold_id} was already requested by {hold.release_requested_by}"
            )
        hold.status = HoldStatus.RELEASE_REQUESTED
        hold.release_requested_by = actor
        hold.release_requested_at = datetime.now(UTC)
        hold.release_reason = reason
        audit.record(
            session,
            actor=actor,
            action="hold_release_request",
            target=f"hold:{hold.id}",
            ip=ip,
            details={"reason": reason},
        )


def approve_release(records: Records, hold_id: int, *, approver: str, ip: str = "") -> None:
    """The second person's step. The approver may not be the one who asked for the release."""
    with transaction(records.sessions) as session:
        hold = active_hold(session, hold_id)
        if hold.status != HoldStatus.RELEASE_REQUESTED:
            raise ReleaseRefused(f"nobody has asked for hold {hold_id} to be released")
        own_request = hold.release_requested_by == approver
        if own_request:
            audit.record(
                session,
                actor=approver,
                action="hold_release_approve",
                target=f"hold:{hold.id}",
                ip=ip,
                outcome=audit.Outcome.DENIED,
                details={"why": "the requester cannot approve their own release"},
            )
        else:
            hold.status = HoldStatus.RELEASED
            hold.released_by = approver
            hold.released_at = datetime.now(UTC)
            audit.record(
                session,
                actor=approver,
                action="hold_release_approve",
                target=f"hold:{hold.id}",
                ip=ip,
                details={"requested_by": hold.release_requested_by, "reason": hold.release_reason},
            )
        members = hold_members(session, hold.id)
    if own_request:
        raise ReleaseRefused(
            "a release must be approved by someone other than the person who requested it"
        )
    sync_flags(records, members)


def withdraw_release_request(records: Records, hold_id: int, *, actor: str, ip: str = "") -> None:
    with transaction(records.sessions) as session:
        hold = active_hold(session, hold_id)
        if hold.status != HoldStatus.RELEASE_REQUESTED:
            raise ReleaseRefused(f"nobody has asked for hold {hold_id} to be released")
        hold.status = HoldStatus.ACTIVE
        audit.record(
            session,
            actor=actor,
            action="hold_release_withdraw",
            target=f"hold:{hold.id}",
            ip=ip,
            details={"requested_by": hold.release_requested_by},
        )
        hold.release_requested_by, hold.release_requested_at, hold.release_reason = "", None, ""
