"""Audit log browsing/export and the crawl status page, with role checks."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from foi_core.accounts import create_user
from foi_core.audit_seal import load_audit_seal
from foi_core.db import build_engine, session_factory, transaction
from foi_core.migrate import upgrade
from foi_core.models import AuditEvent, CrawlRun, FileState
from foi_core.settings import Settings
from foi_core.sources import add_source
from search_app import create_app

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(tmp_path: Path, es: object) -> Iterator[Flask]:
    settings = Settings(
        state_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/a.db",
        index_prefix=f"test-admin-{uuid.uuid4().hex[:8]}",
        secure_cookies=False,
    )
    engine = build_engine(settings)
    upgrade(engine)
    with transaction(session_factory(engine, load_audit_seal(settings))) as session:
        for name, role in [
            ("ada", "admin"),
            ("rita", "records_manager"),
            ("fred", "front_office"),
            ("olive", "foi_officer"),
        ]:
            create_user(session, name, role, PASSWORD)
        add_source(
            session,
            name="planning",
            server="127.0.0.1",
            port=4445,
            share="test",
            username="foidemo",
            credential_ref="env:FOI_TEST_NOT_SET",
        )
        session.add(
            CrawlRun(
                source_name="planning",
                status="finished",
                error="",
                counts={"seen": 12, "new": 12, "extracted": 10, "failed": 2},
            )
        )
        session.add(
            FileState(
                source_name="planning",
                path="Secret/locked.pdf",
                size=1,
                mtime_ns=1,
                file_id=1,
                sha256="",
                doc_id="a" * 40,
                status="encrypted",
                last_seen_run=1,
                deleted=False,
            )
        )
    yield create_app(settings)


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = _CSRF.search(client.get("/login").get_data(as_text=True))
    assert token
    client.post(
        "/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    )
    return client


def test_audit_log_is_for_admins_and_records_managers(app: Flask) -> None:
    assert _client(app, "fred").get("/audit").status_code == 403
    assert _client(app, "olive").get("/audit").status_code == 403
    page = _client(app, "rita").get("/audit")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Hash chain intact" in text and "login" in text
    filtered = _client(app, "ada").get("/audit?action=login&actor=rita").get_data(as_text=True)
    assert "rita" in filtered
    bad = _client(app, "ada").get("/audit?since=31/01/2026")
    assert bad.status_code == 200 and "YYYY-MM-DD" in bad.get_data(as_text=True)


def test_audit_export_is_csv_and_is_itself_audited(app: Flask) -> None:
    response = _client(app, "ada").get("/audit.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and {"id", "hash", "prev_hash", "actor", "action"} <= set(rows[0])
    with app.extensions["foi"].sessions() as session:
        actions = list(session.execute(select(AuditEvent.action)).scalars())
    assert "audit.export" in actions


def test_crawl_status_page(app: Flask) -> None:
    assert _client(app, "rita").get("/crawls").status_code == 403
    admin = _client(app, "ada")
    text = admin.get("/crawls").get_data(as_text=True)
    assert "planning" in text and "encrypted: 1" in text and "finished" in text
    failures = admin.get("/crawls/planning/failures/encrypted").get_data(as_text=True)
    assert "Secret/locked.pdf" in failures
    assert admin.get("/crawls/planning/failures/bogus").status_code == 404
    # Re-running needs the form's CSRF token.
    assert admin.post("/crawls/planning/run").status_code == 400
