"""Single documents and their relations, always fetched through the trimmed base query.

A document a principal may not see is simply not found: the caller cannot tell "hidden" from
"absent", so direct URLs, related-document lists and "more like this" leak nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from indexer.search.queries import Principal, base_query

# Page size for extracted text on the document page: big enough to read, small enough to render.
TEXT_PAGE_CHARS = 20_000
_SUMMARY_FIELDS = [
    "doc_id",
    "title",
    "filename",
    "path",
    "unc",
    "status",
    "kind",
    "embedded_path",
    "modified",
    "source",
    "deleted",
    "mime_type",
    "held",
    "destroyed",
]


@dataclass(frozen=True)
class TextPage:
    text: str
    page: int
    pages: int


def visible_to_own_sids(doc: dict[str, Any], sids: Sequence[str]) -> bool:
    """Would the document's captured ACL let these SIDs read it (allow and no deny)?"""
    allow = set(doc.get("acl_allow") or ())
    deny = set(doc.get("acl_deny") or ())
    own = set(sids)
    return bool(allow & own) and not deny & own


def get_document(
    es: Elasticsearch,
    alias: str,
    doc_id: str,
    principal: Principal,
    *,
    include_deleted: bool = True,
) -> dict[str, Any] | None:
    """The document without its content (which can be large), or None if not visible."""
    hits = es.search(
        index=alias,
        size=1,
        source={"excludes": ["content"]},
        query=base_query(
            principal, filters=[{"ids": {"values": [doc_id]}}], include_deleted=include_deleted
        ),
    )["hits"]["hits"]
    return dict(hits[0]["_source"]) if hits else None


def document_text(es: Elasticsearch, alias: str, doc_id: str, principal: Principal) -> str | None:
    """The document's extracted text ("" when it has none), or None if not visible."""
    hits = es.search(
        index=alias,
        size=1,
        source={"includes": ["content"]},
        query=base_query(principal, filters=[{"ids": {"values": [doc_id]}}], include_deleted=True),
    )["hits"]["hits"]
    return str(hits[0]["_source"].get("content") or "") if hits else None


def text_page(
    es: Elasticsearch, alias: str, doc_id: str, principal: Principal, page: int
) -> TextPage | None:
    content = document_text(es, alias, doc_id, principal)
    if content is None:
        return None
    pages = max(1, -(-len(content) // TEXT_PAGE_CHARS))
    page = min(max(page, 1), pages)
    start = (page - 1) * TEXT_PAGE_CHARS
    return TextPage(content[start : start + TEXT_PAGE_CHARS], page, pages)


def summaries_by_id(
    es: Elasticsearch,
    alias: str,
    principal: Principal,
    doc_ids: Sequence[str],
    fields: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """The chosen fields of each of these documents the principal may see, by id (deleted
    ones included); the others are missing from the result."""
    hits = es.search(
        index=alias,
        size=len(doc_ids),
        source={"includes": list(fields)},
        query=base_query(
            principal, filters=[{"ids": {"values": list(doc_ids)}}], include_deleted=True
        ),
    )["hits"]["hits"]
    return {str(hit["_id"]): dict(hit["_source"]) for hit in hits}


def _summaries(
    es: Elasticsearch,
    alias: str,
    principal: Principal,
    filters: list[dict[str, Any]],
    size: int = 50,
) -> list[dict[str, Any]]:
    hits = es.search(
        index=alias,
        size=size,
        source={"includes": _SUMMARY_FIELDS},
        query=base_query(principal, filters=filters, include_deleted=True),
        sort=[{"path": "asc"}, {"embedded_path": "asc"}],
    )["hits"]["hits"]
    return [dict(hit["_source"]) for hit in hits]


def children(
    es: Elasticsearch, alias: str, doc: dict[str, Any], principal: Principal
) -> list[dict[str, Any]]:
    """Documents embedded directly in this one (attachments, zip members)."""
    return _summaries(es, alias, principal, [{"term": {"container_id": doc["doc_id"]}}])


def container(
    es: Elasticsearch, alias: str, doc: dict[str, Any], principal: Principal
) -> dict[str, Any] | None:
    parent = doc.get("container_id")
    if not parent:
        return None
    found = _summaries(es, alias, principal, [{"ids": {"values": [parent]}}], size=1)
    return found[0] if found else None


def duplicates(
    es: Elasticsearch, alias: str, doc: dict[str, Any], principal: Principal
) -> list[dict[str, Any]]:
    """Other files with byte-identical content."""
    if not doc.get("sha256"):
        return []
    return [
        d
        for d in _summaries(
            es, alias, principal, [{"term": {"sha256": doc["sha256"]}}, {"term": {"kind": "file"}}]
        )
        if d["doc_id"] != doc["doc_id"]
    ]


def more_like_this(
    es: Elasticsearch, alias: str, doc: dict[str, Any], principal: Principal, size: int = 5
) -> list[dict[str, Any]]:
    """Similar documents, trimmed like every other search."""
    similar = {
        "more_like_this": {
            "fields": ["title", "content"],
            "like": [{"_id": doc["doc_id"]}],
            "min_term_freq": 1,
            "min_doc_freq": 1,
            "max_query_terms": 25,
        }
    }
    hits = es.search(
        index=alias,
        size=size,
        source={"includes": _SUMMARY_FIELDS},
        query=base_query(principal, must=[similar]),
    )["hits"]["hits"]
    return [dict(hit["_source"]) for hit in hits if hit["_id"] != doc["doc_id"]]
