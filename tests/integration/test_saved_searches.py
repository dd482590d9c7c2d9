"""Saved searches: per user, validated, CSRF-protected, audited."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from foi_core.settings import Settings
from search_app import create_app
from tests.integration.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(crawled: tuple[Settings, dict[str, str]]) -> Flask:
    return create_app(crawled[0])


def _client(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    token = _CSRF.search(client.get("/login").get_data(as_text=True))
    assert token
    client.post(
        "/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    )
    page = client.get("/?q=zebra").get_data(as_text=True)
    found = _CSRF.search(page)
    assert found
    return client, found.group(1)


def test_save_list_run_and_delete(app: Flask) -> None:
    olive, token = _client(app, "olive")
    saved = olive.post(
        "/saved",
        data={
            "csrf_token": token,
            "name": "Zebra crossing",
            "params": "q=zebra&sort=newest&page=7&evil=1",
        },
    )
    assert saved.status_code == 302
    listing = olive.get("/saved").get_data(as_text=True)
    assert "Zebra crossing" in listing and "q=zebra&amp;sort=newest" in listing
    assert "page=7" not in listing and "evil" not in listing
    again = olive.post(
        "/saved",
        data={"csrf_token": token, "name": "Zebra crossing", "params": "q=zebra"},
        follow_redirects=True,
    )
    assert "already have a saved search" in again.get_data(as_text=True)

    clerk, clerk_token = _client(app, "clerk")
    assert ">Zebra crossing</a>" not in clerk.get("/saved").get_data(as_text=True)
    search_id = re.search(r"/saved/(\d+)/delete", listing)
    assert search_id
    assert (
        clerk.post(
            f"/saved/{search_id.group(1)}/delete", data={"csrf_token": clerk_token}
        ).status_code
        == 404
    )
    assert olive.post(f"/saved/{search_id.group(1)}/delete").status_code == 400  # no CSRF
    assert (
        olive.post(f"/saved/{search_id.group(1)}/delete", data={"csrf_token": token}).status_code
        == 302
    )
    assert ">Zebra crossing</a>" not in olive.get("/saved").get_data(as_text=True)


def test_bad_names_get_a_message(app: Flask) -> None:
    olive, token = _client(app, "olive")
    for name in ("", "x" * 101):
        response = olive.post(
            "/saved",
            data={"csrf_token": token, "name": name, "params": "q=zebra"},
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert "Give the search a name" in response.get_data(as_text=True)
