"""Query building and execution. Every search goes through `base_query`, which applies the
access-control trimming, so no search can forget it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

# Fields the search box may reach. Users never name arbitrary fields (no query_string).
SEARCH_FIELDS = (
    "title^3",
    "filename.text^2",
    "email_subject^2",
    "content",
    "authors.text",
    "path.text",
)
# simple_query_string never raises on malformed input, and these flags exclude regexes.
_FLAGS = "AND|OR|NOT|PHRASE|PREFIX|FUZZY|PRECEDENCE|WHITESPACE|ESCAPE|NEAR|SLOP"
HIGHLIGHT_FIELDS = ("content", "content.exact", "title", "email_subject")


@dataclass(frozen=True)
class Principal:
    """Who is searching. Staff who may see everything are still audited per override."""

    username: str
    sids: tuple[str, ...]
    sees_everything: bool


def acl_filter(principal: Principal) -> list[dict[str, Any]]:
    """Allowed when an ACE grants one of the user's SIDs and no deny ACE names any of them."""
    if principal.sees_everything:
        return []
    sids = list(principal.sids)
    return [
        {
            "bool": {
                "filter": [{"terms": {"acl_allow": sids}}],
                "must_not": [{"terms": {"acl_deny": sids}}],
            }
        }
    ]


def base_query(
    principal: Principal,
    must: Sequence[dict[str, Any]] = (),
    filters: Sequence[dict[str, Any]] = (),
    include_deleted: bool = False,
) -> dict[str, Any]:
    filter_clauses = [*acl_filter(principal), *filters]
    must_not: list[dict[str, Any]] = []
    if not include_deleted:
        must_not.append({"term": {"deleted": True}})
    return {
        "bool": {
            "must": list(must) or [{"match_all": {}}],
            "filter": filter_clauses,
            "must_not": must_not,
        }
    }


def text_query(text: str) -> dict[str, Any]:
    return {
        "simple_query_string": {
            "query": text,
            "fields": list(SEARCH_FIELDS),
            "default_operator": "and",
            "flags": _FLAGS,
            # Quoted phrases match the unstemmed subfield: "planning application" is exact.
            "quote_field_suffix": ".exact",
        }
    }


def search_body(text: str, principal: Principal, *, size: int = 20) -> dict[str, Any]:
    must = [text_query(text)] if text.strip() else []
    return {
        "query": base_query(principal, must),
        "size": size,
        "track_total_hits": True,
        "_source": {"excludes": ["content"]},
        "highlight": {
            "encoder": "html",
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            "fields": {
                f: {"number_of_fragments": 3, "fragment_size": 160} for f in HIGHLIGHT_FIELDS
            },
        },
    }


@dataclass(frozen=True)
class Hit:
    doc_id: str
    source: dict[str, Any]
    highlights: tuple[str, ...]
    score: float | None


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: tuple[Hit, ...] = field(default_factory=tuple)


def search(
    es: Elasticsearch, alias: str, text: str, principal: Principal, *, size: int = 20
) -> SearchResult:
    response = es.search(index=alias, **search_body(text, principal, size=size))
    hits = []
    for raw in response["hits"]["hits"]:
        fragments: list[str] = []
        for values in (raw.get("highlight") or {}).values():
            fragments.extend(v for v in values if v not in fragments)
        hits.append(Hit(raw["_id"], raw["_source"], tuple(fragments[:3]), raw.get("_score")))
    return SearchResult(int(response["hits"]["total"]["value"]), tuple(hits))
