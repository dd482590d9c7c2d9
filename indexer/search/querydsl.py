"""The query language's syntax tree (indexer.search.querylang) compiled to Elasticsearch query DSL.

Contract: the compiled query names only the fields below, and uses only bool, multi_match,
match, match_phrase, match_phrase_prefix, term(s), prefix, wildcard, range, constant_score and
(for highlighting) match_none: no scripts, regular expressions or `query_string`. Prefix and
fuzzy expansions are capped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from indexer.search.querylang import (
    AllOf,
    AnyOf,
    DateRange,
    FieldMatch,
    Fuzzy,
    Node,
    Not,
    Phrase,
    Prefix,
    Word,
)

MAX_EXPANSIONS = 50
# Fuzzy terms expand in every text field at once, and each expansion is highlighted again in
# the content: 20 keeps "recieve~" finding "receive" while halving the cost of a fuzzy search
# on a large index (see docs/benchmarks-search.md).
FUZZY_EXPANSIONS = 20
# Dates the user types are days on a UK calendar, not UTC days.
TIME_ZONE = "Europe/London"

# Free text: stemmed fields, so "applications" finds "application".
TEXT_FIELDS = (
    "title^3",
    "filename.text^2",
    "name_words^2",
    "email_subject^2",
    "content",
    "authors.text",
    "path.text",
)
# Phrases and prefixes: the unstemmed twins of TEXT_FIELDS, so "planning application" is exact
# and "plann*" is not defeated by "planning" having been indexed as its stem "plan".
EXACT_FIELDS = (
    "title.exact^3",
    "filename.text^2",
    "name_words.exact^2",
    "email_subject.exact^2",
    "content.exact",
    "authors.text",
    "path.text",
)

# type: shorthands -> (extensions, MIME types, MIME type prefix)
_TYPE_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "email": (("eml", "msg"), ("message/rfc822", "application/vnd.ms-outlook"), ""),
    "word": (("doc", "docx", "docm", "odt", "rtf"), (), ""),
    "spreadsheet": (("xls", "xlsx", "xlsm", "ods", "csv"), (), ""),
    "excel": (("xls", "xlsx", "xlsm"), (), ""),
    "presentation": (("ppt", "pptx", "odp"), (), ""),
    "powerpoint": (("ppt", "pptx"), (), ""),
    "pdf": (("pdf",), ("application/pdf",), ""),
    "image": ((), (), "image/"),
}
_EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


def compile_query(
    node: Node, *, expanded: Mapping[Fuzzy, Mapping[str, tuple[str, ...]]] | None = None
) -> dict[str, Any]:
    """Elasticsearch query DSL for `node`, reaching only the fields this module names.

    `expanded` is for highlighting only (see indexer.search.highlights): a fuzzy word found there
    compiles to the index terms it was expanded to, per field, instead of a fuzzy query.
    """
    expanded = expanded or {}

    def sub(child: Node) -> dict[str, Any]:
        return compile_query(child, expanded=expanded)

    if isinstance(node, AllOf):
        must = [sub(c) for c in node.children if not isinstance(c, Not)]
        must_not = [sub(c.child) for c in node.children if isinstance(c, Not)]
        clauses: dict[str, Any] = {}
        if must:
            clauses["must"] = must
        if must_not:
            clauses["must_not"] = must_not
        return {"bool": clauses}
    if isinstance(node, AnyOf):
        return {"bool": {"should": [sub(c) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [sub(node.child)]}}
    if isinstance(node, Word):
        return {
            "multi_match": {
                "query": node.text,
                "fields": list(TEXT_FIELDS),
                "type": "best_fields",
                "operator": "and",
            }
        }
    if isinstance(node, Phrase):
        return {"multi_match": {"query": node.text, "fields": list(EXACT_FIELDS), "type": "phrase"}}
    if isinstance(node, Prefix):
        return {
            "multi_match": {
                "query": node.stem,
                "fields": list(EXACT_FIELDS),
                "type": "phrase_prefix",
                "max_expansions": MAX_EXPANSIONS,
            }
        }
    if isinstance(node, Fuzzy) and node in expanded:
        terms = [{"terms": {f: list(t)}} for f, t in sorted(expanded[node].items()) if t]
        return {"bool": {"should": terms}} if terms else {"match_none": {}}
    if isinstance(node, Fuzzy):
        return {
            "multi_match": {
                "query": node.text,
                "fields": list(TEXT_FIELDS),
                "type": "best_fields",
                "operator": "and",
                "fuzziness": node.fuzziness,
                "prefix_length": 1,
                "max_expansions": FUZZY_EXPANSIONS,
            }
        }
    if isinstance(node, DateRange):
        return {"range": {"modified": _range_bounds(node)}}
    return _compile_field(node)


def _range_bounds(node: DateRange) -> dict[str, str]:
    bounds = {"format": "strict_date", "time_zone": TIME_ZONE}
    if node.start is not None:
        bounds["gte"] = node.start.isoformat()
    if node.end is not None:
        bounds["lt"] = node.end.isoformat()
    return bounds


def _any(*clauses: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(clauses), "minimum_should_match": 1}}


def _filter(clause: dict[str, Any]) -> dict[str, Any]:
    """A yes/no match on a keyword: it counts once, whatever the field's statistics."""
    return {"constant_score": {"filter": clause}}


def _compile_field(node: FieldMatch) -> dict[str, Any]:
    value, kind = node.value, node.kind
    if node.field == "author":
        if kind == "prefix":
            return _phrase_prefix("authors.text", value)
        return _any({"term": {"authors": value}}, {"match_phrase": {"authors.text": value}})
    if node.field == "subject":
        if kind == "prefix":
            return _phrase_prefix("email_subject.exact", value)
        if kind == "phrase":
            return {"match_phrase": {"email_subject.exact": value}}
        return {"match": {"email_subject": {"query": value, "operator": "and"}}}
    if node.field == "path":
        folder = value.replace("\\", "/").strip("/")
        prefix = {"prefix": {"path": {"value": folder, "case_insensitive": True}}}
        if kind == "prefix":
            return _any(_filter(prefix), _phrase_prefix("path.text", folder))
        return _any(_filter(prefix), {"match_phrase": {"path.text": folder}})
    if node.field == "type":
        return _filter(_type_clause(value.lower().lstrip(".")))
    # from: and to: hold lower-cased addresses.
    field = "email_from" if node.field == "from" else "email_to"
    address = value.lower()
    if kind == "prefix":
        return _filter({"prefix": {field: {"value": address}}})
    if kind == "word" and _EMAIL_ADDRESS.fullmatch(address):
        return _filter({"term": {field: address}})
    return _filter({"wildcard": {field: {"value": f"*{_escape_wildcard(address)}*"}}})


def _phrase_prefix(field: str, value: str) -> dict[str, Any]:
    return {"match_phrase_prefix": {field: {"query": value, "max_expansions": MAX_EXPANSIONS}}}


def _type_clause(value: str) -> dict[str, Any]:
    if "/" in value:
        return {"term": {"mime_type": {"value": value, "case_insensitive": True}}}
    extensions, mime_types, mime_prefix = _TYPE_GROUPS.get(value, ((value,), (), ""))
    clauses: list[dict[str, Any]] = []
    if extensions:
        clauses.append({"terms": {"extension": list(extensions)}})
    if mime_types:
        clauses.append({"terms": {"mime_type": list(mime_types)}})
    if mime_prefix:
        clauses.append({"prefix": {"mime_type": {"value": mime_prefix}}})
    return clauses[0] if len(clauses) == 1 else _any(*clauses)


def _escape_wildcard(text: str) -> str:
    return re.sub(r"([\\*?])", r"\\\1", text)
