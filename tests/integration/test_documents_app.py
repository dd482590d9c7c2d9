"""Document page and download against the real stack: files crawled from Samba with their
real NTFS ACLs, trimming by every route, overrides audited, downloads hash-identical."""

from __future__ import annotations

import hashlib
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from foi_core.accounts import add_to_group, create_group, create_user
from foi_core.db import transaction
from foi_core.models import AuditEvent
from foi_core.settings import Settings
from search_app import create_app
from tests.integration.conftest import HOSTILE_ID, PASSWORD, PUBLIC_ID, SECRET_ID

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(crawled: tuple[Settings, dict[str, str]]) -> Flask:
    return create_app(crawled[0])


def _sign_in(client: FlaskClient, username: str) -> None:
    token = _CSRF.search(client.get("/login").get_data(as_text=True))
    assert token
    response = client.post(
        "/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 302


def _results(client: FlaskClient, query: str) -> str:
    return client.get("/", query_string={"q": query}).get_data(as_text=True)


def _audit(app: Flask, action: str) -> list[AuditEvent]:
    with app.extensions["foi"].sessions() as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            ).scalars()
        )


def test_front_office_cannot_reach_a_document_their_acl_excludes(app: Flask) -> None:
    officer, clerk = app.test_client(), app.test_client()
    _sign_in(officer, "olive")
    _sign_in(clerk, "clerk")
    assert "Disciplinary" in _results(officer, "zebra")
    listed = _results(clerk, "zebra")
    assert "Parking permits" in listed and "Disciplinary" not in listed
    hidden = SECRET_ID
    for url in (f"/documents/{hidden}", f"/documents/{hidden}/download"):
        response = clerk.get(url)
        assert response.status_code == 404
        assert "Disciplinary" not in response.get_data(as_text=True)
    # "More like this" on the visible document never offers the hidden one.
    page = clerk.get(f"/documents/{PUBLIC_ID}").get_data(as_text=True)
    assert hidden not in page and "Disciplinary" not in page
    assert any(e.outcome == "denied" and e.target == hidden for e in _audit(app, "view"))


def test_officer_override_is_audited_and_download_matches_the_share(
    app: Flask, crawled: tuple[Settings, dict[str, str]]
) -> None:
    officer = app.test_client()
    _sign_in(officer, "olive")
    hidden = SECRET_ID
    page = officer.get(f"/documents/{hidden}")
    assert page.status_code == 200 and "recorded in the audit log" in page.get_data(as_text=True)
    download = officer.get(f"/documents/{hidden}/download")
    assert download.status_code == 200
    body = b"".join(download.response)  # type: ignore[arg-type]
    assert hashlib.sha256(body).hexdigest() == crawled[1]["Disciplinary hearing.txt"]
    assert "Disciplinary hearing.txt" in download.headers["Content-Disposition"]
    downloads = [e.outcome for e in _audit(app, "download") if e.actor == "olive"]
    assert downloads == ["override"]
    assert any(e.outcome == "override" and e.target == hidden for e in _audit(app, "view"))


def test_public_file_downloads_with_its_unicode_name(
    app: Flask, crawled: tuple[Settings, dict[str, str]]
) -> None:
    clerk = app.test_client()
    _sign_in(clerk, "clerk")
    doc_id = PUBLIC_ID
    response = clerk.get(f"/documents/{doc_id}/download")
    body = b"".join(response.response)  # type: ignore[arg-type]
    assert hashlib.sha256(body).hexdigest() == crawled[1]["Parking permits – notice.txt"]
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''Parking%20permits%20%E2%80%93%20notice.txt" in disposition
    assert [
        e.outcome for e in _audit(app, "download") if e.actor == "clerk" and e.target == doc_id
    ] == ["ok"]


@pytest.mark.parametrize(
    "doc_id",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "../../etc/passwd",
        "0" * 40,
        "A" * 40,
        "%5C%5C127.0.0.1%5Ctest%5Csecret.txt",
    ],
)
def test_download_cannot_be_pointed_at_other_files(app: Flask, doc_id: str) -> None:
    officer = app.test_client()
    _sign_in(officer, "olive")
    assert officer.get(f"/documents/{doc_id}/download").status_code == 404
    assert officer.get(f"/documents/{doc_id}").status_code == 404


def test_documents_need_sign_in(app: Flask) -> None:
    anonymous = app.test_client()
    response = anonymous.get(f"/documents/{'0' * 40}/download")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_hostile_content_renders_inert_in_results_and_on_its_page(app: Flask) -> None:
    clerk = app.test_client()
    _sign_in(clerk, "clerk")
    for html in (
        _results(clerk, "tarmac"),
        clerk.get(f"/documents/{HOSTILE_ID}").get_data(as_text=True),
    ):
        assert "Quarterly" in html or "tarmac" in html
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)" in html  # shown as text, escaped


def test_group_sids_trim_like_the_users_own(app: Flask) -> None:
    """A front-office user sees what their staff group's Windows SIDs allow."""
    services = app.extensions["foi"]
    secret = services.es.get(index=services.names.read_alias, id=SECRET_ID)["_source"]
    owner_sid = secret["acl_owner"]
    with transaction(services.sessions) as session:
        create_user(session, "grouped", "front_office", PASSWORD, [])
        create_group(session, "HR casework", [owner_sid])
    member = app.test_client()
    _sign_in(member, "grouped")
    assert "Disciplinary" not in _results(member, "zebra")
    with transaction(services.sessions) as session:
        add_to_group(session, "HR casework", "grouped")
    # Joining a group changes what the member may see: it ends their sessions, and the next
    # sign-in carries the group's SIDs.
    assert member.get("/").status_code == 302
    _sign_in(member, "grouped")
    assert "Disciplinary" in _results(member, "zebra")
    assert member.get(f"/documents/{SECRET_ID}").status_code == 200
