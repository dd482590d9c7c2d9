"""Destruction certificates: every record listed, hostile paths made harmless, output stable;
the schedule's version and hash, who built, approved and executed (with roles), the checks
made, the audit head, and each record's rule and dates, all in people-readable dates; codes
never cut."""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from retention.certificate import (
    CSV_COLUMNS,
    STUB_NOTE,
    CertificateFontMissing,
    CertificateInfo,
    DestroyedItem,
    Person,
    SkippedItem,
    certificate_csv,
    certificate_filename,
    certificate_pdf,
)

EXECUTED = datetime(2026, 11, 26, 14, 3, tzinfo=UTC)
WELSH_PATH = r"\\fs01\Cynllunio\Ceisiadau\Adroddiad ŵyn ŷd.docx"
HOLD_REASON = "held by hold 3 (Smith litigation) at execution time"

SCHEDULE_SHA = "5e" * 32
HEAD_HASH = "c0ffee" + "9" * 58
INFO = CertificateInfo(
    organisation="Cyngor Sir Ddinbych",
    batch_id=12,
    schedule_version="2026.2",
    schedule_sha256=SCHEDULE_SHA,
    created_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    built_by=Person("retention-schedule", "scheduled job (foi beat), not a person"),
    approved_by=(Person("alice", "records manager"), Person("bob", "records manager")),
    approved_at=datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
    executed_by=Person("carol", "records manager"),
    executed_at=EXECUTED,
    audit_head=f"audit log entry 4711, chain hash {HEAD_HASH}",
    checks="Each record was checked against every hold not released and every open request.",
)
RULE = "destroy 6 years after the end of the financial year of last modification on the share"


def destroyed_item(n: int, **changes: Any) -> DestroyedItem:
    item = DestroyedItem(
        doc_id=f"doc-{n:06d}",
        source="planning",
        unc=rf"\\fs01\Planning\Applications\{n}\decision-{n}.docx",
        path=rf"Applications\{n}\decision-{n}.docx",
        size=1000 + n,
        sha256=f"{n:064x}",
        modified=datetime(2015, 1, 1, tzinfo=UTC) + timedelta(days=n),
        class_id=f"PL-{n % 3:02d}",
        class_name=f"Planning class {n % 3}",
        authority="LGA retention guidelines, planning 4.2",
        destroyed_at=EXECUTED,
        method="Deleted from SMB share; index content removed; metadata stub kept",
        rule=RULE,
        trigger_date=date(2015, 3, 31),
        disposal_date=date(2021, 3, 31),
    )
    return replace(item, **changes)


def skipped_item(n: int, reason: str = HOLD_REASON) -> SkippedItem:
    return SkippedItem(doc_id=f"skip-{n:06d}", unc=rf"\\fs01\Legal\case-{n}.pdf", reason=reason)


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def pdf_text(data: bytes) -> tuple[int, str]:
    """Page count and the text, with whitespace collapsed so that wrapped cells read whole."""
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def test_csv_is_one_table_of_destroyed_then_skipped_records() -> None:
    destroyed = [destroyed_item(n) for n in range(3)]
    skipped = [
        skipped_item(1),
        replace(skipped_item(2, "changed since approval (size 10 → 12)"), outcome="excluded"),
    ]

    data = certificate_csv(INFO, destroyed, skipped)

    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = csv_rows(data)
    assert tuple(header) == CSV_COLUMNS
    assert len(rows) == 5
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    first = dict(zip(header, rows[0], strict=True))
    assert first == {
        "doc_id": "doc-000000",
        "source": "planning",
        "unc": r"\\fs01\Planning\Applications\0\decision-0.docx",
        "path": r"Applications\0\decision-0.docx",
        "size_bytes": "1000",
        "sha256": "0" * 64,
        "last_written_on_share": "1 Jan 2015 00:00:00 UTC",
        "date_inside_file": "",
        "class_id": "PL-00",
        "class_name": "Planning class 0",
        "authority": "LGA retention guidelines, planning 4.2",
        "rule": RULE,
        "trigger_date": "31 Mar 2015",
        "disposal_date": "31 Mar 2021",
        "destroyed_at": "26 Nov 2026 14:03:00 UTC",
        "method": "Deleted from SMB share; index content removed; metadata stub kept",
        "batch_id": "12",
        "schedule_version": "2026.2",
        "schedule_sha256": SCHEDULE_SHA,
        "built_by": "retention-schedule (scheduled job (foi beat), not a person)",
        "approved_by": "alice (records manager); bob (records manager)",
        "executed_by": "carol (records manager)",
        "audit_head": f"audit log entry 4711, chain hash {HEAD_HASH}",
        "outcome": "destroyed",
        "skip_reason": "",
    }
    outcomes = [row[header.index("outcome")] for row in rows]
    assert outcomes == ["destroyed"] * 3 + ["skipped", "excluded"]
    last = dict(zip(header, rows[-1], strict=True))
    assert last["doc_id"] == "skip-000002"
    assert last["unc"] == r"\\fs01\Legal\case-2.pdf"
    assert last["skip_reason"] == "changed since approval (size 10 → 12)"
    assert last["batch_id"] == "12"
    assert last["sha256"] == last["size_bytes"] == ""


def test_csv_times_are_utc_and_unknown_modified_is_blank() -> None:
    local = timezone(timedelta(hours=1))
    item = destroyed_item(
        1, modified=None, destroyed_at=datetime(2026, 11, 26, 15, 3, tzinfo=local)
    )
    naive = destroyed_item(2, destroyed_at=datetime(2026, 11, 26, 14, 3))

    header, *rows = csv_rows(certificate_csv(INFO, [item, naive], []))

    assert rows[0][header.index("last_written_on_share")] == ""
    destroyed_at = [row[header.index("destroyed_at")] for row in rows]
    assert destroyed_at == ["26 Nov 2026 14:03:00 UTC"] * 2


def test_the_date_inside_the_file_is_shown_apart_from_the_shares() -> None:
    """A file written last week with a 2013 date inside: the share's time is what counted."""
    written = datetime(2026, 11, 19, 16, 45, 12, 123456, tzinfo=UTC)
    inside = datetime(2013, 1, 2, 8, 0, tzinfo=UTC)
    item = destroyed_item(1, modified=written, embedded_modified=inside)

    header, row = csv_rows(certificate_csv(INFO, [item], []))
    _, text = pdf_text(certificate_pdf(INFO, [item], []))

    assert row[header.index("last_written_on_share")] == "19 Nov 2026 16:45:12 UTC"
    assert row[header.index("date_inside_file")] == "2 Jan 2013 08:00:00 UTC"
    assert "19 Nov 2026 16:45:12 UTC" in text
    assert "Date inside the file: 2 Jan 2013 08:00:00 UTC" in text


def test_no_date_anywhere_is_a_raw_iso_timestamp() -> None:
    odd = datetime(2026, 11, 19, 16, 45, 12, 999999, tzinfo=timezone(timedelta(hours=-5)))
    items = [destroyed_item(n, modified=odd, embedded_modified=odd) for n in range(3)]

    csv_text = certificate_csv(INFO, items, [skipped_item(1)]).decode("utf-8-sig")
    _, text = pdf_text(certificate_pdf(INFO, items, [skipped_item(1)]))

    iso = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\+00:00|\.\d{6}")
    assert iso.search(csv_text) is None
    assert iso.search(text) is None
    assert "19 Nov 2026 21:45:12 UTC" in csv_text


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_evaluate_get_an_apostrophe(trigger: str) -> None:
    payload = f'{trigger}HYPERLINK("http://evil.example","x")'
    item = destroyed_item(1, unc=payload, path=payload, class_name=payload)

    header, destroyed, skipped = csv_rows(
        certificate_csv(INFO, [item], [skipped_item(1, reason=payload)])
    )

    for column in ("unc", "path", "class_name"):
        assert destroyed[header.index(column)] == "'" + payload
    assert skipped[header.index("skip_reason")] == "'" + payload
    assert destroyed[header.index("doc_id")] == "doc-000001"


def test_csv_keeps_unicode_exactly() -> None:
    paths = [WELSH_PATH, r"\\fs01\共有\報告書.docx", r"\\fs01\Ops\🎉 party.xlsx"]
    destroyed = [destroyed_item(n, unc=path) for n, path in enumerate(paths)]

    header, *rows = csv_rows(certificate_csv(INFO, destroyed, []))

    assert [row[header.index("unc")] for row in rows] == paths


def test_csv_writes_undecodable_file_names_as_escapes() -> None:
    item = destroyed_item(1, unc="\\\\fs01\\bad\\caf\udce9.doc")

    header, row = csv_rows(certificate_csv(INFO, [item], []))

    assert row[header.index("unc")] == "\\\\fs01\\bad\\caf\\udce9.doc"


def test_nothing_destroyed_gives_a_header_only_table() -> None:
    assert csv_rows(certificate_csv(INFO, [], [])) == [list(CSV_COLUMNS)]


def test_a_batch_without_an_approver_has_no_certificate() -> None:
    unapproved = replace(INFO, approved_by=())

    with pytest.raises(ValueError, match="no approver"):
        certificate_csv(unapproved, [destroyed_item(1)], [])
    with pytest.raises(ValueError, match="no approver"):
        certificate_pdf(unapproved, [destroyed_item(1)], [])


def test_pdf_states_the_batch_classes_records_and_skips() -> None:
    destroyed = [destroyed_item(1, unc=WELSH_PATH)] + [destroyed_item(n) for n in range(2, 6)]

    data = certificate_pdf(INFO, destroyed, [skipped_item(1)])

    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages <= 2
    for expected in (
        "Certificate of destruction",
        "Cyngor Sir Ddinbych",
        "Batch 12",
        "Retention schedule version 2026.2",
        f"Schedule text SHA-256 {SCHEDULE_SHA}",
        "Built by retention-schedule (scheduled job (foi beat), not a person)",
        "Approved by alice (records manager) and bob (records manager)",
        "Executed by carol (records manager)",
        "Executed at 26 Nov 2026 14:03:00 UTC",
        "Approved at 25 Nov 2026 10:30:00 UTC",
        "Batch built 20 Nov 2026 09:00:00 UTC",
        f"Checks made {INFO.checks}",
        f"Audit log head audit log entry 4711, chain hash {HEAD_HASH}",
        "Planning class 1",
        "LGA retention guidelines, planning 4.2",
        RULE,
        "From 31 Mar 2015; due 31 Mar 2021",
        WELSH_PATH,
        f"{1:064x}",
        HOLD_REASON,
        "The 5 records listed below, 5,015 bytes in all, were destroyed",
        "1 record in the batch was not destroyed (1 skipped)",
        STUB_NOTE,
        f"Page {pages} of {pages}",
    ):
        assert expected in text, expected


def test_pdf_pages_grow_with_the_records_and_are_numbered() -> None:
    few, _ = pdf_text(certificate_pdf(INFO, [destroyed_item(n) for n in range(2)], []))
    pages, text = pdf_text(certificate_pdf(INFO, [destroyed_item(n) for n in range(200)], []))

    assert few == 1
    assert pages > few
    assert f"Page {pages} of {pages}" in text
    assert text.count(STUB_NOTE) == pages


def test_pdf_of_2000_records_is_quick_and_lists_every_one() -> None:
    destroyed = [destroyed_item(n) for n in range(2000)]
    skipped = [skipped_item(n) for n in range(20)]

    started = time.perf_counter()
    data = certificate_pdf(INFO, destroyed, skipped)
    elapsed = time.perf_counter() - started

    assert elapsed < 10
    assert len(data) < 2_000_000
    pages, text = pdf_text(data)
    assert 20 < pages < 300
    missing = [item.doc_id for item in destroyed if item.doc_id not in text]
    assert missing == []
    assert all(skip.doc_id in text for skip in skipped)
    assert f"Page {pages} of {pages}" in text


def test_pdf_shows_what_its_font_lacks_as_question_marks_without_losing_the_row(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unshowable = r"\\fs01\共有\報告書" + "\x07\u202e.docx"
    destroyed = [destroyed_item(1, unc=unshowable), destroyed_item(2)]

    with caplog.at_level(logging.WARNING):
        data = certificate_pdf(INFO, destroyed, [skipped_item(1)])

    _, text = pdf_text(data)
    assert r"\\fs01\??\???" + "??.docx" in text
    assert "doc-000001" in text
    assert "doc-000002" in text
    assert "printed as “?”" in text
    assert [r.getMessage() for r in caplog.records if r.name.startswith("fpdf")] == []


def test_pdf_without_unshowable_characters_makes_no_note_of_them() -> None:
    _, text = pdf_text(certificate_pdf(INFO, [destroyed_item(1, unc=WELSH_PATH)], []))

    assert "printed as" not in text


def test_pdf_cuts_an_absurdly_long_path_visibly_rather_than_overrunning_the_page() -> None:
    long_path = "\\\\fs01\\" + "\\".join(f"folder{n:04d}" for n in range(2000))

    data = certificate_pdf(INFO, [destroyed_item(1, unc=long_path), destroyed_item(2)], [])

    pages, text = pdf_text(data)
    assert pages <= 2
    assert "cut short: the CSV certificate has it in full" in text
    assert "doc-000002" in text


def test_pdf_with_nothing_destroyed_says_so() -> None:
    data = certificate_pdf(INFO, [], [skipped_item(1)])

    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages == 1
    assert "No records were destroyed in this batch." in text
    assert "1 record in the batch was not destroyed (1 skipped)" in text
    assert HOLD_REASON in text
    assert "Summary by record class" not in text
    assert "Records destroyed" not in text


def test_pdf_is_the_same_bytes_for_the_same_batch() -> None:
    destroyed = [destroyed_item(n) for n in range(30)]

    assert certificate_pdf(INFO, destroyed, []) == certificate_pdf(INFO, destroyed, [])


def test_missing_font_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(CertificateFontMissing, match="fonts-dejavu-core"):
        certificate_pdf(INFO, [destroyed_item(1)], [], font_dir=tmp_path)


def test_filename_names_the_batch_and_its_utc_execution_date() -> None:
    east = timezone(timedelta(hours=2))
    after_midnight_east = replace(INFO, executed_at=datetime(2026, 11, 27, 1, 0, tzinfo=east))

    assert certificate_filename(INFO, "pdf") == "destruction-certificate-batch-12-2026-11-26.pdf"
    assert certificate_filename(INFO, ".csv") == "destruction-certificate-batch-12-2026-11-26.csv"
    assert certificate_filename(after_midnight_east, "pdf").endswith("-2026-11-26.pdf")


@pytest.mark.parametrize("ext", ["", ".", "pdf/../x", "p df"])
def test_filename_refuses_what_is_not_an_extension(ext: str) -> None:
    with pytest.raises(ValueError, match="not a file extension"):
        certificate_filename(INFO, ext)


def test_pdf_without_an_organisation_name_still_certifies() -> None:
    pages, text = pdf_text(certificate_pdf(replace(INFO, organisation=""), [destroyed_item(1)], []))

    assert pages == 1
    assert "Certificate of destruction Batch 12" in text


def test_codes_are_never_cut_and_never_lose_a_character() -> None:
    """Hashes and ids sit whole on a line where they fit; a code wider than its column is
    broken without losing a character."""
    long_id = "f" * 30 + "0123456789abcdef" * 8  # wider than the record column at 6 pt
    items = [destroyed_item(n, sha256=f"{n + 7:064x}") for n in range(40)]
    items.append(destroyed_item(99, doc_id=long_id))
    skipped = [replace(skipped_item(n), doc_id=f"{n:040x}") for n in range(5)]

    data = certificate_pdf(INFO, items, skipped)

    reader = PdfReader(io.BytesIO(data))
    lines = [line.strip() for page in reader.pages for line in page.extract_text().split("\n")]
    for code in [*(i.sha256 for i in items), *(s.doc_id for s in skipped), SCHEDULE_SHA]:
        assert any(code in line for line in lines), code
    assert any(HEAD_HASH in line for line in lines)
    squeezed = "".join("".join(lines).split())
    assert long_id in squeezed


def test_the_audit_head_and_checks_are_in_the_csv_of_every_row() -> None:
    header, *rows = csv_rows(certificate_csv(INFO, [destroyed_item(1)], [skipped_item(1)]))

    assert {row[header.index("audit_head")] for row in rows} == {INFO.audit_head}
    assert {row[header.index("schedule_sha256")] for row in rows} == {SCHEDULE_SHA}
