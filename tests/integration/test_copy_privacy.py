"""Identical copies reveal nothing about each other across permissions (issue 12, item 2).

The crawl extracts identical bytes once and copies the extraction to every copy. It used to
copy the original's title too, which for a file without a title of its own is its file name:
a public copy of a restricted file was listed under the restricted file's name, and found by
searching for it, and the API's `duplicate_of` gave the restricted document's id. Each copy now
shows its own name, path, title and dates, and nothing names a document the caller cannot see.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from tests.access_stack import AccessStack, access_stack

SECRET = "HR/Grievance - Jo Bloggs.txt"
PUBLIC = "Public/Canteen menu.txt"
CONTENT = b"Weekly menu: platypus pie, lentil soup and apple crumble.\n"
SECRET_WORDS = ("Grievance", "Bloggs", "HR/")
OLD_TIME = datetime(2019, 3, 4, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory, es: Elasticsearch) -> Iterator[AccessStack]:
    with access_stack(tmp_path_factory.mktemp("copies"), es, "copies") as built:
        # The restricted file is indexed first, so it is the original the copy reuses.
        built.write(SECRET, CONTENT)
        built.disk(SECRET).chmod(0o660)  # no Everyone: the clerk may not see it
        os.utime(built.disk(SECRET), (OLD_TIME, OLD_TIME))
        assert built.crawl().new == 1
        built.write(PUBLIC, CONTENT)  # Everyone may read it
        second = built.crawl()
        assert (second.new, second.reused, second.extracted) == (1, 1, 0)
        copy = built.harness.doc(PUBLIC)
        assert copy["duplicate_of"] == built.doc_id(SECRET)  # the index still knows
        yield built


def _no_secret(text: str, access: AccessStack) -> None:
    for secret in (*SECRET_WORDS, access.doc_id(SECRET)):
        assert secret not in text, secret


def test_the_copy_has_its_own_title_and_dates(access: AccessStack) -> None:
    copy = access.harness.doc(PUBLIC)
    assert copy["title"] == "Canteen menu.txt"
    assert copy["path"] == PUBLIC and copy["filename"] == "Canteen menu.txt"
    assert not copy["modified"].startswith("2019") and copy["modified"] == copy["share_modified"]
    assert access.harness.doc(SECRET)["modified"].startswith("2019-03-04")


def test_search_results_and_folding_show_the_clerk_only_the_copy(access: AccessStack) -> None:
    clerk = access.signed_in("clerk")
    page = clerk.get("/", query_string={"q": "platypus"}).get_data(as_text=True)
    assert "Canteen menu.txt" in page and f"/documents/{access.doc_id(PUBLIC)}" in page
    assert "copies</strong>" not in page  # no "N copies": the clerk sees one
    _no_secret(page, access)
    unfolded = clerk.get("/", query_string={"q": "platypus", "copies": "all"})
    _no_secret(unfolded.get_data(as_text=True), access)
    # The restricted file's name finds nothing for the clerk.
    for word in ("grievance", "bloggs"):
        found = clerk.get("/", query_string={"q": word}).get_data(as_text=True)
        assert "/documents/" not in found, word

    officer = access.signed_in("olive")
    folded = officer.get("/", query_string={"q": "platypus"}).get_data(as_text=True)
    assert "2 copies" in folded


def test_the_document_page_names_only_the_copy(access: AccessStack) -> None:
    clerk = access.signed_in("clerk")
    response = clerk.get(f"/documents/{access.doc_id(PUBLIC)}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Canteen menu.txt" in page
    _no_secret(page, access)
    officer_page = access.signed_in("olive").get(f"/documents/{access.doc_id(PUBLIC)}")
    assert "Grievance - Jo Bloggs.txt" in officer_page.get_data(as_text=True)  # its copies


def test_the_api_names_only_what_the_caller_may_see(access: AccessStack) -> None:
    client = access.app.test_client()
    clerk, officer = access.api_headers("clerk"), access.api_headers("olive")
    doc = client.get(f"/api/v1/documents/{access.doc_id(PUBLIC)}", headers=clerk).get_json()
    assert doc["title"] == "Canteen menu.txt" and doc["path"] == PUBLIC
    assert doc["duplicate_of"] is None and doc["duplicates"] == []
    _no_secret(json.dumps(doc), access)
    found = client.get("/api/v1/search", query_string={"q": "platypus"}, headers=clerk)
    body = found.get_json()
    assert [(h["doc_id"], h["title"], h["copies"]) for h in body["hits"]] == [
        (access.doc_id(PUBLIC), "Canteen menu.txt", 1)
    ]
    _no_secret(json.dumps(body["hits"]), access)

    seen = client.get(f"/api/v1/documents/{access.doc_id(PUBLIC)}", headers=officer).get_json()
    assert seen["duplicate_of"] == access.doc_id(SECRET)
    assert [d["doc_id"] for d in seen["duplicates"]] == [access.doc_id(SECRET)]
    everything = client.get("/api/v1/search", query_string={"q": "platypus"}, headers=officer)
    assert [h["copies"] for h in everything.get_json()["hits"]] == [2]


def test_the_duplicates_facet_does_not_betray_a_hidden_twin(access: AccessStack) -> None:
    """ "Copy of another file: 1" would tell the clerk that an identical file exists somewhere
    they cannot see; neither the facet nor its filter is offered to trimmed searchers."""
    clerk = access.signed_in("clerk")
    page = clerk.get("/", query_string={"q": "platypus"}).get_data(as_text=True)
    assert "Copy of another file" not in page and "Canteen menu.txt" in page
    # Asking for copies only changes nothing for them (the filter is dropped, not applied).
    only_copies = clerk.get("/", query_string={"q": "platypus", "duplicate": "copy"})
    assert "Canteen menu.txt" in only_copies.get_data(as_text=True)
    not_copies = clerk.get("/", query_string={"q": "platypus", "duplicate": "original"})
    assert "Canteen menu.txt" in not_copies.get_data(as_text=True)
    officer = access.signed_in("olive")
    assert "Copy of another file" in officer.get("/", query_string={"q": "platypus"}).get_data(
        as_text=True
    )
