"""The audit log holds under concurrent writers and against someone with database write access.

Concurrency: several processes append at once (web workers, a crawl and `foi beat` do) on the
embedded SQLite database and on PostgreSQL; the chain must never fork.

Tampering: someone who can write to the database but does not hold the audit key drops the
triggers, edits an entry and re-hashes every later entry and the head. The entries' seals
(HMAC with the key kept outside the database) and the checkpoints anchored outside it must
expose that.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import text

from foi_core import audit
from foi_core.audit_seal import AuditSeal
from foi_core.db import build_engine, session_factory, transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings

WRITERS = 8
APPENDS = 200


def _append_many(url: str, state_dir: str, key: str, writer: int, ready: object) -> None:
    settings = Settings(state_dir=Path(state_dir), database_url=url)
    engine = build_engine(settings)
    sessions = session_factory(engine, AuditSeal(key.encode(), Path(state_dir) / "anchors"))
    ready.wait()  # type: ignore[attr-defined]
    for i in range(APPENDS):
        with transaction(sessions) as session:
            audit.record(session, actor=f"writer-{writer}", action="search", details={"i": i})
    engine.dispose()


def _hammer(url: str, state_dir: Path, key: str) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    workers = [
        context.Process(target=_append_many, args=(url, str(state_dir), key, n, ready))
        for n in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join(timeout=600)
        assert worker.exitcode == 0, f"writer exited with {worker.exitcode}"


KEY = "k" * 64


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_appends_never_fork_the_chain(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'audit.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = build_engine(Settings(state_dir=tmp_path, database_url=url))
    upgrade(engine)
    _hammer(url, tmp_path, KEY)
    sessions = session_factory(engine, AuditSeal(KEY.encode(), tmp_path / "anchors"))
    with sessions() as session:
        result = audit.verify_chain(session)
        forks = session.execute(
            text("SELECT count(*) - count(DISTINCT prev_hash) FROM audit_events")
        ).scalar_one()
    engine.dispose()
    assert forks == 0
    assert result.ok, result
    assert result.checked == WRITERS * APPENDS
