"""Writes while a migration is unfinished (reads on the old index, writes on the new):
what `indexer.bulk` needs so that a partial update of a document not copied yet, or a deletion,
stays correct (the rules are in indexer.migration's docstring)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from indexer.documents import upgrade_document
from indexer.lifecycle import IndexNames, alias_state

# Small bookkeeping indices: stored, not searched.
_BOOKKEEPING_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}
_BOOKKEEPING_MAPPINGS: dict[str, Any] = {"dynamic": False, "properties": {}}


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_bookkeeping(es: Elasticsearch, index: str) -> None:
    if not es.indices.exists(index=index):
        es.options(ignore_status=400).indices.create(
            index=index, settings=_BOOKKEEPING_SETTINGS, mappings=_BOOKKEEPING_MAPPINGS
        )


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
    create_bookkeeping(es, migration.names.deleted_index)
    at = utc_now().isoformat()
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
