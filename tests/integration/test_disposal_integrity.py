"""Disposal destroys only what was certified, counts from the share's own timestamps, and never
destroys in a class not signed off; certificates say who, under what and how it was checked;
the CLI audits refusals under the name given. On the real stack: Samba, Tika, Elasticsearch."""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import select

from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.models import AuditEvent, DisposalBatch, DisposalItem
from foi_core.settings import Settings
from retention.classify import report, save_schedule
from retention.disposal import approve, build_batch, execute
from retention.schedule import ScheduleError
from tests.fixtures import ShareWorkspace
from tests.records import RecordsBed

OLD = datetime(2012, 6, 1, tzinfo=UTC)
EMBEDDED = datetime(2013, 5, 14, 9, 30, tzinfo=UTC)
SCHEDULE = """
version: "integrity-1"
classes:
  - id: ENQ
    name: Councillor enquiries
    authority: "Common practice (test)"
    match: {paths: ["Enquiries/**"]}
    retention: 2 years
    trigger: TRIGGER
    action: destroy
    sign_off: SIGN_OFF
"""
# Raw ISO timestamps or nanosecond counts: never in what people read.
_RAW_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\+00:00|\b\d{16,}\b")


def schedule(
    trigger: str = "last_modified", sign_off: str = "signed_off", version: str = ""
) -> str:
    text = SCHEDULE.replace("TRIGGER", trigger).replace("SIGN_OFF", sign_off)
    return text.replace("integrity-1", version) if version else text


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "integrity")
    # One approval, explicitly (rita builds, rob approves and executes); who may decide is
    # tested in test_disposal_people.py.
    one_person = replace(settings, disposal_approvals=1)
    yield RecordsBed.build(stack, workspace, one_person, tmp_path, index_prefix)
    workspace.cleanup()


def office_file(text: str, inside: datetime) -> bytes:
    """A .docx whose own metadata says it was created and last modified at `inside`."""
    document = docx.Document()
    document.add_paragraph(text)
    document.core_properties.created = inside.replace(tzinfo=None)
    document.core_properties.modified = inside.replace(tzinfo=None)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def certificate_rows(bed: RecordsBed, batch_id: int) -> list[dict[str, str]]:
    with bed.runtime.sessions() as session:
        data = session.get_one(DisposalBatch, batch_id).certificate_csv or b""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def certificate_text(bed: RecordsBed, batch_id: int) -> str:
    with bed.runtime.sessions() as session:
        data = session.get_one(DisposalBatch, batch_id).certificate_pdf or b""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def events(bed: RecordsBed, action: str) -> list[AuditEvent]:
    with bed.runtime.sessions() as session:
        found = session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
        return list(found)


def test_a_file_written_today_with_an_old_date_inside_is_kept(bed: RecordsBed) -> None:
    """Issue item 4: the share's last-write time decides, not the date inside the file."""
    path = "Enquiries/2026/Street lighting reply.docx"
    bed.write(path, office_file("Reply about street lighting on Mill Lane.", EMBEDDED))
    bed.crawl()

    save_schedule(bed.records, schedule(), actor="rita")
    assert report(bed.records, date.today()).eligible == 0
    assert build_batch(bed.records, actor="rita", today=date.today()) is None
    assert bed.on_share(path)
    classified = bed.doc(bed.doc_id(path))
    due = date.fromisoformat(classified["disposal_date"])
    assert due > date.today() + timedelta(days=700)
    assert "2013" not in classified["retention_reason"]
    assert classified["modified"].startswith("2013-05-14")  # Tika read the date inside
    assert classified["share_modified"][:10] == date.today().isoformat()

    # A class may ask for the date inside the file, by name; the certificate shows both.
    save_schedule(bed.records, schedule("embedded_modified", version="integrity-2"), actor="rita")
    batch_id = build_batch(bed.records, actor="rita", today=date.today())
    assert batch_id is not None
    assert approve(bed.records, batch_id, actor="rob") == "approved"
    assert execute(bed.records, batch_id, actor="rob").destroyed == 1
    assert not bed.on_share(path)
    (row,) = certificate_rows(bed, batch_id)
    today = datetime.now(UTC)
    assert row["last_written_on_share"].startswith(f"{today.day} {today:%b %Y}")
    assert row["date_inside_file"] == "14 May 2013 09:30:00 UTC"
    assert row["trigger_date"] == "14 May 2013"
    assert row["disposal_date"] == "14 May 2015"
    assert row["rule"] == "destroy 2 years after the last-modified date recorded inside the file"
    text = certificate_text(bed, batch_id)
    assert "Date inside the file: 14 May 2013 09:30:00 UTC" in text
    assert "From 14 May 2013; due 14 May 2015" in text


def test_bytes_replaced_with_the_same_size_and_time_are_not_destroyed(
    bed: RecordsBed, tmp_path: Path
) -> None:
    """Issue item 6: content re-checked, by SHA-256 of the bytes on the share, before deleting;
    the skip is recorded, audited, on the certificate, and the CLI's counts are its counts."""
    changed, kept_id, replaced = (
        "Enquiries/2012/changed.txt",
        "Enquiries/2012/untouched.txt",
        "Enquiries/2012/replaced.txt",
    )
    for path in (changed, kept_id, replaced):
        bed.write(path, b"Enquiry about the bus shelter at Mill Lane.\n", modified=OLD)
    bed.crawl()
    save_schedule(bed.records, schedule(), actor="rita")
    batch_id = build_batch(bed.records, actor="rita", today=date.today())
    assert batch_id is not None
    assert approve(bed.records, batch_id, actor="rob") == "approved"

    # Same size, same last-write time to the nanosecond, same file: different bytes.
    disk = bed.workspace.disk(changed)
    stamp = disk.stat()
    bed.write(changed, b"Enquiry about the bus shelter at Mill Road.\n")
    os.utime(disk, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    # Same size and time, different file (a new one renamed over the old).
    target = bed.workspace.disk(replaced)
    stamp = target.stat()
    fresh = target.with_name("fresh.tmp")
    fresh.write_bytes(b"Enquiry about the bus shelter at Mill Road.\n")
    os.utime(fresh, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    bed.workspace.give_to_share_user(fresh)
    fresh.replace(target)

    result = CliRunner().invoke(
        cli,
        ["retention", "execute", str(batch_id), "--as", "rob", "--certificate-dir", str(tmp_path)],
        env=bed.settings.to_env(),
    )
    assert result.exit_code == 0, result.output
    assert f"batch {batch_id}: 1 destroyed, 2 skipped, 0 failed, 0 excluded" in result.output

    assert bed.on_share(changed) and bed.on_share(replaced) and not bed.on_share(kept_id)
    assert bed.workspace.disk(changed).read_bytes().endswith(b"Mill Road.\n")
    rows = certificate_rows(bed, batch_id)
    assert Counter(row["outcome"] for row in rows) == {"destroyed": 1, "skipped": 2}
    reasons = {row["unc"].rsplit("\\", 1)[-1]: row["skip_reason"] for row in rows}
    assert reasons["changed.txt"].startswith("content changed since approval")
    assert "SHA-256 differs" in reasons["changed.txt"]
    assert reasons["replaced.txt"].startswith("replaced since approval")
    for reason in reasons.values():
        assert _RAW_TIME.search(reason) is None
    text = certificate_text(bed, batch_id)
    assert "Skipped: content changed since approval" in text
    assert "2 records in the batch were not destroyed (2 skipped)" in text

    refused = events(bed, "disposal_refused_changed")
    assert sorted(e.details["path"] for e in refused) == [changed, replaced]
    assert {e.outcome for e in refused} == {"denied"} and {e.actor for e in refused} == {"rob"}
    with bed.runtime.sessions() as session:
        items = session.execute(
            select(DisposalItem).where(DisposalItem.batch_id == batch_id)
        ).scalars()
        approved = {i.path: i.sha256 for i in items}
    assert {e.details["approved_sha256"] for e in refused} == {approved[changed]}
    assert (tmp_path / f"destruction-certificate-batch-{batch_id}.csv").read_bytes()


def test_a_class_not_signed_off_is_never_destroyed(bed: RecordsBed) -> None:
    """Issue item 7: not at batch build, not at approval, not at execution; the report and the
    review say why."""
    paths = [f"Enquiries/2012/enquiry {n}.txt" for n in range(3)]
    for path in paths:
        bed.write(path, f"{path}: street lighting enquiry.\n".encode(), modified=OLD)
    bed.crawl()
    env = bed.settings.to_env()

    save_schedule(bed.records, schedule(sign_off="required"), actor="rita")
    assert build_batch(bed.records, actor="rita", today=date.today()) is None
    summary = report(bed.records, date.today())
    assert (summary.eligible, summary.awaiting_sign_off) == (0, 3)
    (enq,) = summary.by_class
    assert (enq.due, enq.disposable) == (3, False) and "awaiting sign-off" in enq.note
    printed = CliRunner().invoke(cli, ["retention", "report"], env=env).output
    assert "awaiting sign-off: 3 files past their disposal date" in printed
    assert "not signed off" in bed.doc(bed.doc_id(paths[0]))["retention_reason"]

    # Signed off, built; sign-off withdrawn before approval: every item is taken out.
    save_schedule(bed.records, schedule(version="integrity-2"), actor="rita")
    first = build_batch(bed.records, actor="rita", today=date.today())
    assert first is not None
    save_schedule(bed.records, schedule(sign_off="required", version="integrity-3"), actor="rita")
    assert approve(bed.records, first, actor="rob") == "approved"
    # Signed off, built and approved; withdrawn before execution: every item is skipped.
    save_schedule(bed.records, schedule(version="integrity-4"), actor="rita")
    with bed.runtime.sessions() as session:
        excluded = session.execute(
            select(DisposalItem).where(DisposalItem.batch_id == first)
        ).scalars()
        assert all(item.excluded for item in excluded)
    execute(bed.records, first, actor="rob")
    second = build_batch(bed.records, actor="rita", today=date.today())
    assert second is not None
    assert approve(bed.records, second, actor="rob") == "approved"
    save_schedule(bed.records, schedule(sign_off="required", version="integrity-5"), actor="rita")
    done = execute(bed.records, second, actor="rob")
    assert (done.destroyed, done.skipped) == (0, 3)
    assert all(bed.on_share(path) for path in paths)

    for batch_id, stage in ((first, "approval"), (second, "execution")):
        rows = certificate_rows(bed, batch_id)
        assert {row["outcome"] for row in rows} == {
            "excluded" if stage == "approval" else "skipped"
        }
        assert all("is not signed off (sign_off: required)" in r["skip_reason"] for r in rows)
    refusals = events(bed, "disposal_refused_not_signed_off")
    assert Counter(e.details["stage"] for e in refusals) == {"approval": 3, "execution": 3}
    assert {e.outcome for e in refusals} == {"denied"}


def test_a_misspelt_source_is_refused_with_the_registered_names(bed: RecordsBed) -> None:
    misspelt = bed.source[:-1] + ("x" if bed.source[-1] != "x" else "y")
    text = schedule().replace(
        'match: {paths: ["Enquiries/**"]}', f"match: {{sources: [{misspelt}]}}"
    )
    with pytest.raises(ScheduleError) as caught:
        save_schedule(bed.records, text, actor="rita")
    assert caught.value.problems == [
        f"classes[0] (ENQ).match.sources[0]: '{misspelt}' is not a registered source; "
        f"did you mean '{bed.source}'?"
    ]


def test_certificate_names_the_schedule_people_checks_and_audit_head(bed: RecordsBed) -> None:
    bed.write("Enquiries/2012/old.txt", b"An old enquiry.\n", modified=OLD)
    bed.crawl()
    schedule_text = schedule()
    saved = save_schedule(bed.records, schedule_text, actor="rita")
    assert build_batch(bed.records, actor="rita", today=date.today()) == 1
    assert approve(bed.records, 1, actor="rob") == "approved"
    execute(bed.records, 1, actor="rob")

    (row,) = certificate_rows(bed, 1)
    assert row["schedule_version"] == "integrity-1"
    assert row["schedule_sha256"] == saved.sha256
    assert row["built_by"] == "rita (records manager)"
    assert row["approved_by"] == "rob (records manager)"
    assert row["executed_by"] == "rob (records manager)"
    (executed,) = events(bed, "disposal_execute")
    assert row["audit_head"] == f"audit log entry {executed.id}, chain hash {executed.hash}"
    text = certificate_text(bed, 1)
    assert f"chain hash {executed.hash}" in text
    assert saved.sha256 in text
    assert "against every hold not released, against every open request case" in text
    assert "Approved by rob (records manager)" in text
    assert _RAW_TIME.search(text) is None


def test_refused_cli_actions_are_audited_under_the_name_given(bed: RecordsBed) -> None:
    bed.write("Enquiries/2012/old.txt", b"An old enquiry.\n", modified=OLD)
    bed.crawl()
    save_schedule(bed.records, schedule(), actor="rita")
    env = bed.settings.to_env()

    def foi(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args), env=env)
        return result.exit_code, result.output

    code, output = foi("retention", "run")
    assert code == 0 and "batch 1 built" in output
    with bed.runtime.sessions() as session:
        builder = session.get_one(DisposalBatch, 1).created_by
    assert builder.endswith("(command line)")
    assert foi("retention", "run", "--as", "olive")[0] != 0
    (refused_run,) = [e for e in events(bed, "disposal_batch_create") if e.outcome == "denied"]
    assert refused_run.actor == "olive"

    for name, why in (("olive", "needs a records manager"), ("nobody", "no active account")):
        code, output = foi("retention", "approve", "1", "--as", name)
        assert code != 0 and why in output
    assert foi("retention", "approve", "1", "--as", "rita")[0] == 0
    code, output = foi("retention", "approve", "1", "--as", "rob")
    assert code != 0 and "approved, not pending" in output
    code, output = foi("holds", "release-approve", "99", "--as", "rob")
    assert code != 0

    denied = [e for e in events(bed, "disposal_approve") if e.outcome == "denied"]
    assert [(e.actor, e.target) for e in denied] == [
        ("olive", "batch:1"),
        ("nobody", "batch:1"),
        ("rob", "batch:1"),
    ]
    assert "needs a records manager" in denied[0].details["reason"]
    (release,) = events(bed, "hold_release_approve")
    assert (release.actor, release.outcome) == ("rob", "denied")
    with bed.runtime.sessions() as session:
        actors = set(session.execute(select(AuditEvent.actor)).scalars())
    assert "cli" not in actors
