"""Explicit index migration against the real server: one migration at a time (a lock the
second one sees), writes made during a migration survive it, a stale lock is taken over only
when asked, and crawls never migrate."""

from __future__ import annotations

import copy
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from sqlalchemy import select

from foi_cli.index import index_group
from foi_core.audit import Outcome
from foi_core.db import build_engine, transaction
from foi_core.migrate import upgrade
from foi_core.models import AuditEvent, CrawlRun, Source
from foi_core.settings import Settings
from indexer.bulk import delete_documents, write_documents, write_partial
from indexer.lifecycle import IndexNames, IndexOutdated, alias_state, require_index
from indexer.mapping import SCHEMA_VERSION, index_body
from indexer.migration import migrate
from indexer.migration_lock import LOCK_ID, MigrationLocked, MigrationLockLost
from services import Services

OLD = SCHEMA_VERSION - 1


def _doc(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "doc_id": f"d{i}",
        "kind": "file",
        "path": f"Team/file {i}.txt",
        "filename": f"file {i}.txt",
        "status": "ok",
        "deleted": False,
        "schema_version": OLD,
        **extra,
    }


def _old_index(es: Elasticsearch, names: IndexNames, count: int) -> str:
    """An index of the previous schema version behind both aliases, holding `count` files."""
    body = copy.deepcopy(index_body())
    del body["mappings"]["properties"]["name_words"]  # what the older version lacked
    old = names.concrete(OLD)
    es.indices.create(index=old, **body)
    es.indices.update_aliases(
        actions=[
            {"add": {"index": old, "alias": names.read_alias}},
            {"add": {"index": old, "alias": names.write_alias, "is_write_index": True}},
        ]
    )
    operations: list[dict[str, Any]] = []
    for i in range(count):
        operations += [{"index": {"_index": old, "_id": f"d{i}"}}, _doc(i)]
    es.bulk(operations=operations, refresh=True)
    return old


def _source(es: Elasticsearch, names: IndexNames, doc_id: str) -> dict[str, Any] | None:
    found = es.options(ignore_status=404).get(index=names.read_alias, id=doc_id)
    return found["_source"] if found.get("found") else None


def _count(es: Elasticsearch, index: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def _plant_lock(es: Elasticsearch, names: IndexNames, owner: str, age: timedelta) -> None:
    """The lock document a migration that is still running (or died `age` ago) leaves."""
    beat = (datetime.now(UTC) - age).isoformat()
    es.options(ignore_status=400).indices.create(index=names.lock_index)
    es.index(
        index=names.lock_index,
        id=LOCK_ID,
        refresh=True,
        document={
            "owner": owner,
            "host": "elsewhere",
            "pid": 4242,
            "source": names.concrete(OLD),
            "target": names.concrete(),
            "started": beat,
            "heartbeat": beat,
        },
    )


def test_a_second_concurrent_migration_is_refused_and_the_first_copies_everything(
    es: Elasticsearch, index_prefix: str
) -> None:
    names = IndexNames(index_prefix)
    old = _old_index(es, names, 1200)
    copying, second_done = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def hold_at_start(done: int) -> None:
        if done == 0:
            copying.set()
            assert second_done.wait(60)

    def first() -> None:
        try:
            outcome["report"] = migrate(es, names, owner="first", progress=hold_at_start)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc
            copying.set()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert copying.wait(60) and "error" not in outcome
        with pytest.raises(MigrationLocked) as refused:
            migrate(es, names, owner="second")
        assert "first" in str(refused.value) and names.concrete() in str(refused.value)
        # The second never touched the first's target: it is there, and writes go to it.
        assert alias_state(es, names).write == names.concrete()
    finally:
        second_done.set()
        thread.join(120)
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert (report.action, report.source, report.target) == ("migrated", old, names.concrete())
    assert report.copied == 1200 and report.kept_newer == 0
    assert alias_state(es, names).read == names.concrete()
    assert _count(es, names.read_alias) == 1200
    assert _source(es, names, "d7")["name_words"] == "Team file 7 txt"  # type: ignore[index]
    assert migrate(es, names).action == "current"
    assert not es.exists(index=names.lock_index, id=LOCK_ID)


def test_writes_made_during_a_migration_survive_it(es: Elasticsearch, index_prefix: str) -> None:
    names = IndexNames(index_prefix)
    _old_index(es, names, 600)
    write = names.write_alias

    def write_meanwhile(done: int) -> None:
        if done != 0:
            return
        # Writes go to the new index already, before any document was copied.
        write_documents(es, write, [_doc(1, filename="newer.txt"), _doc(9000)])
        write_partial(es, write, [{"doc_id": "d2", "held": True, "hold_ids": ["7"]}])
        delete_documents(es, write, ["d3", "d4"])
        write_documents(es, write, [_doc(4, filename="written again.txt")])

    report = migrate(es, names, progress=write_meanwhile)

    assert report.action == "migrated"
    assert report.copied == 597 and report.kept_newer == 3  # d1, d2 (carried forward), d4
    assert report.deleted == 1  # d3's copy; d4 was written again after its deletion
    es.indices.refresh(index=names.read_alias)
    assert _source(es, names, "d1")["filename"] == "newer.txt"  # type: ignore[index]
    assert _source(es, names, "d9000") is not None
    held = _source(es, names, "d2")
    assert held is not None and held["held"] is True and held["hold_ids"] == ["7"]
    assert held["path"] == "Team/file 2.txt" and held["schema_version"] == SCHEMA_VERSION
    assert _source(es, names, "d3") is None
    assert _source(es, names, "d4")["filename"] == "written again.txt"  # type: ignore[index]
    assert _count(es, names.read_alias) == 600


def test_crawls_refuse_an_outdated_or_half_migrated_index_and_never_migrate(
    es: Elasticsearch, index_prefix: str, settings: Settings
) -> None:
    names = IndexNames(index_prefix)
    old = _old_index(es, names, 3)
    with pytest.raises(IndexOutdated, match="foi index migrate"):
        require_index(es, names)
    runtime = Services(replace(settings, index_prefix=index_prefix), given_es=es)
    source = Source(name="hr", server="127.0.0.1", share="s", username="u", credential_ref="env:X")
    with pytest.raises(IndexOutdated):
        runtime.processor(source)
    assert alias_state(es, names).read == alias_state(es, names).write == old
    assert not es.indices.exists(index=names.concrete())

    # Half-way through a migration (writes moved, reads not yet): still refused.
    es.indices.create(index=names.concrete(), **index_body())
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": old, "alias": names.write_alias}},
            {"add": {"index": names.concrete(), "alias": names.write_alias}},
        ]
    )
    with pytest.raises(IndexOutdated, match="has not finished"):
        require_index(es, names)
    # Running the migration again finishes it.
    report = migrate(es, names)
    assert report.resumed and report.copied == 3
    assert require_index(es, names) == names.concrete()


def test_a_stale_lock_is_taken_over_only_when_asked(es: Elasticsearch, index_prefix: str) -> None:
    names = IndexNames(index_prefix)
    old = _old_index(es, names, 10)
    _plant_lock(es, names, "dead operator", timedelta(minutes=30))
    with pytest.raises(MigrationLocked, match="--take-over-stale"):
        migrate(es, names)
    with pytest.raises(MigrationLocked):  # not stale enough
        migrate(es, names, take_over_stale=True, stale_after=timedelta(hours=1))
    assert alias_state(es, names).write == old

    report = migrate(es, names, take_over_stale=True, stale_after=timedelta(minutes=10))
    assert report.action == "migrated" and report.copied == 10
    assert "dead operator" in report.took_over
    assert not es.exists(index=names.lock_index, id=LOCK_ID)


def test_a_live_lock_cannot_be_taken_over(es: Elasticsearch, index_prefix: str) -> None:
    names = IndexNames(index_prefix)
    _old_index(es, names, 1)
    _plant_lock(es, names, "busy operator", timedelta(seconds=5))
    with pytest.raises(MigrationLocked, match="busy operator"):
        migrate(es, names, take_over_stale=True)
    assert not es.indices.exists(index=names.concrete())


def test_a_migration_whose_lock_was_taken_over_stops_without_swapping(
    es: Elasticsearch, index_prefix: str
) -> None:
    names = IndexNames(index_prefix)
    old = _old_index(es, names, 50)

    def taken_over(done: int) -> None:
        if done == 0:  # another operator decided this one was dead
            _plant_lock(es, names, "second operator", timedelta(0))

    with pytest.raises(MigrationLockLost):
        migrate(es, names, owner="first", progress=taken_over)
    # Reads never moved; the second operator's lock is intact.
    assert alias_state(es, names).read == old
    assert "second operator" in str(es.get(index=names.lock_index, id=LOCK_ID)["_source"])

    es.delete(index=names.lock_index, id=LOCK_ID)  # the second operator's run ended
    report = migrate(es, names)
    assert report.resumed and report.copied == 0 and report.kept_newer == 50
    assert alias_state(es, names).read == names.concrete()


def test_a_leftover_target_without_aliases_is_rebuilt(es: Elasticsearch, index_prefix: str) -> None:
    names = IndexNames(index_prefix)
    _old_index(es, names, 5)
    es.indices.create(index=names.concrete(), **index_body())
    es.index(index=names.concrete(), id="stray", document=_doc(77), refresh=True)
    report = migrate(es, names)
    assert report.copied == 5 and not report.resumed
    assert _count(es, names.read_alias) == 5 and _source(es, names, "stray") is None


@pytest.fixture
def cli_settings(settings: Settings, index_prefix: str, tmp_path: Path) -> Settings:
    configured = replace(
        settings,
        index_prefix=index_prefix,
        state_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'cli.db'}",
        audit_anchor_file=tmp_path / "anchors.log",
    )
    upgrade(build_engine(configured))
    return configured


def _audit(settings: Settings) -> list[AuditEvent]:
    runtime = Services(settings)
    with runtime.sessions() as session:
        return list(
            session.execute(select(AuditEvent).where(AuditEvent.action == "index.migrate"))
            .scalars()
            .all()
        )


def test_foi_index_migrate_and_status(
    es: Elasticsearch, cli_settings: Settings, index_prefix: str
) -> None:
    names = IndexNames(index_prefix)
    old = _old_index(es, names, 20)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(index_group, list(args), obj=cli_settings, catch_exceptions=False)

    before = run("status")
    assert before.exit_code == 0 and "migration needed" in before.output
    assert f"schema version:  {OLD}" in before.output

    _plant_lock(es, names, "colleague", timedelta(seconds=1))
    refused = run("migrate")
    assert refused.exit_code == 1 and "colleague" in refused.output
    assert "migration lock:  held by colleague" in run("status").output
    es.delete(index=names.lock_index, id=LOCK_ID, refresh=True)

    runtime = Services(cli_settings)
    with transaction(runtime.sessions) as session:
        session.add(CrawlRun(source_name="hr", status="running", counts={}, error=""))
    busy = run("migrate")
    assert busy.exit_code == 1 and "crawls are running (hr since" in busy.output

    done = run("migrate", "--during-crawl")
    assert done.exit_code == 0, done.output
    assert f"migrated from {old} to {names.concrete()}: 20 documents copied" in done.output
    # The previous index would keep the text of records destroyed from now on: it goes.
    assert f"deleted the previous index {old}" in done.output
    assert not es.indices.exists(index=old)
    after = run("status", "--json")
    assert '"state": "current"' in after.output and '"documents": 20' in after.output
    assert "nothing to do" in run("migrate", "--during-crawl").output

    entries = _audit(cli_settings)
    assert [e.outcome for e in entries] == [Outcome.DENIED, Outcome.DENIED, Outcome.OK]
    assert entries[-1].target == names.concrete() and entries[-1].details["copied"] == 20
    assert "(command line)" in entries[-1].actor
    assert entries[-1].details["previous_index_deleted"] is True
