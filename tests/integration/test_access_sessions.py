"""Browser sessions live on the server: the cookie carries a random id, and signing out,
disabling an account, changing its role, its SIDs or its groups, going idle and reaching the
absolute limit each end the session at once, whatever copy of the cookie anyone kept.

Sign-in refusals all cost the same (one Argon2 verification, against a dummy hash when there
is no usable account), and repeated failures slow the guesser down without locking the
account's owner out: pauses are per (account, address) and per address.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from foi_core import accounts
from foi_core.accounts import create_group, create_user
from foi_core.audit import Outcome
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import LoginThrottle, User, WebSession, utcnow
from foi_core.settings import Settings
from foi_core.sign_in import DEFAULT_POLICY
from search_app import create_app
from tests.staff_app import (
    CSRF,
    FRONT_OFFICE_SID,
    PASSWORD,
    audit_entries,
    sign_in,
    staff_app,
)

pytestmark = pytest.mark.integration

WRONG = "not the password at all"
SID = FRONT_OFFICE_SID
COOKIE = "session"


@pytest.fixture
def app(tmp_path: Path, es: object) -> Iterator[Flask]:
    with staff_app(tmp_path, "test-sessions-unused") as flask_app:
        yield flask_app


def _signed_in_client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    assert _signed_in(client)
    return client


def _signed_in(client: FlaskClient) -> bool:
    response = client.get("/saved")
    assert response.status_code in {200, 302}
    return response.status_code == 200


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, cookie: str) -> FlaskClient:
    """A second browser holding a copy of someone's cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


def _csrf(client: FlaskClient) -> str:
    found = CSRF.search(client.get("/saved").get_data(as_text=True))
    assert found
    return found.group(1)


def test_a_cookie_kept_from_before_sign_out_is_refused_after_it(app: Flask) -> None:
    client = _signed_in_client(app, "olive")
    kept = _cookie(client)
    assert _signed_in(_replay(app, kept))
    assert client.post("/logout", data={"csrf_token": _csrf(client)}).status_code == 302
    assert not _signed_in(client)
    assert not _signed_in(_replay(app, kept))


def test_the_cookie_is_a_random_id_and_only_its_hash_is_stored(app: Flask) -> None:
    client = _signed_in_client(app, "olive")
    cookie = _cookie(client)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie), "the cookie carries nothing but an id"
    with app.extensions["foi"].sessions() as db:
        rows = list(db.execute(select(WebSession)).scalars())
        olive = db.execute(select(User).where(User.username == "olive")).scalar_one()
    [row] = [r for r in rows if r.user_id is not None]
    assert row.user_id == olive.id
    assert row.id_sha256 == hashlib.sha256(cookie.encode()).hexdigest()
    assert all(cookie not in (r.data or "") for r in rows)


def test_signing_in_replaces_the_id_the_browser_had(app: Flask) -> None:
    client = app.test_client()
    client.get("/login")
    before = _cookie(client)
    assert sign_in(client, "olive").status_code == 302
    assert _cookie(client) != before
    assert not _signed_in(_replay(app, before)), "a planted id never becomes a signed-in one"


def _change(app: Flask, change: str) -> None:
    with transaction(app.extensions["foi"].sessions) as db:
        if change == "disable":
            accounts.set_active(db, "fred", active=False)
        elif change == "role":
            accounts.set_role(db, "fred", "foi_officer")
        elif change == "sids":
            accounts.set_sids(db, "fred", [SID, "S-1-5-21-1-2-3-2002"])
        elif change == "password":
            accounts.reset_password(db, "fred", "a brand new long password")
        elif change == "join":
            create_group(db, "Housing", ["S-1-5-21-1-2-3-3003"])
            accounts.add_to_group(db, "Housing", "fred")
        elif change == "group sids":
            create_group(db, "Parks", ["S-1-5-21-1-2-3-4004"])
            accounts.add_to_group(db, "Parks", "fred")
        else:
            raise AssertionError(change)


@pytest.mark.parametrize("change", ["disable", "role", "sids", "password", "join"])
def test_account_changes_end_the_sessions_at_once(app: Flask, change: str) -> None:
    client = _signed_in_client(app, "fred")
    other = _signed_in_client(app, "fred")
    bystander = _signed_in_client(app, "olive")
    _change(app, change)
    assert not _signed_in(client)
    assert not _signed_in(other)
    assert _signed_in(bystander)
    with app.extensions["foi"].sessions() as db:
        fred = db.execute(select(User).where(User.username == "fred")).scalar_one()
        left = db.execute(select(WebSession).where(WebSession.user_id == fred.id)).all()
    assert left == []


def test_a_groups_sids_changing_ends_its_members_sessions(app: Flask) -> None:
    _change(app, "group sids")
    client = _signed_in_client(app, "fred")
    with transaction(app.extensions["foi"].sessions) as db:
        accounts.set_group_sids(db, "Parks", ["S-1-5-21-1-2-3-5005"])
    assert not _signed_in(client)


def test_a_change_made_behind_the_apps_back_still_ends_the_session(app: Flask) -> None:
    """The session remembers what the account could do when it signed in (role, SIDs,
    password): a change by any route, even a direct database edit, signs it out."""
    client = _signed_in_client(app, "fred")
    with transaction(app.extensions["foi"].sessions) as db:
        db.execute(update(User).where(User.username == "fred").values(role="admin"))
    assert not _signed_in(client)
    assert sign_in(client, "fred").status_code == 302
    assert _signed_in(client)


def test_re_enabling_an_account_does_not_bring_its_old_sessions_back(app: Flask) -> None:
    client = _signed_in_client(app, "fred")
    kept = _cookie(client)
    _change(app, "disable")
    with transaction(app.extensions["foi"].sessions) as db:
        accounts.set_active(db, "fred", active=True)
    assert not _signed_in(_replay(app, kept))


def _age(app: Flask, *, idle: timedelta, age: timedelta) -> None:
    now = utcnow()
    with transaction(app.extensions["foi"].sessions) as db:
        db.execute(
            update(WebSession)
            .where(WebSession.user_id.is_not(None))
            .values(last_seen_at=now - idle, created_at=now - age)
        )


def test_a_session_idle_past_the_limit_ends(app: Flask) -> None:
    limits = app.extensions["foi"].settings
    assert limits.session_idle_minutes == 30 and limits.session_max_hours == 8
    client = _signed_in_client(app, "olive")
    _age(app, idle=timedelta(minutes=29), age=timedelta(hours=1))
    assert _signed_in(client), "29 minutes idle is within the limit"
    _age(app, idle=timedelta(minutes=31), age=timedelta(hours=1))
    assert not _signed_in(client)


def test_using_a_session_keeps_it_alive_until_the_absolute_limit(app: Flask) -> None:
    client = _signed_in_client(app, "olive")
    _age(app, idle=timedelta(minutes=20), age=timedelta(hours=7, minutes=50))
    assert _signed_in(client)
    with app.extensions["foi"].sessions() as db:
        row = db.execute(select(WebSession).where(WebSession.user_id.is_not(None))).scalar_one()
        assert utcnow() - row.last_seen_at.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
    _age(app, idle=timedelta(minutes=1), age=timedelta(hours=8, minutes=1))
    assert not _signed_in(client), "activity never extends a session past 8 hours"


def test_sign_out_is_audited_and_ends_only_that_session(app: Flask) -> None:
    client = _signed_in_client(app, "olive")
    other = _signed_in_client(app, "olive")
    client.post("/logout", data={"csrf_token": _csrf(client)})
    assert not _signed_in(client)
    assert _signed_in(other)
    [entry] = audit_entries(app, "logout")
    assert (entry.actor, entry.outcome) == ("olive", Outcome.OK)


# Sign-in: equal work for every refusal, and throttling instead of lockout.


def _timed_sign_in(app: Flask, username: str, password: str, ip: str) -> tuple[float, int]:
    client = app.test_client()
    found = CSRF.search(
        client.get("/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True)
    )
    assert found
    data = {"csrf_token": found.group(1), "username": username, "password": password}
    started = time.perf_counter()
    response = client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})
    return time.perf_counter() - started, response.status_code


def test_every_kind_of_refusal_takes_as_long_as_a_wrong_password(app: Flask) -> None:
    with transaction(app.extensions["foi"].sessions) as db:
        create_user(db, "gone", "front_office", PASSWORD)
        accounts.set_active(db, "gone", active=False)
    # fred is paused at one address only (for the whole test, however slow the machine is);
    # the others are refused at every address.
    for _ in range(DEFAULT_POLICY.account_free_failures):
        _timed_sign_in(app, "fred", WRONG, "198.51.100.9")
    with transaction(app.extensions["foi"].sessions) as db:
        db.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == "fred")
            .values(blocked_until=utcnow() + timedelta(hours=1))
        )
    kinds = {
        "wrong password": ("olive", WRONG),
        "unknown account": ("nobody.here", WRONG),
        "disabled account": ("gone", PASSWORD),
        "paused after failures": ("fred", PASSWORD),
    }
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    for attempt in range(5):
        for kind, (username, password) in kinds.items():
            ip = "198.51.100.9" if kind == "paused after failures" else f"203.0.113.{attempt}"
            elapsed, status = _timed_sign_in(app, username, password, ip)
            assert status == 401, kind
            timings[kind].append(elapsed)
    medians = {kind: statistics.median(times) for kind, times in timings.items()}
    print("sign-in refusal medians (s):", {k: round(v, 3) for k, v in medians.items()})
    reference = medians["wrong password"]
    for kind, median in medians.items():
        assert 0.6 < median / reference < 1.6, (kind, medians)


def test_a_strangers_failures_do_not_lock_the_owner_out(app: Flask) -> None:
    stranger = "192.0.2.66"
    for _ in range(8):
        assert sign_in(app.test_client(), "olive", WRONG, ip=stranger).status_code == 401
    # The stranger is paused, even with the right password...
    refused = sign_in(app.test_client(), "olive", PASSWORD, ip=stranger)
    assert refused.status_code == 401
    assert "Sign-in failed" in refused.get_data(as_text=True)
    # ...while the owner, at their own desk, signs in as usual.
    assert sign_in(app.test_client(), "olive", PASSWORD, ip="10.1.2.3").status_code == 302
    reasons = [
        e.details.get("reason") for e in audit_entries(app, "login") if e.outcome == "denied"
    ]
    assert reasons[-1] == "paused after repeated failures from this address"
    assert reasons.count("wrong password") >= 5


def test_the_pause_lapses_and_a_success_clears_the_count(app: Flask) -> None:
    ip = "192.0.2.67"
    for _ in range(6):
        sign_in(app.test_client(), "olive", WRONG, ip=ip)
    assert sign_in(app.test_client(), "olive", PASSWORD, ip=ip).status_code == 401
    with transaction(app.extensions["foi"].sessions) as db:
        db.execute(update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1)))
    assert sign_in(app.test_client(), "olive", PASSWORD, ip=ip).status_code == 302
    with app.extensions["foi"].sessions() as db:
        pairs = db.execute(select(LoginThrottle).where(LoginThrottle.username == "olive")).all()
    assert pairs == []


def test_guessing_across_accounts_from_one_address_is_paused(app: Flask) -> None:
    """Spraying one password over many accounts from one address: each account is tried
    once, yet the address is paused once it has failed many times."""
    ip = "192.0.2.68"
    for number in range(DEFAULT_POLICY.address_free_failures):
        sign_in(app.test_client(), f"user{number}", WRONG, ip=ip)
    assert sign_in(app.test_client(), "olive", PASSWORD, ip=ip).status_code == 401
    assert sign_in(app.test_client(), "olive", PASSWORD, ip="10.9.9.9").status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_the_clients(tmp_path: Path, es: object) -> None:
    """Pauses are per address: behind a reverse proxy (FOI_PROXY_HOPS) that address is the
    client's; without the setting a forged X-Forwarded-For changes nothing."""
    for hops, expected in ((1, "203.0.113.5"), (None, "127.0.0.1")):
        settings = Settings(
            state_dir=tmp_path / str(hops),
            database_url=f"sqlite:///{tmp_path / f'{hops}.db'}",
            index_prefix="test-sessions-unused",
            secure_cookies=False,
            proxy_hops=hops,
        )
        proxied = create_app(settings)
        upgrade(proxied.extensions["foi"].engine)
        client = proxied.test_client()
        found = CSRF.search(client.get("/login").get_data(as_text=True))
        assert found
        client.post(
            "/login",
            data={"csrf_token": found.group(1), "username": "nobody", "password": WRONG},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        [entry] = audit_entries(proxied, "login")
        assert entry.ip == expected
        with proxied.extensions["foi"].sessions() as db:
            addresses = set(db.execute(select(LoginThrottle.ip)).scalars())
        assert addresses == {expected}
        proxied.extensions["foi"].engine.dispose()


def test_a_stranger_at_a_shared_address_does_not_lock_its_staff_out(app: Flask) -> None:
    """An office's staff share one address (NAT, a terminal server): once olive has signed in
    from it, a stranger spraying accounts from the same address pauses the address for
    strangers, never for her."""
    office = "192.0.2.70"
    assert sign_in(app.test_client(), "olive", PASSWORD, ip=office).status_code == 302
    for number in range(DEFAULT_POLICY.address_free_failures + 2):
        sign_in(app.test_client(), f"nobody{number}", WRONG, ip=office)
    assert sign_in(app.test_client(), "nobody0", WRONG, ip=office).status_code == 401
    assert sign_in(app.test_client(), "olive", PASSWORD, ip=office).status_code == 302


def test_nul_characters_are_refused_before_any_view(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "olive\x00", "password": "x"})
    assert response.status_code == 400
    assert client.get("/login", query_string={"next": "/\x00"}).status_code == 400
