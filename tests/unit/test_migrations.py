from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from foi_core.db import build_engine
from foi_core.migrate import downgrade, upgrade
from foi_core.models import Base
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
