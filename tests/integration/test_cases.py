"""Request cases on the real stack: workflow and clock, scoping searches, collection onto the
case's hold, and a disclosure bundle whose every hash matches the files on the share."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cases import export_jobs
from cases.collection import (
    adequacy_statement,
    collect,
    collect_search,
    reclassify_case,
    remove,
    run_scoping_search,
)
from cases.export import ExportSettings, purge_expired
from cases.export_jobs import (
    STALE_AFTER,
    ExportState,
    export_case,
    request_export,
    run_export,
    run_queued,
    sweep_interrupted,
)
from cases.service import CaseError, create_case, transition
from cases.upkeep import set_non_working_day
from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.models import AuditEvent, Case, CaseExport, CaseLink
from foi_core.settings import Settings
from retention.classify import save_schedule
from retention.holds import holds_by_root
from retention.schedule import Period
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.mail import Inbox, free_port
from tests.records import RecordsBed

PREFIXES = "FOIA=FOI,EIR=EIR,SAR=SAR"
FILES = {
    "Contracts/Bus shelters/contract.txt": b"Bus shelter maintenance contract with Acme Ltd.\n",
    "Contracts/Bus shelters/variation.txt": b"Variation to the bus shelter contract, 2024.\n",
    "Contracts/Bus shelters/invoice.txt": b"Invoice: bus shelter cleaning, March.\n",
    "Contracts/Parks/mowing.txt": b"Grass mowing contract for parks.\n",
    "Contracts/Bus shelters/scan.pdf": b"%PDF-1.4 not really a pdf: bus shelter scan",
}


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "cases")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    for path, data in FILES.items():
        bed.write(path, data)
    bed.crawl()
    yield bed
    workspace.cleanup()


def _new_case(bed: RecordsBed, **overrides: object) -> Case:
    fields: dict[str, object] = {
        "regime": "FOIA",
        "received": dt.date(2025, 12, 18),
        "title": "Bus shelter contract",
        "request_text": "All contracts and variations for bus shelter maintenance since 2020.",
        "requester_name": "A. Journalist",
        "requester_contact": "journalist@example.org",
        "actor": "olive",
        "prefix_spec": PREFIXES,
        "target_days": 15,
        **overrides,
    }
    return create_case(bed.runtime.sessions, **fields)  # type: ignore[arg-type]


def test_case_clock_follows_the_workflow(bed: RecordsBed) -> None:
    sessions = bed.runtime.sessions
    case = _new_case(bed)
    assert case.reference == "FOI-2025-0001"
    # The worked example: received Thu 18 Dec 2025, due Wed 21 Jan 2026.
    assert case.due == dt.date(2026, 1, 21)
    stopped = transition(
        sessions,
        case.id,
        "clarification_requested",
        on=dt.date(2025, 12, 19),
        actor="olive",
        target_days=15,
    )
    assert stopped.due is None
    resumed = transition(
        sessions, case.id, "in_progress", on=dt.date(2026, 1, 5), actor="olive", target_days=15
    )
    assert resumed.due is not None and resumed.due > dt.date(2026, 1, 21)
    extended = transition(
        sessions, case.id, "pi_extension", on=dt.date(2026, 1, 20), actor="olive", target_days=15
    )
    assert extended.due is not None and extended.due > resumed.due
    with pytest.raises(CaseError, match="exemptions"):
        transition(
            sessions,
            case.id,
            "responded",
            on=dt.date(2026, 1, 30),
            actor="olive",
            target_days=15,
            outcome="part",
        )
    done = transition(
        sessions,
        case.id,
        "responded",
        on=dt.date(2026, 1, 30),
        actor="olive",
        target_days=15,
        outcome="part",
        exemptions=["s.43", "s.40"],
    )
    assert done.exemptions == ["s.43", "s.40"] and done.responded == dt.date(2026, 1, 30)
    with pytest.raises(CaseError, match="cannot become"):
        transition(
            sessions,
            case.id,
            "pi_extension",
            on=dt.date(2026, 1, 30),
            actor="olive",
            target_days=15,
        )

    sar = _new_case(bed, regime="SAR", requester_contact="JOURNALIST@example.org")
    assert sar.reference == "SAR-2025-0001" and sar.due == dt.date(2026, 1, 19)
    with sessions() as session:
        links = session.execute(select(CaseLink).where(CaseLink.case_id == sar.id)).scalars()
        assert [link.why for link in links] == ["same_requester"]
        transitions = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "case_transition"))
            .scalars()
            .all()
        )
        assert [t.details["to"] for t in transitions] == [
            "clarification_requested",
            "in_progress",
            "pi_extension",
            "responded",
        ]


def test_a_new_non_working_day_recalculates_open_cases(bed: RecordsBed) -> None:
    case = _new_case(bed)
    changed = set_non_working_day(
        bed.runtime.sessions,
        dt.date(2026, 1, 12),
        "Proclamation",
        ["UK"],
        active=True,
        actor="admin",
        target_days=15,
    )
    assert changed == 1
    with bed.runtime.sessions() as session:
        assert session.get_one(Case, case.id).due == dt.date(2026, 1, 22)


def test_scoping_collection_hold_and_bundle(bed: RecordsBed, tmp_path: Path) -> None:
    records = bed.records
    case = _new_case(bed)
    search = run_scoping_search(records, case.id, "q=bus+shelter", actor="olive")
    assert search.hits == 4
    assert search.counts["not_searchable"] == {"corrupt": 1}
    collected = collect_search(records, case.id, "q=bus+shelter", actor="olive")
    assert collected == 4
    assert collect(records, case.id, [bed.doc_id("Contracts/Parks/mowing.txt")], actor="olive") == 1
    remove(
        records,
        case.id,
        bed.doc_id("Contracts/Parks/mowing.txt"),
        actor="olive",
        reason="Not about bus shelters",
    )
    with pytest.raises(CaseError, match="why"):
        remove(
            records,
            case.id,
            bed.doc_id("Contracts/Bus shelters/invoice.txt"),
            actor="olive",
            reason=" ",
        )

    with bed.runtime.sessions() as session:
        hold_id = session.get_one(Case, case.id).hold_id
        held = holds_by_root(session, [bed.doc_id(p) for p in FILES])
        statement = adequacy_statement(session, case.id)
    # Collected documents are on the case's hold; removing one does not release it.
    assert set(held) == {bed.doc_id(p) for p in FILES}
    assert all(ids == [hold_id] for ids in held.values())
    assert "bus shelter" in statement.text and "Damaged: 1" in statement.text
    assert statement.collected == 4

    export = export_case(
        records,
        ExportSettings(tmp_path / "exports", keep_days=30, part_bytes=2 * 1024**3),
        case.id,
        actor="olive",
    )
    assert export.counts["included"] == 4 and export.counts["mismatched"] == 0
    [part] = export.parts
    with zipfile.ZipFile(Path(export.directory) / part) as bundle:
        assert bundle.testzip() is None
        manifest = list(
            csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode("utf-8-sig")))
        )
        custody = bundle.read("chain-of-custody.csv").decode("utf-8-sig")
        # Every hash in the manifest is the hash of the file on the share now.
        for row in manifest:
            on_share = bed.workspace.disk(
                row["unc"].split(bed.source + "\\", 1)[1].replace("\\", "/")
            ).read_bytes()
            assert row["sha256"] == hashlib.sha256(on_share).hexdigest()
            assert row["md5"] == hashlib.md5(on_share).hexdigest()  # noqa: S324
            assert bundle.read(row["archive_path"]) == on_share
    assert "case_scoping_search" in custody and "case_collect" in custody

    # A file edited after collection is exported, and its mismatch reported.
    bed.write("Contracts/Bus shelters/invoice.txt", b"Invoice, edited after collection\n")
    second = export_case(
        records, ExportSettings(tmp_path / "exports", 30, 2 * 1024**3), case.id, actor="olive"
    )
    assert second.counts["mismatched"] == 1
    errors = (Path(second.directory) / f"{second.name}-errors.csv").read_text("utf-8-sig")
    assert "invoice.txt" in errors

    assert purge_expired(records, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31)) == 2
    assert not Path(export.directory).exists()


def test_bundles_are_queued_written_once_and_failures_are_recorded(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    case = _new_case(bed)
    collect(records, case.id, [bed.doc_id(p) for p in list(FILES)[:2]], actor="olive")
    settings = ExportSettings(tmp_path / "exports", keep_days=30, part_bytes=2 * 1024**3)

    queued = request_export(records, settings, case.id, actor="olive", ip="10.0.0.9")
    assert queued.status == ExportState.QUEUED and queued.counts == {"documents": 2}
    assert not Path(queued.directory).exists()
    # One bundle of a case at a time: a second click is refused, not queued twice.
    with pytest.raises(CaseError, match="still being prepared"):
        request_export(records, settings, case.id, actor="olive")
    # Queued for less than the periodic job's wait: left to the web app's own thread.
    assert run_queued(records, settings, waited=STALE_AFTER) == []
    done = run_export(records, settings, queued.id)
    assert done.status == ExportState.DONE and done.counts["included"] == 2
    assert done.progress == 2 and done.parts
    # Written once: running it again (another runner, a retry) finds it taken.
    again = run_export(records, settings, queued.id)
    assert again.status == ExportState.DONE and again.parts == done.parts

    # A bundle that cannot be written is failed with its reason, and nothing of it is left.
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the export folder should be")
    broken = ExportSettings(blocker / "exports", keep_days=30, part_bytes=2 * 1024**3)
    failing = request_export(records, broken, case.id, actor="olive")
    failed = run_export(records, broken, failing.id)
    assert failed.status == ExportState.FAILED and "NotADirectoryError" in (failed.error or "")
    assert failed.parts == []

    # An export whose process stopped mid-way is failed by the sweep; a queued one whose web
    # process stopped before starting it is written by `foi cases export-pending`.
    stopped = request_export(records, settings, case.id, actor="olive")
    long_ago = dt.datetime.now(dt.UTC) - STALE_AFTER - dt.timedelta(minutes=1)
    with transaction(bed.runtime.sessions) as session:
        row = session.get_one(CaseExport, stopped.id)
        row.status, row.heartbeat_at = ExportState.RUNNING, long_ago
    Path(stopped.directory).mkdir(parents=True)
    (Path(stopped.directory) / "half.zip.partial").write_bytes(b"PK")
    assert sweep_interrupted(records) == 1
    with bed.runtime.sessions() as session:
        swept = session.get_one(CaseExport, stopped.id)
        assert swept.status == ExportState.FAILED and "interrupted" in (swept.error or "")
    assert not Path(stopped.directory).exists()
    pending = request_export(records, settings, case.id, actor="olive")
    result = CliRunner().invoke(cli, ["cases", "export-pending"], env=_export_env(bed, tmp_path))
    assert result.exit_code == 0, result.output
    assert f"{pending.name}: done" in result.output

    with bed.runtime.sessions() as session:
        actions = [
            (e.action, e.outcome)
            for e in session.execute(
                select(AuditEvent).where(AuditEvent.target == f"case:{case.reference}")
            ).scalars()
            if e.action.startswith("case_export")
        ]
    assert actions == [
        ("case_export_requested", "ok"),
        ("case_export", "ok"),
        ("case_export_requested", "ok"),
        ("case_export", "failed"),
        ("case_export_requested", "ok"),
        ("case_export", "failed"),
        ("case_export_requested", "ok"),
        ("case_export", "ok"),
    ]


def test_a_long_export_keeps_beating_and_a_swept_one_keeps_no_files(
    bed: RecordsBed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = bed.records
    case = _new_case(bed)
    collect(records, case.id, [bed.doc_id(p) for p in list(FILES)[:2]], actor="olive")
    settings = ExportSettings(tmp_path / "exports", keep_days=30, part_bytes=2 * 1024**3)
    monkeypatch.setattr(export_jobs, "HEARTBEAT_SECONDS", 0.05)
    real_write = export_jobs.write_case_bundle

    def heartbeat(export_id: int) -> dt.datetime | None:
        with bed.runtime.sessions() as session:
            return session.get_one(CaseExport, export_id).heartbeat_at

    def slow_document(*args: Any, **kwargs: Any) -> Any:
        # One original that takes a long time to read: the timer must beat meanwhile.
        export = args[2]
        first = heartbeat(export.id)
        deadline = time.monotonic() + 10
        while heartbeat(export.id) == first:
            assert time.monotonic() < deadline, "no heartbeat while a document was read"
            time.sleep(0.02)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(export_jobs, "write_case_bundle", slow_document)
    queued = request_export(records, settings, case.id, actor="olive")
    assert run_export(records, settings, queued.id).status == ExportState.DONE

    # A bundle queued long ago (its web process stopped) is claimed with a fresh heartbeat:
    # a sweep while it is written leaves it alone.
    old = request_export(records, settings, case.id, actor="olive")
    long_ago = dt.datetime.now(dt.UTC) - STALE_AFTER - dt.timedelta(minutes=5)
    with transaction(bed.runtime.sessions) as session:
        row = session.get_one(CaseExport, old.id)
        row.exported_at, row.heartbeat_at = long_ago, long_ago

    def swept_while_written(*args: Any, **kwargs: Any) -> Any:
        assert sweep_interrupted(records) == 0
        return real_write(*args, **kwargs)

    monkeypatch.setattr(export_jobs, "write_case_bundle", swept_while_written)
    assert [e.status for e in run_queued(records, settings, waited=STALE_AFTER)] == ["done"]

    # A writer that finishes after a sweep failed its export leaves no files behind.
    def swept_meanwhile(*args: Any, **kwargs: Any) -> Any:
        result = real_write(*args, **kwargs)
        later = dt.datetime.now(dt.UTC) + STALE_AFTER + dt.timedelta(minutes=1)
        monkeypatch.setattr(export_jobs, "HEARTBEAT_SECONDS", 3600)
        assert sweep_interrupted(records, now=later) == 1
        return result

    monkeypatch.setattr(export_jobs, "write_case_bundle", swept_meanwhile)
    late = request_export(records, settings, case.id, actor="olive")
    finished = run_export(records, settings, late.id)
    assert finished.status == ExportState.FAILED and "interrupted" in (finished.error or "")
    assert not Path(late.directory).exists()

    # The database itself refuses a second pending export of a case.
    monkeypatch.setattr(export_jobs, "write_case_bundle", real_write)
    pending = request_export(records, settings, case.id, actor="olive")
    with pytest.raises(IntegrityError), transaction(bed.runtime.sessions) as session:
        session.add(
            CaseExport(
                case_id=case.id,
                name="racing",
                directory=str(tmp_path / "racing"),
                exported_by="olive",
                expires_at=dt.datetime.now(dt.UTC),
                status=ExportState.QUEUED,
            )
        )
    # A web app starting up writes what was left queued.
    app = create_app(bed.settings)
    deadline = time.monotonic() + 60
    while _status(bed, pending.id) != ExportState.DONE:
        assert time.monotonic() < deadline, "the queued export was not resumed"
        time.sleep(0.1)
    assert app is not None


def _status(bed: RecordsBed, export_id: int) -> str:
    with bed.runtime.sessions() as session:
        return session.get_one(CaseExport, export_id).status


def _export_env(bed: RecordsBed, tmp_path: Path) -> dict[str, str]:
    return {**bed.settings.to_env(), "FOI_EXPORT_DIR": str(tmp_path / "exports")}


def test_cases_cli(bed: RecordsBed) -> None:
    env = bed.settings.to_env()

    def foi(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    created = foi(
        "cases",
        "create",
        "--regime",
        "FOIA",
        "--received",
        "2025-12-18",
        "--title",
        "Shelters",
        "--request",
        "Bus shelter contracts",
        "--requester",
        "R. Person",
        "--as",
        "olive",
    )
    assert "FOI-2025-0001 created; due 2026-01-21" in created
    assert "Missing option" in foi("cases", "create", "--regime", "FOIA", ok=False)
    assert "not an active" in foi(
        "cases",
        "create",
        "--regime",
        "SAR",
        "--received",
        "2025-12-18",
        "--title",
        "t",
        "--request",
        "r",
        "--requester",
        "p",
        "--as",
        "clerk",
        ok=False,
    )
    listed = json.loads(foi("cases", "list", "--json"))
    assert listed[0]["reference"] == "FOI-2025-0001" and listed[0]["internal_target"]
    searched = foi("cases", "search", "FOI-2025-0001", "bus shelter", "--collect", "--as", "olive")
    assert "4 matching documents" in searched and "4 documents collected" in searched
    assert "4 document(s) were collected" in foi("cases", "adequacy", "FOI-2025-0001")
    exported = foi("cases", "export", "FOI-2025-0001", "--as", "olive")
    assert "4 of 4 documents, 0 failed, 0 hash mismatches" in exported
    moved = foi("cases", "move", "FOI-2025-0001", "closed", "--as", "olive")
    assert "is closed" in moved
    refused = foi("cases", "move", "FOI-2025-0001", "pi_extension", "--as", "olive", ok=False)
    assert "cannot become" in refused


CASE_SCHEDULE = """
version: "cases-1"
classes:
  - id: CONTRACT
    name: Contracts
    authority: "Limitation Act 1980 s.5 (test)"
    match: {paths: ["Contracts/**"]}
    retention: 6 years
    trigger: case_closed
    action: destroy
"""


def test_case_closure_starts_the_case_closed_retention(bed: RecordsBed) -> None:
    records = bed.records
    save_schedule(records, CASE_SCHEDULE, actor="rita")
    contract = bed.doc_id("Contracts/Bus shelters/contract.txt")
    assert bed.doc(contract)["disposal_date"] is None
    assert "closure" in bed.doc(contract)["retention_reason"]
    case = _new_case(bed, received=dt.date.today())
    other = _new_case(bed, received=dt.date.today(), requester_name="Someone Else")
    collect(records, case.id, [contract], actor="olive")
    collect(records, other.id, [contract], actor="olive")
    transition(
        bed.runtime.sessions, case.id, "closed", on=dt.date.today(), actor="olive", target_days=15
    )
    reclassify_case(records, case.id)
    # Still in an open case: no disposal date yet.
    assert bed.doc(contract)["disposal_date"] is None
    transition(
        bed.runtime.sessions, other.id, "closed", on=dt.date.today(), actor="olive", target_days=15
    )
    assert reclassify_case(records, other.id) == 1
    expected = Period(years=6).add_to(dt.date.today())
    assert bed.doc(contract)["disposal_date"] == expected.isoformat()


def test_foi_cases_remind_mails_each_officer(bed: RecordsBed) -> None:
    """`foi cases remind` through a real SMTP server on loopback."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with transaction(bed.runtime.sessions) as session:
            create_user(
                session,
                "omar",
                "foi_officer",
                "correct horse battery staple x",
                email="omar@council.example",
            )
        overdue = _new_case(bed, received=dt.date(2025, 12, 18), assigned_to="omar")
        _new_case(bed, received=dt.date.today(), title="Fresh request", assigned_to="olive")
        env = {**bed.settings.to_env(), "FOI_SMTP_URL": f"smtp://127.0.0.1:{port}"}
        result = CliRunner().invoke(cli, ["cases", "remind"], env=env)
        assert result.exit_code == 0, result.output
        assert "1 reminder e-mail(s) sent" in result.output
        [message] = inbox.messages()
        assert message["To"] == "omar@council.example"
        assert "overdue" in message["Subject"].lower()
        assert overdue.reference in message.get_content()
    finally:
        controller.stop()


def test_a_request_with_parts_under_two_regimes(bed: RecordsBed) -> None:
    case = _new_case(bed)
    env = bed.settings.to_env()
    result = CliRunner().invoke(
        cli, ["cases", "add-part", case.reference, "--regime", "EIR", "--as", "olive"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "EIR-2025-0001 is the EIR part of FOI-2025-0001; due 2026-01-21" in result.output
    again = CliRunner().invoke(
        cli, ["cases", "add-part", case.reference, "--regime", "EIR", "--as", "olive"], env=env
    )
    assert again.exit_code != 0 and "already has a EIR part" in again.output
    with bed.runtime.sessions() as session:
        part = session.execute(select(Case).where(Case.reference == "EIR-2025-0001")).scalar_one()
        assert part.received == case.received and part.regime == "EIR"
        whys = (
            session.execute(select(CaseLink.why).where(CaseLink.case_id.in_([case.id, part.id])))
            .scalars()
            .all()
        )
        assert whys == ["part_of_request", "part_of_request"]
