"""Which indexed files a hold scope or a scoping search covers: queries over the whole index
(records management is not trimmed by the searcher's ACL), scanned rather than paged. What a
retention run covers is in `indexer.search.disposal`.

A hold covers whole files: an attachment that matches holds the file that contains it, so
every match is reported with its `root_id` (the file's document id).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from elasticsearch import Elasticsearch, helpers

from indexer.search.facets import FacetSelection, post_filter
from indexer.search.queries import Principal, base_query, text_query
from indexer.search.querylang import (
    AllOf,
    AnyOf,
    FieldMatch,
    Fuzzy,
    Node,
    Not,
    Phrase,
    Prefix,
    Word,
)
from indexer.search.querylang import parse as parse_query

EVERYTHING = Principal(username="records-management", sids=(), sees_everything=True)
# Extraction statuses whose content was read: anything else can only match by name/metadata.
READ_STATUSES = ("ok", "truncated", "empty")
# What a document without readable content can still be found by.
METADATA_FIELDS = (
    "name_words",
    "title",
    "authors.text",
    "email_subject",
    "email_from",
    "email_to",
    "path.text",
)
_MATCH_FIELDS = ["root_id", "doc_id", "source", "path", "sha256", "kind", "destroyed"]


@dataclass(frozen=True)
class Match:
    root_id: str
    doc_id: str
    source: str
    path: str
    # The file's hash when the match is the file itself; embedded matches carry none.
    sha256: str
    conservative: bool = False


def folder_query(source: str, folder: str) -> dict[str, Any]:
    """Everything below `folder` ("" is the whole source), deleted files included."""
    folder = folder.strip("/")
    filters: list[dict[str, Any]] = [{"term": {"source": source}}]
    if folder:
        filters.append({"term": {"folders": folder}})
    return {"bool": {"filter": filters}}


def parse_search(query_string: str) -> tuple[str, FacetSelection]:
    """A search kept as the search page's query string (`q=...&type=pdf`, as holds and
    scoping searches store it): its words and its validated facet choices."""
    params = parse_qs(query_string, keep_blank_values=False)
    return (params.get("q") or [""])[0], FacetSelection.from_params(params)


def search_query(text: str, selection: FacetSelection) -> dict[str, Any]:
    """A search as the search page runs it, for everything (raises QuerySyntaxError)."""
    narrowed = post_filter(selection)
    must = [text_query(text)] if text.strip() else []
    return base_query(EVERYTHING, must, [narrowed] if narrowed else [])


def _plain_words(node: Node | None, negated: bool = False) -> list[str]:
    if node is None or negated:
        return []
    if isinstance(node, Word | Phrase | Fuzzy):
        return [node.text]
    if isinstance(node, Prefix):
        return [node.stem]
    if isinstance(node, FieldMatch):
        return [node.value]
    if isinstance(node, Not):
        return []
    if isinstance(node, AllOf | AnyOf):
        return [w for child in node.children for w in _plain_words(child)]
    return []


def unreadable_query(text: str, selection: FacetSelection) -> dict[str, Any] | None:
    """Documents whose content could not be read but whose name or metadata carries any of the
    search's words: a hold takes them too, since their content may well match (the
    conservative side). None when the search has no words to look for."""
    words = [w for w in _plain_words(parse_query(text)) if w.strip()]
    if not words:
        return None
    narrowed = post_filter(selection)
    return base_query(
        EVERYTHING,
        [
            {
                "multi_match": {
                    "query": " ".join(words),
                    "fields": list(METADATA_FIELDS),
                    "operator": "or",
                }
            }
        ],
        [
            {"bool": {"must_not": [{"terms": {"status": list(READ_STATUSES)}}]}},
            *([narrowed] if narrowed else []),
        ],
    )


def scan(
    es: Elasticsearch, alias: str, query: Mapping[str, Any], fields: list[str]
) -> Iterator[dict[str, Any]]:
    """Every matching document's chosen fields, in no particular order."""
    for hit in helpers.scan(
        es, index=alias, query={"query": query, "_source": fields}, size=1000, scroll="5m"
    ):
        yield dict(hit["_source"])


def matches(
    es: Elasticsearch, alias: str, query: Mapping[str, Any], *, conservative: bool = False
) -> Iterator[Match]:
    """One `Match` per matching document (several may share a root). Destroyed records are
    left out: only their stub remains, and there is nothing left to hold."""
    for doc in scan(es, alias, query, _MATCH_FIELDS):
        if doc.get("destroyed"):
            continue
        root = doc.get("root_id") or doc["doc_id"]
        yield Match(
            root_id=root,
            doc_id=doc["doc_id"],
            source=doc.get("source", ""),
            path=doc.get("path", ""),
            sha256=(doc.get("sha256") or "") if root == doc["doc_id"] else "",
            conservative=conservative,
        )


# A destroyed record's stub: metadata and the record of destruction, nothing left to search.
_DESTROYED = {"exists": {"field": "destroyed"}}
_DESTROYED_FIELDS = ["doc_id", "unc", "path", "destroyed", "destruction_class", "disposal_batch"]
# How many destroyed matches a search keeps by name (all are counted).
MAX_DESTROYED_LISTED = 500


def search_scope_counts(
    es: Elasticsearch, alias: str, text: str, selection: FacetSelection
) -> dict[str, Any]:
    """What an adequacy-of-search statement needs about one search: its hits, the sources and
    documents it covered, and the documents in that scope whose content could not be searched
    (by reason), which the words could not have reached.

    Hits and scope are live records only. Destroyed records whose stub matches are counted
    apart (`destroyed`) and listed (`destroyed_matches`, up to MAX_DESTROYED_LISTED: id, UNC
    path, when, class and disposal batch), so a statement can say they are no longer held."""
    live = {"bool": {"must_not": [_DESTROYED]}}
    matching = search_query(text, selection)
    hits = es.count(index=alias, query={"bool": {"filter": [matching, live]}})["count"]
    scope = {"bool": {"filter": [search_query("", selection), live]}}
    response = es.search(
        index=alias,
        size=0,
        track_total_hits=True,
        query=scope,
        aggs={
            "sources": {"terms": {"field": "source", "size": 500}},
            "unreadable": {
                "filter": {"bool": {"must_not": [{"terms": {"status": list(READ_STATUSES)}}]}},
                "aggs": {"statuses": {"terms": {"field": "status", "size": 50}}},
            },
        },
    ).body
    # A stub may be marked deleted too (its file is gone from the share): it still counts.
    narrowed = post_filter(selection)
    stubs = base_query(
        EVERYTHING,
        [text_query(text)] if text.strip() else [],
        [*([narrowed] if narrowed else []), _DESTROYED],
        include_deleted=True,
    )
    destroyed = es.search(
        index=alias,
        size=MAX_DESTROYED_LISTED,
        track_total_hits=True,
        query=stubs,
        source={"includes": _DESTROYED_FIELDS},
        sort=[{"destroyed": "asc"}, {"doc_id": "asc"}],
    ).body
    aggs = response["aggregations"]
    return {
        "hits": int(hits),
        "documents_in_scope": int(response["hits"]["total"]["value"]),
        "sources": sorted(b["key"] for b in aggs["sources"]["buckets"]),
        "not_searchable": {
            b["key"]: int(b["doc_count"]) for b in aggs["unreadable"]["statuses"]["buckets"]
        },
        "destroyed": int(destroyed["hits"]["total"]["value"]),
        "destroyed_matches": [
            {name: hit["_source"].get(name) for name in _DESTROYED_FIELDS}
            for hit in destroyed["hits"]["hits"]
        ],
    }
