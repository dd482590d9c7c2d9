from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from indexer.search.facets import (
    SAMPLE,
    SAMPLE_ABOVE,
    SAMPLE_DOCS,
    FacetSelection,
    aggregations,
    folder_children_pattern,
    read_facets,
)
from indexer.search.queries import (
    InvalidCursor,
    PageCursor,
    Principal,
    Sort,
    base_query,
    facet_body,
    search_body,
    sort_clauses,
)
from indexer.search.querydsl import EXACT_FIELDS
from indexer.search.querylang import QuerySyntaxError

OFFICER = Principal("olive", (), sees_everything=True)
CLERK = Principal("fred", ("S-1-5-21-9-9-9-1104", "S-1-1-0"), sees_everything=False)
SHA = "a" * 64


def test_front_office_queries_are_trimmed_by_acl() -> None:
    query = base_query(CLERK)
    trim = query["bool"]["filter"][0]["bool"]
    assert trim["filter"] == [{"terms": {"acl_allow": list(CLERK.sids)}}]
    assert trim["must_not"] == [{"terms": {"acl_deny": list(CLERK.sids)}}]


def test_officers_are_not_trimmed_but_deleted_files_are_hidden_unless_held() -> None:
    query = base_query(OFFICER)
    assert query["bool"]["filter"] == []
    [hidden] = query["bool"]["must_not"]
    assert hidden["bool"]["filter"] == [{"term": {"deleted": True}}]
    assert hidden["bool"]["must_not"] == [{"term": {"held": True}}]
    assert base_query(OFFICER, include_deleted=True)["bool"]["must_not"] == []


def test_search_uses_safe_parser_and_exact_phrases() -> None:
    body = search_body('"planning application" -appeal', CLERK)
    text = body["query"]["bool"]["must"][0]["bool"]
    [phrase] = text["must"]
    assert phrase["multi_match"]["type"] == "phrase"
    assert phrase["multi_match"]["fields"] == list(EXACT_FIELDS)
    assert text["must_not"][0]["multi_match"]["query"] == "appeal"
    serialised = json.dumps(body)
    for forbidden in ("query_string", "regexp", "script", "simple_query_string"):
        assert forbidden not in serialised
    assert body["highlight"]["encoder"] == "html"
    assert body["query"]["bool"]["filter"], "trimming must survive into every search body"


def test_bad_syntax_raises_before_any_body_is_built() -> None:
    with pytest.raises(QuerySyntaxError):
        search_body('"unclosed', CLERK)


def test_facet_choices_narrow_hits_in_post_filter_and_acl_stays_in_query() -> None:
    selection = FacetSelection.from_params(
        {"type": ["pdf", "docx"], "year": ["2023"], "folder": ["Planning"]}
    )
    body = search_body("budget", CLERK, selection=selection)
    assert body["query"]["bool"]["filter"] == base_query(CLERK)["bool"]["filter"]
    post = body["post_filter"]["bool"]["filter"]
    assert {"terms": {"extension": ["pdf", "docx"]}} in post
    assert {"term": {"folders": "Planning"}} in post
    counts = facet_body(body["query"], selection, total=100)
    assert counts["query"] == body["query"] and counts["size"] == 0
    aggs = counts["aggs"]
    # A facet's own choices do not narrow its own counts (multi-select)...
    type_filter = aggs["type"]["filter"]["bool"]["filter"]
    assert {"terms": {"extension": ["pdf", "docx"]}} not in type_filter
    assert {"term": {"folders": "Planning"}} in type_filter
    # ...but narrow every other facet's.
    assert {"terms": {"extension": ["pdf", "docx"]}} in aggs["author"]["filter"]["bool"]["filter"]
    assert aggs["type"]["aggs"]["chosen"]["terms"]["include"] == ["pdf", "docx"]
    assert aggs["folder"]["aggs"]["values"]["terms"]["include"] == "Planning/[^/]+"


def test_no_choices_means_no_post_filter() -> None:
    body = search_body("budget", OFFICER)
    assert "post_filter" not in body
    aggs = facet_body(body["query"], FacetSelection(), total=100)["aggs"]
    assert aggs["source"]["filter"] == {"match_all": {}}


def test_facets_over_many_results_are_sampled_except_status_holds_and_duplicates() -> None:
    selection = FacetSelection.from_params({"type": ["pdf"]})
    exact = facet_body({"match_all": {}}, selection, total=SAMPLE_ABOVE)["aggs"]
    assert SAMPLE not in exact and "type" in exact
    aggs = facet_body({"match_all": {}}, selection, total=SAMPLE_ABOVE * 4)["aggs"]
    sampler = aggs[SAMPLE]["random_sampler"]
    assert sampler["probability"] == SAMPLE_DOCS / (SAMPLE_ABOVE * 4) < 0.5
    assert set(aggs) == {SAMPLE, "status", "duplicate", "hold"}
    # The sampled facets are the same aggregations as when counted exactly.
    assert aggs[SAMPLE]["aggs"]["type"] == exact["type"]
    assert set(aggs[SAMPLE]["aggs"]) | {"status", "duplicate", "hold"} == set(exact)


def test_sampled_facet_counts_are_marked_approximate() -> None:
    def terms(*pairs: tuple[str, int]) -> dict[str, Any]:
        return {"values": {"buckets": [{"key": k, "doc_count": n} for k, n in pairs]}}

    def filters(of: int, **counts: int) -> dict[str, Any]:
        buckets = {k: {"doc_count": n} for k, n in counts.items()}
        return {"doc_count": of, "values": {"buckets": buckets}}

    sampled = {
        name: terms(("x", 1200))
        for name in ("source", "type", "author", "owner", "class", "folder")
    }
    sampled["year"] = {"values": {"buckets": [{"key_as_string": "2020", "doc_count": 900}]}}
    response = {
        SAMPLE: {"doc_count": 10_000, **sampled},
        "status": terms(("encrypted", 3)),
        "duplicate": filters(5, copy=0),
        "hold": filters(5, held=2, destroyed=0),
    }
    facets = read_facets(response, FacetSelection())
    by_name = {f.name: f for f in facets.facets}
    assert facets.folders.approximate and by_name["source"].approximate
    assert by_name["year"].values[0].count == 900 and by_name["year"].approximate
    assert not by_name["status"].approximate and by_name["status"].values[0].count == 3
    assert not by_name["hold"].approximate
    # "Not a copy" and "Not on hold" are the rest of the facet's documents.
    assert [(v.value, v.count) for v in by_name["duplicate"].values] == [("original", 5)]
    assert [(v.value, v.count) for v in by_name["hold"].values] == [("held", 2), ("not_held", 3)]
    exact = read_facets(
        {**sampled, **{k: v for k, v in response.items() if k != SAMPLE}}, FacetSelection()
    )
    assert not any(f.approximate for f in exact.facets) and not exact.folders.approximate


def test_malformed_facet_parameters_are_dropped() -> None:
    selection = FacetSelection.from_params(
        {
            "year": ["20x3", "0999", "2023", "2023"],
            "duplicate": ["maybe", "copy"],
            "same": ["not-a-hash"],
            "type": ["", "x" * 2000, "pdf"],
            "script": ["anything"],
        }
    )
    assert selection.chosen == (("type", ("pdf",)), ("year", ("2023",)), ("duplicate", ("copy",)))
    assert selection.same_content == ""
    assert FacetSelection.from_params({"same": [SHA.upper()]}).same_content == SHA


def test_selection_round_trips_and_toggles() -> None:
    selection = FacetSelection.from_params({"type": ["pdf"], "folder": ["/A/B/"]})
    assert selection.folder == "A/B"
    assert FacetSelection.from_params(selection.params()) == selection
    added = selection.toggled("type", "docx").toggled("author", "Jo")
    assert added.values("type") == ("pdf", "docx")
    assert [name for name, _ in added.chosen] == ["type", "author"]
    assert added.toggled("type", "pdf").toggled("type", "docx").values("type") == ()
    assert selection.in_folder("").folder == ""


@pytest.mark.parametrize(
    ("folder", "pattern"),
    [
        ("", "[^/]+"),
        ("Planning", "Planning/[^/]+"),
        ("A.b/x|y*", "A\\.b\\/x\\|y\\*/[^/]+"),
        ('Q&A (2023) "final"~#@<>', 'Q\\&A\\ \\(2023\\)\\ \\"final\\"\\~\\#\\@\\<\\>/[^/]+'),
    ],
)
def test_folder_pattern_escapes_every_regex_operator(folder: str, pattern: str) -> None:
    assert folder_children_pattern(folder) == pattern


def test_duplicate_and_year_choices() -> None:
    selection = FacetSelection.from_params({"duplicate": ["copy"], "year": ["2022", "2023"]})
    clauses = selection.filters()
    assert clauses[0]["bool"]["should"][0]["range"]["modified"]["gte"] == "2022-01-01"
    assert clauses[0]["bool"]["should"][1]["range"]["modified"]["lt"] == "2024-01-01"
    assert clauses[1] == {"exists": {"field": "duplicate_of"}}
    aggs = aggregations(selection)
    assert aggs["year"]["aggs"]["values"]["date_histogram"]["calendar_interval"] == "year"


@pytest.mark.parametrize(
    ("sort", "forward", "backward"),
    [
        (
            Sort.RELEVANCE,
            [{"_score": "desc"}, {"doc_id": "asc"}],
            [{"_score": "asc"}, {"doc_id": "desc"}],
        ),
        (
            Sort.NEWEST,
            [{"modified": {"order": "desc", "missing": "_last"}}, {"doc_id": "asc"}],
            [{"modified": {"order": "asc", "missing": "_first"}}, {"doc_id": "desc"}],
        ),
        (
            Sort.OLDEST,
            [{"modified": {"order": "asc", "missing": "_last"}}, {"doc_id": "asc"}],
            [{"modified": {"order": "desc", "missing": "_first"}}, {"doc_id": "desc"}],
        ),
    ],
)
def test_sorts_are_total_and_reversible(
    sort: Sort, forward: list[dict[str, Any]], backward: list[dict[str, Any]]
) -> None:
    assert sort_clauses(sort) == forward
    assert sort_clauses(sort, reverse=True) == backward


def test_cursor_round_trips_and_sets_search_after() -> None:
    cursor = PageCursor(Sort.RELEVANCE, (1.25, "abc"))
    assert PageCursor.from_token(cursor.token(), Sort.RELEVANCE) == cursor
    back = PageCursor(Sort.NEWEST, (-(2**63), "abc"), before=True)
    assert PageCursor.from_token(back.token(), Sort.NEWEST) == back
    body = search_body("x", OFFICER, sort=Sort.NEWEST, cursor=back)
    assert body["search_after"] == [-(2**63), "abc"]
    assert body["sort"] == sort_clauses(Sort.NEWEST, reverse=True)


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "!!!",
        "a" * 1000,
        "bm90IGpzb24",  # "not json"
        _token([1, "x"]),
        _token({"s": "relevance", "d": "a", "v": [1.0]}),
        _token({"s": "relevance", "d": "a", "v": [1.0, "x"], "extra": 1}),
        _token({"s": "relevance", "d": "sideways", "v": [1.0, "x"]}),
        _token({"s": "relevance", "d": "a", "v": ["1.0", "x"]}),
        _token({"s": "relevance", "d": "a", "v": [True, "x"]}),
        _token({"s": "relevance", "d": "a", "v": [1.0, 7]}),
        _token({"s": "relevance", "d": "a", "v": [1.0, "x" * 500]}),
        _token({"s": "relevance", "d": "a", "v": [{"script": "x"}, "x"]}),
        _token({"s": "newest", "d": "a", "v": [1, "x"]}),  # another sort's cursor
        base64.urlsafe_b64encode(b'{"s":"relevance","d":"a","v":[NaN,"x"]}').decode(),
        base64.urlsafe_b64encode(b'{"s":"relevance","d":"a","v":[1e999,"x"]}').decode(),
    ],
)
def test_malformed_cursors_are_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        PageCursor.from_token(token.rstrip("="), Sort.RELEVANCE)


@pytest.mark.parametrize("value", [1.5, 2**63, -(2**63) - 1, True])
def test_date_cursors_take_only_longs(value: object) -> None:
    with pytest.raises(InvalidCursor):
        PageCursor.from_token(_token({"s": "oldest", "d": "a", "v": [value, "x"]}), Sort.OLDEST)
