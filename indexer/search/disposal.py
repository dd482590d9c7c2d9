"""What retention asks of the index: the files a schedule classifies, the files due for
disposal, and the counts of the retention report.

Records management is not trimmed by any searcher's ACL. Only files are classified and
disposed of (embedded documents go with their file); held versions and the stubs destroyed
records leave are never classified again, nor proposed. The query bodies are pure functions,
unit-tested as plain dicts; the index is only ever a first sieve, since `retention.disposal`
classifies each candidate afresh and checks holds in the database before anything is destroyed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from elasticsearch import Elasticsearch

from indexer.search.scopes import scan


def live_files_query(source: str | None = None) -> dict[str, Any]:
    """Files (not attachments, versions or destroyed stubs) that a schedule classifies."""
    filters: list[dict[str, Any]] = [{"term": {"kind": "file"}}]
    if source:
        filters.append({"term": {"source": source}})
    return {
        "bool": {
            "filter": filters,
            "must_not": [
                {"exists": {"field": "destroyed"}},
                {"exists": {"field": "version_of"}},
            ],
        }
    }


def classification_query(
    source: str | None = None, root_ids: Sequence[str] | None = None
) -> dict[str, Any]:
    """The live files re-classification reads: of one source, and only these files, when
    given."""
    query = live_files_query(source)
    if root_ids is not None:
        query["bool"]["filter"].append({"ids": {"values": list(root_ids)}})
    return query


def disposal_candidates_query(today: date, classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Files on a share whose disposal date has come under a `destroy` class and that no hold
    covers (the database's hold records are checked again before anything is destroyed).
    With `classes`, only files of those record classes (the signed-off ones)."""
    filters: list[dict[str, Any]] = [
        {"term": {"kind": "file"}},
        {"term": {"retention_action": "destroy"}},
        {"range": {"disposal_date": {"lte": today.isoformat()}}},
    ]
    if classes is not None:
        filters.append({"terms": {"retention_class": list(classes)}})
    return {
        "bool": {
            "filter": filters,
            "must_not": [
                {"term": {"deleted": True}},
                {"term": {"held": True}},
                {"exists": {"field": "destroyed"}},
                {"exists": {"field": "version_of"}},
            ],
        }
    }


def retention_summary_body(today: date, disposable: Sequence[str] | None = None) -> dict[str, Any]:
    """The retention report's one request over the live files (see `retention_summary`)."""
    unclassified = {"bool": {"must_not": [{"exists": {"field": "retention_class"}}]}}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": live_files_query(),
        "aggs": {
            "classes": {
                "terms": {"field": "retention_class", "size": 1000},
                "aggs": {
                    "bytes": {"sum": {"field": "size"}},
                    "due": {"filter": disposal_candidates_query(today)},
                },
            },
            "actions": {"terms": {"field": "retention_action", "size": 10}},
            "unclassified": {
                "filter": unclassified,
                "aggs": {
                    "bytes": {"sum": {"field": "size"}},
                    "folders": {"terms": {"field": "folder", "size": 20}},
                },
            },
            "eligible": {
                "filter": disposal_candidates_query(today, disposable),
                "aggs": {"bytes": {"sum": {"field": "size"}}},
            },
        },
    }


def files_to_classify(
    es: Elasticsearch,
    alias: str,
    fields: list[str],
    source: str | None = None,
    root_ids: Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The chosen fields of every file `classification_query` selects."""
    return scan(es, alias, classification_query(source, root_ids), fields)


def disposal_candidates(
    es: Elasticsearch, alias: str, today: date, classes: Sequence[str], fields: list[str]
) -> Iterator[dict[str, Any]]:
    """The chosen fields of every file `disposal_candidates_query` selects in `classes`."""
    return scan(es, alias, disposal_candidates_query(today, classes), fields)


def retention_summary(
    es: Elasticsearch, alias: str, today: date, disposable: Sequence[str] | None = None
) -> dict[str, Any]:
    """Counts for the retention report: files per class and action (with those past their
    disposal date), the unclassified (with their top folders, so the gap can be fixed), and
    what disposal could reclaim today (only in the `disposable` classes, when given)."""
    response = es.search(index=alias, **retention_summary_body(today, disposable)).body
    aggs = response["aggregations"]
    return {
        "files": int(response["hits"]["total"]["value"]),
        "by_class": [
            (b["key"], int(b["doc_count"]), int(b["bytes"]["value"]))
            for b in aggs["classes"]["buckets"]
        ],
        "due_by_class": [
            (b["key"], int(b["due"]["doc_count"])) for b in aggs["classes"]["buckets"]
        ],
        "by_action": [(b["key"], int(b["doc_count"])) for b in aggs["actions"]["buckets"]],
        "unclassified": int(aggs["unclassified"]["doc_count"]),
        "unclassified_bytes": int(aggs["unclassified"]["bytes"]["value"]),
        "unclassified_folders": [
            (b["key"], int(b["doc_count"])) for b in aggs["unclassified"]["folders"]["buckets"]
        ],
        "eligible": int(aggs["eligible"]["doc_count"]),
        "eligible_bytes": int(aggs["eligible"]["bytes"]["value"]),
    }
