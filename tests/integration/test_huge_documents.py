"""Searches answer whatever the size of the documents they match (issue 12, item 6).

Extraction keeps up to 5,000,000 characters of a document, and Elasticsearch re-analyses a
field to highlight it only up to `index.highlight.max_analyzed_offset` (1,000,000): past it,
a highlighted search used to fail as a whole, for everyone, as soon as one such document
matched. Highlighting now stops at the limit (a match further in is found, not highlighted).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from tests.access_stack import AccessStack, access_stack

HUGE = "Reports/huge register.txt"
SMALL = "Reports/small note.txt"
_FILLER = "the council minutes record ordinary business of the committee meeting today\n"


def _huge_text() -> bytes:
    head = "Opening: the riverside regeneration scheme was approved in principle.\n"
    tail = "Closing: the wombat crossing was noted at the very end of the register.\n"
    body = _FILLER * (3_000_000 // len(_FILLER))
    return (head + body + tail).encode()


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory, es: Elasticsearch) -> Iterator[AccessStack]:
    tmp = tmp_path_factory.mktemp("huge")
    with access_stack(tmp, es, "huge", max_extracted_chars=5_000_000) as built:
        built.write(HUGE, _huge_text())
        built.write(SMALL, b"A short note on the riverside regeneration and the wombat crossing.\n")
        counts = built.crawl()
        assert counts.by_status == {"ok": 2}
        doc = built.harness.doc(HUGE)
        assert doc["content_chars"] > 3_000_000
        yield built


QUERIES = [
    '"riverside regeneration"',  # a phrase within the first million characters
    "regenerat*",  # a prefix
    "riversdie~",  # a fuzzy word
    '"wombat crossing"',  # a phrase found only past the highlighting limit
    "wombat",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_web_search_answers_and_lists_the_huge_document(
    access: AccessStack, query: str
) -> None:
    for user in ("olive", "clerk"):
        response = access.signed_in(user).get("/", query_string={"q": query})
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "could not be run" not in page and "not available" not in page
        assert f"/documents/{access.doc_id(HUGE)}" in page, (user, query)


@pytest.mark.parametrize("query", QUERIES)
def test_the_api_search_answers_and_highlights_what_it_can(access: AccessStack, query: str) -> None:
    client = access.app.test_client()
    response = client.get(
        "/api/v1/search", query_string={"q": query}, headers=access.api_headers("clerk")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    hits = {hit["doc_id"]: hit for hit in response.get_json()["hits"]}
    assert access.doc_id(HUGE) in hits
    if "wombat" in query:
        assert access.doc_id(SMALL) in hits
        assert any("<mark>" in h for h in hits[access.doc_id(SMALL)]["highlights"])
    else:
        # Matched within the highlighting limit: highlighted as any document is.
        assert any("<mark>" in h for h in hits[access.doc_id(HUGE)]["highlights"]), hits
