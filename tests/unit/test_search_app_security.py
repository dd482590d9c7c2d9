"""Web-app safety rules that need no running services (the Elasticsearch client built here
points at a closed port and is never called)."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from flask import Flask
from werkzeug.test import TestResponse

from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import Role
from foi_core.settings import Settings
from search_app import create_app
from search_app.app import SecretKeyError
from search_app.auth import require_role
from search_app.search.views import highlight_markup

TEMPLATES = Path(__file__).resolve().parents[2] / "search_app" / "templates"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def es() -> Iterator[Elasticsearch]:
    client = Elasticsearch("http://127.0.0.1:9")
    yield client
    client.close()


def _app(tmp_path: Path, es: Elasticsearch, **overrides: Any) -> Flask:
    settings = Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'app.db'}")
    return create_app(replace(settings, **overrides), es=es)


def test_highlight_keeps_only_mark_tags_live() -> None:
    escaped = "<mark>Budget</mark> &lt;script&gt;alert(1)&lt;&#x2F;script&gt;"
    assert highlight_markup(escaped) == escaped
    raw = '<mark>x</mark> <script>alert(1)</script> "><img src=x onerror=alert(1)>'
    rendered = str(highlight_markup(raw))
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert rendered.startswith("<mark>x</mark> &lt;script&gt;")
    assert str(highlight_markup("<mark onclick=x>y</mark>")) == "&lt;mark onclick=x&gt;y</mark>"


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_carry_no_inline_script_style_or_unescaped_output(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    assert not re.search(r"<script|<style|\sstyle\s*=", text, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE)
    assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(", text)


def test_session_cookie_flags_follow_settings(tmp_path: Path, es: Elasticsearch) -> None:
    app = _app(tmp_path, es, secure_cookies=True)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert _app(tmp_path, es, secure_cookies=False).config["SESSION_COOKIE_SECURE"] is False


def test_generated_secret_key_is_private_and_stable(tmp_path: Path, es: Elasticsearch) -> None:
    first = _app(tmp_path, es).config["SECRET_KEY"]
    key_file = tmp_path / "secrets" / "flask_secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(first) >= 32
    assert _app(tmp_path, es).config["SECRET_KEY"] == first
    # No temporary file is left behind; the audit key is generated beside it, as private.
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["audit_key", "flask_secret_key"]
    assert stat.S_IMODE((key_file.parent / "audit_key").stat().st_mode) == 0o600


def test_configured_secret_key_wins(tmp_path: Path, es: Elasticsearch) -> None:
    app = _app(tmp_path, es, secret_key="k" * 64)
    assert app.config["SECRET_KEY"] == "k" * 64
    assert not (tmp_path / "secrets" / "flask_secret_key").exists()


def test_truncated_secret_key_file_is_refused(tmp_path: Path, es: Elasticsearch) -> None:
    (tmp_path / "secrets").mkdir(mode=0o700)
    (tmp_path / "secrets" / "flask_secret_key").write_text("short")
    with pytest.raises(SecretKeyError):
        _app(tmp_path, es)


def test_health_answers_without_services_and_with_headers(
    tmp_path: Path, es: Elasticsearch
) -> None:
    response = _app(tmp_path, es).test_client().get("/healthz")
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_new_routes_are_private_and_roles_are_enforced(tmp_path: Path, es: Elasticsearch) -> None:
    app = _app(tmp_path, es)

    @app.get("/admin-only")
    @require_role(Role.ADMIN)
    def admin_only() -> str:
        return "secret admin page"

    services = app.extensions["foi"]
    upgrade(services.engine)
    with transaction(services.sessions) as db:
        create_user(db, "boss", Role.ADMIN, PASSWORD)
        create_user(db, "desk", Role.FRONT_OFFICE, PASSWORD)

    def signed_in(username: str) -> TestResponse:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        return client.get("/admin-only")

    try:
        anonymous = app.test_client().get("/admin-only")
        assert anonymous.status_code == 302
        assert anonymous.location.startswith("/login")
        assert signed_in("desk").status_code == 403
        allowed = signed_in("boss")
        assert allowed.status_code == 200
    finally:
        services.engine.dispose()
