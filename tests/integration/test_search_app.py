"""The web app against the real Elasticsearch and a migrated SQLite database.

Needs `foi stack up` (or FOI_ES_URL pointing at a node with the foi-analysis plugin); an
unreachable Elasticsearch fails these tests rather than skipping them. CSRF protection stays
on: every form post carries the token scraped from the page, as a browser would send it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from elasticsearch import Elasticsearch, TransportError
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from foi_core.accounts import create_user
from foi_core.audit import Outcome, verify_chain
from foi_core.clients import build_elasticsearch
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import AuditEvent, Role, User
from foi_core.settings import Settings
from indexer.bulk import write_documents
from indexer.documents import FileRecord, file_document
from indexer.extract import Part, Status
from indexer.lifecycle import IndexNames, drop_all
from indexer.migration import ensure_index
from search_app import create_app

pytestmark = pytest.mark.integration

ES_URL = os.environ.get("FOI_ES_URL", "http://127.0.0.1:9200").rstrip("/")
PASSWORD = "correct horse battery staple"
SID_PLANNING = "S-1-5-21-1004336348-1177238915-682003330-1101"
SID_HR = "S-1-5-21-1004336348-1177238915-682003330-1102"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTRIBUTE = '"><img src=x onerror=alert(1)>'
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _document(
    name: str, title: str, content: str, allow: Sequence[str], deny: Sequence[str] = ()
) -> dict[str, Any]:
    """An index document built the way the crawler builds one."""
    path = f"Council/{name}"
    record = FileRecord(
        source="test-share",
        share="Council",
        path=path,
        unc="\\\\fileserver\\Council\\" + name,
        size=len(content),
        mtime_ns=1_709_285_400_000_000_000,  # 1 March 2024
        created_ns=1_709_285_400_000_000_000,
        file_id=abs(hash(path)) % 10**9,
        sha256=hashlib.sha256(content.encode()).hexdigest(),
        mime="text/plain",
        acl_allow=tuple(allow),
        acl_deny=tuple(deny),
    )
    part = Part(0, "", content, {"dc:title": title}, Status.OK)
    return file_document(record, Status.OK, "", part, datetime.now(UTC))


DOCUMENTS = [
    _document(
        "riverside.txt",
        "Riverside planning application",
        "The officer's report covers the flood risk assessment for the quarterly review.",
        allow=[SID_PLANNING],
    ),
    _document(
        "grievance.txt",
        "Grievance hearing notes",
        "Confidential notes from the quarterly review of staff grievances.",
        allow=[SID_HR],
    ),
    _document(
        "denied.txt",
        "Quarterly budget withheld",
        "The quarterly review budget appendix.",
        allow=[SID_PLANNING],
        deny=[SID_PLANNING],
    ),
    _document(
        f"budget {XSS_ATTRIBUTE}.txt",
        f"Budget {XSS_SCRIPT} summary",
        f"Budget lines {XSS_SCRIPT} then {XSS_ATTRIBUTE} for the parks budget.",
        allow=[SID_HR],
    ),
]


@pytest.fixture(scope="module")
def es() -> Iterator[Elasticsearch]:
    client = Elasticsearch(ES_URL, request_timeout=30)
    try:
        health = client.cluster.health(wait_for_status="yellow", timeout="30s")
    except TransportError as exc:
        pytest.fail(f"Elasticsearch at {ES_URL} is not reachable ({exc}); run `foi stack up`")
    assert health["status"] in {"green", "yellow"}, health
    yield client
    client.close()


@pytest.fixture(scope="module")
def index_names(es: Elasticsearch) -> Iterator[IndexNames]:
    names = IndexNames(f"test-app-{uuid4().hex[:8]}")
    ensure_index(es, names)
    try:
        write_documents(es, names.write_alias, DOCUMENTS, refresh=True)
        yield names
    finally:
        drop_all(es, names)


@pytest.fixture
def settings(tmp_path: Any, index_names: IndexNames) -> Settings:
    return Settings(
        state_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        elasticsearch_url=ES_URL,
        index_prefix=index_names.prefix,
        secure_cookies=True,
    )


def _build(settings: Settings, es: Elasticsearch | None = None) -> Iterator[Flask]:
    app = create_app(settings, es=es)
    services = app.extensions["foi"]
    upgrade(services.engine)
    with transaction(services.sessions) as db:
        create_user(db, "officer", Role.FOI_OFFICER, PASSWORD)
        create_user(db, "front.desk", Role.FRONT_OFFICE, PASSWORD, sids=[SID_PLANNING])
    yield app
    services.es.close()
    services.engine.dispose()


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    yield from _build(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _token(page: TestResponse) -> str:
    found = _CSRF_INPUT.search(page.get_data(as_text=True))
    assert found, "no CSRF token in the form"
    return found.group(1)


def _sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    token = _token(client.get("/login"))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def _audit(app: Flask, action: str) -> list[AuditEvent]:
    with app.extensions["foi"].sessions() as db:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(db.execute(query).scalars())


def _html(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def test_every_route_but_login_health_and_static_needs_sign_in(
    app: Flask, client: FlaskClient
) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in {"healthz", "auth.login", "static"}:
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = re.sub(rf"<(?:[^:<>]+:)?{argument}>", "1", url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in {302, 401}, (method, url, response.status_code)
            if response.status_code == 302:
                assert response.location.startswith("/login"), (method, url)
            as_api = client.open(url, method=method, headers={"Accept": "application/json"})
            assert as_api.status_code == 401, (method, url)
            checked += 1
    assert checked >= 2
    # Unknown paths are refused the same way, so anonymous callers cannot map the site.
    assert client.get("/no-such-page").status_code == 302


def test_public_routes(client: FlaskClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok"}
    assert client.get("/login").status_code == 200
    with client.get("/static/app.css") as stylesheet:
        assert stylesheet.status_code == 200
        assert stylesheet.mimetype == "text/css"


def test_anonymous_redirect_returns_to_the_page_after_sign_in(client: FlaskClient) -> None:
    response = client.get("/?q=planning")
    assert response.status_code == 302
    login_page = client.get(response.location)
    token = _token(login_page)
    assert 'name="next" value="/?q=planning"' in _html(login_page)
    signed_in = client.post(
        "/login",
        data={
            "username": "officer",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/?q=planning",
        },
    )
    assert signed_in.status_code == 302
    assert signed_in.location == "/?q=planning"


def test_sign_in_never_redirects_off_site(app: Flask) -> None:
    for target in ("https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil"):
        client = app.test_client()
        token = _token(client.get("/login"))
        response = client.post(
            "/login",
            data={"username": "officer", "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.status_code == 302
        assert response.location == "/", target


def test_wrong_password_and_unknown_user_fail_alike_and_are_audited(
    app: Flask, client: FlaskClient
) -> None:
    wrong = _sign_in(client, "officer", "not the password at all")
    unknown = _sign_in(client, "nobody.here", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Sign-in failed" in _html(response)
        assert "locked" not in _html(response).lower()
        assert "does not exist" not in _html(response).lower()
    with client.session_transaction() as session:
        assert "user_id" not in session
    entries = _audit(app, "login")
    assert [(e.actor, e.target, e.outcome) for e in entries] == [
        ("anonymous", "officer", Outcome.DENIED),
        ("anonymous", "nobody.here", Outcome.DENIED),
    ]
    assert entries[0].details == {"reason": "wrong password"}
    assert entries[0].ip == "127.0.0.1"
    assert client.get("/").status_code == 302


def test_five_failures_pause_that_address_even_for_the_right_password(
    app: Flask, client: FlaskClient
) -> None:
    for _ in range(5):
        assert _sign_in(client, "officer", "guessing wrongly again").status_code == 401
    paused = _sign_in(client, "officer", PASSWORD)
    assert paused.status_code == 401
    assert "Sign-in failed" in _html(paused)
    entries = _audit(app, "login")
    assert len(entries) == 6
    assert all(e.outcome == Outcome.DENIED for e in entries)
    assert entries[-1].details == {"reason": "paused after repeated failures from this address"}


def test_sign_in_succeeds_audits_and_starts_a_fresh_session(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    response = _sign_in(client, "officer")
    assert response.status_code == 302
    assert response.location == "/"
    with client.session_transaction() as session:
        assert "planted" not in session
        assert isinstance(session["user_id"], int)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert [(e.actor, e.outcome) for e in _audit(app, "login")] == [("officer", Outcome.OK)]
    page = client.get("/")
    assert page.status_code == 200
    assert "Signed in as officer" in _html(page)


def test_deactivated_user_loses_access_at_once(app: Flask, client: FlaskClient) -> None:
    _sign_in(client, "officer")
    assert client.get("/").status_code == 200
    with transaction(app.extensions["foi"].sessions) as db:
        db.execute(select(User).where(User.username == "officer")).scalar_one().active = False
    assert client.get("/").status_code == 302


def test_csrf_token_is_required_on_login_and_logout(app: Flask, client: FlaskClient) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    refused = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert refused.status_code == 400
    assert "This form has expired" in _html(refused)
    assert _audit(app, "login") == []

    _sign_in(client, "officer")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/").status_code == 200, "a refused logout must leave the session alone"
    assert _audit(app, "logout") == []

    token = _token(client.get("/"))
    logout = client.post("/logout", data={"csrf_token": token})
    assert logout.status_code == 302
    assert logout.location == "/login"
    assert "You have signed out" in _html(client.get("/login"))
    assert client.get("/").status_code == 302
    assert [(e.actor, e.outcome) for e in _audit(app, "logout")] == [("officer", Outcome.OK)]


def test_search_finds_a_phrase_and_highlights_it(app: Flask, client: FlaskClient) -> None:
    _sign_in(client, "officer")
    response = client.get("/", query_string={"q": '"flood risk assessment"'})
    assert response.status_code == 200
    html = _html(response)
    assert "Riverside planning application" in html
    assert "\\\\fileserver\\Council\\riverside.txt" in html
    assert "<mark>flood risk assessment</mark>" in html
    assert '<time datetime="2024-03-01' in html
    assert "1 March 2024" in html
    assert "1 result" in html
    [entry] = _audit(app, "search")
    assert entry.actor == "officer"
    assert entry.outcome == Outcome.OK
    assert entry.details["query"] == '"flood risk assessment"'
    assert entry.details["total"] == 1


def test_document_markup_renders_inert(client: FlaskClient) -> None:
    _sign_in(client, "officer")
    for query in ("budget", "alert", "onerror"):
        html = _html(client.get("/", query_string={"q": query}))
        assert "Budget" in html, query
        assert "<mark>" in html.lower(), query
        assert "<script>alert" not in html, query
        assert "<img src=x onerror" not in html.lower(), query
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, query
    html = _html(client.get("/", query_string={"q": "budget"}))
    # Title and location are autoescaped by the template...
    assert "Budget &lt;script&gt;alert(1)&lt;/script&gt; summary" in html
    assert "budget &#34;&gt;&lt;img src=x onerror=alert(1)&gt;.txt" in html
    # ...and the snippets arrive escaped by Elasticsearch (encoder "html"), with live <mark>s.
    assert "<mark>Budget</mark> lines &lt;script&gt;alert(1)&lt;&#x2F;script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt; for the parks <mark>budget</mark>" in html
    # The query itself is echoed back escaped.
    echoed = _html(client.get("/", query_string={"q": XSS_SCRIPT + XSS_ATTRIBUTE}))
    assert "<script>alert" not in echoed
    assert "<img src=x onerror" not in echoed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in echoed


def test_front_office_sees_only_what_the_share_acl_allows(app: Flask, client: FlaskClient) -> None:
    _sign_in(client, "front.desk")
    html = _html(client.get("/", query_string={"q": "quarterly"}))
    assert "Riverside planning application" in html
    assert "Grievance hearing notes" not in html
    assert "Quarterly budget withheld" not in html, "a deny entry must win over an allow"

    officer = app.test_client()
    _sign_in(officer, "officer")
    html = _html(officer.get("/", query_string={"q": "quarterly"}))
    assert "Grievance hearing notes" in html
    assert "Riverside planning application" in html

    totals = {(e.actor, e.details["scope"]): e.details["total"] for e in _audit(app, "search")}
    assert totals == {("front.desk", "acl"): 1, ("officer", "everything"): 3}
    with app.extensions["foi"].sessions() as db:
        assert verify_chain(db).ok


def test_security_headers_on_every_kind_of_response(client: FlaskClient) -> None:
    expected = {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    anonymous = [
        client.get("/healthz"),
        client.get("/login"),
        client.get("/"),
        client.get("/static/app.css"),
    ]
    _sign_in(client, "officer")
    signed_in = [
        client.get("/"),
        client.get("/", query_string={"q": "planning"}),
        client.get("/no-such-page"),
    ]
    for response in anonymous + signed_in:
        response.close()  # the stylesheet response holds its file open
        for header, value in expected.items():
            assert response.headers.get(header) == value, (response.request.path, header)
    for response in [anonymous[1], *signed_in]:
        assert response.headers["Cache-Control"] == "no-store"
    assert signed_in[-1].status_code == 404


def test_elasticsearch_down_gives_a_friendly_503(settings: Settings) -> None:
    unreachable = build_elasticsearch(replace(settings, elasticsearch_url="http://127.0.0.1:9"))
    for app in _build(settings, es=unreachable):
        client = app.test_client()
        _sign_in(client, "officer")
        response = client.get("/", query_string={"q": "planning"})
        assert response.status_code == 503
        html = _html(response)
        assert "Search is not available right now" in html
        assert "Traceback" not in html
        assert "127.0.0.1:9" not in html
        assert response.headers["Cache-Control"] == "no-store"
        [entry] = _audit(app, "search")
        assert entry.outcome == Outcome.FAILED
        assert entry.details["query"] == "planning"
        assert client.get("/healthz").status_code == 200
