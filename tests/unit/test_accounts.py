from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from foi_core.accounts import AccountError, create_user
from foi_core.db import transaction
from foi_core.sign_in import PAUSED, LoginRefused, ThrottlePolicy, authenticate

PASSWORD = "correct horse battery"


def test_create_and_authenticate(sqlite_sessions: sessionmaker[Session]) -> None:
    with transaction(sqlite_sessions) as session:
        user = create_user(session, "alice", "foi_officer", PASSWORD, ["S-1-5-21-1-2-3-1001"])
        assert user.password_hash.startswith("$argon2id$")
    with transaction(sqlite_sessions) as session:
        assert authenticate(session, "alice", PASSWORD, "10.0.0.1").username == "alice"


@pytest.mark.parametrize(
    ("username", "role", "password", "sids", "message"),
    [
        ("a b", "admin", PASSWORD, [], "username"),
        ("bob", "wizard", PASSWORD, [], "unknown role"),
        ("bob", "admin", "short", [], "at least 12"),
        ("bob", "admin", PASSWORD, ["not-a-sid"], "not a Windows SID"),
    ],
)
def test_invalid_accounts_are_refused(
    sqlite_sessions: sessionmaker[Session],
    username: str,
    role: str,
    password: str,
    sids: list[str],
    message: str,
) -> None:
    with pytest.raises(AccountError, match=message), transaction(sqlite_sessions) as session:
        create_user(session, username, role, password, sids)


def test_failures_pause_the_address_that_made_them_not_the_account(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    policy = ThrottlePolicy(account_free_failures=3)
    with transaction(sqlite_sessions) as session:
        create_user(session, "carol", "front_office", PASSWORD)
    for _ in range(policy.account_free_failures):
        with (
            pytest.raises(LoginRefused, match="wrong password"),
            transaction(sqlite_sessions) as session,
        ):
            try:
                authenticate(session, "carol", "guess-guess-guess", "192.0.2.1", policy=policy)
            finally:
                session.commit()
    with pytest.raises(LoginRefused, match=PAUSED), transaction(sqlite_sessions) as session:
        authenticate(session, "carol", PASSWORD, "192.0.2.1", policy=policy)
    with transaction(sqlite_sessions) as session:
        assert authenticate(session, "carol", PASSWORD, "10.0.0.1", policy=policy).active


def test_pauses_double_up_to_a_ceiling() -> None:
    policy = ThrottlePolicy()
    assert policy.pause(4, free=5) is None
    pauses = [policy.pause(failures, free=5) for failures in (5, 6, 7)]
    assert pauses == [timedelta(seconds=15), timedelta(seconds=30), timedelta(seconds=60)]
    assert policy.pause(60, free=5) == policy.longest_pause
