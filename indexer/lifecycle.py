"""Versioned indices behind read and write aliases; a new schema version is a new index.

`{prefix}-documents` is the read alias, `{prefix}-documents-write` the write alias; the
concrete index is `{prefix}-documents-v{SCHEMA_VERSION}`.

Who changes what:
- `require_index` (every crawl, every worker) creates the current index when there is none and
  refuses an older one, or one a migration has not finished (`IndexOutdated`). It never
  migrates: migrating copies every document, so it runs only when asked.
- `migrate` (`foi index migrate`; `ensure_index` in tests and benchmarks) is the only code that
  moves the aliases to another index.

A migration, in order; each step is safe to repeat, and running it again finishes one that
stopped part-way:
1. It takes the migration lock: one document created with op_type=create in
   `{prefix}-migration-lock`. A second migration is refused (`MigrationLocked`, naming the
   holder and its last heartbeat). A lock whose heartbeat is older than `stale_after` may be
   taken over, only when asked, by compare-and-set (so of two take-overs one wins). The holder
   renews its heartbeat by compare-and-set as it copies: a migration whose lock was taken over
   stops at its next chunk (`MigrationLockLost`) and never moves an alias.
2. It creates the target index. A target that exists while both aliases are on the source was
   left by a migration that stopped before moving writes: it holds only copies and is
   recreated. An index an alias points to is never deleted, and neither is one a live
   migration owns (only the lock holder deletes, and only such a leftover).
3. Writes move first: the write alias moves to the target, then the source gets a write block
   (which waits for writes already under way), so every later write lands in the target and
   the source stops changing.
4. It copies the source's documents with op_type=create: a document written to the target
   during the migration is newer, and its old copy never overwrites it.
5. It applies the deletions made meanwhile (below), swaps the read alias atomically and
   releases the lock. The source stays, write-blocked and without aliases, for rollback.

While a migration is unfinished (reads on the source, writes on the target), `indexer.bulk`
keeps every kind of write correct:
- a full write lands in the target and wins over the copy (step 4);
- a partial update of a document not copied yet finds nothing in the target: `carry_forward`
  copies it over (op_type=create, so a copy or a write that got there first wins) and the
  update is sent again;
- a deletion is recorded in `{prefix}-migration-deleted` before it is sent (and, when the
  migration started while it was sent, recorded and sent again); step 5 deletes every
  recorded document whose target version is still the copy of its source version, so one
  written anew after its deletion stays. Only a migration that starts and finishes between
  two requests of one deletion could bring a deleted document back.
Reads see the source until the swap, so a writer does not read back what it wrote: crawls,
which do, are refused while the aliases differ (`require_index`), and `foi index migrate`
refuses to start while a crawl is running. Interactive writes (holds, retention) are safe.

Retries: the copy is a migration's one retry layer. Bulk items refused with 429 are re-sent
with backoff (`COPY_RETRIES`); the client re-sends only on a dropped connection
(`foi_core.clients`).
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, helpers

from indexer.documents import upgrade_document
from indexer.mapping import SCHEMA_VERSION, index_body

# Bulk items refused with 429 during the copy are re-sent this often, backing off from
# COPY_BACKOFF_S up to a minute: the only retries of a migration (see the module docstring).
COPY_RETRIES = 5
COPY_BACKOFF_S = 2
_CHUNK = 500
LOCK_ID = "documents"
STALE_AFTER = timedelta(minutes=10)
# A live migration renews its lock at least this often (each chunk, throttled to this).
HEARTBEAT_S = 15.0
_VERSION = re.compile(r"-v(\d+)$")
# Small bookkeeping indices: stored, not searched.
_BOOKKEEPING_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}
_BOOKKEEPING_MAPPINGS: dict[str, Any] = {"dynamic": False, "properties": {}}


@dataclass(frozen=True)
class IndexNames:
    prefix: str

    @classmethod
    def of_write_alias(cls, alias: str) -> IndexNames | None:
        """The names behind a write alias; None for any other index or alias name."""
        prefix, found, rest = alias.rpartition("-documents-write")
        return cls(prefix) if found and prefix and not rest else None

    @property
    def read_alias(self) -> str:
        return f"{self.prefix}-documents"

    @property
    def write_alias(self) -> str:
        return f"{self.prefix}-documents-write"

    @property
    def lock_index(self) -> str:
        return f"{self.prefix}-migration-lock"

    @property
    def deleted_index(self) -> str:
        return f"{self.prefix}-migration-deleted"

    def concrete(self, version: int = SCHEMA_VERSION) -> str:
        return f"{self.prefix}-documents-v{version}"


class IndexOutdated(RuntimeError):
    """The aliases point at an older schema version, or a migration has not finished:
    `foi index migrate` must run first."""


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


class MigrationRefused(RuntimeError):
    """The index is in a state this version does not migrate from (say, a newer version)."""


class MigrationFailed(RuntimeError):
    """Documents could not be copied; the migration stopped and running it again resumes."""


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.1f} min"


def _now() -> datetime:
    return datetime.now(UTC)


def version_of(index: str) -> int | None:
    found = _VERSION.search(index)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class AliasState:
    """Which concrete index each alias points at (None: the alias does not exist)."""

    read: str | None
    write: str | None


def alias_state(es: Elasticsearch, names: IndexNames) -> AliasState:
    found = es.options(ignore_status=404).indices.get_alias(
        name=f"{names.read_alias},{names.write_alias}"
    )
    read = write = None
    for index, data in found.body.items():
        aliases = data.get("aliases", {}) if isinstance(data, dict) else {}
        if names.read_alias in aliases:
            read = index
        if names.write_alias in aliases and aliases[names.write_alias].get("is_write_index", True):
            write = index
    return AliasState(read, write)


def require_index(es: Elasticsearch, names: IndexNames) -> str:
    """The index the crawl writes to, created if there is none yet; never a migration.

    An index of an older schema version is refused (`IndexOutdated`), and so is one whose
    migration has not finished (reads and writes on different indices: a crawl reads back
    what it writes). Only `foi index migrate` migrates.
    """
    index = names.concrete()
    state = alias_state(es, names)
    if state.read is None and state.write is None:
        _create_current(es, names)
        state = alias_state(es, names)
    if state.read != state.write:
        raise IndexOutdated(
            f"a migration from {state.read} to {state.write} has not finished: wait for "
            "`foi index migrate`, or run it again if it stopped"
        )
    if state.read != index:
        raise IndexOutdated(
            f"the index is {state.read}, this version needs {index}: run `foi index migrate`"
        )
    return index


def _create_current(es: Elasticsearch, names: IndexNames) -> None:
    index = names.concrete()
    if not es.indices.exists(index=index):
        # Two first crawls may race here; the loser finds the index already made.
        es.options(ignore_status=400).indices.create(index=index, **index_body())
    es.indices.update_aliases(
        actions=[
            {"add": {"index": index, "alias": names.read_alias}},
            {"add": {"index": index, "alias": names.write_alias, "is_write_index": True}},
        ]
    )


def ensure_index(es: Elasticsearch, names: IndexNames) -> str:
    """Create the current index and its aliases if missing, or migrate an older version
    behind them (`migrate`, lock and all); return the index name. For tests and benchmarks:
    production code calls `require_index`, and only `foi index migrate` migrates."""
    return migrate(es, names, owner="ensure_index").target


def current_index(es: Elasticsearch, names: IndexNames) -> str:
    """The index written to (the write alias's)."""
    aliases = es.indices.get_alias(name=names.write_alias)
    return str(next(iter(aliases.body)))


# --- the lock ---------------------------------------------------------------------------


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
        return _now() - self.heartbeat

    def describe(self) -> str:
        started = self.started.strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"{self.owner or 'unknown'} on {self.host} (pid {self.pid}) migrating "
            f"{self.source or '?'} to {self.target}, since {started}, last heartbeat "
            f"{_minutes(self.heartbeat_age())} ago"
        )


@dataclass
class _Lock:
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
        self.body["heartbeat"] = _now().isoformat()
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


def _create_bookkeeping(es: Elasticsearch, index: str) -> None:
    if not es.indices.exists(index=index):
        es.options(ignore_status=400).indices.create(
            index=index, settings=_BOOKKEEPING_SETTINGS, mappings=_BOOKKEEPING_MAPPINGS
        )


def lock_holder(es: Elasticsearch, names: IndexNames) -> MigrationHolder | None:
    found = es.options(ignore_status=404).get(index=names.lock_index, id=LOCK_ID)
    return MigrationHolder.of(found["_source"]) if found.get("found") else None


def _acquire(
    es: Elasticsearch,
    names: IndexNames,
    body: dict[str, Any],
    take_over_stale: bool,
    stale_after: timedelta,
) -> tuple[_Lock, MigrationHolder | None]:
    """Take the lock, or a stale one when asked; returns it and the holder taken over."""
    _create_bookkeeping(es, names.lock_index)
    for _ in range(3):  # the holder may release it between our create and our read
        try:
            made = es.create(index=names.lock_index, id=LOCK_ID, document=body)
            return _Lock(es, names.lock_index, body, made["_seq_no"], made["_primary_term"]), None
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
        lock = _Lock(es, names.lock_index, body, made["_seq_no"], made["_primary_term"])
        return lock, holder
    raise MigrationRefused("the migration lock kept changing hands: try again")


# --- migrating --------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationReport:
    """What `migrate` did. `action` is "migrated", "created" (there was no index) or
    "current" (nothing to do)."""

    action: str
    source: str
    target: str
    copied: int = 0  # documents copied from the source
    kept_newer: int = 0  # already written to the target during the migration: not overwritten
    deleted: int = 0  # deleted during the migration, their copies removed
    seconds: float = 0.0
    resumed: bool = False  # writes were on the target already: a stopped migration finished
    took_over: str = ""  # the stale lock holder replaced, if any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[int], None]
"""Called with the number of documents handled so far: once before the copy starts (0),
then after each chunk."""


def migrate(
    es: Elasticsearch,
    names: IndexNames,
    *,
    owner: str = "",
    take_over_stale: bool = False,
    stale_after: timedelta = STALE_AFTER,
    progress: Progress | None = None,
) -> MigrationReport:
    """Migrate the index to the current SCHEMA_VERSION (see the module docstring)."""
    started = time.monotonic()
    target = names.concrete()
    state = alias_state(es, names)
    if state.read is None and state.write is None:
        _create_current(es, names)
        return MigrationReport("created", "", target)
    if state.read == state.write == target:
        return MigrationReport("current", target, target)
    _check_migratable(state, target)
    now = _now().isoformat()
    body = {
        "owner": owner,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "source": state.read or "",
        "target": target,
        "started": now,
        "heartbeat": now,
    }
    lock, holder = _acquire(es, names, body, take_over_stale, stale_after)
    try:
        report = _migrate_locked(es, names, lock, progress)
    finally:
        lock.release()
    took_over = holder.describe() if holder else ""
    seconds = round(time.monotonic() - started, 3)
    return MigrationReport(**{**report.as_dict(), "seconds": seconds, "took_over": took_over})


def _check_migratable(state: AliasState, target: str) -> None:
    if state.read is None or state.write is None:
        raise MigrationRefused(
            f"only one of the aliases exists (reads {state.read}, writes "
            f"{state.write}): fix the aliases by hand"
        )
    if state.read != state.write and state.write != target:
        raise MigrationRefused(
            f"an unfinished migration to {state.write} (reads still on {state.read}): finish it "
            "with the version of foi that started it"
        )
    newest = max(version_of(state.read) or 0, version_of(state.write) or 0)
    if newest > SCHEMA_VERSION:
        raise MigrationRefused(
            f"the index is {state.write}, newer than this version's {target}: upgrade foi"
        )


def _migrate_locked(
    es: Elasticsearch, names: IndexNames, lock: _Lock, progress: Progress | None
) -> MigrationReport:
    target = names.concrete()
    # Read again under the lock: another migration may have finished since the first look.
    state = alias_state(es, names)
    if state.read == state.write == target:
        return MigrationReport("current", target, target)
    _check_migratable(state, target)
    source = str(state.read)
    resumed = state.write == target
    if not resumed:
        if es.indices.exists(index=target):
            _delete_leftover(es, target)
        # Deletions recorded for an earlier migration are not this one's.
        es.options(ignore_status=404).indices.delete(index=names.deleted_index)
        es.indices.create(
            index=target,
            settings={**index_body()["settings"], "refresh_interval": "-1"},
            mappings=index_body()["mappings"],
        )
        lock.beat(now=True)
        es.indices.update_aliases(
            actions=[
                {"remove": {"index": source, "alias": names.write_alias}},
                {"add": {"index": target, "alias": names.write_alias, "is_write_index": True}},
            ]
        )
    # Waits for writes already on their way to the source; after it the source is fixed.
    es.indices.add_block(index=source, block="write")
    copied, kept = _copy(es, source, target, lock, progress)
    lock.beat(now=True)
    deleted = _apply_deletions(es, names, Migration(names, source, target))
    es.indices.put_settings(index=target, settings={"refresh_interval": None})
    es.indices.refresh(index=target)
    lock.beat(now=True)
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": source, "alias": names.read_alias}},
            {"add": {"index": target, "alias": names.read_alias}},
        ]
    )
    es.options(ignore_status=404).indices.delete(index=names.deleted_index)
    return MigrationReport("migrated", source, target, copied, kept, deleted, resumed=resumed)


def _delete_leftover(es: Elasticsearch, index: str) -> None:
    """Delete a target left by a migration that stopped before moving writes; only the lock
    holder calls this, and never for an index an alias points to."""
    aliases = es.indices.get_alias(index=index).body.get(index, {}).get("aliases", {})
    if aliases:
        raise MigrationRefused(f"{index} exists and {', '.join(aliases)} point at it")
    es.indices.delete(index=index)


def _copy(
    es: Elasticsearch, source: str, target: str, lock: _Lock, progress: Progress | None
) -> tuple[int, int]:
    """Copy every source document into the target unless the target has it already."""
    if progress is not None:
        progress(0)

    def actions() -> Iterator[dict[str, Any]]:
        for hit in helpers.scan(
            es, index=source, query={"query": {"match_all": {}}}, size=_CHUNK, scroll="10m"
        ):
            yield {
                "_op_type": "create",
                "_index": target,
                "_id": hit["_id"],
                "_source": upgrade_document(hit["_source"]),
            }

    copied = kept = 0
    failures: list[str] = []
    for ok, item in helpers.streaming_bulk(
        es,
        actions(),
        chunk_size=_CHUNK,
        raise_on_error=False,
        max_retries=COPY_RETRIES,
        initial_backoff=COPY_BACKOFF_S,
        max_backoff=60,
    ):
        result = next(iter(item.values()))
        if ok:
            copied += 1
        elif result.get("status") == 409:
            kept += 1
        else:
            failures.append(f"{result.get('_id')}: {result.get('status')} {result.get('error')}")
        if (copied + kept + len(failures)) % _CHUNK == 0:
            lock.beat()
            if progress is not None:
                progress(copied + kept + len(failures))
    if failures:
        raise MigrationFailed(
            f"{len(failures)} documents were not copied into {target} (run the migration "
            f"again to resume): {'; '.join(failures[:5])}"
        )
    return copied, kept


# --- writes while a migration is unfinished (used by indexer.bulk) -------------------------


@dataclass(frozen=True)
class Migration:
    """An unfinished migration, as the aliases show it: reads on `source`, writes on
    `target`."""

    names: IndexNames
    source: str
    target: str

    def deletion_id(self, doc_id: str) -> str:
        return f"{self.target}:{doc_id}"


def unfinished_migration(es: Elasticsearch, write_alias: str) -> Migration | None:
    """The migration writes through `write_alias` are part of, if one is unfinished."""
    names = IndexNames.of_write_alias(write_alias)
    if names is None:
        return None
    state = alias_state(es, names)
    if state.read is None or state.write is None or state.read == state.write:
        return None
    return Migration(names, state.read, state.write)


def deleted_during(es: Elasticsearch, migration: Migration, doc_ids: Iterable[str]) -> set[str]:
    """The documents among `doc_ids` deleted during the migration (read in real time)."""
    ids = list(doc_ids)
    if not ids:
        return set()
    found = es.options(ignore_status=404).mget(
        index=migration.names.deleted_index, ids=[migration.deletion_id(d) for d in ids]
    )
    recorded = {doc["_id"] for doc in found.body.get("docs", []) if doc.get("found")}
    return {d for d in ids if migration.deletion_id(d) in recorded}


def carry_forward(es: Elasticsearch, migration: Migration, doc_ids: Iterable[str]) -> set[str]:
    """Copy documents the migration has not copied yet from the source into the target, so
    a partial update can apply there; a document deleted during the migration is not brought
    back. Returns the ids now in the target (copied here or already there)."""
    ids = set(doc_ids)
    wanted = sorted(ids - deleted_during(es, migration, ids))
    if not wanted:
        return set()
    found = es.mget(index=migration.source, ids=wanted)["docs"]
    operations: list[dict[str, Any]] = []
    for doc in found:
        if doc.get("found"):
            operations.append({"create": {"_index": migration.target, "_id": doc["_id"]}})
            operations.append(upgrade_document(doc["_source"]))
    if not operations:
        return set()
    done = es.bulk(operations=operations)
    return {
        str(item["create"]["_id"])
        for item in done["items"]
        if item["create"].get("status") in (200, 201, 409)
    }


def record_deletions(
    es: Elasticsearch, migration: Migration, doc_ids: Iterable[str]
) -> list[tuple[str, int, str]]:
    """Record documents deleted during the migration, so its copy does not bring them back.
    Returns the (id, status, reason) of any not recorded."""
    ids = list(doc_ids)
    if not ids:
        return []
    _create_bookkeeping(es, migration.names.deleted_index)
    at = _now().isoformat()
    operations: list[dict[str, Any]] = []
    for doc_id in ids:
        index = migration.names.deleted_index
        operations.append({"index": {"_index": index, "_id": migration.deletion_id(doc_id)}})
        operations.append({"doc_id": doc_id, "target": migration.target, "at": at})
    done = es.bulk(operations=operations)
    failed = []
    for doc_id, item in zip(ids, done["items"], strict=True):
        result = item["index"]
        if not 200 <= int(result.get("status", 500)) < 300:
            failed.append((doc_id, int(result.get("status", 0)), str(result.get("error"))))
    return failed


def _apply_deletions(es: Elasticsearch, names: IndexNames, migration: Migration) -> int:
    """Delete from the target every document deleted during the migration whose target
    version is still the copy of its source version. Returns how many were deleted."""
    if not es.indices.exists(index=names.deleted_index):
        return 0
    es.indices.refresh(index=names.deleted_index)
    prefix = migration.deletion_id("")
    ids = sorted(
        hit["_id"][len(prefix) :]
        for hit in helpers.scan(es, index=names.deleted_index, query={"query": {"match_all": {}}})
        if hit["_id"].startswith(prefix)
    )
    deleted = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        now = es.mget(index=migration.target, ids=chunk)["docs"]
        was = {
            d["_id"]: d["_source"]
            for d in es.mget(index=migration.source, ids=chunk)["docs"]
            if d.get("found")
        }
        copies = [
            d["_id"]
            for d in now
            if d.get("found")
            and d["_id"] in was
            and d["_source"] == upgrade_document(was[d["_id"]])
        ]
        if copies:
            es.bulk(operations=[{"delete": {"_index": migration.target, "_id": d}} for d in copies])
            deleted += len(copies)
    return deleted


# --- status and clean-up ----------------------------------------------------------------


@dataclass(frozen=True)
class IndexStatus:
    read_index: str | None
    write_index: str | None
    schema_version: int | None  # of the index searches read
    needed_version: int
    documents: int | None
    holder: MigrationHolder | None  # a migration running (or the lock of one that died)

    @property
    def state(self) -> str:
        if self.read_index is None and self.write_index is None:
            return "missing (the first crawl creates it)"
        if self.read_index != self.write_index:
            return "migration unfinished (writes on the new index, reads on the old)"
        if self.schema_version == self.needed_version:
            return "current"
        if self.schema_version is not None and self.schema_version > self.needed_version:
            return "newer than this version of foi"
        return "migration needed: run `foi index migrate`"


def index_status(es: Elasticsearch, names: IndexNames) -> IndexStatus:
    state = alias_state(es, names)
    # The version is read from the index's name, as `migrate` decides by it.
    version = documents = None
    if state.read is not None:
        version = version_of(state.read)
        documents = int(es.count(index=names.read_alias)["count"])
    holder = lock_holder(es, names) if es.indices.exists(index=names.lock_index) else None
    return IndexStatus(state.read, state.write, version, SCHEMA_VERSION, documents, holder)


def drop_all(es: Elasticsearch, names: IndexNames) -> None:
    """Delete every index of this prefix (tests and `foi index reset` only)."""
    for pattern in (f"{names.prefix}-documents-v*", f"{names.prefix}-migration-*"):
        found = es.indices.get(index=pattern, ignore_unavailable=True)
        for index in found.body:
            es.indices.delete(index=index)
