"""Highlighting fuzzy words from their expansions (indexer.search.highlights): pure logic. The
integration test in tests/integration/test_search_features.py checks it against Elasticsearch."""

from __future__ import annotations

from indexer.search.highlights import (
    FUZZY_HIGHLIGHT_FIELDS,
    edit_distance,
    fuzzy_words,
    max_edits,
    read_expansions,
    suggest_body,
)
from indexer.search.querydsl import FUZZY_EXPANSIONS, compile_query
from indexer.search.querylang import Fuzzy, parse


def test_only_fuzzy_words_that_can_match_are_expanded() -> None:
    node = parse("recieve~ (planing~ OR budget) -councel~ recieve~")
    assert fuzzy_words(node) == [Fuzzy("recieve", "AUTO"), Fuzzy("planing", "AUTO")]
    assert fuzzy_words(parse("budget")) == []
    assert fuzzy_words(None) == []


def test_edits_follow_elasticsearch_auto_fuzziness() -> None:
    assert [max_edits(Fuzzy(w, "AUTO")) for w in ("ab", "abc", "abcde", "abcdef")] == [0, 1, 1, 2]
    assert max_edits(Fuzzy("abcdefgh", "1")) == 1
    assert max_edits(Fuzzy("ab", "2")) == 2


def test_suggesters_ask_for_what_the_fuzzy_query_expands_to() -> None:
    words = [Fuzzy("planing", "AUTO"), Fuzzy("a", "AUTO")]
    body = suggest_body(words)
    # Words too short to expand get no suggester; each other word one per highlighted field.
    assert sorted(body) == sorted(f"w0:{f}" for f in FUZZY_HIGHLIGHT_FIELDS)
    term = body["w0:content"]["term"]
    assert body["w0:content"]["text"] == "planing"
    assert term["max_edits"] == 2 and term["prefix_length"] == 1
    assert term["size"] == FUZZY_EXPANSIONS and term["suggest_mode"] == "always"


def test_expansions_include_the_analysed_word_and_compile_to_terms() -> None:
    word = Fuzzy("planing", "AUTO")
    suggest = {
        "w0:content": [{"text": "plane", "options": [{"text": "plan"}, {"text": "plant"}]}],
        "w0:title": [{"text": "plane", "options": []}],
        "w0:email_subject": [],
    }
    expanded = read_expansions([word], suggest)
    assert expanded[word] == {
        "content": ("plane", "plan", "plant"),
        "title": ("plane",),
        "email_subject": (),
    }
    node = parse("planing~ -appeal")
    assert node is not None
    query = compile_query(node, expanded=expanded)
    [highlighted] = query["bool"]["must"]
    assert highlighted == {
        "bool": {
            "should": [
                {"terms": {"content": ["plane", "plan", "plant"]}},
                {"terms": {"title": ["plane"]}},
            ]
        }
    }
    # Without expansions the fuzzy query is compiled as always.
    assert "fuzziness" in compile_query(node)["bool"]["must"][0]["multi_match"]


def test_a_word_with_nothing_in_the_index_highlights_nothing() -> None:
    word = Fuzzy("zzzz", "AUTO")
    expanded = read_expansions([word], {f"w0:{f}": [] for f in FUZZY_HIGHLIGHT_FIELDS})
    assert compile_query(word, expanded=expanded) == {"match_none": {}}


def test_edits_count_the_analysed_term_and_cut_the_suggestions() -> None:
    word = Fuzzy("running", "AUTO")  # analysed to "run": one edit, not two
    assert max_edits(word) == 2 and max_edits(word, "run") == 1
    suggest = {
        "w0:content": [
            {
                "text": "run",
                "options": [
                    {"text": "rum"},
                    {"text": "ran"},
                    {"text": "rube"},
                    {"text": "rnu"},
                    {"text": "rust"},
                ],
            }
        ],
    }
    expanded = read_expansions([word], suggest)
    # "rube" is two edits from "run"; "rnu" is a swap (one edit); "rust" two.
    assert expanded[word]["content"] == ("run", "rum", "ran", "rnu")


def test_edit_distance_counts_a_swap_as_one_edit() -> None:
    assert edit_distance("recieve", "receive") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert edit_distance("ca", "abc") == 3  # optimal string alignment, not full Damerau
