from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from foi_core import audit
from foi_core.audit_seal import AuditSeal
from foi_core.db import build_engine, transaction
from foi_core.migrate import upgrade
from foi_core.models import AuditEvent, AuditHead
from foi_core.settings import Settings


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


def _rechain(
    sessions: sessionmaker[Session], edit_id: int, *, strip_seals: bool = False
) -> audit.ChainVerification:
    """The full attack of someone with database write access but not the audit key: drop the
    triggers, edit one entry, re-hash it and every later entry, and move the head."""
    with transaction(sessions) as session:
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        session.execute(text("DROP TRIGGER audit_events_no_delete"))
        events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        prev = audit.GENESIS_HASH
        for event in events:
            if event.id == edit_id:
                event.actor = "mallory"
            if event.id >= edit_id:
                event.prev_hash = prev
                event.hash = audit.entry_hash(event)
                if strip_seals:
                    event.seal = None
                session.flush()
            prev = event.hash
        session.execute(update(AuditHead).values(last_id=events[-1].id, last_hash=prev))
    with sessions() as session:
        return audit.verify_chain(session)


def test_rehashed_history_is_detected_by_the_seals(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions)
    result = _rechain(sqlite_sessions, 3)
    assert not result.ok and result.first_bad_id == 3 and "audit key" in result.reason


def test_rehashed_history_with_seals_stripped_is_detected(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    _fill(sqlite_sessions, 2)
    audit.checkpoint(sqlite_sessions)  # as `foi db upgrade` does on a new database
    _fill(sqlite_sessions, 3)
    result = _rechain(sqlite_sessions, 1, strip_seals=True)
    assert not result.ok and result.first_bad_id == 1 and "not sealed" in result.reason


def test_seals_stripped_from_a_later_entry_are_detected(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    _fill(sqlite_sessions)
    result = _rechain(sqlite_sessions, 4, strip_seals=True)
    assert not result.ok and result.first_bad_id == 4


def test_a_rewrite_with_the_wrong_key_is_detected(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _fill(sqlite_sessions)
    seal = audit.session_seal(sqlite_sessions())
    forged = AuditSeal(b"x" * 64, seal.anchor_path)
    with transaction(sqlite_sessions) as session:
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        event = session.get(AuditEvent, 5)
        assert event is not None
        event.seal = forged.seal(event.hash)
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert not result.ok and result.first_bad_id == 5


def test_truncation_before_a_checkpoint_is_detected(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    _fill(sqlite_sessions)
    audit.checkpoint(sqlite_sessions)
    with transaction(sqlite_sessions) as session:
        session.execute(text("DROP TRIGGER audit_events_no_delete"))
        session.execute(text("DELETE FROM audit_events WHERE id >= 4"))
        last = session.get(AuditEvent, 3)
        assert last is not None
        session.execute(update(AuditHead).values(last_id=3, last_hash=last.hash))
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert not result.ok and result.first_bad_id == 5 and "no longer in the log" in result.reason


def test_a_rewritten_checkpoint_is_detected(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions)
    anchor = audit.checkpoint(sqlite_sessions)
    path = audit.session_seal(sqlite_sessions()).anchor_path
    path.write_text(path.read_text().replace(anchor.entry_hash, "f" * 64))
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert not result.ok and "anchor file" in result.reason


def test_checkpoints_are_private_and_counted(sqlite_sessions: sessionmaker[Session]) -> None:
    _fill(sqlite_sessions, 3)
    audit.checkpoint(sqlite_sessions)
    _fill(sqlite_sessions, 2)
    audit.checkpoint(sqlite_sessions)
    path = audit.session_seal(sqlite_sessions()).anchor_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    # The genesis (anchored before the first entry) and the two asked for.
    assert result.ok and result.checked == 5 and result.checkpoints == 3 and not result.warnings
    assert result.sealed == 5


def test_entries_from_before_sealing_are_vouched_for_by_the_first_checkpoint(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    _fill(sqlite_sessions, 3)
    with transaction(sqlite_sessions) as session:
        # A database from before sealing: its entries carry no seal, and nothing anchors it.
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        session.execute(text("UPDATE audit_events SET seal = NULL"))
    audit.session_seal(sqlite_sessions()).anchor_path.unlink()
    with sqlite_sessions() as session:
        assert "checkpoint --initial" in audit.verify_chain(session).reason
    # Only an operator's explicit decision anchors it (as `foi db upgrade` does from 0009).
    with pytest.raises(audit.AnchorMissing):
        audit.checkpoint(sqlite_sessions)
    first = audit.checkpoint(sqlite_sessions, initial=True)
    assert first.unsealed_through == 3
    _fill(sqlite_sessions, 2)
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert result.ok and result.checked == 5
    assert any("predate sealing" in w for w in result.warnings)


def test_appends_need_a_sealed_session(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/t.db")
    engine = build_engine(settings)
    upgrade(engine)
    with pytest.raises(audit.AuditSealMissing), Session(engine) as session:
        audit.record(session, actor="alice", action="search")


def test_a_new_database_checkpointed_before_any_entry_verifies(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    assert audit.checkpoint(sqlite_sessions).entry_id == 0
    _fill(sqlite_sessions, 2)
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert result.ok and result.checked == 2 and result.checkpoints == 1


def test_a_deleted_anchor_file_with_stripped_seals_is_detected(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    _fill(sqlite_sessions)
    _rechain(sqlite_sessions, 3, strip_seals=True)
    audit.session_seal(sqlite_sessions()).anchor_path.unlink()
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert not result.ok and "no checkpoint anchors this log" in result.reason
    # And no automatic checkpoint (crawl, beat, verify) locks the rewrite in.
    with pytest.raises(audit.AnchorMissing):
        audit.checkpoint(sqlite_sessions)


def test_a_deleted_head_row_is_reported_and_never_forks_the_chain(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    _fill(sqlite_sessions, 3)
    with transaction(sqlite_sessions) as session:
        session.execute(text("DELETE FROM audit_head"))
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert not result.ok and "head row was deleted" in result.reason
    _fill(sqlite_sessions, 2)
    with sqlite_sessions() as session:
        result = audit.verify_chain(session)
    assert result.ok and result.checked == 5
