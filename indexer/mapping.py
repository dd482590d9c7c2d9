"""The document index's mapping, as code, with a schema version.

Never change a mapping in place: bump SCHEMA_VERSION, and `indexer.migration.migrate` builds
the new index behind the aliases and swaps them atomically.

Analysis comes from our `foi-analysis` Elasticsearch plugin (devstack/es_plugin): `foi_english`
(possessives, lowercase, ASCII folding, Porter stemming; no stop words, since officers search
phrases like "not held") and `foi_exact` (the same without stemming).
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 4
MAX_ANALYZED_OFFSET = 1_000_000

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_LOWER_KEYWORD = {"type": "keyword", "ignore_above": 1024, "normalizer": "foi_lower"}


def _text_with_exact(**extra: Any) -> dict[str, Any]:
    return {
        "type": "text",
        "analyzer": "foi_english",
        "fields": {"exact": {"type": "text", "analyzer": "foi_exact"}},
        **extra,
    }


SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": {"normalizer": {"foi_lower": {"type": "custom", "filter": ["lowercase"]}}},
    # Deep paging uses search_after, never from/size past this.
    "max_result_window": 10000,
    # Highlighting re-analyses a field without offsets only this far; every highlight request
    # says so too (indexer.search.queries), so a longer document degrades its highlight, not
    # the search.
    "highlight": {"max_analyzed_offset": MAX_ANALYZED_OFFSET},
}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"schema_version": SCHEMA_VERSION},
    "properties": {
        "doc_id": _KEYWORD,
        # "file" for a file on a share, "embedded" for an attachment / zip member inside one.
        "kind": _KEYWORD,
        "container_id": _KEYWORD,
        "root_id": _KEYWORD,
        "embedded_path": _KEYWORD,
        "embedded_depth": {"type": "integer"},
        "source": _KEYWORD,
        "share": _KEYWORD,
        "path": {**_KEYWORD, "fields": {"text": {"type": "text", "analyzer": "foi_exact"}}},
        "unc": {"type": "keyword", "index": False},
        "folder": _KEYWORD,
        # Every ancestor folder ("Planning", "Planning/Applications", ...): the path hierarchy
        # that folder facets drill down through.
        "folders": _KEYWORD,
        "filename": {**_KEYWORD, "fields": {"text": {"type": "text", "analyzer": "foi_exact"}}},
        # The words of the path and file name, split on separators ("Salaries_2024.xlsx" →
        # "Salaries 2024 xlsx"), so a file with no readable text is still found by its name.
        # Added in schema version 2.
        "name_words": _text_with_exact(),
        "extension": _LOWER_KEYWORD,
        "mime_type": _KEYWORD,
        "size": {"type": "long"},
        "sha256": _KEYWORD,
        "file_id": {"type": "keyword"},
        "title": _text_with_exact(),
        "authors": {**_KEYWORD, "fields": {"text": {"type": "text", "analyzer": "foi_exact"}}},
        # The dates a file's own metadata gives (Office, PDF, e-mail), else the share's.
        "created": {"type": "date"},
        "modified": {"type": "date"},
        # The share's own creation and last-write times of the file (schema version 4): what
        # retention triggers count from, since dates written inside a file can be anything.
        "share_created": {"type": "date"},
        "share_modified": {"type": "date"},
        "crawled": {"type": "date"},
        "page_count": {"type": "integer"},
        "language": _KEYWORD,
        "email_from": _LOWER_KEYWORD,
        "email_to": _LOWER_KEYWORD,
        "email_cc": _LOWER_KEYWORD,
        "email_subject": _text_with_exact(),
        "email_date": {"type": "date"},
        # Offsets in the postings let the unified highlighter work on large documents without
        # re-analysing them.
        "content": _text_with_exact(index_options="offsets"),
        "content_chars": {"type": "integer"},
        "status": _KEYWORD,
        "status_reason": {"type": "text", "analyzer": "standard"},
        "acl_owner": _KEYWORD,
        "acl_allow": _KEYWORD,
        "acl_deny": _KEYWORD,
        "acl_status": _KEYWORD,
        "duplicate_of": _KEYWORD,
        "copies": {"type": "integer"},
        "deleted": {"type": "boolean"},
        # Records management (schema version 3). Held: ids of the unreleased holds covering
        # the file this document lives in (maintained by retention/, copied on every write).
        "hold_ids": _KEYWORD,
        "held": {"type": "boolean"},
        # A held version of a file that later changed at source: the live document's id, and
        # when the change was found. The bytes are in the preservation store (by sha256).
        "version_of": _KEYWORD,
        "superseded": {"type": "date"},
        "retention_class": _KEYWORD,
        "retention_action": _KEYWORD,
        "disposal_date": {"type": "date"},
        "retention_reason": {"type": "keyword", "index": False},
        # A destroyed record's stub: its content is gone, these say when, why and how.
        "destroyed": {"type": "date"},
        "destruction_class": _KEYWORD,
        "destruction_authority": {"type": "keyword", "index": False},
        "destruction_method": {"type": "keyword", "index": False},
        "disposal_batch": {"type": "integer"},
        "schema_version": {"type": "integer"},
    },
}


def index_body() -> dict[str, Any]:
    return {"settings": SETTINGS, "mappings": MAPPINGS}
