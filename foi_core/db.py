"""Database engine and sessions (SQLite embedded by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from foi_core.audit_seal import AuditSeal
from foi_core.private_files import private_file
from foi_core.settings import Settings

# Key of the AuditSeal in every session's `info`.
AUDIT_SEAL = "audit_seal"


def build_engine(settings: Settings) -> Engine:
    """One engine per process; callers inject it rather than re-creating it per request."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
        database = make_url(url).database
        if database and database != ":memory:":
            private_file(Path(database))
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the web app read while a crawl writes; foreign keys are off by default.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def session_factory(engine: Engine, audit_seal: AuditSeal) -> sessionmaker[Session]:
    """Sessions that carry the process's audit seal, so every audit entry appended through
    them is sealed and every verification checks seals (see foi_core/audit.py)."""
    return sessionmaker(engine, expire_on_commit=False, info={AUDIT_SEAL: audit_seal})


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
