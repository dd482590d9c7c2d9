"""Look-ups by document id and by file, for records management and the crawl.

These are the system's own reads, never a searcher's: nothing here is trimmed by an ACL, and
nothing read here is shown to a searcher (the web app reads documents through
`indexer.search.records`, which is trimmed). `get_source`, `exists` and `sources_by_id` are
real-time (a write not yet refreshed is seen); the others search, so they see what the last
refresh made searchable, and a caller that has just written refreshes first.

A file's documents are the file itself and everything embedded in it, all sharing its
`root_id`. The query bodies are pure functions, unit-tested as plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from elasticsearch import Elasticsearch

from indexer.search.scopes import scan

# One request answers for all of a file's documents (or of a chunk of files): more than any
# file holds.
MAX_DOCUMENTS = 10_000
# Ids per multi-get, and files per `terms` query.
CHUNK = 500


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


def file_documents_query(root_id: str) -> dict[str, Any]:
    """Every document of one file."""
    return {"term": {"root_id": root_id}}


def files_documents_query(root_ids: Iterable[str]) -> dict[str, Any]:
    """Every document of these files."""
    return {"terms": {"root_id": list(root_ids)}}


def embedded_documents_query(root_id: str) -> dict[str, Any]:
    """The documents embedded in one file (attachments, archive members), not the file."""
    return {"bool": {"filter": [{"term": {"root_id": root_id}}, {"term": {"kind": "embedded"}}]}}


def copies_query(original_id: str) -> dict[str, Any]:
    """The files recorded as byte-identical copies of `original_id` (`duplicate_of`)."""
    return {"term": {"duplicate_of": original_id}}


def versions_query(root_id: str) -> dict[str, Any]:
    """The held versions kept of a file (`version_of`)."""
    return {"term": {"version_of": root_id}}


def reusable_extraction_query(sha256: str, doc_id: str) -> dict[str, Any]:
    """Another file with this content whose extraction is its own (not itself a copy's):
    what a new copy of the content can reuse instead of extracting it again."""
    return {
        "bool": {
            "filter": [{"term": {"sha256": sha256}}, {"term": {"kind": "file"}}],
            "must_not": [
                {"term": {"doc_id": doc_id}},
                {"exists": {"field": "duplicate_of"}},
            ],
        }
    }


def get_source(
    es: Elasticsearch, alias: str, doc_id: str, fields: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """The document (only `fields`, when given), or None when the index has no such id."""
    hit = es.options(ignore_status=404).get(
        index=alias, id=doc_id, source=list(fields) if fields is not None else None
    )
    return dict(hit["_source"]) if hit.get("found") else None


def exists(es: Elasticsearch, alias: str, doc_id: str) -> bool:
    return bool(es.exists(index=alias, id=doc_id))


def sources_by_id(
    es: Elasticsearch, alias: str, doc_ids: Iterable[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The chosen fields of each of these documents, by id; ids the index does not have are
    missing from the result."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(list(dict.fromkeys(doc_ids))):
        response = es.mget(index=alias, ids=chunk, source=list(fields))
        for doc in response["docs"]:
            if doc.get("found"):
                found[str(doc["_id"])] = dict(doc["_source"])
    return found


def _ids(es: Elasticsearch, alias: str, query: dict[str, Any]) -> list[str]:
    hits = es.search(index=alias, size=MAX_DOCUMENTS, source=False, query=query)["hits"]["hits"]
    return [str(hit["_id"]) for hit in hits]


def _sources(
    es: Elasticsearch, alias: str, query: dict[str, Any], fields: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    if fields is None:
        response = es.search(index=alias, size=MAX_DOCUMENTS, query=query)
    else:
        response = es.search(
            index=alias, size=MAX_DOCUMENTS, query=query, source={"includes": list(fields)}
        )
    return [dict(hit["_source"]) for hit in response["hits"]["hits"]]


def file_document_ids(es: Elasticsearch, alias: str, root_id: str) -> list[str]:
    """Ids of every document of one file."""
    return _ids(es, alias, file_documents_query(root_id))


def files_document_ids(es: Elasticsearch, alias: str, root_ids: Sequence[str]) -> list[str]:
    """Ids of every document of these files (at most CHUNK files, one request)."""
    return _ids(es, alias, files_documents_query(root_ids))


def copy_ids(es: Elasticsearch, alias: str, original_id: str) -> list[str]:
    """Ids of the files recorded as copies of `original_id`."""
    return _ids(es, alias, copies_query(original_id))


def file_documents(es: Elasticsearch, alias: str, root_id: str) -> list[dict[str, Any]]:
    """Every document of one file, whole (content included)."""
    return _sources(es, alias, file_documents_query(root_id))


def embedded_paths(es: Elasticsearch, alias: str, root_id: str) -> list[str]:
    """Where in the file each of its embedded documents sits (`embedded_path`)."""
    docs = _sources(es, alias, embedded_documents_query(root_id), ["embedded_path"])
    return [str(doc["embedded_path"]) for doc in docs]


def reusable_extraction(
    es: Elasticsearch, alias: str, sha256: str, doc_id: str
) -> dict[str, Any] | None:
    """The first crawled file, other than `doc_id`, whose own extraction of this content the
    index holds (see `reusable_extraction_query`), or None."""
    hits = es.search(
        index=alias,
        size=1,
        query=reusable_extraction_query(sha256, doc_id),
        sort=[{"crawled": "asc"}],
    )["hits"]["hits"]
    return dict(hits[0]["_source"]) if hits else None


def scan_files_documents(
    es: Elasticsearch, alias: str, root_ids: Sequence[str], fields: list[str]
) -> Iterator[dict[str, Any]]:
    """The chosen fields of every document of these files, however many."""
    for chunk in _chunks(root_ids):
        yield from scan(es, alias, files_documents_query(chunk), fields)


def version_ids(es: Elasticsearch, alias: str, root_id: str) -> Iterator[str]:
    """Ids of the held versions kept of a file, however many."""
    for doc in scan(es, alias, versions_query(root_id), ["doc_id"]):
        yield str(doc["doc_id"])
