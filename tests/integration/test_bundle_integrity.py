"""What a disclosure bundle discloses, on the real stack (Samba share, Tika, Elasticsearch): the
exact version each document had when it was collected, from the share while the share still
holds it and from the preservation store once it does not, and never other bytes; what the
manifest, the chain of custody and the audit log say about it; and scoping searches that say
which matching records were destroyed, and when, instead of dropping them silently."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from cases.collection import adequacy_statement, collect, collect_search, run_scoping_search
from cases.export import ExportSettings
from cases.export_jobs import export_case
from cases.service import create_case
from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.models import AuditEvent, Case, CaseDocument, CaseExport
from foi_core.settings import Settings
from retention.classify import save_schedule
from retention.disposal import approve, build_batch, execute
from retention.preservation import run_pending
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.integration.test_records_web import Officer
from tests.records import RecordsBed

PREFIXES = "FOIA=FOI,EIR=EIR,SAR=SAR"
CONTRACT = "Contracts/Bus shelters/contract.txt"
VARIATION = "Contracts/Bus shelters/variation.txt"
INVOICE = "Contracts/Bus shelters/invoice.txt"
FILES = {
    CONTRACT: b"Bus shelter maintenance contract with Acme Ltd.\n",
    VARIATION: b"Variation to the bus shelter contract, 2024.\n",
    INVOICE: b"Invoice: bus shelter cleaning, March.\n",
    "Contracts/Parks/mowing.txt": b"Grass mowing contract for parks.\n",
}
OLD_INVOICES = {
    "Old invoices/bus shelter invoice 2010.txt": b"Invoice 2010: bus shelter repairs.\n",
    "Old invoices/bus shelter invoice 2011.txt": b"Invoice 2011: bus shelter glazing.\n",
}
EDITED = b"Invoice, edited after collection: bus shelter cleaning, April.\n"
SCHEDULE = """
version: "bundle-integrity-1"
classes:
  - id: OLDINV
    name: Superseded invoices
    authority: "Limitation Act 1980 s.5 (test)"
    match: {paths: ["Old invoices/**"]}
    retention: 6 years
    trigger: last_modified
    action: destroy
    sign_off: signed_off
"""


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "bundle")
    # One approval, explicitly (rita builds and executes, rob approves).
    one_person = replace(settings, disposal_approvals=1)
    bed = RecordsBed.build(stack, workspace, one_person, tmp_path, index_prefix)
    for path, data in FILES.items():
        bed.write(path, data)
    for path, data in OLD_INVOICES.items():
        bed.write(path, data, modified=dt.datetime(2011, 6, 1, tzinfo=dt.UTC))
    bed.crawl()
    yield bed
    workspace.cleanup()


def _new_case(bed: RecordsBed) -> Case:
    return create_case(
        bed.runtime.sessions,
        regime="FOIA",
        received=dt.date(2025, 12, 18),
        title="Bus shelter contract",
        request_text="All contracts and invoices for bus shelter maintenance.",
        requester_name="A. Journalist",
        actor="olive",
        prefix_spec=PREFIXES,
        target_days=15,
    )


def _settings(tmp_path: Path) -> ExportSettings:
    return ExportSettings(tmp_path / "exports", keep_days=30, part_bytes=2 * 1024**3)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _bundle(export: CaseExport) -> zipfile.ZipFile:
    [part] = export.parts
    return zipfile.ZipFile(Path(export.directory) / part)


def _manifest(bundle: zipfile.ZipFile) -> dict[str, dict[str, str]]:
    return {row["doc_id"]: row for row in _csv(bundle.read("manifest.csv"))}


def test_a_file_changed_and_crawled_after_collection_is_disclosed_as_collected(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    case = _new_case(bed)
    invoice, contract = bed.doc_id(INVOICE), bed.doc_id(CONTRACT)
    assert collect(records, case.id, [invoice, contract], actor="olive") == 2
    # The hold's copy-on-hold (the web app runs it in the background, crawls at their end).
    assert run_pending(records).failed == 0

    bed.write(INVOICE, EDITED)
    bed.crawl()
    assert bed.doc(invoice)["sha256"] == _sha(EDITED)

    export = export_case(records, _settings(tmp_path), case.id, actor="olive")
    with _bundle(export) as bundle:
        rows = _manifest(bundle)
        changed = rows[invoice]
        # The version collected, not what the share holds now.
        assert bundle.read(changed["archive_path"]) == FILES[INVOICE]
        assert bundle.read(changed["text_path"]).decode().strip() == FILES[INVOICE].decode().strip()
        summary = bundle.read("summary.txt").decode()
        errors = _csv(bundle.read("errors.csv"))
    assert changed["sha256"] == changed["collected_sha256"] == _sha(FILES[INVOICE])
    assert changed["origin"] == "preservation store"
    assert changed["source_state"] == "changed at source since collection"
    assert changed["share_sha256"] == _sha(EDITED)
    assert changed["hash_matches"] == "True" and changed["error"] == ""
    unchanged = rows[contract]
    assert unchanged["origin"] == "share"
    assert unchanged["source_state"] == "unchanged since collection"
    assert export.counts["included"] == 2 and export.counts["failed"] == 0
    assert [(e["doc_id"], e["problem"], e["included"]) for e in errors] == [
        (invoice, "changed at source since collection", "yes")
    ]
    assert "Changed at source since collection: 1" in summary
    assert "From the preservation store: 1" in summary
    with bed.runtime.sessions() as session:
        rows_pinned = session.execute(select(CaseDocument).where(CaseDocument.case_id == case.id))
        pinned = {row.doc_id: row.sha256 for row in rows_pinned.scalars()}
    assert pinned == {invoice: _sha(FILES[INVOICE]), contract: _sha(FILES[CONTRACT])}


def test_changed_or_deleted_at_source_without_a_crawl_come_from_the_store(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    case = _new_case(bed)
    invoice, variation, contract = (bed.doc_id(p) for p in (INVOICE, VARIATION, CONTRACT))
    collect(records, case.id, [invoice, variation, contract], actor="olive")
    assert run_pending(records).failed == 0
    bed.write(INVOICE, EDITED)
    bed.workspace.remove(VARIATION)

    export = export_case(records, _settings(tmp_path), case.id, actor="olive")
    with _bundle(export) as bundle:
        rows = _manifest(bundle)
        assert bundle.read(rows[invoice]["archive_path"]) == FILES[INVOICE]
        assert bundle.read(rows[variation]["archive_path"]) == FILES[VARIATION]
        assert bundle.read(rows[contract]["archive_path"]) == FILES[CONTRACT]
    assert export.counts["included"] == 3 and export.counts["failed"] == 0
    assert rows[invoice]["origin"] == rows[variation]["origin"] == "preservation store"
    assert rows[invoice]["sha256"] == _sha(FILES[INVOICE])
    assert rows[invoice]["source_state"] == "changed at source since collection"
    assert rows[variation]["sha256"] == _sha(FILES[VARIATION])
    assert rows[variation]["source_state"] == "deleted at source since collection"
    assert rows[variation]["deleted_at_source"] == "True"
    assert rows[contract]["origin"] == "share"


def test_a_collected_version_nowhere_to_be_found_is_an_error_not_other_bytes(
    bed: RecordsBed, tmp_path: Path
) -> None:
    records = bed.records
    case = _new_case(bed)
    invoice = bed.doc_id(INVOICE)
    collect(records, case.id, [invoice], actor="olive")
    # Changed before its preservation copy was made: no copy of the collected version exists.
    bed.write(INVOICE, EDITED)

    export = export_case(records, _settings(tmp_path), case.id, actor="olive")
    with _bundle(export) as bundle:
        documents = [n for n in bundle.namelist() if n.startswith(("documents/", "text/"))]
        row = _manifest(bundle)[invoice]
        errors = _csv(bundle.read("errors.csv"))
    assert documents == []
    assert export.counts["included"] == 0 and export.counts["failed"] == 1
    assert row["origin"] == "" and row["sha256"] == ""
    assert row["collected_sha256"] == _sha(FILES[INVOICE])
    assert "not in the preservation store" in row["error"]
    assert any(e["doc_id"] == invoice and e["included"] == "no" for e in errors)


def test_manifest_dates_custody_and_the_audited_bundle(bed: RecordsBed, tmp_path: Path) -> None:
    records = bed.records
    case = _new_case(bed)
    contract = bed.doc_id(CONTRACT)
    collect(records, case.id, [contract], actor="olive")
    run_pending(records)

    export = export_case(records, _settings(tmp_path), case.id, actor="olive")
    with _bundle(export) as bundle:
        row = _manifest(bundle)[contract]
        custody = _csv(bundle.read("chain-of-custody.csv"))
        custody_text = bundle.read("chain-of-custody.txt").decode()
        summary = bundle.read("summary.txt").decode()
    share_mtime = dt.datetime.fromtimestamp(
        bed.workspace.disk(CONTRACT).stat().st_mtime, dt.UTC
    ).replace(microsecond=0)
    assert dt.datetime.fromisoformat(row["share_modified"]) == share_mtime
    assert row["share_created"] and "embedded_modified" in row and "embedded_created" in row
    assert (row["origin"], row["held_version"], row["deleted_at_source"]) == (
        "share",
        "False",
        "False",
    )

    with bed.runtime.sessions() as session:
        events = list(session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
    collected = next(e for e in events if e.action == "case_collect")
    held = next(e for e in events if e.action == "hold_add")
    mine = {(c["audit_entry"], c["action"]) for c in custody if c["document"] == contract}
    assert (str(collected.id), "case_collect") in mine and (str(held.id), "hold_add") in mine
    assert f"audit entry {collected.id}" in custody_text

    # The summary names the audit log's head when the bundle was written, and people's dates.
    found = re.search(r"audit log entry (\d+), chain hash ([0-9a-f]{64})", summary)
    assert found, summary
    head = next(e for e in events if e.id == int(found.group(1)))
    assert head.hash == found.group(2)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", summary)
    assert re.search(r"Exported at: \w+ \d{1,2} \w+ \d{4} at \d{2}:\d{2} UTC", summary)

    # Written, then audited with the hash of each zip part as it is on disk.
    exported = next(e for e in reversed(events) if e.action == "case_export")
    assert exported.id > head.id
    part = Path(export.directory) / export.parts[0]
    assert exported.details["part_sha256"] == {export.parts[0]: _sha(part.read_bytes())}


def _destroy_old_invoices(bed: RecordsBed) -> dt.date:
    save_schedule(bed.records, SCHEDULE, actor="rita")
    batch = build_batch(bed.records, actor="rita", today=dt.date.today())
    assert batch is not None
    assert approve(bed.records, batch, actor="rob") == "approved"
    assert execute(bed.records, batch, actor="rita").destroyed == 2
    return dt.datetime.now(dt.UTC).date()


def test_destroyed_matches_are_named_not_dropped(bed: RecordsBed) -> None:
    destroyed_on = _destroy_old_invoices(bed)
    records = bed.records
    case = _new_case(bed)
    line = f"2 not held — destroyed on {destroyed_on.day} {destroyed_on:%B %Y} under OLDINV"

    search = run_scoping_search(records, case.id, "q=bus+shelter", actor="olive")
    # The three live bus shelter files are the hits; the two destroyed invoices are named.
    assert search.hits == 3
    assert collect_search(records, case.id, "q=bus+shelter", actor="olive") == search.hits
    assert search.counts["documents_in_scope"] == len(FILES)
    with bed.runtime.sessions() as session:
        statement = adequacy_statement(session, case.id).text
    assert f"{line} (Superseded invoices)" in statement
    assert "3 matching document(s)" in statement

    env = bed.settings.to_env()
    searched = CliRunner().invoke(
        cli, ["cases", "search", case.reference, "bus shelter", "--as", "olive"], env=env
    )
    assert searched.exit_code == 0, searched.output
    assert "3 matching documents" in searched.output and line in searched.output
    adequacy = CliRunner().invoke(cli, ["cases", "adequacy", case.reference], env=env)
    assert line in adequacy.output

    app: Flask = create_app(bed.settings)
    page = Officer(app, "olive").get(f"/cases/{case.reference}").get_data(as_text=True)
    assert line in page


def test_refused_cli_actions_are_audited_as_the_named_person(bed: RecordsBed) -> None:
    case = _new_case(bed)
    env = bed.settings.to_env()
    refused = CliRunner().invoke(
        cli, ["cases", "move", case.reference, "pi_extension", "--as", "olive"], env=env
    )
    assert refused.exit_code != 0 and "cannot become" in refused.output
    not_officer = CliRunner().invoke(
        cli, ["cases", "search", case.reference, "bus shelter", "--as", "clerk"], env=env
    )
    assert not_officer.exit_code != 0
    with bed.runtime.sessions() as session:
        denied = list(
            session.execute(
                select(AuditEvent).where(AuditEvent.outcome == "denied").order_by(AuditEvent.id)
            ).scalars()
        )
    assert [(e.actor, e.action, e.target) for e in denied] == [
        ("olive", "case_transition", f"case:{case.reference}"),
        ("clerk", "case_scoping_search", f"case:{case.reference}"),
    ]
    assert "cannot become" in denied[0].details["reason"]
