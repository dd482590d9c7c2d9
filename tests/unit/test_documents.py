from __future__ import annotations

from datetime import UTC, datetime

from indexer.documents import FileRecord, embedded_documents, file_doc_id, file_document
from indexer.extract import Extraction, Part

RECORD = FileRecord(
    source="demo",
    share="demo",
    path="Planning/Apps/Decision notice.pdf",
    unc=r"\\127.0.0.1\demo\Planning\Apps\Decision notice.pdf",
    size=10,
    mtime_ns=1_700_000_000 * 10**9,
    created_ns=0,
    file_id=42,
    sha256="ab" * 32,
    mime="application/pdf",
    acl_owner="S-1-5-21-1-2-3-1000",
    acl_allow=("S-1-1-0",),
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_ids_are_deterministic() -> None:
    assert file_doc_id("demo", "a/b") == file_doc_id("demo", "a/b")
    assert file_doc_id("demo", "a/b") != file_doc_id("other", "a/b")


def test_file_document_normalises_metadata_and_folders() -> None:
    part = Part(
        0,
        "",
        "Approved subject to conditions",
        {
            "dc:title": "Decision notice",
            "dc:creator": ["J Smith", "Planning Team"],
            "dcterms:created": "2024-03-01T10:00:00Z",
            "xmpTPg:NPages": "2",
            "Content-Type": "application/pdf",
        },
        "ok",
    )
    doc = file_document(RECORD, "ok", "", part, NOW)
    assert doc["folders"] == ["Planning", "Planning/Apps"]
    assert doc["authors"] == ["J Smith", "Planning Team"]
    assert doc["page_count"] == 2
    assert doc["created"] == "2024-03-01T10:00:00+00:00"
    assert doc["extension"] == "pdf"
    assert doc["modified"].startswith("2023-11-14")


def test_failed_extraction_still_indexes_metadata() -> None:
    doc = file_document(RECORD, "encrypted", "password required", None, NOW)
    assert doc["status"] == "encrypted" and doc["title"] == "Decision notice.pdf"
    assert doc["content"] == ""


def test_embedded_children_link_to_their_container() -> None:
    container = file_document(RECORD, "ok", "", None, NOW)
    extraction = Extraction(
        "ok",
        "",
        (
            Part(0, "", "", {}, "ok"),
            Part(1, "/letter.docx", "dear resident", {"Content-Type": "application/x-docx"}, "ok"),
            Part(2, "/letter.docx/image1.png", "", {}, "empty"),
        ),
    )
    first, nested = embedded_documents(container, extraction, NOW)
    assert first["container_id"] == container["doc_id"]
    assert nested["container_id"] == first["doc_id"]
    assert nested["root_id"] == container["doc_id"]
    assert first["acl_allow"] == ["S-1-1-0"] and first["sha256"] is None


def test_name_words_split_separators_so_names_are_searchable() -> None:
    from indexer.documents import name_words, upgrade_document

    assert name_words("HR/Pay_2024/Salaries-final.v2.xlsx") == "HR Pay 2024 Salaries final v2 xlsx"
    old = {"path": "Finance/Rates_2019.csv", "embedded_path": "", "schema_version": 1}
    upgraded = upgrade_document(old)
    assert upgraded["name_words"] == "Finance Rates 2019 csv"
    assert upgraded["schema_version"] >= 2 and "name_words" not in old
