"""Query building and execution. Every search goes through `base_query`, which applies the
access-control trimming, so no search can forget it: the hits, the total, the facet counts and
the "N copies" counts are all computed inside that trimmed query.

Paging is by `search_after` on a total order (the chosen sort, then `doc_id`), carried between
requests as an opaque `PageCursor` token. Identical copies can be folded into one result: the
first of a set of byte-identical files (same sha256) in the page order stands for the rest and
carries their number. Elasticsearch's `collapse` cannot be used for this: it refuses
`search_after` unless the sort is the collapse field itself, and it would put every document
without a hash (embedded documents, files that could not be read) into one group.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from elasticsearch import Elasticsearch

from indexer.mapping import MAX_ANALYZED_OFFSET
from indexer.search.facets import (
    DUPLICATE,
    Facets,
    FacetSelection,
    aggregations,
    post_filter,
    read_facets,
    sample_probability,
)
from indexer.search.folding import copy_groups_body, foldable, read_copy_groups
from indexer.search.highlights import highlight_query
from indexer.search.multisearch import side_by_side
from indexer.search.querydsl import TEXT_FIELDS, compile_query
from indexer.search.querylang import parse

# Fields free text reaches. Users never name arbitrary fields (see indexer.search.querylang).
SEARCH_FIELDS = TEXT_FIELDS
HIGHLIGHT_FIELDS = ("content", "content.exact", "title", "email_subject")
# Folding copies may skip results; a page stops looking after this many fetches.
MAX_FOLD_FETCHES = 5
_MAX_CURSOR_CHARS = 600
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_LONG = (-(2**63), 2**63 - 1)


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
        # A held file deleted at source is still held information (its original is in the
        # preservation store), so it stays findable.
        must_not.append(
            {
                "bool": {
                    "filter": [{"term": {"deleted": True}}],
                    "must_not": [{"term": {"held": True}}],
                }
            }
        )
    return {
        "bool": {
            "must": list(must) or [{"match_all": {}}],
            "filter": filter_clauses,
            "must_not": must_not,
        }
    }


def text_query(text: str) -> dict[str, Any]:
    """The search box's text as a query (see indexer.search.querylang); raises QuerySyntaxError."""
    node = parse(text)
    return compile_query(node) if node is not None else {"match_all": {}}


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    OLDEST = "oldest"


def sort_clauses(sort: Sort, *, reverse: bool = False) -> list[dict[str, Any]]:
    """The sort, made total by `doc_id`. `reverse` walks the same order backwards (for the
    previous page): documents without a modified date stay after every dated one."""
    ascending = (sort is Sort.OLDEST) != reverse
    tiebreak = {"doc_id": "desc" if reverse else "asc"}
    if sort is Sort.RELEVANCE:
        return [{"_score": "asc" if reverse else "desc"}, tiebreak]
    modified = {
        "order": "asc" if ascending else "desc",
        "missing": "_first" if reverse else "_last",
    }
    return [{"modified": modified}, tiebreak]


class InvalidCursor(ValueError):
    """A page link was altered or belongs to another sort: start the search again."""


@dataclass(frozen=True)
class PageCursor:
    """Where a page starts: after (or, for `before`, just before) one result's sort values.

    The token is base64 JSON, validated on the way in rather than signed: it only positions
    the reader within their own ACL-trimmed results, so a forged one gains nothing, and
    validation keeps anything malformed from reaching Elasticsearch.
    """

    sort: Sort
    values: tuple[float | int | str, ...]
    before: bool = False

    def token(self) -> str:
        payload = {"s": self.sort.value, "d": "b" if self.before else "a", "v": list(self.values)}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def from_token(cls, token: str, sort: Sort) -> PageCursor:
        if len(token) > _MAX_CURSOR_CHARS or not _CURSOR_CHARS.fullmatch(token):
            raise InvalidCursor("malformed token")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor("undecodable token") from exc
        if not isinstance(data, dict) or set(data) != {"s", "d", "v"}:
            raise InvalidCursor("unexpected shape")
        values = data["v"]
        if data["s"] != sort.value or data["d"] not in ("a", "b"):
            raise InvalidCursor("another sort")
        if not isinstance(values, list) or len(values) != 2:
            raise InvalidCursor("unexpected values")
        key, doc_id = values
        if not isinstance(doc_id, str) or not 0 < len(doc_id) <= 128:
            raise InvalidCursor("unexpected document id")
        if sort is Sort.RELEVANCE:
            if isinstance(key, bool) or not isinstance(key, int | float) or not math.isfinite(key):
                raise InvalidCursor("unexpected score")
        elif isinstance(key, bool) or not isinstance(key, int) or not _LONG[0] <= key <= _LONG[1]:
            raise InvalidCursor("unexpected date")
        return cls(sort, (key, doc_id), before=data["d"] == "b")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _highlight() -> dict[str, Any]:
    return {
        # Text past the index's limit is not re-analysed for highlighting (a document may hold
        # 5,000,000 characters): without this, one such match fails the whole search. A match
        # further in is found, not highlighted.
        "max_analyzed_offset": MAX_ANALYZED_OFFSET,
        "encoder": "html",
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        "fields": {f: {"number_of_fragments": 3, "fragment_size": 160} for f in HIGHLIGHT_FIELDS},
    }


def search_body(
    text: str,
    principal: Principal,
    *,
    size: int = 20,
    selection: FacetSelection | None = None,
    sort: Sort = Sort.RELEVANCE,
    cursor: PageCursor | None = None,
    highlight: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One page's request (facets are counted by `facet_body`). Facet choices narrow the hits
    through `post_filter`; the ACL trim stays in `query`, so it also bounds the facet counts.
    `highlight` replaces the query highlighting uses (see indexer.search.highlights)."""
    selection = selection or FacetSelection()
    must = [text_query(text)] if text.strip() else []
    body: dict[str, Any] = {
        "query": base_query(principal, must),
        "size": size,
        "track_total_hits": True,
        "sort": sort_clauses(sort, reverse=cursor is not None and cursor.before),
        "_source": {"excludes": ["content"]},
        "highlight": _highlight(),
    }
    if cursor is not None:
        body["search_after"] = list(cursor.values)
    if highlight is not None:
        body["highlight"]["highlight_query"] = highlight
    narrowed = post_filter(selection)
    if narrowed is not None:
        body["post_filter"] = narrowed
    return body


def facet_body(query: dict[str, Any], selection: FacetSelection, total: int) -> dict[str, Any]:
    """The facet counts of a search whose page query is `query` and which matched `total`
    documents. A separate request, because whether to sample depends on the total; being
    size 0, repeating it (the next page) is answered from Elasticsearch's request cache."""
    return {
        "query": query,
        "size": 0,
        "track_total_hits": False,
        "aggs": aggregations(selection, sample_probability=sample_probability(total)),
    }


@dataclass(frozen=True)
class Hit:
    doc_id: str
    source: dict[str, Any]
    highlights: tuple[str, ...]
    score: float | None
    # How many results hold these exact bytes, this one included (1 unless copies are folded).
    copies: int = 1
    sort: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: tuple[Hit, ...] = field(default_factory=tuple)
    facets: Facets | None = None
    next_page: PageCursor | None = None
    previous_page: PageCursor | None = None


def search(
    es: Elasticsearch,
    alias: str,
    text: str,
    principal: Principal,
    *,
    size: int = 20,
    selection: FacetSelection | None = None,
    sort: Sort = Sort.RELEVANCE,
    cursor: PageCursor | None = None,
    facets: bool = False,
    fold_copies: bool = False,
) -> SearchResult:
    """One page of results. Raises QuerySyntaxError for text the query language refuses.

    `total` counts matching documents (copies included). With `fold_copies`, a page holds only
    the first of each set of identical files, and `Hit.copies` says how many there are.
    """
    selection = selection or FacetSelection()
    if not principal.sees_everything:
        # Whether a file has an identical twin is a fact about the twin, which a trimmed
        # searcher may not be allowed to see: no duplicates facet or filter for them.
        selection = selection.without(DUPLICATE)
    backwards = cursor is not None and cursor.before
    body = search_body(
        text,
        principal,
        selection=selection,
        sort=sort,
        cursor=cursor,
        highlight=highlight_query(es, alias, parse(text)) if text.strip() else None,
    )
    # Folding drops the later copies of a file, so fetch a few more than a page; a page short
    # after folding fetches again. Every fetched hit is highlighted, so not many more.
    batch = size + 1 + (size // 4 + 2 if fold_copies else 0)
    body["size"] = batch
    kept: list[Hit] = []
    first: Mapping[str, Any] | None = None
    total = 0
    counted: Facets | None = None
    resume: Sequence[Any] | None = cursor.values if cursor else None
    exhausted = False
    for _ in range(MAX_FOLD_FETCHES if fold_copies else 1):
        if resume is not None:
            body["search_after"] = list(resume)
        response = es.search(index=alias, **body).body
        raw_hits = response["hits"]["hits"]
        # The copy counts and the facet counts each need only this response: ask for both at
        # once, so Elasticsearch works on them side by side.
        copies = copy_groups_body(body, raw_hits, sort_clauses(sort)) if fold_copies else None
        counts = None
        if first is None:
            first = response
            body["track_total_hits"] = False
            total = int(first["hits"]["total"]["value"])
            counts = facet_body(body["query"], selection, total) if facets else None
        copies_answer, counts_answer = side_by_side(es, alias, copies, counts)
        if counts_answer is not None:
            counted = read_facets(counts_answer["aggregations"], selection)
            if not principal.sees_everything:
                counted = counted.without(DUPLICATE)
        groups = read_copy_groups(copies_answer) if copies_answer is not None else {}
        for raw in raw_hits:
            resume = raw["sort"]
            hit = _hit(raw, groups, fold_copies)
            if hit is not None:
                kept.append(hit)
                if len(kept) > size:
                    break
        exhausted = len(raw_hits) < batch
        if len(kept) > size or exhausted:
            break
    assert first is not None
    more = len(kept) > size or not exhausted
    page = kept[:size]
    if len(kept) > size:
        resume = page[-1].sort
    ahead = PageCursor(sort, tuple(resume), before=backwards) if more and resume else None
    if backwards:
        page.reverse()
    behind = _cursor_back(sort, cursor, page, backwards)
    return SearchResult(
        total=total,
        hits=tuple(page),
        facets=counted,
        next_page=behind if backwards else ahead,
        previous_page=ahead if backwards else behind,
    )


def _cursor_back(
    sort: Sort, cursor: PageCursor | None, page: list[Hit], backwards: bool
) -> PageCursor | None:
    """The cursor pointing the way we came: there is always something there, except at the
    very start."""
    if cursor is None:
        return None
    if not page:
        return PageCursor(sort, cursor.values, before=not backwards)
    edge = page[-1] if backwards else page[0]
    return PageCursor(sort, edge.sort, before=not backwards)


def _hit(raw: Mapping[str, Any], groups: Mapping[str, tuple[str, int]], fold: bool) -> Hit | None:
    copies = 1
    if fold and (sha := foldable(raw["_source"])) and sha in groups:
        first_id, copies = groups[sha]
        if first_id != raw["_id"]:
            return None  # a later copy: its first copy stands for it
    fragments: list[str] = []
    for values in (raw.get("highlight") or {}).values():
        fragments.extend(v for v in values if v not in fragments)
    return Hit(
        raw["_id"],
        raw["_source"],
        tuple(fragments[:3]),
        raw.get("_score"),
        copies,
        tuple(raw.get("sort", ())),
    )
