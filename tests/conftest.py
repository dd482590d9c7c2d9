"""Shared fixtures. Integration tests run against the real services `foi stack up` starts;
when one is down they fail (with the command to fix it), they never skip."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy.orm import Session, sessionmaker

from foi_core.audit_seal import load_audit_seal
from foi_core.clients import build_elasticsearch
from foi_core.db import build_engine, session_factory
from foi_core.migrate import upgrade
from foi_core.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> object:
    from devstack.stack import LocalStack

    local = LocalStack(settings)
    down = [s for s in local.status() if not s.healthy]
    if down:
        pytest.fail(
            "services down: " + ", ".join(s.name for s in down) + " — run `foi stack up`",
            pytrace=False,
        )
    return local


@pytest.fixture(scope="session")
def es(settings: Settings, stack: object) -> Elasticsearch:
    return build_elasticsearch(settings)


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> sessionmaker[Session]:
    """A migrated, private SQLite database for one test."""
    settings = Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/t.db")
    engine = build_engine(settings)
    upgrade(engine)
    return session_factory(engine, load_audit_seal(settings))


@pytest.fixture
def index_prefix(es: Elasticsearch) -> Iterator[str]:
    """A unique index prefix, dropped after the test."""
    from indexer.lifecycle import IndexNames, drop_all

    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    drop_all(es, IndexNames(prefix))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
