from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from foi_core import audit
from foi_core.db import transaction


def _fill(sessions: sessionmaker[Session], n: int = 5) -> None:
    for i in range(n):
        with transaction(sessions) as session:
            audit.record(
                session,
                actor="alice",
                action="search",
                target="",
                ip="127.0.0.1",
                details={"query": f"q{i}", "total": i},
            )


def test_chain_verifies(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions)
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert result.ok and result.checked == 5


def test_updates_and_deletes_are_refused(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions, 2)
    for statement in ("UPDATE audit_events SET actor='mallory'", "DELETE FROM audit_events"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction(sqlite_sessions) as session,
        ):
            session.execute(text(statement))


def _tamper(sessions: sessionmaker[Session], statement: str) -> audit.ChainVerification:
    with transaction(sessions) as session:
        # Someone with raw database access drops the protection and edits history.
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        session.execute(text("DROP TRIGGER audit_events_no_delete"))
        session.execute(text(statement))
    with sessions() as session:
        return audit.verify_chain(session)


def test_edited_entry_is_detected(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions)
    result = _tamper(sqlite_sessions, "UPDATE audit_events SET actor='mallory' WHERE id=3")
    assert not result.ok and result.first_bad_id == 3 and "altered" in result.reason


def test_removed_entry_is_detected(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions)
    result = _tamper(sqlite_sessions, "DELETE FROM audit_events WHERE id=2")
    assert not result.ok and result.first_bad_id == 3


def test_truncated_tail_is_detected(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions)
    result = _tamper(sqlite_sessions, "DELETE FROM audit_events WHERE id=5")
    assert not result.ok and "truncated" in result.reason
