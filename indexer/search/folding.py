"""Folding identical copies into one result (see indexer.search.queries): which documents can stand
for others, and the request that counts, for a page's hashes, how many match and which comes
first in page order."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

# Empty files all share this hash without being copies of one another.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def foldable(source: Mapping[str, Any]) -> str:
    """The hash a file shares with its identical copies, or "" when it has none to share."""
    sha = source.get("sha256") or ""
    if source.get("kind") != "file" or not isinstance(sha, str) or sha == EMPTY_SHA256:
        return ""
    return sha


def copy_groups_body(
    body: Mapping[str, Any], raw_hits: Sequence[Any], sort: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The request counting, for each hash among `raw_hits`, how many documents match and
    which is first in page order, inside the same ACL-trimmed query and facet choices as the
    page. None when no hit can have copies."""
    hashes = sorted({sha for raw in raw_hits if (sha := foldable(raw["_source"]))})
    if not hashes:
        return None
    query = body["query"]["bool"]
    narrowed = [body["post_filter"]] if "post_filter" in body else []
    filters = [
        *query["filter"],
        *narrowed,
        {"term": {"kind": "file"}},
        {"terms": {"sha256": hashes}},
    ]
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"bool": {**query, "filter": filters}},
        "aggs": {
            "copies": {
                "terms": {"field": "sha256", "include": hashes, "size": len(hashes)},
                "aggs": {"first": {"top_hits": {"size": 1, "sort": sort, "_source": False}}},
            }
        },
    }


def read_copy_groups(response: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """hash -> (the first matching document's id, how many match)."""
    groups: dict[str, tuple[str, int]] = {}
    for bucket in response["aggregations"]["copies"]["buckets"]:
        [top] = bucket["first"]["hits"]["hits"]
        groups[str(bucket["key"])] = (str(top["_id"]), int(bucket["doc_count"]))
    return groups
