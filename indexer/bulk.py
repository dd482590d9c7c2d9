"""Checked bulk writes: every chunk is sent, failures are collected and raised, never dropped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, helpers


@dataclass(frozen=True)
class BulkFailure:
    doc_id: str
    status: int
    reason: str


class BulkWriteError(RuntimeError):
    """Some documents were not written after retries; the caller must record or retry them."""

    def __init__(self, failures: list[BulkFailure]) -> None:
        sample = "; ".join(f"{f.doc_id}: {f.status} {f.reason}" for f in failures[:5])
        super().__init__(f"{len(failures)} documents failed to index: {sample}")
        self.failures = failures


def write_documents(
    es: Elasticsearch,
    alias: str,
    documents: Iterable[Mapping[str, Any]],
    *,
    chunk_bytes: int = 5 * 1024 * 1024,
    refresh: bool = False,
) -> int:
    """Upsert documents by their `doc_id` (deterministic ids: a repeat is harmless).

    HTTP 429 (too many requests) is retried with backoff by the helper; any other per-item
    failure is collected and raised as BulkWriteError after every chunk has been sent.
    """
    actions = (
        {"_op_type": "index", "_index": alias, "_id": doc["doc_id"], "_source": doc}
        for doc in documents
    )
    written = 0
    failures: list[BulkFailure] = []
    for ok, item in helpers.streaming_bulk(
        es,
        actions,
        chunk_size=500,
        max_chunk_bytes=chunk_bytes,
        raise_on_error=False,
        raise_on_exception=True,
        max_retries=5,
        initial_backoff=1,
        max_backoff=30,
    ):
        if ok:
            written += 1
            continue
        result = next(iter(item.values()))
        error = result.get("error", {})
        reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
        failures.append(BulkFailure(str(result.get("_id")), int(result.get("status", 0)), reason))
    if refresh:
        es.indices.refresh(index=alias)
    if failures:
        raise BulkWriteError(failures)
    return written


def mark_deleted(es: Elasticsearch, alias: str, doc_ids: Iterable[str]) -> int:
    """Flag documents whose files vanished from the share; they stay findable as deleted."""
    return write_partial(es, alias, ({"doc_id": d, "deleted": True} for d in doc_ids))


def write_partial(es: Elasticsearch, alias: str, updates: Iterable[Mapping[str, Any]]) -> int:
    """Partial updates by doc_id (fields not given are kept)."""
    actions = (
        {
            "_op_type": "update",
            "_index": alias,
            "_id": u["doc_id"],
            "doc": {k: v for k, v in u.items() if k != "doc_id"},
        }
        for u in updates
    )
    written = 0
    failures: list[BulkFailure] = []
    for ok, item in helpers.streaming_bulk(
        es, actions, chunk_size=500, raise_on_error=False, max_retries=5
    ):
        if ok:
            written += 1
        else:
            result = next(iter(item.values()))
            failures.append(
                BulkFailure(
                    str(result.get("_id")), int(result.get("status", 0)), str(result.get("error"))
                )
            )
    if failures:
        raise BulkWriteError(failures)
    return written


def delete_documents(es: Elasticsearch, alias: str, doc_ids: Iterable[str]) -> int:
    """Remove documents by id (a rename's old location); a missing id is not a failure."""
    actions = ({"_op_type": "delete", "_index": alias, "_id": d} for d in doc_ids)
    deleted = 0
    failures: list[BulkFailure] = []
    for ok, item in helpers.streaming_bulk(
        es, actions, chunk_size=500, raise_on_error=False, max_retries=5
    ):
        result = next(iter(item.values()))
        if ok or result.get("status") == 404:
            deleted += 1
        else:
            failures.append(
                BulkFailure(
                    str(result.get("_id")), int(result.get("status", 0)), str(result.get("error"))
                )
            )
    if failures:
        raise BulkWriteError(failures)
    return deleted
