"""The tamper-evident audit log.

Invariants:
- every entry carries the hash of the previous entry and its own hash over a canonical
  encoding of its fields plus that previous hash, so editing, deleting or reordering any
  entry breaks the chain from that point on;
- every entry is sealed with the audit key kept outside the database, and checkpoints of the
  head are appended to an anchor file outside it (foi_core/audit_seal.py), so someone with
  database write access cannot rewrite history and re-hash it unnoticed;
- appends are serialised by write-locking the single `audit_head` row *before* reading it, on
  SQLite (which ignores FOR UPDATE: an UPDATE takes the database's write lock) and on
  PostgreSQL alike, so concurrent writers can never fork the chain;
- rows are never updated or deleted (database triggers refuse it; see the migration).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from foi_core.audit_seal import AnchorFileError, AuditSeal, Checkpoint
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
    """Append one entry inside the caller's transaction (it commits with the caller's work).

    The caller's transaction holds the log's write lock from here until it ends: keep the work
    after an append short."""
    seal = session_seal(session)
    # Take the write lock before reading the head. On SQLite this UPDATE is what serialises
    # appends: a SELECT runs outside any write transaction there, so two writers could both
    # read the same head and fork the chain. On PostgreSQL the row lock does the same and
    # FOR UPDATE below then re-reads the committed head.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_id=AuditHead.last_id))
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        # Only a deleted row gets here (the migration creates it): continue from the last
        # entry, never from the genesis, which would fork the chain for good.
        last = session.execute(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
        ).scalar_one_or_none()
        head = AuditHead(
            id=1,
            last_id=last.id if last else 0,
            last_hash=last.hash if last else GENESIS_HASH,
        )
        session.add(head)
        session.flush()
    if head.last_id == 0 and not seal.has_checkpoints():
        # A new log is anchored before its first entry: from then on every entry must be
        # sealed, and a log with entries but no anchor is never accepted as new. The genesis
        # is always valid, so anchoring it inside this transaction is safe.
        seal.append(Checkpoint(0, GENESIS_HASH, datetime.now(UTC), 0))
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
    event.seal = seal.seal(event.hash)
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
    "seal",
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
        event.seal or "",
    ]


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""
    # Checkpoints of the anchor file that were matched against the log.
    checkpoints: int = 0
    # Things that weaken what an intact result proves, without being evidence of tampering.
    warnings: tuple[str, ...] = ()
    # Entries whose seal was checked (the rest predate sealing).
    sealed: int = 0


class AuditSealMissing(RuntimeError):
    """A session without the audit seal: build sessions with foi_core.db.session_factory."""


def session_seal(session: Session) -> AuditSeal:
    seal = session.info.get("audit_seal")
    if not isinstance(seal, AuditSeal):
        raise AuditSealMissing("this database session carries no audit seal")
    return seal


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


def _broken(checked: int, entry_id: int | None, reason: str) -> ChainVerification:
    return ChainVerification(False, checked, entry_id, reason)


def verify_chain(session: Session) -> ChainVerification:
    """Re-hash every entry in order, check every seal and every checkpoint; report the first
    thing that does not fit."""
    seal = session_seal(session)
    try:
        checkpoints = list(seal.checkpoints())
    except AnchorFileError as exc:
        return _broken(0, None, f"{exc}: the anchor file was altered")
    unsealed_through = checkpoints[0].unsealed_through if checkpoints else 0
    head = session.get(AuditHead, 1)
    anchored: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        if checkpoint.entry_id == 0:
            # A checkpoint of the empty log (a new database's first one).
            if checkpoint.entry_hash != GENESIS_HASH:
                return _broken(0, None, "a checkpoint of the empty log has a hash: altered")
            continue
        anchored.setdefault(checkpoint.entry_id, []).append(checkpoint)
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    unsealed = 0
    first_id = session.execute(select(AuditEvent.id).order_by(AuditEvent.id).limit(1)).scalar()
    if first_id is not None and not checkpoints:
        return _broken(
            0,
            first_id,
            "no checkpoint anchors this log: the anchor file is missing, empty or was "
            "replaced (a database from before sealing needs `foi audit checkpoint --initial`)",
        )
    if first_id is not None and head is None:
        return _broken(0, None, "the chain's head row was deleted")
    for event in _events(session):
        if event.prev_hash != expected_prev:
            return _broken(
                checked, event.id, "previous-hash link broken (entry removed or reordered)"
            )
        if entry_hash(event) != event.hash:
            return _broken(checked, event.id, "entry content was altered")
        if not event.seal:
            # Only entries from before sealing may lack a seal: the first checkpoint, written
            # when sealing began, says how many there were.
            if event.id > unsealed_through:
                return _broken(
                    checked, event.id, "entry is not sealed: written or rewritten without the key"
                )
            unsealed += 1
        elif not seal.is_sealed(event.hash, event.seal):
            return _broken(
                checked, event.id, "entry seal does not match: rewritten without the audit key"
            )
        for checkpoint in anchored.pop(event.id, []):
            if checkpoint.entry_hash != event.hash:
                return _broken(
                    checked,
                    event.id,
                    f"entry differs from the checkpoint of {_readable(checkpoint.at)}: "
                    "history was rewritten",
                )
        expected_prev = event.hash
        last_id = event.id
        checked += 1
    if anchored:
        missing = min(anchored)
        return _broken(
            checked,
            missing,
            f"the checkpoint of {_readable(anchored[missing][0].at)} names entry {missing}, "
            "which is no longer in the log (entries removed)",
        )
    if head is not None and (head.last_hash != expected_prev or head.last_id != last_id):
        return _broken(
            checked, head.last_id, "chain head does not match the last entry (entries truncated)"
        )
    warnings = []
    if unsealed:
        warnings.append(
            f"{unsealed} entries predate sealing: they are vouched for by the chain up to the "
            "first checkpoint only"
        )
    return ChainVerification(
        True,
        checked,
        checkpoints=len(checkpoints),
        warnings=tuple(warnings),
        sealed=checked - unsealed,
    )


class AnchorMissing(RuntimeError):
    """The log has entries but the anchor file holds no checkpoint: it was deleted, emptied or
    replaced, or this database predates sealing. Only an operator may anchor such a log afresh
    (`foi audit checkpoint --initial`), after checking why."""


def checkpoint(sessions: sessionmaker[Session], *, initial: bool = False) -> Checkpoint:
    """Anchor the committed head in the anchor file, outside the database.

    Reads in a session of its own, so an entry that might still roll back is never anchored.
    A log with entries and no checkpoint is anchored only with `initial` (an operator's
    decision, never an automatic one: otherwise deleting the anchor file and stripping seals
    would be locked in by the next scheduled checkpoint). That first checkpoint records how
    many entries predate sealing."""
    with sessions() as session:
        seal = session_seal(session)
        head = head_statement(session)
        first = next(iter(seal.checkpoints()), None)
        if first is not None:
            unsealed_through = first.unsealed_through
        elif head.entry_id and not initial:
            raise AnchorMissing(
                f"the audit log has {head.entry_id} entries and no checkpoint in "
                f"{seal.anchor_path}: find out why before anchoring it with "
                "`foi audit checkpoint --initial`"
            )
        else:
            unsealed_through = (
                session.execute(
                    select(AuditEvent.id)
                    .where((AuditEvent.seal.is_(None)) | (AuditEvent.seal == ""))
                    .order_by(AuditEvent.id.desc())
                    .limit(1)
                ).scalar_one_or_none()
                or 0
            )
    anchor = Checkpoint(head.entry_id, head.entry_hash, datetime.now(UTC), unsealed_through)
    seal.append(anchor)
    return anchor


def _readable(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%-d %B %Y %H:%M UTC")


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
