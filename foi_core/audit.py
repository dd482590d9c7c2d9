"""The tamper-evident audit log.

Invariants:
- every entry carries the hash of the previous entry and its own hash over a canonical
  encoding of its fields plus that previous hash, so editing, deleting or reordering any
  entry breaks the chain from that point on;
- appends are serialised by locking the single `audit_head` row, so concurrent writers can
  never fork the chain;
- rows are never updated or deleted (database triggers refuse it; see the migration).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core.models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64


class Outcome:
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"
    OVERRIDE = "override"


def _canonical(
    at: datetime,
    actor: str,
    action: str,
    target: str,
    ip: str,
    outcome: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    # SQLite hands back naive datetimes; every stored time is UTC.
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    record = {
        "at": aware.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "ip": ip,
        "outcome": outcome,
        "details": details,
        "prev": prev_hash,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(event: AuditEvent) -> str:
    return hashlib.sha256(
        _canonical(
            event.at,
            event.actor,
            event.action,
            event.target,
            event.ip,
            event.outcome,
            event.details,
            event.prev_hash,
        )
    ).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    ip: str = "",
    outcome: str = Outcome.OK,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry inside the caller's transaction (it commits with the caller's work)."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    # JSON round trip so the hashed form is exactly what the database will hand back.
    clean_details: dict[str, Any] = json.loads(json.dumps(dict(details or {}), default=str))
    # Microsecond precision survives every backend, so the stored time re-hashes identically.
    at = datetime.now(UTC)
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        target=target,
        ip=ip,
        outcome=outcome,
        details=clean_details,
        prev_hash=head.last_hash,
        hash="",
    )
    event.hash = entry_hash(event)
    session.add(event)
    session.flush()
    head.last_id = event.id
    head.last_hash = event.hash
    return event


CSV_HEADER = (
    "id",
    "at",
    "actor",
    "action",
    "target",
    "ip",
    "outcome",
    "details",
    "prev_hash",
    "hash",
)


def csv_row(event: AuditEvent) -> list[object]:
    """One entry for export, with everything needed to re-verify the chain elsewhere."""
    return [
        event.id,
        event.at.isoformat(),
        event.actor,
        event.action,
        event.target,
        event.ip,
        event.outcome,
        json.dumps(event.details, sort_keys=True),
        event.prev_hash,
        event.hash,
    ]


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""


def _events(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = (
            session.execute(
                select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify_chain(session: Session) -> ChainVerification:
    """Re-hash every entry in order; report the first one that does not fit."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    for event in _events(session):
        if event.prev_hash != expected_prev:
            return ChainVerification(
                False, checked, event.id, "previous-hash link broken (entry removed or reordered)"
            )
        if entry_hash(event) != event.hash:
            return ChainVerification(False, checked, event.id, "entry content was altered")
        expected_prev = event.hash
        last_id = event.id
        checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_hash != expected_prev or head.last_id != last_id):
        return ChainVerification(
            False,
            checked,
            head.last_id,
            "chain head does not match the last entry (entries truncated)",
        )
    return ChainVerification(True, checked)


@dataclass(frozen=True)
class HeadStatement:
    """The audit log's head at one moment, printed on certificates and bundle summaries so a
    copy of it lives outside the database: any later rewrite of the log up to this entry
    changes the hash and no longer matches what was printed."""

    entry_id: int
    entry_hash: str

    def __str__(self) -> str:
        return f"audit log entry {self.entry_id}, chain hash {self.entry_hash}"


def head_statement(session: Session) -> HeadStatement:
    """The head as committed now (entry id 0 and the genesis hash for an empty log)."""
    head = session.get(AuditHead, 1)
    if head is None:
        return HeadStatement(0, GENESIS_HASH)
    return HeadStatement(head.last_id, head.last_hash)
