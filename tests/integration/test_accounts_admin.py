"""Accounts over their lifetime, through the admin pages and the `foi` command: create, list,
disable and enable, role, SIDs, groups, password resets and API tokens (expiry, last use,
revocation). Every change is audited under the person who made it, refusals as denied, and
disabled accounts and expired or revoked tokens are refused.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from foi_cli.main import cli
from foi_core.audit import Outcome
from foi_core.db import transaction
from foi_core.models import ApiToken, AuditEvent, Group, User, as_utc, utcnow
from foi_core.settings import Settings
from services import Services
from tests.staff_app import CSRF, PASSWORD, audit_entries, sign_in, staff_app

pytestmark = pytest.mark.integration

_SECRET = re.compile(r'id="secret" type="text" value="([^"]+)"')


@pytest.fixture
def app(tmp_path: Path, es: object) -> Iterator[Flask]:
    with staff_app(tmp_path, "test-accounts-unused") as flask_app:
        yield flask_app


def _client(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, username, password).status_code == 302
    return client


def _post(client: FlaskClient, path: str, **fields: str | list[str]) -> TestResponse:
    found = CSRF.search(client.get("/saved").get_data(as_text=True))
    assert found
    return client.post(path, data={"csrf_token": found.group(1), **fields})


def _user_id(app: Flask, username: str) -> int:
    with app.extensions["foi"].sessions() as db:
        return db.execute(select(User.id).where(User.username == username)).scalar_one()


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/saved").status_code == 200


def test_the_account_pages_are_for_admins_only(app: Flask) -> None:
    fred_id = _user_id(app, "fred")
    for username in ("fred", "olive"):
        client = _client(app, username)
        for path in ("/admin/users", "/admin/groups", f"/admin/users/{fred_id}"):
            assert client.get(path).status_code == 403, (username, path)
        assert _post(client, f"/admin/users/{fred_id}/role", role="admin").status_code == 403
        assert _post(client, "/admin/users", username="mallory", role="admin").status_code == 403
    with app.extensions["foi"].sessions() as db:
        fred = db.get(User, fred_id)
        assert fred is not None and fred.role == "front_office"
    assert _client(app, "ada").get("/admin/users").status_code == 200


def test_an_admin_creates_an_account_whose_password_is_shown_once(app: Flask) -> None:
    ada = _client(app, "ada")
    created = _post(
        ada,
        "/admin/users",
        username="nina",
        role="records_manager",
        sids="S-1-5-21-9-9-9-1",
        email="",
    )
    assert created.status_code == 200
    found = _SECRET.search(created.get_data(as_text=True))
    assert found, "the new password is on the page"
    assert _signed_in(_client(app, "nina", found.group(1)))
    listing = ada.get("/admin/users").get_data(as_text=True)
    assert "nina" in listing and found.group(1) not in listing
    [entry] = audit_entries(app, "user.create")
    assert (entry.actor, entry.target, entry.outcome) == ("ada", "nina", Outcome.OK)
    assert found.group(1) not in json.dumps(entry.details)

    refused = _post(ada, "/admin/users", username="bad name!", role="admin")
    assert refused.status_code == 400
    assert "username may use" in refused.get_data(as_text=True)
    denied = audit_entries(app, "user.create")[-1]
    assert (denied.actor, denied.outcome) == ("ada", Outcome.DENIED)


def test_disabling_refuses_the_account_and_enabling_restores_it(app: Flask) -> None:
    ada = _client(app, "ada")
    fred = _client(app, "fred")
    fred_id = _user_id(app, "fred")
    assert _post(ada, f"/admin/users/{fred_id}/active", active="no").status_code == 302
    assert not _signed_in(fred)
    assert sign_in(app.test_client(), "fred").status_code == 401
    assert _post(ada, f"/admin/users/{fred_id}/active", active="yes").status_code == 302
    assert _signed_in(_client(app, "fred"))
    assert [(e.action, e.actor, e.target) for e in audit_entries(app, "user.disable")] == [
        ("user.disable", "ada", "fred")
    ]
    assert len(audit_entries(app, "user.enable")) == 1


def test_role_sids_and_password_changes_are_audited_and_sign_the_user_out(app: Flask) -> None:
    ada = _client(app, "ada")
    fred_id = _user_id(app, "fred")
    fred = _client(app, "fred")
    _post(ada, f"/admin/users/{fred_id}/role", role="foi_officer")
    assert not _signed_in(fred)
    fred = _client(app, "fred")
    _post(ada, f"/admin/users/{fred_id}/sids", sids="S-1-5-21-1-2-3-1001\nS-1-5-21-1-2-3-1002")
    assert not _signed_in(fred)
    page = _post(ada, f"/admin/users/{fred_id}/password")
    found = _SECRET.search(page.get_data(as_text=True))
    assert found
    assert sign_in(app.test_client(), "fred").status_code == 401
    assert _signed_in(_client(app, "fred", found.group(1)))
    with app.extensions["foi"].sessions() as db:
        user = db.get(User, fred_id)
        assert user is not None and user.role == "foi_officer"
        assert user.sids == ["S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1002"]
    for action in ("user.role", "user.sids", "user.password_reset"):
        [entry] = audit_entries(app, action)
        assert (entry.actor, entry.target, entry.outcome) == ("ada", "fred", Outcome.OK)
    refused = _post(ada, f"/admin/users/{fred_id}/sids", sids="not-a-sid")
    assert refused.status_code == 302
    assert audit_entries(app, "user.sids")[-1].outcome == Outcome.DENIED


def test_the_last_admin_cannot_be_disabled_or_demoted(app: Flask) -> None:
    ada = _client(app, "ada")
    ada_id = _user_id(app, "ada")
    for path, fields in (("active", {"active": "no"}), ("role", {"role": "front_office"})):
        _post(ada, f"/admin/users/{ada_id}/{path}", **fields)
        page = ada.get(f"/admin/users/{ada_id}").get_data(as_text=True)
        assert "is the last active admin" in page
    assert _signed_in(ada)
    assert [
        e.outcome for e in audit_entries(app, "user.disable") + audit_entries(app, "user.role")
    ] == [
        Outcome.DENIED,
        Outcome.DENIED,
    ]


def test_groups_are_created_joined_and_left(app: Flask) -> None:
    ada = _client(app, "ada")
    fred_id = _user_id(app, "fred")
    assert _post(ada, "/admin/groups", name="Parks", sids="S-1-5-21-7-7-7-500").status_code == 302
    with app.extensions["foi"].sessions() as db:
        group_id = db.execute(select(Group.id).where(Group.name == "Parks")).scalar_one()
    fred = _client(app, "fred")
    _post(ada, f"/admin/groups/{group_id}/members", username="fred")
    assert not _signed_in(fred), "joining a group changes what fred may see"
    assert "Parks" in ada.get(f"/admin/users/{fred_id}").get_data(as_text=True)
    _post(ada, f"/admin/users/{fred_id}/groups/leave", group="Parks")
    members = ada.get(f"/admin/groups/{group_id}").get_data(as_text=True)
    assert '<td class="table__wrap">fred</td>' not in members
    _post(ada, f"/admin/groups/{group_id}/sids", sids="S-1-5-21-7-7-7-501")
    assert [e.action for e in audit_entries(app, "group.create")] == ["group.create"]
    assert [(e.target, e.outcome) for e in audit_entries(app, "group.join")] == [("Parks", "ok")]
    assert [(e.target, e.outcome) for e in audit_entries(app, "group.leave")] == [("Parks", "ok")]
    assert audit_entries(app, "group.leave")[0].details == {"members": ["fred"]}
    assert len(audit_entries(app, "group.sids")) == 1
    _post(ada, f"/admin/users/{fred_id}/groups/leave", group="Parks")
    assert audit_entries(app, "group.leave")[-1].outcome == Outcome.DENIED


def _api(app: Flask, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return app.test_client().get("/api/v1/openapi.json", headers=headers).status_code


def test_tokens_expire_show_their_last_use_and_can_be_revoked(app: Flask) -> None:
    ada = _client(app, "ada")
    olive_id = _user_id(app, "olive")
    page = _post(ada, f"/admin/users/{olive_id}/tokens", name="reports", days="90")
    found = _SECRET.search(page.get_data(as_text=True))
    assert found
    token = found.group(1)
    with app.extensions["foi"].sessions() as db:
        row = db.execute(select(ApiToken).where(ApiToken.user_id == olive_id)).scalar_one()
    assert abs(as_utc(row.expires_at) - (utcnow() + timedelta(days=90))) < timedelta(minutes=5)
    assert _api(app, token) == 200
    user_page = ada.get(f"/admin/users/{olive_id}").get_data(as_text=True)
    assert "reports" in user_page and token not in user_page
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</td>\s*<td><form", user_page), "last use"

    assert _post(ada, f"/admin/tokens/{row.id}/revoke").status_code == 302
    assert _api(app, token) == 401
    refusal = audit_entries(app, "api.token")[-1]
    assert (refusal.actor, refusal.outcome, refusal.details) == (
        "olive",
        Outcome.DENIED,
        {"reason": "token revoked"},
    )
    [revoked] = audit_entries(app, "token.revoke")
    assert (revoked.actor, revoked.outcome) == ("ada", Outcome.OK)


def test_expired_tokens_and_disabled_users_tokens_are_refused(app: Flask) -> None:
    ada = _client(app, "ada")
    olive_id = _user_id(app, "olive")
    tokens = []
    for label in ("old", "new"):
        page = _post(ada, f"/admin/users/{olive_id}/tokens", name=label, days="30")
        found = _SECRET.search(page.get_data(as_text=True))
        assert found
        tokens.append(found.group(1))
    with transaction(app.extensions["foi"].sessions) as db:
        db.execute(
            update(ApiToken)
            .where(ApiToken.name == "old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert _api(app, tokens[0]) == 401
    assert _api(app, tokens[1]) == 200
    _post(ada, f"/admin/users/{olive_id}/active", active="no")
    assert _api(app, tokens[1]) == 401
    # Disabling revokes the account's tokens: enabling it again does not bring them back.
    _post(ada, f"/admin/users/{olive_id}/active", active="yes")
    assert _api(app, tokens[1]) == 401
    reasons = [e.details["reason"] for e in audit_entries(app, "api.token")]
    assert reasons == ["token expired", "token revoked", "token revoked"]
    refused = _post(ada, f"/admin/users/{olive_id}/tokens", name="x", days="9999")
    assert refused.status_code == 302
    assert audit_entries(app, "token.create")[-1].outcome == Outcome.DENIED


# The command line, under the operating-system account that runs it.


@pytest.fixture
def foi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("FOI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FOI_AUDIT_ANCHOR_FILE", str(tmp_path / "anchors.log"))
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"], catch_exceptions=False).exit_code == 0
    yield runner


def _run(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(cli, list(args), input=stdin, catch_exceptions=False)


def _cli_audit() -> list[AuditEvent]:
    with Services(Settings.from_env()).sessions() as db:
        return list(db.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def test_the_command_line_manages_accounts_groups_and_tokens(foi: CliRunner) -> None:
    me = f"{getpass.getuser()} (command line)"
    assert _run(foi, "users", "add", "ada", "--role", "admin").exit_code == 0
    new = _run(foi, "users", "add", "fred", "--role", "front_office", "--password-stdin",
               stdin=f"{PASSWORD}\n")  # fmt: skip
    assert new.exit_code == 0
    assert _run(foi, "users", "disable", "fred").exit_code == 0
    listed = json.loads(_run(foi, "users", "list", "--json").output)
    assert {a["username"]: a["active"] for a in listed} == {"ada": True, "fred": False}
    assert _run(foi, "users", "enable", "fred").exit_code == 0
    assert _run(foi, "users", "set-role", "fred", "foi_officer").exit_code == 0
    assert _run(foi, "users", "set-sids", "fred", "S-1-5-21-1-2-3-1001").exit_code == 0
    reset = _run(foi, "users", "reset-password", "fred")
    assert reset.exit_code == 0 and "password (shown once): " in reset.output
    assert _run(foi, "groups", "add", "Parks", "--sid", "S-1-5-21-7-7-7-500").exit_code == 0
    assert _run(foi, "groups", "join", "Parks", "fred").exit_code == 0
    assert "members: fred" in _run(foi, "groups", "list").output
    assert _run(foi, "groups", "set-sids", "Parks", "--sid", "S-1-5-21-7-7-7-501").exit_code == 0
    assert _run(foi, "groups", "leave", "Parks", "fred").exit_code == 0
    token = _run(foi, "tokens", "create", "fred", "--name", "reports", "--days", "7")
    assert token.exit_code == 0 and "valid 7 days" in token.output
    listing = _run(foi, "tokens", "list", "fred").output
    token_id = listing.split("\t", 1)[0]
    assert "reports\tvalid" in listing and "last used never" in listing
    assert _run(foi, "tokens", "revoke", token_id).exit_code == 0
    assert "reports\trevoked" in _run(foi, "tokens", "list").output

    last_admin = _run(foi, "users", "disable", "ada")
    assert last_admin.exit_code == 1 and "last active admin" in last_admin.output
    assert _run(foi, "groups", "leave", "Parks", "fred").exit_code == 1
    assert _run(foi, "tokens", "revoke", token_id).exit_code == 1

    entries = [(e.action, e.target, e.outcome) for e in _cli_audit() if "." in e.action]
    assert entries == [
        ("user.create", "ada", "ok"),
        ("user.create", "fred", "ok"),
        ("user.disable", "fred", "ok"),
        ("user.enable", "fred", "ok"),
        ("user.role", "fred", "ok"),
        ("user.sids", "fred", "ok"),
        ("user.password_reset", "fred", "ok"),
        ("group.create", "Parks", "ok"),
        ("group.join", "Parks", "ok"),
        ("group.sids", "Parks", "ok"),
        ("group.leave", "Parks", "ok"),
        ("token.create", "fred", "ok"),
        ("token.revoke", f"token {token_id}", "ok"),
        ("user.disable", "ada", "denied"),
        ("group.leave", "Parks", "denied"),
        ("token.revoke", f"token {token_id}", "denied"),
    ]
    assert {e.actor for e in _cli_audit() if "." in e.action} == {me}
