"""A disposal batch is executed once, a cancel is honoured between files, an execution whose
process was killed is resumed (or cancelled) with every file gone from the share certified,
and a schedule loaded after approval that keeps a file longer wins. On the real stack:
Samba, Tika, Elasticsearch; disposal needs two approvers (the default)."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from devstack.stack import LocalStack
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import AuditEvent, DisposalBatch, DisposalItem
from foi_core.settings import Settings
from foi_core.sources import add_source
from retention.classify import save_schedule
from retention.disposal import (
    DisposalError,
    ExecutionReport,
    approve,
    build_batch,
    cancel,
    execute,
)
from tests.fixtures import ShareWorkspace
from tests.records import PASSWORD, RecordsBed

OLD = datetime(2012, 6, 1, tzinfo=UTC)
SCHEDULE = """
version: "races-1"
classes:
  - id: ENQ
    name: Councillor enquiries
    authority: "Common practice (test)"
    match: {paths: ["Enquiries/**"]}
    retention: 2 years
    trigger: last_modified
    action: destroy
    sign_off: signed_off
"""
# Loaded after approval: enquiries are kept for 100 years, and a folder of them for good.
LONGER = """
version: "races-2"
classes:
  - id: KEEP
    name: Enquiries kept for the archive
    authority: "Archive transfer agreement (test)"
    match: {paths: ["Enquiries/Archive/**"]}
    retention: permanent
    trigger: last_modified
    action: permanent
  - id: ENQ
    name: Councillor enquiries
    authority: "Common practice (test)"
    match: {paths: ["Enquiries/**"]}
    retention: 100 years
    trigger: last_modified
    action: destroy
    sign_off: signed_off
"""
REPO = Path(__file__).resolve().parents[2]
# Executes a batch and is killed (SIGKILL: nothing runs after) on its second destruction, after
# the file has left the share and before anything about it is recorded.
KILLED_MID_DESTRUCTION = """
import os, signal, sys
from services import Services
from foi_core.settings import Settings
from foi_core.sources import add_source
import retention.destruction as module
from retention.disposal import execute
real, seen = module.destroy, []
def destroy_then_die(*args, **kwargs):
    seen.append(args)
    if len(seen) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
module.destroy = destroy_then_die
execute(Services(Settings.from_env()).records, int(sys.argv[1]), actor="rob")
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def bed(
    request: pytest.FixtureRequest,
    stack: LocalStack,
    settings: Settings,
    tmp_path: Path,
    index_prefix: str,
) -> Iterator[RecordsBed]:
    """A records bed on SQLite (its database lock) or PostgreSQL (row locks), with a third
    records manager, reg."""
    workspace = ShareWorkspace(stack.samba, "races")
    made = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        made = RecordsBed(stack, workspace, replace(made.settings, database_url=url))
        upgrade(made.runtime.engine)
        with transaction(made.runtime.sessions) as session:
            add_source(
                session,
                name=workspace.name,
                server="127.0.0.1",
                port=stack.samba.port,
                share="test",
                root=workspace.name,
                username=stack.samba.user,
                credential_ref=f"file:{stack.paths.secrets / 'samba_password'}",
            )
            for name in ("rita", "rob"):
                create_user(session, name, "records_manager", PASSWORD, [])
    assert made.records.approvals_needed == 2
    with transaction(made.runtime.sessions) as session:
        create_user(session, "reg", "records_manager", PASSWORD, [])
    yield made
    made.runtime.engine.dispose()
    workspace.cleanup()


def approved_batch(bed: RecordsBed, paths: list[str]) -> int:
    """Old enquiries on the share, in a batch built by rita and approved by rob and reg."""
    for path in paths:
        bed.write(path, f"{path}: enquiry about the bus shelter.\n".encode(), modified=OLD)
    bed.crawl()
    save_schedule(bed.records, SCHEDULE, actor="rita")
    batch_id = build_batch(bed.records, actor="rita", today=date.today())
    assert batch_id is not None
    assert approve(bed.records, batch_id, actor="rob") == "pending"
    assert approve(bed.records, batch_id, actor="reg") == "approved"
    return batch_id


def events(bed: RecordsBed, action: str) -> list[AuditEvent]:
    with bed.runtime.sessions() as session:
        found = session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(found.scalars())


def certificate(bed: RecordsBed, batch_id: int) -> dict[str, dict[str, str]]:
    """The certificate's rows by path."""
    with bed.runtime.sessions() as session:
        data = session.get_one(DisposalBatch, batch_id).certificate_csv or b""
    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    return {row["unc"].rsplit("\\", 1)[-1]: row for row in rows}


def items(bed: RecordsBed, batch_id: int) -> dict[str, DisposalItem]:
    with bed.runtime.sessions() as session:
        found = session.execute(
            select(DisposalItem).where(DisposalItem.batch_id == batch_id).order_by(DisposalItem.id)
        )
        return {item.path: item for item in found.scalars()}


def batch_row(bed: RecordsBed, batch_id: int) -> DisposalBatch:
    with bed.runtime.sessions() as session:
        return session.get_one(DisposalBatch, batch_id)


def test_two_executions_at_once_destroy_each_file_once(bed: RecordsBed) -> None:
    paths = [f"Enquiries/2012/enquiry {n}.txt" for n in range(6)]
    batch_id = approved_batch(bed, paths)
    start = threading.Barrier(2)

    def run(actor: str) -> ExecutionReport | str:
        start.wait()
        try:
            return execute(bed.records, batch_id, actor=actor)
        except DisposalError as refused:
            return str(refused)

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(run, ["rob", "reg"]))

    gone = [path for path in paths if not bed.on_share(path)]
    assert gone == paths
    reports = [o for o in outcomes if isinstance(o, ExecutionReport)]
    refusals = [o for o in outcomes if isinstance(o, str)]
    assert len(reports) == 1 and len(refusals) == 1, outcomes
    assert "executed once, not twice" in refusals[0] or "is executed, not approved" in refusals[0]
    (report,) = reports
    assert (report.destroyed, report.skipped, report.failed) == (6, 0, 0)
    assert report.status == "executed"
    rows = certificate(bed, batch_id)
    assert Counter(row["outcome"] for row in rows.values()) == {"destroyed": len(gone)}
    destroyed = events(bed, "disposal_destroy")
    assert sorted(e.details["path"] for e in destroyed) == sorted(paths)
    assert {e.outcome for e in destroyed} == {"ok"}
    assert len(events(bed, "disposal_execute")) == 1
    assert batch_row(bed, batch_id).counts["destroyed"] == 6


def test_a_cancel_during_execution_stops_it_between_files(
    bed: RecordsBed, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [f"Enquiries/2012/enquiry {n}.txt" for n in range(4)]
    batch_id = approved_batch(bed, paths)
    # Cancel from the web page while the CLI executes: it lands after the first file.
    module = sys.modules[execute.__module__]
    destroy_one = module._destroy_one
    cancelled: list[int | None] = []

    def then_cancel(*args: object, **kwargs: object) -> object:
        result = destroy_one(*args, **kwargs)
        if not cancelled:
            reason = "a late FOI request covers these enquiries"
            cancelled.append(cancel(bed.records, batch_id, actor="reg", reason=reason))
        return result

    monkeypatch.setattr(module, "_destroy_one", then_cancel)
    report = execute(bed.records, batch_id, actor="rob")

    kept = [path for path in paths if bed.on_share(path)]
    assert len(kept) == 3
    (first,) = set(paths) - set(kept)
    assert cancelled == [1]
    assert (report.destroyed, report.skipped, report.failed, report.status) == (
        1,
        3,
        0,
        "cancelled",
    )
    batch = batch_row(bed, batch_id)
    assert batch.status == "cancelled" and batch.note.startswith("a late FOI request")
    assert (batch.counts["destroyed"], batch.counts["skipped"]) == (1, 3)
    recorded = items(bed, batch_id)
    assert recorded[first].outcome == "destroyed"
    for path in kept:
        assert recorded[path].outcome == "skipped"
        assert "cancelled by reg during its execution" in recorded[path].outcome_reason
    rows = certificate(bed, batch_id)
    assert rows[first.rsplit("/", 1)[-1]]["outcome"] == "destroyed"
    assert Counter(row["outcome"] for row in rows.values()) == {"destroyed": 1, "skipped": 3}
    assert [e.details["path"] for e in events(bed, "disposal_destroy")] == [first]
    (cancelling,) = events(bed, "disposal_cancel")
    assert cancelling.details["during_execution"] is True
    assert cancelling.details["destroyed"] == 1
    assert events(bed, "disposal_execute") == []
    assert bed.doc(bed.doc_id(kept[0])).get("destroyed") is None


def foi(bed: RecordsBed, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from foi_cli.main import main; main()", *args],
        cwd=REPO,
        env=bed.settings.to_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def kill_mid_destruction(bed: RecordsBed, batch_id: int) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_DESTRUCTION, str(batch_id)],
        cwd=REPO,
        env=bed.settings.to_env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()


@pytest.mark.parametrize("then", ["resume", "cancel"])
def test_an_execution_killed_part_way_is_resumed_or_cancelled(bed: RecordsBed, then: str) -> None:
    paths = [f"Enquiries/2012/enquiry {n}.txt" for n in range(4)]
    batch_id = approved_batch(bed, paths)
    kill_mid_destruction(bed, batch_id)
    # The first file was destroyed and recorded; the second left the share unrecorded.
    gone = [path for path in paths if not bed.on_share(path)]
    assert len(gone) == 2
    assert batch_row(bed, batch_id).status == "executing"

    # While the killed execution might still be running, executing again is refused, audited.
    refused = foi(bed, "retention", "execute", str(batch_id), "--as", "reg")
    assert refused.returncode != 0
    assert "is being executed by rob" in refused.stdout + refused.stderr
    assert "to resume it" in refused.stdout + refused.stderr
    (denied,) = [e for e in events(bed, "disposal_execute") if e.outcome == "denied"]
    assert denied.actor == "reg" and "executed once, not twice" in denied.details["reason"]
    assert len(gone) == len([path for path in paths if not bed.on_share(path)])

    if then == "cancel":
        assert cancel(bed.records, batch_id, actor="reg", reason="stop the destruction") == 2
        expected = {"destroyed": 2, "skipped": 2}
        status = "cancelled"
    else:
        # Time passes with no progress from the killed execution.
        with transaction(bed.runtime.sessions) as session:
            session.execute(
                update(DisposalBatch)
                .where(DisposalBatch.id == batch_id)
                .values(executed_at=datetime.now(UTC) - timedelta(hours=1))
            )
        report = execute(bed.records, batch_id, actor="reg")
        assert (report.destroyed, report.skipped, report.failed) == (4, 0, 0)
        expected = {"destroyed": 4}
        status = "executed"
        (resumed,) = [e for e in events(bed, "disposal_execute_start") if e.actor == "reg"]
        assert resumed.details["resumed_from"] == "rob" and resumed.details["files"] == 3

    gone = [path for path in paths if not bed.on_share(path)]
    batch = batch_row(bed, batch_id)
    assert batch.status == status
    assert batch.counts["destroyed"] == len(gone) == expected["destroyed"]
    rows = certificate(bed, batch_id)
    assert Counter(row["outcome"] for row in rows.values()) == expected
    for path in gone:
        assert rows[path.rsplit("/", 1)[-1]]["outcome"] == "destroyed"
        assert bed.doc(bed.doc_id(path))["destroyed"]
    reasons = [i.outcome_reason for i in items(bed, batch_id).values() if i.outcome == "destroyed"]
    assert sum(r.startswith("destroyed by an execution that stopped") for r in reasons) == 1
    assert sorted(e.details["path"] for e in events(bed, "disposal_destroy")) == sorted(gone)


def test_a_schedule_loaded_after_approval_that_keeps_files_longer_wins(bed: RecordsBed) -> None:
    longer, archived = "Enquiries/2012/street lighting.txt", "Enquiries/Archive/mill lane.txt"
    batch_id = approved_batch(bed, [longer, archived])
    save_schedule(bed.records, LONGER, actor="rita")

    report = execute(bed.records, batch_id, actor="rob")

    assert (report.destroyed, report.skipped) == (0, 2)
    assert bed.on_share(longer) and bed.on_share(archived)
    rows = certificate(bed, batch_id)
    assert {row["outcome"] for row in rows.values()} == {"skipped"}
    reason = rows["street lighting.txt"]["skip_reason"]
    assert reason.startswith("not due until 1 Jun 2112 under the schedule in force")
    assert "(version races-2)" in reason and "(at execution)" in reason
    assert rows["mill lane.txt"]["skip_reason"].startswith(
        "now in class KEEP (Enquiries kept for the archive) under the schedule in force"
    )
    refused = events(bed, "disposal_refused_not_due")
    assert sorted(e.details["path"] for e in refused) == sorted([longer, archived])
    assert {(e.outcome, e.actor, e.details["stage"]) for e in refused} == {
        ("denied", "rob", "execution")
    }
    assert bed.doc(bed.doc_id(longer)).get("destroyed") is None
