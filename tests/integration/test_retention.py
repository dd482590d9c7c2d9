"""Retention schedules and disposal on the real stack: classification, the report, a batch
reviewed, approved and executed against Samba, holds winning at approval and at execution,
stubs and the destruction certificate."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.models import AuditEvent, DisposalBatch, DisposalItem, FileState
from foi_core.settings import Settings
from indexer.search.queries import Principal, search
from ingest.tasks import build_celery_app
from retention.classify import report, save_schedule
from retention.disposal import DisposalError, approve, build_batch, exclude, execute
from retention.holds import add_scope, create_hold
from retention.schedule import ScheduleError
from retention.tasks import BUILD_BATCH, PRESERVE
from tests.fixtures import ShareWorkspace
from tests.records import RecordsBed

SCHEDULE = """
version: "test-1"
title: "Test schedule"
classes:
  - id: DECISION
    name: Planning decision notices
    authority: "Town and Country Planning Act 1990 (test)"
    match: {paths: ["Planning/**/*decision*"]}
    retention: permanent
    trigger: last_modified
    action: permanent
  - id: RATES
    name: Business rates records
    authority: "Local Government Finance Act 1988 (test)"
    match: {paths: ["Finance/Rates/**"]}
    retention: 6 years
    trigger: financial_year_end
    action: destroy
    sign_off: signed_off
  - id: POLICY
    name: HR policies
    authority: "Superseded policy guidance (test)"
    match: {paths: ["HR/Policies/**"]}
    retention: 6 years
    trigger: last_modified
    action: review
"""
OLD = datetime(2012, 6, 1, tzinfo=UTC)
FILES = {
    "Finance/Rates/rates 2012.txt": OLD,
    "Finance/Rates/rates 2013.txt": datetime(2013, 6, 1, tzinfo=UTC),
    "Finance/Rates/rates 2014.txt": datetime(2014, 6, 1, tzinfo=UTC),
    "Finance/Rates/rates changed.txt": OLD,
    "Finance/Rates/rates held.txt": OLD,
    "Finance/Rates/rates current.txt": None,
    "HR/Policies/leave.txt": OLD,
    "Planning/24-0001/decision notice.txt": OLD,
    "Misc/unclassified.txt": OLD,
}
OFFICER = Principal("olive", (), sees_everything=True)


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "retention")
    # One approval, explicitly: these tests are about holds and the batch's life; who may
    # decide is tested in test_disposal_people.py.
    one_person = replace(settings, disposal_approvals=1)
    bed = RecordsBed.build(stack, workspace, one_person, tmp_path, index_prefix)
    for path, modified in FILES.items():
        bed.write(path, f"{path}: business rates account 4471 text.\n".encode(), modified=modified)
    bed.crawl()
    yield bed
    workspace.cleanup()


def test_schedule_errors_are_clear_and_change_nothing(bed: RecordsBed) -> None:
    with pytest.raises(ScheduleError) as caught:
        save_schedule(bed.records, SCHEDULE.replace("6 years", "6 yrs"), actor="rita")
    assert "6 yrs" in str(caught.value)
    with pytest.raises(DisposalError, match="no retention schedule"):
        build_batch(bed.records, actor="rita", today=date.today())


def test_classify_report_and_audited_disposal(bed: RecordsBed) -> None:
    records = bed.records
    held = create_hold(records, name="Rates appeal", reason="VO appeal", owner="rita", actor="rita")
    add_scope(
        records, held, kind="item", doc_id=bed.doc_id("Finance/Rates/rates held.txt"), actor="rita"
    )
    save_schedule(records, SCHEDULE, actor="rita")

    rates_2012 = bed.doc(bed.doc_id("Finance/Rates/rates 2012.txt"))
    assert rates_2012["retention_class"] == "RATES"
    assert rates_2012["disposal_date"] == "2019-03-31"
    assert "2013-03-31" in rates_2012["retention_reason"]
    assert bed.doc(bed.doc_id("HR/Policies/leave.txt"))["retention_action"] == "review"
    assert bed.doc(bed.doc_id("Misc/unclassified.txt"))["retention_class"] is None

    summary = report(records, date.today())
    assert {c.class_id: c.files for c in summary.by_class} == {
        "RATES": 6,
        "POLICY": 1,
        "DECISION": 1,
    }
    assert summary.unclassified == 1
    assert summary.unclassified_folders == (("Misc", 1),)
    # Held and current files are not eligible; the four old unheld rates files are.
    assert summary.eligible == 4
    assert summary.eligible_bytes == sum(
        len(f"{p}: business rates account 4471 text.\n".encode())
        for p in FILES
        if p.startswith("Finance/Rates/rates 201") or p.endswith("changed.txt")
    )
    result = CliRunner().invoke(cli, ["retention", "report", "--json"], env=bed.settings.to_env())
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["eligible"]["files"] == 4 and printed["unclassified"]["files"] == 1

    batch_id = build_batch(records, actor="retention-run", today=date.today())
    assert batch_id is not None
    assert build_batch(records, actor="retention-run", today=date.today()) is None
    with bed.runtime.sessions() as session:
        proposed = {
            i.path
            for i in session.execute(
                select(DisposalItem).where(DisposalItem.batch_id == batch_id)
            ).scalars()
        }
    assert proposed == {
        "Finance/Rates/rates 2012.txt",
        "Finance/Rates/rates 2013.txt",
        "Finance/Rates/rates 2014.txt",
        "Finance/Rates/rates changed.txt",
    }

    # Reviewed: a hold placed before approval takes its file out of the batch.
    late = create_hold(records, name="Late", reason="new FOI", owner="rob", actor="rob")
    add_scope(
        records, late, kind="item", doc_id=bed.doc_id("Finance/Rates/rates 2013.txt"), actor="rob"
    )
    with pytest.raises(DisposalError, match="why"):
        exclude(
            records, batch_id, [bed.doc_id("Finance/Rates/rates 2014.txt")], actor="rita", reason=""
        )
    assert approve(records, batch_id, actor="rita") == "approved"
    with pytest.raises(DisposalError, match="approved, not pending"):
        approve(records, batch_id, actor="rob")

    # Between approval and execution: another hold, and an edit at source.
    add_scope(
        records, late, kind="item", doc_id=bed.doc_id("Finance/Rates/rates 2014.txt"), actor="rob"
    )
    bed.write("Finance/Rates/rates changed.txt", b"edited since approval\n", modified=OLD)
    outcome = execute(records, batch_id, actor="rita")
    assert (outcome.destroyed, outcome.skipped, outcome.failed) == (1, 2, 0)

    assert not bed.on_share("Finance/Rates/rates 2012.txt")
    for kept in ("rates 2013.txt", "rates 2014.txt", "rates changed.txt", "rates held.txt"):
        assert bed.on_share(f"Finance/Rates/{kept}")
    stub = bed.doc(bed.doc_id("Finance/Rates/rates 2012.txt"))
    assert stub["destroyed"] and stub["destruction_class"] == "RATES"
    assert stub["content"] == "" and stub["path"] == "Finance/Rates/rates 2012.txt"
    found = search(bed.runtime.es, bed.runtime.names.read_alias, '"rates 2012"', OFFICER)
    assert [h.source.get("destroyed") is not None for h in found.hits] == [True]

    with bed.runtime.sessions() as session:
        batch = session.get_one(DisposalBatch, batch_id)
        assert batch.status == "executed" and batch.certificate_pdf is not None
        assert batch.certificate_pdf.startswith(b"%PDF")
        rows = list(csv.DictReader(io.StringIO((batch.certificate_csv or b"").decode("utf-8-sig"))))
        destroyed = [r for r in rows if r["outcome"] == "destroyed"]
        assert [r["path"] for r in destroyed] == ["Finance/Rates/rates 2012.txt"]
        assert destroyed[0]["class_id"] == "RATES"
        reasons = {
            r["unc"].rsplit("\\", 1)[-1]: r["skip_reason"]
            for r in rows
            if r["outcome"] != "destroyed"
        }
        assert "changed since approval" in reasons["rates changed.txt"]
        assert "execution" in reasons["rates 2014.txt"]
        assert "approval" in reasons["rates 2013.txt"]
        refusals = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "disposal_refused_held"))
            .scalars()
            .all()
        )
        assert sorted(e.details["stage"] for e in refusals) == ["approval", "execution"]
        state = session.execute(
            select(FileState).where(FileState.path == "Finance/Rates/rates 2012.txt")
        ).scalar_one()
        assert state.deleted

    # The next crawl leaves the stub alone and does not resurrect the file.
    bed.crawl()
    assert bed.doc(bed.doc_id("Finance/Rates/rates 2012.txt"))["destroyed"]


def test_two_approvals_from_different_people(bed: RecordsBed) -> None:
    records = replace(bed.records, approvals_needed=2)
    save_schedule(records, SCHEDULE, actor="rita")
    # Built by the daily job: with two approvals nobody approves a batch they built.
    batch_id = build_batch(records, actor="retention-schedule", today=date.today())
    assert batch_id is not None
    assert approve(records, batch_id, actor="rita") == "pending"
    with pytest.raises(DisposalError, match="another person"):
        approve(records, batch_id, actor="rita")
    with pytest.raises(DisposalError, match="pending, not approved"):
        execute(records, batch_id, actor="rita")
    assert approve(records, batch_id, actor="rob") == "approved"


def test_cli_holds_and_disposal(bed: RecordsBed, tmp_path: Path) -> None:
    env = bed.settings.to_env()

    def foi(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(SCHEDULE.replace("6 yrs", "6 years"), encoding="utf-8")
    refused = CliRunner().invoke(
        cli, ["retention", "schedule", "load", str(schedule), "--as", "olive"], env=env
    )
    assert refused.exit_code != 0 and "records manager" in refused.output
    assert "3 classes" in foi("retention", "schedule", "load", str(schedule), "--as", "rita")
    assert "hold 1 created" in foi(
        "holds", "create", "Rates appeal", "--reason", "VO appeal", "--as", "rita"
    )
    added = foi("holds", "add", "1", "--folder", f"{bed.source}:Finance/Rates", "--as", "rita")
    assert "6 files joined hold 1; 6 originals preserved" in added
    assert "nothing is eligible" in foi("retention", "run")
    report_text = foi("retention", "report")
    assert "unclassified: 1 files" in report_text and "RATES" in report_text
    foi("holds", "release-request", "1", "--reason", "appeal withdrawn", "--as", "rita")
    same = CliRunner().invoke(cli, ["holds", "release-approve", "1", "--as", "rita"], env=env)
    assert same.exit_code != 0 and "someone other than" in same.output
    foi("holds", "release-approve", "1", "--as", "rob")
    assert "released" in foi("holds", "list")
    assert "batch 1 built" in foi("retention", "run")
    assert "approved" in foi("retention", "approve", "1", "--as", "rob")
    executed = foi(
        "retention", "execute", "1", "--as", "rita", "--certificate-dir", str(tmp_path / "cert")
    )
    assert "5 destroyed, 0 skipped, 0 failed" in executed
    assert (tmp_path / "cert" / "destruction-certificate-batch-1.pdf").read_bytes()[:4] == b"%PDF"


def test_periodic_jobs_run_on_celery_workers(
    bed: RecordsBed, broker_url: str, tmp_path: Path
) -> None:
    """Distributed mode: beat's jobs (daily disposal batch, preservation retries) run on a
    real `foi worker` through the stack's Redis."""
    settings = replace(
        bed.settings,
        broker_url=broker_url,
        redis_url=broker_url,
        task_queue=f"test-retention-{uuid.uuid4().hex[:8]}",
    )
    save_schedule(bed.records, SCHEDULE, actor="rita")
    hold = create_hold(bed.records, name="H", reason="r", owner="rita", actor="rita")
    add_scope(
        bed.records, hold, kind="item", doc_id=bed.doc_id("HR/Policies/leave.txt"), actor="rita"
    )
    log = tmp_path / "worker.log"
    foi = Path(sys.executable).with_name("foi")
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(foi), "worker", "--pool", "solo", "--hostname", "retention@%h"],
            env={**os.environ, **settings.to_env()},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = build_celery_app(settings)
    try:
        preserved = app.send_task(PRESERVE, queue=settings.task_queue).get(timeout=120)
        assert preserved == {"preserved": 1, "failed": 0, "alerted": 0}
        batch_id = app.send_task(BUILD_BATCH, queue=settings.task_queue).get(timeout=120)
        with bed.runtime.sessions() as session:
            batch = session.get_one(DisposalBatch, batch_id)
            assert batch.created_by == "retention-schedule" and batch.counts["items"] == 5
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        app.close()
        print(log.read_text()[-3000:])
