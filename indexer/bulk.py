"""Checked bulk writes: every chunk is sent, failures are collected and raised, never dropped.

Retries: nothing here waits or re-sends (`BULK_RETRIES` is 0). A document Elasticsearch
refuses for now (429 too many requests, 503 shard unavailable) is raised as `BulkRejected`
with the rest of the chunk's failures, and whoever owns the unit of work decides whether to
wait and try the whole write again: the crawl's batch task (`ingest.tasks`) or, for an
in-process crawl, its dispatch. A bulk request refused as a whole raises the client's error,
which those layers classify the same way. The client itself re-sends only a request whose
connection dropped (`foi_core.clients`), so no path multiplies retries. Interactive writers
(holds, retention from the web or the command line) see the error and are retried by a person.

Writes through a write alias keep working while an index migration is unfinished (see
`indexer.migration`): a partial update of a document not copied yet carries it forward first,
and a deletion is recorded so the copy does not bring the document back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from elasticsearch import Elasticsearch, helpers

from indexer.migration_writes import (
    Migration,
    carry_forward,
    deleted_during,
    record_deletions,
    unfinished_migration,
)

# Statuses that say "not now" rather than "not this": the whole write may be tried again later.
TRANSIENT_STATUSES = frozenset({429, 503})
# The bulk helper re-sends nothing: retries belong to the unit of work (module docstring).
BULK_RETRIES = 0
_CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class BulkFailure:
    doc_id: str
    status: int
    reason: str


class BulkWriteError(RuntimeError):
    """Some documents were not written; the caller must record or retry them."""

    def __init__(self, failures: list[BulkFailure]) -> None:
        sample = "; ".join(f"{f.doc_id}: {f.status} {f.reason}" for f in failures[:5])
        super().__init__(f"{len(failures)} documents failed to index: {sample}")
        self.failures = failures

    @property
    def transient(self) -> bool:
        """Every failure says "not now" (TRANSIENT_STATUSES): the same write may succeed later."""
        return bool(self.failures) and all(f.status in TRANSIENT_STATUSES for f in self.failures)


class BulkRejected(BulkWriteError):
    """Elasticsearch refused the writes for now (overloaded, or a shard unavailable): wait and
    send the whole write again. Raised instead of BulkWriteError when every failure is one."""


def _raise(failures: list[BulkFailure]) -> None:
    if failures:
        error = BulkWriteError(failures)
        raise BulkRejected(failures) if error.transient else error


def _failure(result: Mapping[str, Any]) -> BulkFailure:
    error = result.get("error", {})
    reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
    return BulkFailure(str(result.get("_id")), int(result.get("status", 0)), reason)


def _send(
    es: Elasticsearch, actions: Iterable[dict[str, Any]], chunk_bytes: int = 100 * 1024 * 1024
) -> Iterator[tuple[bool, dict[str, Any]]]:
    """(ok, result) for each action, each chunk sent once; an error of a whole request
    (connection, 429 for the request) propagates."""
    for ok, item in helpers.streaming_bulk(
        es,
        actions,
        chunk_size=_CHUNK,
        max_chunk_bytes=chunk_bytes,
        raise_on_error=False,
        raise_on_exception=True,
        max_retries=BULK_RETRIES,
    ):
        yield ok, next(iter(item.values()))


def _batches(items: Iterable[T], size: int = _CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def write_documents(
    es: Elasticsearch,
    alias: str,
    documents: Iterable[Mapping[str, Any]],
    *,
    chunk_bytes: int = 5 * 1024 * 1024,
    refresh: bool = False,
) -> int:
    """Upsert documents by their `doc_id` (deterministic ids: a repeat is harmless).

    Any per-item failure is collected and raised after every chunk has been sent:
    `BulkRejected` when all of them are transient, else `BulkWriteError`.
    """
    actions = (
        {"_op_type": "index", "_index": alias, "_id": doc["doc_id"], "_source": doc}
        for doc in documents
    )
    written = 0
    failures: list[BulkFailure] = []
    for ok, result in _send(es, actions, chunk_bytes):
        if ok:
            written += 1
        else:
            failures.append(_failure(result))
    if refresh:
        es.indices.refresh(index=alias)
    _raise(failures)
    return written


def mark_deleted(es: Elasticsearch, alias: str, doc_ids: Iterable[str]) -> int:
    """Flag documents whose files vanished from the share; they stay findable as deleted."""
    return write_partial(es, alias, ({"doc_id": d, "deleted": True} for d in doc_ids))


def _updates(alias: str, pairs: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for doc_id, doc in pairs:
        yield {"_op_type": "update", "_index": alias, "_id": doc_id, "doc": doc}


def write_partial(es: Elasticsearch, alias: str, updates: Iterable[Mapping[str, Any]]) -> int:
    """Partial updates by doc_id (fields not given are kept); an unknown id is a failure."""
    written = 0
    failures: list[BulkFailure] = []
    for batch in _batches(updates):
        pairs = [(str(u["doc_id"]), {k: v for k, v in u.items() if k != "doc_id"}) for u in batch]
        missing: dict[str, BulkFailure] = {}
        for ok, result in _send(es, _updates(alias, pairs)):
            if ok:
                written += 1
            elif result.get("status") == 404:
                missing[str(result.get("_id"))] = _failure(result)
            else:
                failures.append(_failure(result))
        if missing:
            done, still_missing = _update_carried(es, alias, pairs, missing)
            written += done
            failures.extend(still_missing)
    _raise(failures)
    return written


def _update_carried(
    es: Elasticsearch,
    alias: str,
    pairs: list[tuple[str, dict[str, Any]]],
    missing: dict[str, BulkFailure],
) -> tuple[int, list[BulkFailure]]:
    """Updates that found no document: during a migration, carry the documents the copy has
    not reached yet into the target and update them there. Returns (written, failures)."""
    migration = unfinished_migration(es, alias)
    carried = carry_forward(es, migration, missing) if migration is not None else set()
    failures = [failure for doc_id, failure in missing.items() if doc_id not in carried]
    written = 0
    for ok, result in _send(es, _updates(alias, ((d, u) for d, u in pairs if d in carried))):
        if ok:
            written += 1
        else:
            failures.append(_failure(result))
    if migration is not None and carried:
        # A deletion that raced the carry wins, as it would have without a migration.
        raced = deleted_during(es, migration, carried)
        if raced:
            _delete(es, alias, sorted(raced))
    return written, failures


def _delete(es: Elasticsearch, alias: str, doc_ids: list[str]) -> tuple[int, list[BulkFailure]]:
    actions = ({"_op_type": "delete", "_index": alias, "_id": d} for d in doc_ids)
    deleted = 0
    failures: list[BulkFailure] = []
    for ok, result in _send(es, actions):
        if ok or result.get("status") == 404:
            deleted += 1
        else:
            failures.append(_failure(result))
    return deleted, failures


def delete_documents(es: Elasticsearch, alias: str, doc_ids: Iterable[str]) -> int:
    """Remove documents by id (a rename's old location); a missing id is not a failure."""
    deleted = 0
    failures: list[BulkFailure] = []
    for batch in _batches(str(d) for d in doc_ids):
        # During a migration the deletion is recorded first, so its copy cannot bring the
        # documents back (indexer.migration).
        migration = unfinished_migration(es, alias)
        if migration is not None:
            failures.extend(_record_deletions(es, migration, batch))
        done, failed = _delete(es, alias, batch)
        deleted += done
        failures.extend(failed)
        if migration is None:
            migration = unfinished_migration(es, alias)
            if migration is not None:
                # It started meanwhile and may have copied some already: record, delete again.
                failures.extend(_record_deletions(es, migration, batch))
                failures.extend(_delete(es, alias, batch)[1])
    _raise(failures)
    return deleted


def _record_deletions(
    es: Elasticsearch, migration: Migration, doc_ids: list[str]
) -> list[BulkFailure]:
    return [BulkFailure(*failure) for failure in record_deletions(es, migration, doc_ids)]
