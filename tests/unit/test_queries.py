from __future__ import annotations

from indexer.queries import Principal, base_query, search_body

OFFICER = Principal("olive", (), sees_everything=True)
CLERK = Principal("fred", ("S-1-5-21-9-9-9-1104", "S-1-1-0"), sees_everything=False)


def test_front_office_queries_are_trimmed_by_acl() -> None:
    query = base_query(CLERK)
    trim = query["bool"]["filter"][0]["bool"]
    assert trim["filter"] == [{"terms": {"acl_allow": list(CLERK.sids)}}]
    assert trim["must_not"] == [{"terms": {"acl_deny": list(CLERK.sids)}}]


def test_officers_are_not_trimmed_but_deleted_files_are_hidden() -> None:
    query = base_query(OFFICER)
    assert query["bool"]["filter"] == []
    assert {"term": {"deleted": True}} in query["bool"]["must_not"]


def test_search_uses_safe_parser_and_exact_phrases() -> None:
    body = search_body('"planning application" -appeal', CLERK)
    must = body["query"]["bool"]["must"][0]["simple_query_string"]
    assert must["quote_field_suffix"] == ".exact"
    assert "REGEXP" not in must["flags"]
    assert body["highlight"]["encoder"] == "html"
    assert body["query"]["bool"]["filter"], "trimming must survive into every search body"
