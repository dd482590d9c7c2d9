"""The retention query bodies (indexer.search.disposal) as plain dicts: which files a schedule
classifies, which are proposed for disposal, and what the retention report counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, cast

import pytest
from elasticsearch import Elasticsearch

from indexer.search import disposal
from indexer.search.disposal import (
    classification_query,
    disposal_candidates_query,
    live_files_query,
    retention_summary,
    retention_summary_body,
)

TODAY = date(2025, 3, 31)
# Where the scan is replaced, the client is never touched.
NO_INDEX = cast(Elasticsearch, object())
NOT_A_VERSION_OR_STUB = [
    {"exists": {"field": "destroyed"}},
    {"exists": {"field": "version_of"}},
]


def test_candidates_are_files_due_for_destruction() -> None:
    query = disposal_candidates_query(TODAY)
    assert query["bool"]["filter"] == [
        {"term": {"kind": "file"}},
        {"term": {"retention_action": "destroy"}},
        {"range": {"disposal_date": {"lte": "2025-03-31"}}},
    ]


def test_candidates_leave_out_held_deleted_destroyed_and_versions() -> None:
    assert disposal_candidates_query(TODAY)["bool"]["must_not"] == [
        {"term": {"deleted": True}},
        {"term": {"held": True}},
        *NOT_A_VERSION_OR_STUB,
    ]


def test_candidates_are_narrowed_to_the_signed_off_classes() -> None:
    query = disposal_candidates_query(TODAY, ("minutes", "invoices"))
    assert query["bool"]["filter"][-1] == {"terms": {"retention_class": ["minutes", "invoices"]}}
    assert query["bool"]["must_not"] == disposal_candidates_query(TODAY)["bool"]["must_not"]


def test_no_signed_off_class_proposes_nothing() -> None:
    """An empty list of classes is a filter that matches nothing, never no filter at all."""
    query = disposal_candidates_query(TODAY, [])
    assert {"terms": {"retention_class": []}} in query["bool"]["filter"]


def test_classification_reads_live_files_held_and_deleted_included() -> None:
    query = live_files_query()
    assert query == {
        "bool": {"filter": [{"term": {"kind": "file"}}], "must_not": NOT_A_VERSION_OR_STUB}
    }
    assert live_files_query("finance")["bool"]["filter"] == [
        {"term": {"kind": "file"}},
        {"term": {"source": "finance"}},
    ]


def test_classification_of_some_files_names_them() -> None:
    query = classification_query("finance", ["a" * 40, "b" * 40])
    assert query["bool"]["filter"] == [
        {"term": {"kind": "file"}},
        {"term": {"source": "finance"}},
        {"ids": {"values": ["a" * 40, "b" * 40]}},
    ]
    assert classification_query() == live_files_query()
    # Each call builds its own body: narrowing one never narrows the next.
    assert classification_query(root_ids=[]) != classification_query()
    assert classification_query() == live_files_query()


def test_retention_report_counts_live_files_by_class_and_what_is_due() -> None:
    body = retention_summary_body(TODAY, ["minutes"])
    assert body["size"] == 0
    assert body["track_total_hits"] is True
    assert body["query"] == live_files_query()
    classes = body["aggs"]["classes"]
    assert classes["terms"] == {"field": "retention_class", "size": 1000}
    # Due counts every class (the report says which are not signed off) ...
    assert classes["aggs"]["due"] == {"filter": disposal_candidates_query(TODAY)}
    # ... eligible only the signed-off ones.
    assert body["aggs"]["eligible"]["filter"] == disposal_candidates_query(TODAY, ["minutes"])
    assert body["aggs"]["unclassified"]["filter"] == {
        "bool": {"must_not": [{"exists": {"field": "retention_class"}}]}
    }


def test_retention_report_without_disposable_classes_counts_every_due_file() -> None:
    body = retention_summary_body(TODAY)
    assert body["aggs"]["eligible"]["filter"] == disposal_candidates_query(TODAY)


class _Answer:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


class _SummaryIndex:
    """Answers the report's one search with canned aggregations."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def search(self, **request: Any) -> _Answer:
        self.requests.append(request)
        bucket = {"key": "minutes", "doc_count": 3, "bytes": {"value": 30.0}}
        return _Answer(
            {
                "hits": {"total": {"value": 5}},
                "aggregations": {
                    "classes": {"buckets": [{**bucket, "due": {"doc_count": 2}}]},
                    "actions": {"buckets": [{"key": "destroy", "doc_count": 3}]},
                    "unclassified": {
                        "doc_count": 2,
                        "bytes": {"value": 7.0},
                        "folders": {"buckets": [{"key": "misc", "doc_count": 2}]},
                    },
                    "eligible": {"doc_count": 2, "bytes": {"value": 20.0}},
                },
            }
        )


def test_retention_summary_reads_the_counts() -> None:
    index = _SummaryIndex()
    summary = retention_summary(cast(Elasticsearch, index), "alias", TODAY, ["minutes"])
    assert index.requests == [{"index": "alias", **retention_summary_body(TODAY, ["minutes"])}]
    assert summary == {
        "files": 5,
        "by_class": [("minutes", 3, 30)],
        "due_by_class": [("minutes", 2)],
        "by_action": [("destroy", 3)],
        "unclassified": 2,
        "unclassified_bytes": 7,
        "unclassified_folders": [("misc", 2)],
        "eligible": 2,
        "eligible_bytes": 20,
    }


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Mapping[str, Any], list[str]]]:
    calls: list[tuple[str, Mapping[str, Any], list[str]]] = []

    def scan(
        es: object, alias: str, query: Mapping[str, Any], fields: list[str]
    ) -> Iterator[dict[str, Any]]:
        calls.append((alias, query, fields))
        yield {"doc_id": "a" * 40}

    monkeypatch.setattr(disposal, "scan", scan)
    return calls


def test_disposal_candidates_scan_the_candidates_query(
    scanned: list[tuple[str, Mapping[str, Any], list[str]]],
) -> None:
    found = list(disposal.disposal_candidates(NO_INDEX, "alias", TODAY, ["minutes"], ["doc_id"]))
    assert found == [{"doc_id": "a" * 40}]
    assert scanned == [("alias", disposal_candidates_query(TODAY, ["minutes"]), ["doc_id"])]


def test_files_to_classify_scan_the_classification_query(
    scanned: list[tuple[str, Mapping[str, Any], list[str]]],
) -> None:
    list(disposal.files_to_classify(NO_INDEX, "alias", ["doc_id"], "finance", ["b" * 40]))
    assert scanned == [("alias", classification_query("finance", ["b" * 40]), ["doc_id"])]
