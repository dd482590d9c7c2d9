from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from foi_core.db import build_engine
from foi_core.migrate import downgrade, upgrade
from foi_core.models import Base, CaseExport
from foi_core.settings import Settings


def test_migrations_match_models(tmp_path: Path) -> None:
    engine = build_engine(Settings(state_dir=tmp_path))
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    engine = build_engine(Settings(state_dir=tmp_path))
    upgrade(engine)
    downgrade(engine, "base")
    upgrade(engine)


def test_partial_indexes_keep_their_condition(tmp_path: Path) -> None:
    # Alembic's comparison ignores an index's WHERE clause, so check the one that matters here:
    # one queued or running bundle per case, and any number of finished ones.
    engine = build_engine(Settings(state_dir=tmp_path))
    upgrade(engine)
    with engine.connect() as connection:
        sql = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'uq_case_exports_pending'")
        ).scalar_one()
    assert "UNIQUE" in sql and "WHERE status IN ('queued', 'running')" in sql
    expected = CaseExport.__table__.indexes  # type: ignore[attr-defined]
    [index] = [i for i in expected if i.name == "uq_case_exports_pending"]
    assert str(index.dialect_options["sqlite"]["where"]) == "status IN ('queued', 'running')"
