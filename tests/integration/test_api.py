"""The JSON API on the real stack: token-only auth, trimming, audit, OpenAPI coverage."""

from __future__ import annotations

import hashlib
import re

import pytest
from flask import Flask
from sqlalchemy import select

from foi_core.db import transaction
from foi_core.models import AuditEvent
from foi_core.settings import Settings
from foi_core.tokens import create_token
from search_app import create_app
from tests.integration.conftest import PASSWORD, PUBLIC_ID, SECRET_ID


@pytest.fixture
def app(crawled: tuple[Settings, dict[str, str]]) -> Flask:
    return create_app(crawled[0])


def _token(app: Flask, username: str) -> dict[str, str]:
    with transaction(app.extensions["foi"].sessions) as session:
        return {"Authorization": f"Bearer {create_token(session, username, 'test')}"}


def _api_rules(app: Flask) -> list[str]:
    return [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]


def test_every_api_route_refuses_anonymous_and_bad_tokens(app: Flask) -> None:
    client = app.test_client()
    for rule in _api_rules(app):
        url = re.sub(r"<[^>]+>", "0" * 40, rule)
        for headers in (
            {},
            {"Authorization": "Bearer foi_not-a-real-token"},
            {"Authorization": "Basic b2xpdmU6cGFzcw=="},
        ):
            response = client.get(url, headers=headers)
            assert response.status_code == 401, (url, headers)
            assert response.is_json


def test_a_signed_in_browser_session_does_not_authenticate_the_api(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post(
        "/login", data={"csrf_token": token.group(1), "username": "olive", "password": PASSWORD}
    )
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/search?q=zebra").status_code == 401


def test_search_is_trimmed_and_audited(app: Flask) -> None:
    client = app.test_client()
    officer = client.get("/api/v1/search?q=zebra", headers=_token(app, "olive")).get_json()
    clerk = client.get("/api/v1/search?q=zebra", headers=_token(app, "clerk")).get_json()
    assert officer["total"] == 2 and clerk["total"] == 1
    assert [h["doc_id"] for h in clerk["hits"]] == [PUBLIC_ID]
    assert all("<mark>" in " ".join(h["highlights"]) for h in officer["hits"])
    assert "Private" not in str(clerk["facets"])
    assert {"source", "type", "status", "folder"} <= set(officer["facets"])
    with app.extensions["foi"].sessions() as session:
        searches = list(
            session.execute(select(AuditEvent).where(AuditEvent.action == "search")).scalars()
        )
    assert any(e.actor == "clerk" and e.details.get("total") == 1 for e in searches)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"unclosed', "quote"),
        ("autor:smith", "author"),
        ("size=9999", "size"),
        ("sort=sideways", "sort"),
        ("cursor=AAAA", "cursor"),
    ],
)
def test_bad_input_gets_400_with_a_message(app: Flask, query: str, message: str) -> None:
    params = f"q={query}" if "=" not in query else query
    response = app.test_client().get(f"/api/v1/search?{params}", headers=_token(app, "olive"))
    assert response.status_code == 400
    assert message in response.get_json()["message"].lower()


def test_documents_metadata_text_and_content(
    app: Flask, crawled: tuple[Settings, dict[str, str]]
) -> None:
    client = app.test_client()
    olive, clerk = _token(app, "olive"), _token(app, "clerk")
    meta = client.get(f"/api/v1/documents/{SECRET_ID}", headers=olive).get_json()
    assert meta["override"] is True and meta["path"] == "Private/Disciplinary hearing.txt"
    text = client.get(f"/api/v1/documents/{SECRET_ID}/text", headers=olive).get_json()
    assert "disciplinary" in text["text"].lower() and text["pages"] == 1
    content = client.get(f"/api/v1/documents/{SECRET_ID}/content", headers=olive)
    body = b"".join(content.response)  # type: ignore[arg-type]
    assert hashlib.sha256(body).hexdigest() == crawled[1]["Disciplinary hearing.txt"]
    for suffix in ("", "/text", "/content"):
        assert (
            client.get(f"/api/v1/documents/{SECRET_ID}{suffix}", headers=clerk).status_code == 404
        )
    assert (
        client.get(f"/api/v1/documents/{PUBLIC_ID}", headers=clerk).get_json()["override"] is False
    )


def test_openapi_describes_exactly_the_api_routes(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json", headers=_token(app, "olive")).get_json()
    described = {"/api/v1" + path for path in spec["paths"]}
    routes = {re.sub(r"<([^>]+)>", r"{\1}", rule) for rule in _api_rules(app)}
    assert described == routes
    assert spec["openapi"].startswith("3.1")
