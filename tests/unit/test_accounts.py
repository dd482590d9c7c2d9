from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from foi_core.accounts import (
    MAX_FAILED_LOGINS,
    AccountError,
    LoginRefused,
    authenticate,
    create_user,
)
from foi_core.db import transaction

PASSWORD = "correct horse battery"


def test_create_and_authenticate(sqlite_sessions: sessionmaker[Session]) -> None:
    with transaction(sqlite_sessions) as session:
        user = create_user(session, "alice", "foi_officer", PASSWORD, ["S-1-5-21-1-2-3-1001"])
        assert user.password_hash.startswith("$argon2id$")
    with transaction(sqlite_sessions) as session:
        assert authenticate(session, "alice", PASSWORD).username == "alice"


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


def test_lockout_after_repeated_failures(sqlite_sessions: sessionmaker[Session]) -> None:
    with transaction(sqlite_sessions) as session:
        create_user(session, "carol", "front_office", PASSWORD)
    for _ in range(MAX_FAILED_LOGINS):
        with (
            pytest.raises(LoginRefused, match="wrong password"),
            transaction(sqlite_sessions) as session,
        ):
            try:
                authenticate(session, "carol", "guess-guess-guess")
            finally:
                session.commit()
    with pytest.raises(LoginRefused, match="locked"), transaction(sqlite_sessions) as session:
        authenticate(session, "carol", PASSWORD)
