"""Front-office staff do not learn which holds or request cases cover a document (issue 12,
item 7): a hold named for a subject access request, or its case reference, tells them that
someone made one. They see that a file is held, never by what or for which case; FOI officers
and records managers still see both, on the document page and through the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from retention.holds import add_documents, create_hold
from tests.access_stack import AccessStack, access_stack

TENANCY = "Housing/Tenancy file 14 Mill Lane.txt"
HOLD_NAME = "SAR Jo Bloggs subject access"
CASE_REF = "SAR-2026-0042"


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory, es: Elasticsearch) -> Iterator[AccessStack]:
    with access_stack(tmp_path_factory.mktemp("holds"), es, "holds") as built:
        built.write(TENANCY, b"Tenancy agreement and rent ledger for the numbat flat.\n")
        built.crawl()
        records = built.app.extensions["foi"].records
        hold = create_hold(
            records,
            name=HOLD_NAME,
            reason="Subject access request received",
            owner="rita",
            actor="rita",
            case_ref=CASE_REF,
        )
        add_documents(records, hold, [built.doc_id(TENANCY)], actor="rita")
        built.harness.es.indices.refresh(index=built.harness.names.read_alias)
        assert built.harness.doc(TENANCY)["held"] is True
        yield built


def _hidden(text: str) -> None:
    for secret in (HOLD_NAME, CASE_REF, "Jo Bloggs", "SAR-2026"):
        assert secret not in text, secret


def test_the_clerk_sees_that_a_file_is_held_but_not_by_what(access: AccessStack) -> None:
    clerk = access.signed_in("clerk")
    page = clerk.get(f"/documents/{access.doc_id(TENANCY)}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    _hidden(html)
    assert "This file is on hold" in html
    results = clerk.get("/", query_string={"q": "numbat"}).get_data(as_text=True)
    assert "On hold" in results
    _hidden(results)


def test_the_api_tells_the_clerk_only_that_the_file_is_held(access: AccessStack) -> None:
    client, headers = access.app.test_client(), access.api_headers("clerk")
    doc = client.get(f"/api/v1/documents/{access.doc_id(TENANCY)}", headers=headers).get_json()
    _hidden(json.dumps(doc))
    assert doc["held"] is True and doc["records_management"]["held"] is True
    assert doc["hold_ids"] is None and doc["records_management"]["holds"] == []
    assert doc["records_management"]["cases"] == []
    found = client.get("/api/v1/search", query_string={"q": "numbat"}, headers=headers)
    assert [hit["held"] for hit in found.get_json()["hits"]] == [True]
    _hidden(found.get_data(as_text=True))


@pytest.mark.parametrize("username", ["olive", "rita"])
def test_officers_and_records_managers_still_see_holds_and_cases(
    access: AccessStack, username: str
) -> None:
    page = access.signed_in(username).get(f"/documents/{access.doc_id(TENANCY)}")
    html = page.get_data(as_text=True)
    assert HOLD_NAME in html and CASE_REF in html
    client, headers = access.app.test_client(), access.api_headers(username)
    doc = client.get(f"/api/v1/documents/{access.doc_id(TENANCY)}", headers=headers).get_json()
    assert [h["name"] for h in doc["records_management"]["holds"]] == [HOLD_NAME]
    assert doc["records_management"]["cases"] == [CASE_REF] and doc["hold_ids"]
