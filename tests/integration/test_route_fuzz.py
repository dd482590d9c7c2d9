"""Every route of the web app and API, fed malformed values in its path, its query string and
its form fields, as an admin and as front-office staff, by GET and by POST with a valid CSRF
token: whatever the input, the answer is never a server error.

Three passes: malformed path values (with every field malformed); the ids of real records (a
document, a hold, a case, an account, a group, a token) with every field malformed, so the code
behind the id lookup is reached; and each field a view reads, malformed alone (one bad field
can hide another: a view that refuses a bad date never reads the page number). The field names
come from the code itself (every `.get("name")` in search_app, every form field in its
templates, and the names each view is seen to read), so a new route or field is fuzzed without
editing this test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from elasticsearch import Elasticsearch
from flask import Flask, request
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

from cases.service import create_case
from foi_core.accounts import add_to_group, create_group, create_user
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings
from foi_core.tokens import create_token, list_tokens
from indexer.bulk import write_documents
from indexer.documents import FileRecord, file_document
from indexer.extract import Part, Status
from indexer.lifecycle import IndexNames, drop_all
from indexer.migration import ensure_index
from retention.holds import create_hold
from search_app import create_app

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
APP_DIR = Path(__file__).resolve().parents[2] / "search_app"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Out of range for every integer column and for SQLite, negative, not a number, numbers that
# str.isdigit() accepts but int() refuses, odd Unicode, and very long.
MALFORMED = (
    "9223372036854775808",
    "1" * 30,
    "-1",
    "-9223372036854775809",
    "abc",
    "１２３",
    "²",
    "\u202e☃\U0001f600é\x00",
    "x" * 2000,
)
# Keeps a request with every field filled under the app's 64 KiB body limit.
_MAX_FIELD = 400
# Signing out ends the session the rest of the run uses; it is exercised by its own tests.
_SKIPPED = frozenset({"static", "auth.logout"})
# A server error is a 500. (A download of the real document answers 502: its share, "fuzz",
# cannot be reached, which is what 502 means here.)
# With a real case these start a bundle writer that outlives the test's app.
_NO_REAL_IDS = frozenset({"case_evidence.export", "api_cases.export"})


def _parameter_names() -> list[str]:
    names: set[str] = set()
    for source in APP_DIR.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        names.update(re.findall(r"(?:get|getlist|pop)\(\s*\"([a-z_][a-z0-9_-]*)\"", text))
        names.update(re.findall(r"request\.(?:args|form|values)\[\"([a-z_][a-z0-9_-]*)\"\]", text))
    for template in (APP_DIR / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        names.update(re.findall(r'\bname="([a-z_][a-z0-9_-]*)"', text))
    names.discard("csrf_token")
    return sorted(names)


class _Recording(MultiDict[str, str]):
    """Query or form fields that note every name the view asks for."""

    def __init__(self, fields: MultiDict[str, str], read: set[str]) -> None:
        super().__init__(fields)
        self.read = read

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default, type)

    def getlist(self, key: str, type: Any = None) -> Any:
        self.read.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)


# The query and form names each endpoint was seen to read.
_READ: dict[str, set[str]] = {}


def _record_reads() -> None:
    read = _READ.setdefault(request.endpoint or "", set())
    request.args = _Recording(request.args, read)  # type: ignore[misc]
    if request.method == "POST" and not request.is_json:
        request.form = _Recording(request.form, read)  # type: ignore[misc]


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, es: Elasticsearch, settings: Settings
) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("fuzz")
    names = IndexNames(f"test-fuzz-{tmp.name[-8:].lower()}")
    ensure_index(es, names)
    config = Settings(
        state_dir=tmp,
        database_url=f"sqlite:///{tmp / 'app.db'}",
        elasticsearch_url=settings.elasticsearch_url,
        index_prefix=names.prefix,
        secure_cookies=False,
    )
    flask_app = create_app(config, es=es)
    flask_app.before_request(_record_reads)
    services = flask_app.extensions["foi"]
    upgrade(services.engine)
    with transaction(services.sessions) as db:
        create_user(db, "ada", "admin", PASSWORD)
        create_user(db, "fred", "front_office", PASSWORD, ["S-1-5-21-1-2-3-1001"])
        victim = create_user(db, "victim", "foi_officer", PASSWORD)
        group = create_group(db, "Parks", ["S-1-5-21-1-2-3-4004"])
        add_to_group(db, "Parks", "victim")
        flask_app.config["FUZZ_TOKENS"] = {
            "ada": create_token(db, "ada"),
            "fred": create_token(db, "fred"),
        }
        create_token(db, "victim", "victim's")
        [token] = list_tokens(db, "victim")
    record = FileRecord(
        source="fuzz",
        share="Council",
        path="Council/report.txt",
        unc="\\\\fileserver\\Council\\report.txt",
        size=11,
        mtime_ns=1_709_285_400_000_000_000,
        created_ns=1_709_285_400_000_000_000,
        file_id=7,
        sha256="0" * 64,
        mime="text/plain",
        acl_allow=("S-1-1-0",),
    )
    part = Part(0, "", "Fuzz report", {"dc:title": "Fuzz report"}, Status.OK)
    document = file_document(record, Status.OK, "", part, datetime.now(UTC))
    write_documents(es, names.write_alias, [document], refresh=True)
    hold = create_hold(services.records, name="Fuzz", reason="Fuzzing", owner="", actor="ada")
    case = create_case(
        services.sessions,
        regime="FOIA",
        received=date.today(),
        title="Fuzz",
        request_text="Everything",
        requester_name="A. Requester",
        actor="ada",
        prefix_spec=config.case_prefixes,
        target_days=config.internal_target_days,
    )
    flask_app.config["FUZZ_IDS"] = {
        "doc_id": document["doc_id"],
        "hold_id": str(hold),
        "reference": case.reference,
        "user_id": str(victim.id),
        "group_id": str(group.id),
        "token_id": str(token.id),
    }
    yield flask_app
    drop_all(es, names)


class Visitor:
    """A signed-in browser (and the same person's API token) that signs in again whenever a
    request ended its session."""

    def __init__(self, app: Flask, username: str) -> None:
        self.app = app
        self.username = username
        self.token = app.config["FUZZ_TOKENS"][username]
        self.client: FlaskClient = app.test_client()
        self.csrf = ""
        self.sign_in()

    def sign_in(self) -> None:
        self.client = self.app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        found = _CSRF.search(page)
        assert found
        # From an address of its own: the fuzzed sign-in form's failures pause theirs.
        signed_in = self.client.post(
            "/login",
            data={"csrf_token": found.group(1), "username": self.username, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "198.18.0.1"},
        )
        assert signed_in.status_code == 302, signed_in.status_code
        page = self.client.get("/saved").get_data(as_text=True)
        found = _CSRF.search(page)
        assert found
        self.csrf = found.group(1)

    def send(self, method: str, path: str, fields: dict[str, str]) -> int:
        headers = {"Authorization": f"Bearer {self.token}"} if path.startswith("/api/") else {}
        query = urlencode(fields)
        if method == "GET":
            response = self.client.get(f"{path}?{query}", headers=headers)
        elif path.startswith("/api/"):
            response = self.client.post(f"{path}?{query}", json=fields, headers=headers)
        else:
            data = {**fields, "csrf_token": self.csrf}
            response = self.client.post(f"{path}?{query}", data=data, headers=headers)
        status = response.status_code
        response.close()
        if status == 302 and response.location.startswith("/login"):
            self.sign_in()
        return status


def _path(rule: Rule, value: str) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = re.sub(rf"<(?:[^<>]+:)?{argument}>", quote(value, safe=""), path)
    return path


def _routes(app: Flask) -> list[tuple[Rule, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in _SKIPPED:
            continue
        for method in ("GET", "POST"):
            if method in (rule.methods or ()):
                routes.append((rule, method))
    return sorted(routes, key=lambda route: (route[0].rule, route[1]))


def _real_path(rule: Rule, ids: dict[str, str]) -> str | None:
    """The rule's path with real ids, or None when it takes an argument there is none for."""
    if rule.endpoint in _NO_REAL_IDS or not rule.arguments <= ids.keys():
        return None
    path = rule.rule
    for argument in rule.arguments:
        path = re.sub(rf"<(?:[^<>]+:)?{argument}>", quote(ids[argument], safe=""), path)
    return path


@pytest.mark.parametrize("username", ["ada", "fred"])
def test_no_malformed_field_behind_a_real_id_makes_a_server_error(
    app: Flask, username: str
) -> None:
    visitor = Visitor(app, username)
    ids = app.config["FUZZ_IDS"]
    fields_names = _parameter_names()
    routes = [(rule, method, _real_path(rule, ids)) for rule, method in _routes(app)]
    real = [(method, path) for rule, method, path in routes if path and rule.arguments]
    assert len(real) > 25
    errors = []
    for value in MALFORMED:
        fields = dict.fromkeys(fields_names, value[:_MAX_FIELD])
        for method, path in real:
            status = visitor.send(method, path, fields)
            if status == 500:
                errors.append(f"{method} {path} {value[:30]!r}: {status}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("username", ["ada", "fred"])
def test_each_field_a_view_reads_malformed_alone_makes_no_server_error(
    app: Flask, username: str
) -> None:
    visitor = Visitor(app, username)
    ids = app.config["FUZZ_IDS"]
    errors = []
    fuzzed = 0
    for rule, method in _routes(app):
        path = _real_path(rule, ids) or _path(rule, "1")
        _READ.pop(rule.endpoint, None)
        visitor.send(method, path, {})
        for name in sorted(_READ.get(rule.endpoint, set()) - {"csrf_token"}):
            fuzzed += 1
            for value in MALFORMED:
                status = visitor.send(method, path, {name: value[:_MAX_FIELD]})
                if status == 500:
                    errors.append(f"{method} {path} {name}={value[:30]!r}: {status}")
    assert fuzzed > 10
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("username", ["ada", "fred"])
def test_no_malformed_value_makes_a_server_error(app: Flask, username: str) -> None:
    visitor = Visitor(app, username)
    names = _parameter_names()
    routes = _routes(app)
    assert len(routes) > 60 and len(names) > 40
    errors = []
    for value in MALFORMED:
        fields = dict.fromkeys(names, value[:_MAX_FIELD])
        for rule, method in routes:
            path = _path(rule, value)
            status = visitor.send(method, path, fields)
            if status == 500:
                errors.append(f"{method} {rule.rule} {value[:30]!r}: {status}")
    assert not errors, "\n".join(errors)


def test_sign_in_form_takes_malformed_values(app: Flask) -> None:
    for value in MALFORMED:
        client = app.test_client()
        page = client.get(f"/login?next={quote(value)}")
        if "\x00" in value:  # refused before any view (PostgreSQL cannot store it)
            assert page.status_code == 400
            page = client.get("/login")
        found = _CSRF.search(page.get_data(as_text=True))
        assert found
        response = client.post(
            "/login",
            data={"csrf_token": found.group(1), "username": value, "password": value},
            environ_base={"REMOTE_ADDR": "192.0.2.77"},
        )
        assert response.status_code < 500, value[:30]
