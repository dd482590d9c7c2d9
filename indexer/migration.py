"""Migrating the index to a new schema version: `foi index migrate`, safe against concurrent
migrations and against writes made while it runs (indexer.lifecycle names the indices).

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
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from elasticsearch import Elasticsearch, helpers

from indexer.documents import upgrade_document
from indexer.lifecycle import (
    AliasState,
    IndexNames,
    alias_state,
    create_current_index,
    version_of,
)
from indexer.mapping import SCHEMA_VERSION, index_body
from indexer.migration_lock import (
    STALE_AFTER,
    MigrationHolder,
    MigrationLock,
    MigrationRefused,
    acquire,
    lock_holder,
)
from indexer.migration_writes import (
    Migration,
    utc_now,
)

# Bulk items refused with 429 during the copy are re-sent this often, backing off from
# COPY_BACKOFF_S up to a minute: the only retries of a migration (see the module docstring).
COPY_RETRIES = 5
COPY_BACKOFF_S = 2
_CHUNK = 500


class MigrationFailed(RuntimeError):
    """Documents could not be copied; the migration stopped and running it again resumes."""


def ensure_index(es: Elasticsearch, names: IndexNames) -> str:
    """Create the current index and its aliases if missing, or migrate an older version
    behind them (`migrate`, lock and all); return the index name. For tests and benchmarks:
    production code calls `require_index`, and only `foi index migrate` migrates."""
    return migrate(es, names, owner="ensure_index").target


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
        create_current_index(es, names)
        return MigrationReport("created", "", target)
    if state.read == state.write == target:
        return MigrationReport("current", target, target)
    _check_migratable(state, target)
    now = utc_now().isoformat()
    body = {
        "owner": owner,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "source": state.read or "",
        "target": target,
        "started": now,
        "heartbeat": now,
    }
    lock, holder = acquire(es, names, body, take_over_stale, stale_after)
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
    es: Elasticsearch, names: IndexNames, lock: MigrationLock, progress: Progress | None
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
    es: Elasticsearch, source: str, target: str, lock: MigrationLock, progress: Progress | None
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
