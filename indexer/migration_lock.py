"""The migration lock: one document created with op_type=create in `{prefix}-migration-lock`,
so of two migrations one runs and the other is told who holds it (indexer.migration)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch

from indexer.lifecycle import IndexNames
from indexer.migration_writes import create_bookkeeping, utc_now

LOCK_ID = "documents"
STALE_AFTER = timedelta(minutes=10)
# A live migration renews its lock at least this often (each chunk, throttled to this).
HEARTBEAT_S = 15.0


class MigrationRefused(RuntimeError):
    """The index is in a state this version does not migrate from (say, a newer version)."""


class MigrationLocked(RuntimeError):
    """Another migration holds the lock: wait for it, or take over a stale one explicitly."""

    def __init__(self, holder: MigrationHolder, stale_after: timedelta) -> None:
        age = holder.heartbeat_age()
        hint = (
            f"if that process died, run again with --take-over-stale (its heartbeat is "
            f"{_minutes(age)} old; allowed after {_minutes(stale_after)})"
            if age < stale_after
            else "its heartbeat is stale: if that process died, run again with --take-over-stale"
        )
        super().__init__(f"another migration is running: {holder.describe()}; {hint}")
        self.holder = holder


class MigrationLockLost(RuntimeError):
    """This migration's stale lock was taken over by another one; it stopped without moving an
    alias, and the other one finishes the work."""


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.1f} min"


@dataclass(frozen=True)
class MigrationHolder:
    """Who holds the migration lock, as its document says."""

    owner: str
    host: str
    pid: int
    source: str
    target: str
    started: datetime
    heartbeat: datetime

    @classmethod
    def of(cls, body: dict[str, Any]) -> MigrationHolder:
        return cls(
            owner=str(body.get("owner", "")),
            host=str(body.get("host", "")),
            pid=int(body.get("pid", 0)),
            source=str(body.get("source", "")),
            target=str(body.get("target", "")),
            started=datetime.fromisoformat(body["started"]),
            heartbeat=datetime.fromisoformat(body["heartbeat"]),
        )

    def heartbeat_age(self) -> timedelta:
        return utc_now() - self.heartbeat

    def describe(self) -> str:
        started = self.started.strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"{self.owner or 'unknown'} on {self.host} (pid {self.pid}) migrating "
            f"{self.source or '?'} to {self.target}, since {started}, last heartbeat "
            f"{_minutes(self.heartbeat_age())} ago"
        )


@dataclass
class MigrationLock:
    """The lock this process holds; every write to it is a compare-and-set."""

    es: Elasticsearch
    index: str
    body: dict[str, Any]
    seq_no: int
    primary_term: int
    beaten: float = field(default_factory=time.monotonic)

    def beat(self, *, now: bool = False) -> None:
        """Renew the heartbeat (at most every HEARTBEAT_S unless `now`); raises
        MigrationLockLost when another migration took the lock over."""
        if not now and time.monotonic() - self.beaten < HEARTBEAT_S:
            return
        self.body["heartbeat"] = utc_now().isoformat()
        try:
            done = self.es.index(
                index=self.index,
                id=LOCK_ID,
                document=self.body,
                if_seq_no=self.seq_no,
                if_primary_term=self.primary_term,
            )
        except ConflictError:
            raise MigrationLockLost(
                "another migration took over this one's lock (its heartbeat was stale): "
                "stopped without moving an alias"
            ) from None
        self.seq_no, self.primary_term = done["_seq_no"], done["_primary_term"]
        self.beaten = time.monotonic()

    def release(self) -> None:
        # A lock taken over meanwhile (409) is someone else's now; leave it.
        self.es.options(ignore_status=(404, 409)).delete(
            index=self.index, id=LOCK_ID, if_seq_no=self.seq_no, if_primary_term=self.primary_term
        )


def lock_holder(es: Elasticsearch, names: IndexNames) -> MigrationHolder | None:
    found = es.options(ignore_status=404).get(index=names.lock_index, id=LOCK_ID)
    return MigrationHolder.of(found["_source"]) if found.get("found") else None


def acquire(
    es: Elasticsearch,
    names: IndexNames,
    body: dict[str, Any],
    take_over_stale: bool,
    stale_after: timedelta,
) -> tuple[MigrationLock, MigrationHolder | None]:
    """Take the lock, or a stale one when asked; returns it and the holder taken over."""
    create_bookkeeping(es, names.lock_index)
    for _ in range(3):  # the holder may release it between our create and our read
        try:
            made = es.create(index=names.lock_index, id=LOCK_ID, document=body)
            return MigrationLock(
                es, names.lock_index, body, made["_seq_no"], made["_primary_term"]
            ), None
        except ConflictError:
            pass
        found = es.options(ignore_status=404).get(index=names.lock_index, id=LOCK_ID)
        if not found.get("found"):
            continue
        holder = MigrationHolder.of(found["_source"])
        if not take_over_stale or holder.heartbeat_age() < stale_after:
            raise MigrationLocked(holder, stale_after)
        try:
            made = es.index(
                index=names.lock_index,
                id=LOCK_ID,
                document=body,
                if_seq_no=found["_seq_no"],
                if_primary_term=found["_primary_term"],
            )
        except ConflictError:
            continue  # another take-over (or a last heartbeat) won: look again
        lock = MigrationLock(es, names.lock_index, body, made["_seq_no"], made["_primary_term"])
        return lock, holder
    raise MigrationRefused("the migration lock kept changing hands: try again")
