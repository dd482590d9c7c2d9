"""Issue 3's acceptance: crawls of awkward shares through the real Samba, Tika and
Elasticsearch, each file ending indexed with an explicit status (or recorded as a walk
problem), and what should be searchable found by the production search.

Every fixture is generated here: the files are written over SMB; symlinks and unreadable
entries are made on the share's disk, since SMB cannot make them. Tika is the real server; the
extractor only counts its requests, so a test can prove which files a crawl re-extracted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy.orm import Session, sessionmaker

from demo.documents import write_docx, write_eml
from devstack.stack import LocalStack
from foi_core.settings import Settings
from indexer.extract import ExtractOptions, Status
from tests.factories import (
    write_encrypted_docx,
    write_encrypted_pdf,
    write_text_image,
    write_truncated_docx,
    zip_bytes,
)
from tests.fixtures import CrawlHarness, ShareWorkspace

pytestmark = pytest.mark.integration

OPTIONS = ExtractOptions(timeout_s=60, max_chars=1_000_000, ocr=True)

# 8 folders deep, through a folder named in three scripts, to a 199-byte file name.
LONG_NAME = ("Résumé des délibérations du comité " * 5).strip() + ".txt"
NESTED = "Planning/Applications/2024/Q1/Ward 7/Objections/Ünïcødé \u2013 会议记录/" + LONG_NAME
ENCRYPTED_PDF = "Secure/budget 2024.pdf"
ENCRYPTED_DOCX = "Secure/HR minutes.docx"
CORRUPT_DOCX = "Broken/committee report.docx"
ZIP = "Archive/planning bundle.zip"
EML = "Mail/objection.eml"
IMAGE = "Scans/site notice.png"
EMPTY = "Empty/placeholder.txt"
DENIED = "Private/salaries.txt"
ORIGINAL = "Copies/Original/policy.docx"
COPY = "Copies/Copy/policy.docx"
LOOP_README = "Loop/readme.txt"
LOOP_LINK = "Loop/back"


@pytest.fixture
def workspace(stack: LocalStack) -> Iterator[ShareWorkspace]:
    space = ShareWorkspace(stack.samba, "pipeline")
    yield space
    space.cleanup()


@pytest.fixture
def harness(
    workspace: ShareWorkspace,
    settings: Settings,
    es: Elasticsearch,
    index_prefix: str,
    sqlite_sessions: sessionmaker[Session],
) -> CrawlHarness:
    return CrawlHarness.build(
        workspace=workspace,
        es=es,
        index_prefix=index_prefix,
        sessions=sqlite_sessions,
        tika_url=settings.tika_url,
        options=OPTIONS,
    )


def _docx(tmp_path: Path, name: str, *paragraphs: str) -> bytes:
    path = tmp_path / name
    write_docx(path, name.rsplit(".", 1)[0].title(), list(paragraphs))
    return path.read_bytes()


def test_first_crawl_gives_every_awkward_file_its_status_and_its_text_to_search(
    workspace: ShareWorkspace, harness: CrawlHarness, tmp_path: Path
) -> None:
    write_encrypted_pdf(
        tmp_path / "enc.pdf", "Budget", ["The wombat reserve allocation is secret."], "s3cret"
    )
    write_encrypted_docx(
        tmp_path / "enc.docx", "HR minutes", ["The gannet disciplinary panel met."], "s3cret"
    )
    write_truncated_docx(
        tmp_path / "broken.docx", "Committee report", ["The heron parking review."] * 40
    )
    site_visit = _docx(tmp_path, "site visit.docx", "Officers noted the armadillo culvert.")
    bundle = zip_bytes(
        {"visits/site visit.docx": site_visit, "notes.txt": b"pangolin hedgerow survey notes"}
    )
    letter = tmp_path / "objection letter.docx"
    write_docx(letter, "Objection", ["I object to the narwhal footbridge scheme."])
    write_eml(
        tmp_path / "objection.eml",
        sender="Jo Bloggs <jo.bloggs@example.org>",
        to=["planning@council.example.gov.uk"],
        subject="Objection to application 24/0001",
        body="Please find my objection attached regarding the kestrel roundabout.",
        date=datetime(2024, 3, 4, 10, 30, tzinfo=UTC),
        attachments=[letter],
    )
    write_text_image(tmp_path / "notice.png", ["Temporary road closure", "Marigold Lane"])
    policy = _docx(tmp_path, "policy.docx", "The ocelot retention policy applies.")
    files = {
        NESTED: b"The quokka lantern ordinance was adopted.",
        ENCRYPTED_PDF: (tmp_path / "enc.pdf").read_bytes(),
        ENCRYPTED_DOCX: (tmp_path / "enc.docx").read_bytes(),
        CORRUPT_DOCX: (tmp_path / "broken.docx").read_bytes(),
        ZIP: bundle,
        EML: (tmp_path / "objection.eml").read_bytes(),
        IMAGE: (tmp_path / "notice.png").read_bytes(),
        EMPTY: b"",
        DENIED: b"salary bands for the tapir directorate",
        ORIGINAL: policy,
        COPY: policy,
        LOOP_README: b"the walk must come back out of this folder",
    }
    workspace.write_files(files)
    workspace.disk(DENIED).chmod(0o000)
    workspace.symlink(LOOP_LINK, "..")

    counts = harness.crawl()

    # Every file is accounted for; the loop is a problem, not an endless walk.
    assert counts.seen == len(files)
    assert [(p["path"], p["kind"]) for p in counts.problem_paths] == [(LOOP_LINK, "symlink_loop")]
    expected = {
        NESTED: Status.OK,
        ENCRYPTED_PDF: Status.ENCRYPTED,
        ENCRYPTED_DOCX: Status.ENCRYPTED,
        CORRUPT_DOCX: Status.CORRUPT,
        ZIP: Status.OK,
        EML: Status.OK,
        IMAGE: Status.OK,
        EMPTY: Status.EMPTY,
        DENIED: Status.ACCESS_DENIED,
        ORIGINAL: Status.OK,
        COPY: Status.OK,
        LOOP_README: Status.OK,
    }
    assert {path: harness.doc(path)["status"] for path in files} == expected
    assert counts.by_status == {
        Status.OK: 7,
        Status.ENCRYPTED: 2,
        Status.CORRUPT: 1,
        Status.EMPTY: 1,
        Status.ACCESS_DENIED: 1,
    }
    assert counts.new == len(files) and counts.failed == 4
    # Tika saw each unique readable content once: not the empty file, not the unreadable one,
    # and only one of the two identical policies.
    assert sorted(harness.extractor.filenames) == sorted(
        path.rsplit("/", 1)[-1] for path in files if path not in (EMPTY, DENIED, COPY)
    )
    assert counts.extracted == harness.extractor.calls == len(files) - 3
    assert counts.reused == 1

    # Every file document carries its facts, whatever its status.
    for path, data in files.items():
        doc = harness.doc(path)
        assert doc["kind"] == "file" and doc["path"] == path and not doc["deleted"]
        assert doc["filename"] == path.rsplit("/", 1)[-1] and doc["size"] == len(data)
        assert doc["unc"].endswith("\\" + path.replace("/", "\\"))
        if path != DENIED:
            assert doc["sha256"] == hashlib.sha256(data).hexdigest()
        if doc["status"] not in (Status.OK, Status.EMPTY):
            assert doc["status_reason"], path

    # Nested, Unicode and long names survive the round trip and are searchable.
    assert harness.paths_found('"quokka lantern ordinance"') == {(NESTED, LONG_NAME)}
    assert len(LONG_NAME.encode()) > 190
    assert harness.doc(NESTED)["folders"][-1] == NESTED.rsplit("/", 1)[0]

    # Failed content is indexed without text: found by name, never by its secret words.
    assert harness.find("wombat") == [] and harness.find("gannet") == []
    assert harness.find("heron") == []
    assert harness.paths_found('"budget 2024"') == {(ENCRYPTED_PDF, "budget 2024.pdf")}
    assert harness.doc(ENCRYPTED_PDF)["mime_type"] == "application/pdf"
    denied = harness.doc(DENIED)
    assert denied["content"] == "" and "denied" in denied["status_reason"]
    assert harness.find("tapir") == []
    assert harness.paths_found("salaries.txt") == {(DENIED, "salaries.txt")}

    # The empty file is indexed with its metadata.
    empty = harness.doc(EMPTY)
    assert empty["content"] == "" and empty["size"] == 0 and empty["extension"] == "txt"
    assert empty["modified"] is not None
    assert harness.paths_found("placeholder.txt") == {(EMPTY, "placeholder.txt")}

    # Zip members are their own documents, linked to the zip, searchable by their own text.
    zip_id = harness.doc_id(ZIP)
    members = {child["filename"]: child for child in harness.children(ZIP)}
    assert set(members) == {"site visit.docx", "notes.txt"}
    for member in members.values():
        assert member["kind"] == "embedded" and member["status"] == Status.OK
        assert member["container_id"] == zip_id and member["root_id"] == zip_id
        assert member["path"] == ZIP and not member["deleted"]
    assert [
        (d["kind"], d["filename"], d["root_id"]) for d in harness.find('"armadillo culvert"')
    ] == [("embedded", "site visit.docx", zip_id)]
    assert [(d["kind"], d["filename"]) for d in harness.find('"pangolin hedgerow"')] == [
        ("embedded", "notes.txt")
    ]

    # The e-mail: its body on the message, its attachment as a document of its own.
    eml_id = harness.doc_id(EML)
    message = harness.doc(EML)
    assert message["email_from"] == ["jo.bloggs@example.org"]
    assert message["email_subject"] == "Objection to application 24/0001"
    assert [d["doc_id"] for d in harness.find('"kestrel roundabout"')] == [eml_id]
    attachment = harness.find('"narwhal footbridge"')
    assert [(d["kind"], d["filename"], d["container_id"]) for d in attachment] == [
        ("embedded", "objection letter.docx", eml_id)
    ]

    # The scanned notice is read by OCR.
    assert harness.paths_found('"Marigold Lane"') == {(IMAGE, "site notice.png")}

    # The two identical policies: extracted once, both indexed, the later one a duplicate.
    policies = {doc["path"]: doc for doc in harness.find('"ocelot retention policy"')}
    assert set(policies) == {ORIGINAL, COPY}
    duplicates = [doc for doc in policies.values() if doc.get("duplicate_of")]
    assert len(duplicates) == 1
    assert duplicates[0]["duplicate_of"] in {harness.doc_id(ORIGINAL), harness.doc_id(COPY)}
    assert duplicates[0]["duplicate_of"] != duplicates[0]["doc_id"]

    # Nothing changed, so a second crawl extracts nothing; only the file we could not read is
    # tried again (a permission fix does not change its mtime), and it is still unreadable.
    again = harness.crawl()
    assert again.seen == len(files) and again.unchanged == len(files) - 1
    assert again.changed == 1 and again.by_status == {"access_denied": 1}
    assert again.extracted == again.reused == again.deleted == harness.extractor.attempts == 0
    assert [(p["path"], p["kind"]) for p in again.problem_paths] == [(LOOP_LINK, "symlink_loop")]


STEADY = "Reports/steady.txt"
CHANGING = "Reports/changing.txt"
DOOMED = "Reports/doomed.txt"
MOVING = "Reports/moving.docx"
MOVED = "Archive/2023/moving.docx"
POLICY = "Policies/original.docx"
POLICY_COPY = "Shared/copy of original.docx"
KEPT = "Restricted/kept.txt"


def test_second_crawl_applies_change_deletion_rename_and_duplicate_and_spares_unreadable_folder(
    workspace: ShareWorkspace, harness: CrawlHarness, tmp_path: Path
) -> None:
    policy = _docx(tmp_path, "original.docx", "The lynx procurement policy applies.")
    workspace.write_files(
        {
            STEADY: b"the steady badger report",
            CHANGING: b"the first draft mentions the albatross budget",
            DOOMED: b"the doomed flamingo memo",
            MOVING: _docx(tmp_path, "moving.docx", "The iguana tender evaluation."),
            POLICY: policy,
            KEPT: b"the restricted jackal file",
        }
    )
    first = harness.crawl()
    assert first.new == 6 and first.extracted == harness.extractor.calls == 6
    assert first.by_status == {Status.OK: 6}

    workspace.write(CHANGING, b"the second draft replaces it with the cormorant budget, revised")
    workspace.remove(DOOMED)
    workspace.move(MOVING, MOVED)
    workspace.write(POLICY_COPY, policy)
    workspace.disk("Restricted").chmod(0o000)

    second = harness.crawl()
    assert (second.unchanged, second.changed, second.renamed, second.new) == (2, 1, 1, 1)
    assert second.deleted == 1 and second.reused == 1
    # Only the changed file went to Tika: not the renamed one, not the duplicate.
    assert second.extracted == 1 and harness.extractor.filenames == ["changing.txt"]
    assert [(p["path"], p["kind"]) for p in second.problem_paths] == [
        ("Restricted", "access_denied")
    ]

    # Change: the new text is found, the old is not.
    assert harness.paths_found('"cormorant budget"') == {(CHANGING, "changing.txt")}
    assert harness.find("albatross") == []
    changing_state = harness.state(CHANGING)
    assert changing_state is not None and changing_state.status == Status.OK

    # Deletion: marked, hidden from search, still there for a search that asks for deleted.
    assert harness.doc(DOOMED)["deleted"] is True
    assert harness.find("flamingo") == []
    assert [d["path"] for d in harness.find_including_deleted("flamingo")] == [DOOMED]
    doomed_state = harness.state(DOOMED)
    assert doomed_state is not None and doomed_state.deleted

    # Rename: the document moved with the file and nothing is left at the old path.
    assert not harness.has_doc(MOVING) and harness.state(MOVING) is None
    assert harness.paths_found('"iguana tender"') == {(MOVED, "moving.docx")}
    moved = harness.doc(MOVED)
    assert moved["status"] == Status.OK and moved["folder"] == "Archive/2023"
    moved_state = harness.state(MOVED)
    assert moved_state is not None and moved_state.doc_id == harness.doc_id(MOVED)

    # Duplicate: both copies found, the copy points at the original.
    assert harness.paths_found('"lynx procurement"') == {
        (POLICY, "original.docx"),
        (POLICY_COPY, "copy of original.docx"),
    }
    assert harness.doc(POLICY_COPY)["duplicate_of"] == harness.doc_id(POLICY)
    assert "duplicate_of" not in harness.doc(POLICY)

    # The unreadable folder's file was not seen, but absence of evidence is not deletion.
    assert harness.doc(KEPT)["deleted"] is False
    kept_state = harness.state(KEPT)
    assert kept_state is not None and not kept_state.deleted
    assert harness.paths_found('"restricted jackal"') == {(KEPT, "kept.txt")}

    # Readable again and otherwise unchanged: a third crawl has nothing to do.
    workspace.disk("Restricted").chmod(0o775)
    third = harness.crawl()
    assert third.seen == third.unchanged == 6
    assert third.extracted == third.deleted == third.problems == harness.extractor.attempts == 0
    assert len(harness.all_docs(kind="file")) == 7  # six on the share and the deleted one


def test_changed_container_drops_the_members_it_no_longer_holds(
    workspace: ShareWorkspace, harness: CrawlHarness
) -> None:
    workspace.write(
        ZIP,
        zip_bytes(
            {"a/readme.txt": b"first readme about the vole", "b/readme.txt": b"second readme"}
        ),
    )
    harness.crawl()
    # Two members with the same name in different folders are two documents.
    assert sorted(d["content_chars"] > 0 for d in harness.children(ZIP)) == [True, True]
    assert len(harness.find('"about the vole"')) == 1
    assert len(harness.find('"second readme"')) == 1

    workspace.write(ZIP, zip_bytes({"b/readme.txt": b"second readme, now alone"}))
    counts = harness.crawl()
    assert counts.changed == 1 and counts.extracted == 1
    assert harness.find('"about the vole"') == []
    assert [d["filename"] for d in harness.children(ZIP)] == ["readme.txt"]


def test_moving_an_original_and_its_duplicate_keeps_them_linked_and_reusable(
    workspace: ShareWorkspace, harness: CrawlHarness, tmp_path: Path
) -> None:
    policy = _docx(tmp_path, "policy.docx", "The wolverine grazing policy applies.")
    workspace.write("Policies/policy.docx", policy)
    harness.crawl()
    workspace.write("Shared/copy.docx", policy)
    assert harness.crawl().reused == 1
    assert harness.doc("Shared/copy.docx")["duplicate_of"] == harness.doc_id("Policies/policy.docx")

    workspace.move("Policies/policy.docx", "Archive/policy.docx")
    moved = harness.crawl()
    assert moved.renamed == 1 and moved.extracted == 0
    assert harness.doc("Shared/copy.docx")["duplicate_of"] == harness.doc_id("Archive/policy.docx")

    workspace.move("Shared/copy.docx", "Team/copy.docx")
    workspace.write("Third/copy.docx", policy)
    last = harness.crawl()
    assert (last.renamed, last.new, last.reused, last.extracted) == (1, 1, 1, 0)
    original = harness.doc_id("Archive/policy.docx")
    assert "duplicate_of" not in harness.doc("Archive/policy.docx")
    assert harness.doc("Team/copy.docx")["duplicate_of"] == original
    assert harness.doc("Third/copy.docx")["duplicate_of"] == original
    assert {doc["path"] for doc in harness.find('"wolverine grazing"')} == {
        "Archive/policy.docx",
        "Team/copy.docx",
        "Third/copy.docx",
    }
