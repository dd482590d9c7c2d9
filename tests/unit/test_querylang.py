"""The search box's query language: syntax trees, compiled bodies as plain dicts, and what
hostile or mistyped input gets (a QuerySyntaxError with a message and position, nothing else)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.search.querydsl import (
    EXACT_FIELDS,
    FUZZY_EXPANSIONS,
    MAX_EXPANSIONS,
    TEXT_FIELDS,
    compile_query,
)
from indexer.search.querylang import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    AllOf,
    AnyOf,
    DateRange,
    FieldMatch,
    Fuzzy,
    Not,
    Phrase,
    Prefix,
    QuerySyntaxError,
    Word,
    parse,
)

# Every field a compiled query may name, and every query type it may use.
ALLOWED_FIELDS = {f.split("^")[0] for f in (*TEXT_FIELDS, *EXACT_FIELDS)} | {
    "authors",
    "path",
    "extension",
    "mime_type",
    "email_from",
    "email_to",
    "email_subject.exact",
    "modified",
}
ALLOWED_QUERIES = {
    "bool",
    "multi_match",
    "match",
    "match_phrase",
    "match_phrase_prefix",
    "term",
    "terms",
    "prefix",
    "wildcard",
    "range",
    "constant_score",
}


def _error(text: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    assert caught.value.message
    return caught.value


def _fields_and_queries(node: Any, fields: set[str], queries: set[str]) -> None:
    """Walk a compiled query, collecting the query types and the fields they name."""
    if isinstance(node, list):
        for item in node:
            _fields_and_queries(item, fields, queries)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ALLOWED_QUERIES or key.endswith("_query") or key in {"script", "regexp"}:
            queries.add(key)
            if key in {"term", "terms", "prefix", "wildcard", "range", "match"} or key.startswith(
                "match_phrase"
            ):
                fields.update(value)
            if key == "multi_match":
                fields.update(f.split("^")[0] for f in value["fields"])
        _fields_and_queries(value, fields, queries)


def _compiled(text: str) -> dict[str, Any]:
    node = parse(text)
    assert node is not None
    return compile_query(node)


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("noise", Word("noise")),
        ("noise complaint", AllOf((Word("noise"), Word("complaint")))),
        ("noise AND complaint", AllOf((Word("noise"), Word("complaint")))),
        ('"flood risk"', Phrase("flood risk")),
        ("“flood  risk”", Phrase("flood risk")),  # Word's curly quotes, spaces squeezed
        ("a OR b c", AnyOf((Word("a"), AllOf((Word("b"), Word("c")))))),
        ("(a OR b) c", AllOf((AnyOf((Word("a"), Word("b"))), Word("c")))),
        ("a -b", AllOf((Word("a"), Not(Word("b"))))),
        ("a NOT b", AllOf((Word("a"), Not(Word("b"))))),
        ("NOT NOT a", Not(Not(Word("a")))),
        ('-"draft copy"', Not(Phrase("draft copy"))),
        ("-(a OR b)", Not(AnyOf((Word("a"), Word("b"))))),
        ("plann*", Prefix("plann")),
        ("licence~", Fuzzy("licence", "AUTO")),
        ("licence~1", Fuzzy("licence", "1")),
        ("flood-risk", Word("flood-risk")),
        ("a - b & c", AllOf((Word("a"), Word("b"), Word("c")))),  # lone punctuation dropped
        ("*:* budget", Word("budget")),
        ("and or not", AllOf((Word("and"), Word("or"), Word("not")))),  # only capitals operate
        ("Re: 10:30", AllOf((Word("Re:"), Word("10:30")))),
        ("author:smith", FieldMatch("author", "smith", "word")),
        ('AUTHOR:"Jo Smith"', FieldMatch("author", "Jo Smith", "phrase")),
        ("author:smi*", FieldMatch("author", "smi", "prefix")),
        ("-type:pdf", Not(FieldMatch("type", "pdf", "word"))),
        ("from:jo@x.gov.uk", FieldMatch("from", "jo@x.gov.uk", "word")),
        ("path:Planning/Apps", FieldMatch("path", "Planning/Apps", "word")),
        ("modified:2023", DateRange(date(2023, 1, 1), date(2024, 1, 1))),
        ("modified:2023-02", DateRange(date(2023, 2, 1), date(2023, 3, 1))),
        ("modified:2023-12", DateRange(date(2023, 12, 1), date(2024, 1, 1))),
        ("modified:2024-02-29", DateRange(date(2024, 2, 29), date(2024, 3, 1))),
        ("modified:2021..2022-06", DateRange(date(2021, 1, 1), date(2022, 7, 1))),
        ("modified:2021..", DateRange(date(2021, 1, 1), None)),
        ("modified:..2021", DateRange(None, date(2022, 1, 1))),
        ("before:2023-04", DateRange(None, date(2023, 4, 1))),
        ("after:2023-04", DateRange(date(2023, 4, 1), None)),
        ('modified:"2023"', DateRange(date(2023, 1, 1), date(2024, 1, 1))),
    ],
)
def test_parses(text: str, tree: Any) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07"])
def test_nothing_to_search_for(text: str) -> None:
    assert parse(text) is None


@pytest.mark.parametrize("text", ["*:*", "*", "-", "& ? !", "~"])
def test_only_symbols_is_refused_not_matched_to_everything(text: str) -> None:
    assert "words or numbers" in _error(text).message


# ---------------------------------------------------------------- errors users see


@pytest.mark.parametrize(
    ("text", "position", "says"),
    [
        ('"planning app', 1, "not closed"),
        ('a "b" "c', 7, "not closed"),
        ("(a OR b", 1, "not closed"),
        ("((a)", 1, "not closed"),
        ("(", 1, "not closed"),
        ("a)", 2, "no opening bracket"),
        (")", 1, "no opening bracket"),
        ("()", 1, "nothing in them"),
        ('""', 1, "no words"),
        ('"  !! "', 1, "no words"),
        ("a OR", 3, "after it"),
        ("OR a", 1, "before it"),
        ("a AND AND b", 3, "after it"),
        ("a AND OR b", 3, "after it"),
        ("NOT", 1, "after it"),
        ("a NOT", 3, "after it"),
        ("(a NOT)", 4, "after it"),
        ("pl*", 1, "at least 3"),
        ("*plan", 1, "end of a word"),
        ("pl*n", 1, "end of a word"),
        ("plan**", 1, "end of a word"),
        ("word~3", 1, "1 or 2"),
        ("word~0", 1, "1 or 2"),
        ("_source:x", 1, "no field"),
        ("script:x", 1, "no field"),
        ("content:x", 1, "no field"),
        ("acl_allow:S-1-1-0", 1, "no field"),
        ('autor:"jo"', 1, "no field"),
        ("a http://x.gov.uk", 3, "no field"),
        ("author:", 1, "straight after"),
        ("author: smith", 1, "straight after"),
        ("author:(a OR b)", 1, "straight after"),
        ("type:pdf*", 6, "does not take"),
        ("modified:2023*", 10, "YYYY"),
        ("author:jo~", 8, "plain words"),
        ("author:&&", 8, "letters or digits"),
        ("type:<script>", 6, "file type"),
        ("modified:yesterday", 10, "YYYY"),
        ("modified:2023-13", 10, "not a real date"),
        ("modified:2023-02-30", 10, "not a real date"),
        ("modified:0999", 10, "not a real date"),
        ("modified:..", 10, "at least one end"),
        ("modified:2024..2023", 10, "ends before it starts"),
        ("after:2023..2024", 7, "YYYY"),
        ("modified:2023..2024-1x", 16, "YYYY"),
    ],
)
def test_friendly_errors_with_positions(text: str, position: int, says: str) -> None:
    error = _error(text)
    assert error.position == position, error.message
    assert says in error.message


def test_unknown_field_lists_the_real_ones_and_how_to_search_literally() -> None:
    message = _error("_source:secret").message
    assert "author:" in message
    assert "modified:" in message
    assert '"_source:secret"' in message


def test_quoting_makes_field_syntax_text() -> None:
    assert parse('"_source:x"') == Phrase("_source:x")
    assert parse('"script:x" "*:* a"') == AllOf((Phrase("script:x"), Phrase("*:* a")))


def test_length_limit() -> None:
    assert parse("a" * MAX_QUERY_CHARS) == Word("a" * MAX_QUERY_CHARS)
    error = _error("a" * (MAX_QUERY_CHARS + 1))
    assert str(MAX_QUERY_CHARS) in error.message


def test_term_limit() -> None:
    assert parse(" ".join(["w"] * MAX_TERMS)) is not None
    error = _error(" ".join(["w"] * (MAX_TERMS + 1)))
    assert error.position == 2 * MAX_TERMS + 1


def test_depth_limit() -> None:
    assert parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH) == Word("a")
    assert "too deeply" in _error("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)).message
    assert "too deeply" in _error("NOT " * (MAX_DEPTH + 1) + "a").message
    assert "too deeply" in _error("-" * (MAX_DEPTH + 1) + "a").message
    assert parse("(a) (b) (c) (d) (e) (f) (g) (h) (i) (j)") is not None, "depth, not count"


def test_control_characters_are_spaces() -> None:
    assert parse("a\x00b\tc\nd") == AllOf((Word("a"), Word("b"), Word("c"), Word("d")))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab :*~-()"\\AORNDT_.^$/\u201c1\x00'), max_size=60))
def test_any_input_parses_or_is_a_friendly_error(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError as error:
        assert error.message
        assert error.position is None or 1 <= error.position <= len(text)
        return
    if node is not None:
        fields: set[str] = set()
        queries: set[str] = set()
        _fields_and_queries(compile_query(node), fields, queries)
        assert fields <= ALLOWED_FIELDS
        assert queries <= ALLOWED_QUERIES


# ---------------------------------------------------------------- compiled bodies


def test_words_must_all_match_somewhere() -> None:
    assert _compiled("noise") == {
        "multi_match": {
            "query": "noise",
            "fields": list(TEXT_FIELDS),
            "type": "best_fields",
            "operator": "and",
        }
    }
    both = _compiled("noise complaint")
    assert [c["multi_match"]["query"] for c in both["bool"]["must"]] == ["noise", "complaint"]
    assert "must_not" not in both["bool"]


def test_phrases_use_the_unstemmed_fields() -> None:
    assert _compiled('"flood risk"') == {
        "multi_match": {"query": "flood risk", "fields": list(EXACT_FIELDS), "type": "phrase"}
    }
    assert "title.exact^3" in EXACT_FIELDS
    assert "content.exact" in EXACT_FIELDS


def test_boolean_structure() -> None:
    compiled = _compiled("(noise OR odour) -draft")
    should = compiled["bool"]["must"][0]["bool"]
    assert should["minimum_should_match"] == 1
    assert [c["multi_match"]["query"] for c in should["should"]] == ["noise", "odour"]
    assert compiled["bool"]["must_not"][0]["multi_match"]["query"] == "draft"
    assert _compiled("-draft") == {"bool": {"must_not": [_compiled("draft")]}}


def test_prefix_and_fuzzy_are_capped() -> None:
    assert _compiled("plann*") == {
        "multi_match": {
            "query": "plann",
            "fields": list(EXACT_FIELDS),
            "type": "phrase_prefix",
            "max_expansions": MAX_EXPANSIONS,
        }
    }
    fuzzy = _compiled("licence~2")["multi_match"]
    assert fuzzy["fuzziness"] == "2"
    assert fuzzy["max_expansions"] == FUZZY_EXPANSIONS
    assert fuzzy["fields"] == list(TEXT_FIELDS)


def test_field_filters_compile_to_their_fields() -> None:
    assert _compiled("author:smith") == {
        "bool": {
            "should": [
                {"term": {"authors": "smith"}},
                {"match_phrase": {"authors.text": "smith"}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert _compiled("author:smi*") == {
        "match_phrase_prefix": {"authors.text": {"query": "smi", "max_expansions": MAX_EXPANSIONS}}
    }
    assert _compiled('subject:"tree works"') == {
        "match_phrase": {"email_subject.exact": "tree works"}
    }
    assert _compiled("subject:trees") == {
        "match": {"email_subject": {"query": "trees", "operator": "and"}}
    }
    assert _compiled("from:Jo@X.gov.uk") == {
        "constant_score": {"filter": {"term": {"email_from": "jo@x.gov.uk"}}}
    }
    assert _compiled("to:planning") == {
        "constant_score": {"filter": {"wildcard": {"email_to": {"value": "*planning*"}}}}
    }
    assert _compiled('to:"a?b"') == {
        "constant_score": {"filter": {"wildcard": {"email_to": {"value": "*a\\?b*"}}}}
    }
    assert _compiled("from:jo.b*") == {
        "constant_score": {"filter": {"prefix": {"email_from": {"value": "jo.b"}}}}
    }


def test_path_filters_by_prefix_or_words() -> None:
    assert _compiled("path:\\Planning\\Apps\\") == {
        "bool": {
            "should": [
                {
                    "constant_score": {
                        "filter": {
                            "prefix": {"path": {"value": "Planning/Apps", "case_insensitive": True}}
                        }
                    }
                },
                {"match_phrase": {"path.text": "Planning/Apps"}},
            ],
            "minimum_should_match": 1,
        }
    }


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("type:DOCX", {"terms": {"extension": ["docx"]}}),
        ("type:.docx", {"terms": {"extension": ["docx"]}}),
        (
            "type:application/pdf",
            {"term": {"mime_type": {"value": "application/pdf", "case_insensitive": True}}},
        ),
        (
            "type:email",
            {
                "bool": {
                    "should": [
                        {"terms": {"extension": ["eml", "msg"]}},
                        {"terms": {"mime_type": ["message/rfc822", "application/vnd.ms-outlook"]}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        ),
        ("type:image", {"prefix": {"mime_type": {"value": "image/"}}}),
    ],
)
def test_type_filters(text: str, clause: dict[str, Any]) -> None:
    assert _compiled(text) == {"constant_score": {"filter": clause}}


def test_date_ranges_are_uk_calendar_days() -> None:
    assert _compiled("modified:2023..2024") == {
        "range": {
            "modified": {
                "format": "strict_date",
                "time_zone": "Europe/London",
                "gte": "2023-01-01",
                "lt": "2025-01-01",
            }
        }
    }
    assert "gte" not in _compiled("before:2023")["range"]["modified"]
    assert _compiled("after:2023")["range"]["modified"]["gte"] == "2023-01-01"


@pytest.mark.parametrize(
    "text",
    [
        "noise",
        '"a b" OR (c -d) NOT env*',
        "author:x path:y type:email from:a to:b subject:c modified:2020..2021 before:2022",
        "licence~ plann* -type:pdf",
    ],
)
def test_compiled_queries_reach_only_whitelisted_fields(text: str) -> None:
    fields: set[str] = set()
    queries: set[str] = set()
    _fields_and_queries(_compiled(text), fields, queries)
    assert fields <= ALLOWED_FIELDS, fields - ALLOWED_FIELDS
    assert queries <= ALLOWED_QUERIES, queries - ALLOWED_QUERIES
    assert "script" not in json.dumps(_compiled(text))
