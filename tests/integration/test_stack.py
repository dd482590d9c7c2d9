"""The local stack is real: each service answers its own protocol, and `up` is idempotent."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
import requests
from elasticsearch import Elasticsearch
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from devstack.stack import LocalStack
from devstack.versions import ELASTICSEARCH_VERSION, TIKA_VERSION
from foi_core import audit
from foi_core.audit_seal import load_audit_seal
from foi_core.db import session_factory, transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings


def test_every_service_is_healthy(stack: LocalStack) -> None:
    statuses = {s.name: s for s in stack.status()}
    assert set(statuses) == {"elasticsearch", "tika", "samba", "redis", "postgres"}
    assert all(s.healthy and s.pid for s in statuses.values()), statuses


def test_stack_up_again_is_harmless(stack: LocalStack) -> None:
    before = {s.name: s.pid for s in stack.status()}
    stack.up(report=lambda _line: None)
    assert {s.name: s.pid for s in stack.status()} == before


def test_elasticsearch_version_matches_the_pin_and_client(es: Elasticsearch) -> None:
    import elasticsearch

    # The integ-test-zip distribution serves no `GET /`; the nodes API reports the version.
    nodes = es.nodes.info(metric="process")["nodes"]
    server = next(iter(nodes.values()))["version"]
    assert server == ELASTICSEARCH_VERSION
    assert elasticsearch.__versionstr__.split(".")[0] == server.split(".")[0]


def test_tika_is_the_pinned_version_with_ocr(settings: Settings, stack: LocalStack) -> None:
    version = requests.get(f"{settings.tika_url}/version", timeout=10).text
    assert TIKA_VERSION in version
    parsers = requests.get(
        f"{settings.tika_url}/parsers/details", timeout=30, headers={"Accept": "application/json"}
    ).text
    assert "TesseractOCRParser" in parsers


def test_redis_round_trip(settings: Settings, stack: LocalStack) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    key = f"test:{uuid.uuid4().hex}"
    client.set(key, "held", ex=30)
    assert client.get(key) == b"held"
    client.delete(key)


def test_postgres_migrations_and_append_only_audit(postgres_url: str, tmp_path: Path) -> None:
    engine = create_engine(postgres_url)
    upgrade(engine)
    sessions = session_factory(engine, load_audit_seal(Settings(state_dir=tmp_path)))
    for i in range(3):
        with transaction(sessions) as session:
            audit.record(session, actor="alice", action="view", target=f"doc-{i}")
    with sessions() as session:
        assert audit.verify_chain(session).ok
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory'"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
    engine.dispose()
