"""The web app on a private database with one account per kind of staff, and signing in to it
through the real login form (CSRF token and all), for the access and account tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import AuditEvent
from foi_core.settings import Settings
from search_app import create_app

PASSWORD = "correct horse battery staple"
FRONT_OFFICE_SID = "S-1-5-21-1-2-3-1001"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def staff_app(tmp_path: Path, index_prefix: str) -> Iterator[Flask]:
    """ada (admin), fred (front office, one SID) and olive (FOI officer)."""
    settings = Settings(
        state_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        index_prefix=index_prefix,
        secure_cookies=False,
    )
    flask_app = create_app(settings)
    services = flask_app.extensions["foi"]
    upgrade(services.engine)
    with transaction(services.sessions) as db:
        create_user(db, "ada", "admin", PASSWORD)
        create_user(db, "fred", "front_office", PASSWORD, [FRONT_OFFICE_SID])
        create_user(db, "olive", "foi_officer", PASSWORD)
    try:
        yield flask_app
    finally:
        services.engine.dispose()


def sign_in(
    client: FlaskClient, username: str, password: str = PASSWORD, ip: str = "127.0.0.1"
) -> TestResponse:
    environ = {"REMOTE_ADDR": ip}
    found = CSRF.search(client.get("/login", environ_base=environ).get_data(as_text=True))
    assert found
    return client.post(
        "/login",
        data={"csrf_token": found.group(1), "username": username, "password": password},
        environ_base=environ,
    )


def audit_entries(app: Flask, action: str) -> list[AuditEvent]:
    with app.extensions["foi"].sessions() as db:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(db.execute(query).scalars())
