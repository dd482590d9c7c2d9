"""What a search highlights when its words expand: fuzzy words (`recieve~`).

Why this exists: Lucene's unified highlighter finds a fuzzy query's matches in a hit by running
the query's automaton over *every term of the field in the segment* (without term vectors it
cannot ask one document for its terms), once per hit and per field. On 200,000 documents that
is 10-20 ms per hit, most of a fuzzy search's time (docs/benchmarks-search.md). The term
suggester finds the same nearby words by intersecting the automaton with the term dictionary
once, in a few milliseconds; highlighting those words as plain terms then costs what any word
search costs.

Invariants:
- The highlight is a hint; the hits are always the fuzzy query's own. The suggester is asked
  for what the query expands to (same edit distance, prefix length and cap), per highlighted
  field, and the word as typed (analysed) is always included.
- Only fuzzy words change: everything else in the query highlights as it always did.
- A suggester failure costs the highlight, never the search (the fuzzy query highlights itself,
  slowly, as before).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from indexer.search.querydsl import FUZZY_EXPANSIONS, compile_query
from indexer.search.querylang import AllOf, AnyOf, Fuzzy, Node

log = logging.getLogger(__name__)

# The highlighted text fields a fuzzy word reaches (content.exact is not searched by fuzzy words).
FUZZY_HIGHLIGHT_FIELDS = ("content", "title", "email_subject")
# Elasticsearch's AUTO fuzziness: no edits up to 2 characters, 1 up to 5, then 2.
_AUTO_ONE_EDIT_FROM = 3
_AUTO_TWO_EDITS_FROM = 6


def fuzzy_words(node: Node | None) -> list[Fuzzy]:
    """The fuzzy words that can match (those under NOT never highlight), in query order."""
    return list(dict.fromkeys(_positive_fuzzy(node))) if node is not None else []


def _positive_fuzzy(node: Node) -> Iterator[Fuzzy]:
    if isinstance(node, Fuzzy):
        yield node
    elif isinstance(node, AllOf | AnyOf):
        for child in node.children:
            yield from _positive_fuzzy(child)
    # Not: excluded words are not in the hits.


def max_edits(word: Fuzzy, term: str | None = None) -> int:
    """The edits the fuzzy query allows for `term` (the word as analysed; the typed word when
    not known). AUTO counts the analysed term's length, as Elasticsearch does: "running~" is
    the term "run", so one edit, not two."""
    if word.fuzziness in ("1", "2"):
        return int(word.fuzziness)
    length = len(word.text if term is None else term)
    if length >= _AUTO_TWO_EDITS_FROM:
        return 2
    return 1 if length >= _AUTO_ONE_EDIT_FROM else 0


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance counting a swap of two neighbours as one edit (optimal string
    alignment), as Lucene's fuzzy query does with transpositions on."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def suggest_body(words: list[Fuzzy]) -> dict[str, Any]:
    """One term suggester per fuzzy word and field, named `w<i>:<field>`."""
    body: dict[str, Any] = {}
    for i, word in enumerate(words):
        # The analysed term's length is not known yet (stemming shortens a word, folding "æ"
        # lengthens it), so ask for the most the query could allow; the answers are then cut
        # to what the analysed term allows (`read_expansions`).
        explicit = word.fuzziness in ("1", "2")
        if not explicit and len(word.text) < 2:
            continue  # one character: nothing to expand, the word highlights itself
        edits = int(word.fuzziness) if explicit else 2
        for field in FUZZY_HIGHLIGHT_FIELDS:
            body[f"w{i}:{field}"] = {
                "text": word.text,
                "term": {
                    "field": field,
                    "suggest_mode": "always",  # also for words that are in the index
                    "max_edits": edits,
                    "prefix_length": 1,  # as the fuzzy query (indexer.search.querydsl)
                    "min_word_length": 1,
                    "size": FUZZY_EXPANSIONS,
                    "accuracy": 0.01,  # max_edits is the bound, not a similarity score
                    # By default a word in more than 1% of documents gets no suggestions.
                    "max_term_freq": 2**31 - 1,
                },
            }
    return body


def read_expansions(
    words: list[Fuzzy], suggest: Mapping[str, Any]
) -> dict[Fuzzy, dict[str, tuple[str, ...]]]:
    """Each fuzzy word's index terms per field: the analysed word itself and its neighbours."""
    expanded: dict[Fuzzy, dict[str, tuple[str, ...]]] = {}
    for i, word in enumerate(words):
        per_field: dict[str, tuple[str, ...]] = {}
        for field in FUZZY_HIGHLIGHT_FIELDS:
            entries = suggest.get(f"w{i}:{field}")
            if entries is None:
                continue
            terms: dict[str, None] = {}
            for entry in entries:
                term = str(entry["text"])
                allowed = max_edits(word, term)
                terms[term] = None
                for option in entry.get("options", ()):
                    if edit_distance(term, str(option["text"])) <= allowed:
                        terms[str(option["text"])] = None
            per_field[field] = tuple(terms)
        if per_field:
            expanded[word] = per_field
    return expanded


def highlight_query(es: Elasticsearch, index: str, node: Node | None) -> dict[str, Any] | None:
    """The query to highlight `node`'s hits with, or None when the search query itself will do
    (no fuzzy words, or the suggester could not be asked)."""
    words = fuzzy_words(node)
    body = suggest_body(words)
    if node is None or not body:
        return None
    try:
        response = es.search(index=index, size=0, track_total_hits=False, suggest=body)
    except (ApiError, TransportError) as exc:
        log.warning("fuzzy highlighting falls back to the search query: %s", exc)
        return None
    return compile_query(node, expanded=read_expansions(words, response.get("suggest", {})))
