"""The by-id and by-file look-ups of indexer.search.fetch (records management and the crawl),
and the trimmed reads of indexer.search.records that the web app's facts modules use: query
bodies as plain dicts, and what is asked of a recording stand-in for the client."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from elasticsearch import Elasticsearch
from sqlalchemy.orm import Session, sessionmaker

from foi_core.db import transaction
from foi_core.models import DisposalBatch, DisposalItem
from indexer.search import fetch
from indexer.search.queries import Principal, base_query
from indexer.search.records import document_text, summaries_by_id
from search_app.records.batch_facts import previews

ROOT = "a" * 40
CLERK = Principal("fred", ("S-1-5-21-9-9-9-1104",), sees_everything=False)
OFFICER = Principal("olive", (), sees_everything=True)


class RecordingIndex:
    """Records each request and answers from `docs` (id -> source)."""

    def __init__(self, docs: dict[str, dict[str, Any]] | None = None) -> None:
        self.docs = docs or {}
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def options(self, **options: Any) -> RecordingIndex:
        self.requests.append(("options", options))
        return self

    def get(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("get", request))
        doc = self.docs.get(request["id"])
        return {"found": True, "_source": doc} if doc is not None else {"found": False}

    def mget(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("mget", request))
        return {
            "docs": [
                {"_id": i, "found": True, "_source": self.docs[i]}
                if i in self.docs
                else {"_id": i, "found": False}
                for i in request["ids"]
            ]
        }

    def search(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("search", request))
        hits = [{"_id": i, "_source": doc} for i, doc in self.docs.items()]
        return {"hits": {"hits": hits}}

    @property
    def client(self) -> Elasticsearch:
        return cast(Elasticsearch, self)


def test_a_files_documents_share_its_root_id() -> None:
    assert fetch.file_documents_query(ROOT) == {"term": {"root_id": ROOT}}
    assert fetch.files_documents_query(iter([ROOT, "b"])) == {"terms": {"root_id": [ROOT, "b"]}}


def test_embedded_documents_are_the_files_documents_of_kind_embedded() -> None:
    assert fetch.embedded_documents_query(ROOT) == {
        "bool": {"filter": [{"term": {"root_id": ROOT}}, {"term": {"kind": "embedded"}}]}
    }


def test_copies_and_versions_point_at_their_file() -> None:
    assert fetch.copies_query(ROOT) == {"term": {"duplicate_of": ROOT}}
    assert fetch.versions_query(ROOT) == {"term": {"version_of": ROOT}}


def test_a_reusable_extraction_is_another_files_own() -> None:
    assert fetch.reusable_extraction_query("f" * 64, ROOT) == {
        "bool": {
            "filter": [{"term": {"sha256": "f" * 64}}, {"term": {"kind": "file"}}],
            "must_not": [
                {"term": {"doc_id": ROOT}},
                {"exists": {"field": "duplicate_of"}},
            ],
        }
    }


def test_reusable_extraction_takes_the_first_crawled() -> None:
    index = RecordingIndex({"b": {"doc_id": "b", "status": "ok"}})
    found = fetch.reusable_extraction(index.client, "alias", "f" * 64, ROOT)
    assert found == {"doc_id": "b", "status": "ok"}
    assert index.requests == [
        (
            "search",
            {
                "index": "alias",
                "size": 1,
                "query": fetch.reusable_extraction_query("f" * 64, ROOT),
                "sort": [{"crawled": "asc"}],
            },
        )
    ]
    assert fetch.reusable_extraction(RecordingIndex().client, "alias", "f" * 64, ROOT) is None


def test_get_source_is_a_real_time_get_that_tolerates_a_missing_id() -> None:
    index = RecordingIndex({ROOT: {"doc_id": ROOT, "path": "a.txt"}})
    assert fetch.get_source(index.client, "alias", ROOT) == {"doc_id": ROOT, "path": "a.txt"}
    assert fetch.get_source(index.client, "alias", "gone", ["path"]) is None
    assert index.requests == [
        ("options", {"ignore_status": 404}),
        ("get", {"index": "alias", "id": ROOT, "source": None}),
        ("options", {"ignore_status": 404}),
        ("get", {"index": "alias", "id": "gone", "source": ["path"]}),
    ]


def test_sources_by_id_asks_in_chunks_once_per_id_and_leaves_out_the_missing() -> None:
    ids = [f"{n:040x}" for n in range(fetch.CHUNK + 1)]
    index = RecordingIndex({i: {"path": i} for i in ids[1:]})
    found = fetch.sources_by_id(index.client, "alias", [*ids, ids[2]], ("path",))
    assert list(found) == ids[1:]
    assert [(len(r["ids"]), r["source"]) for _, r in index.requests] == [
        (fetch.CHUNK, ["path"]),
        (1, ["path"]),
    ]


def test_document_ids_are_searched_without_sources() -> None:
    index = RecordingIndex({ROOT: {}, "b": {}})
    assert fetch.files_document_ids(index.client, "alias", [ROOT]) == [ROOT, "b"]
    assert index.requests == [
        (
            "search",
            {
                "index": "alias",
                "size": fetch.MAX_DOCUMENTS,
                "source": False,
                "query": fetch.files_documents_query([ROOT]),
            },
        )
    ]


def test_embedded_paths_read_only_the_path() -> None:
    index = RecordingIndex({"c": {"embedded_path": "mail.msg/att.pdf"}})
    assert fetch.embedded_paths(index.client, "alias", ROOT) == ["mail.msg/att.pdf"]
    assert index.requests[0][1]["source"] == {"includes": ["embedded_path"]}
    assert index.requests[0][1]["query"] == fetch.embedded_documents_query(ROOT)


def test_a_files_documents_are_read_whole() -> None:
    index = RecordingIndex({ROOT: {"doc_id": ROOT, "content": "text"}})
    assert fetch.file_documents(index.client, "alias", ROOT) == [
        {"doc_id": ROOT, "content": "text"}
    ]
    assert "source" not in index.requests[0][1]


def test_summaries_by_id_are_trimmed_for_the_reader() -> None:
    index = RecordingIndex({ROOT: {"title": "Minutes"}})
    found = summaries_by_id(index.client, "alias", CLERK, [ROOT], ["title"])
    assert found == {ROOT: {"title": "Minutes"}}
    _, request = index.requests[0]
    assert request["query"] == base_query(
        CLERK, filters=[{"ids": {"values": [ROOT]}}], include_deleted=True
    )
    assert request["source"] == {"includes": ["title"]}


def test_document_text_is_trimmed_for_the_reader() -> None:
    index = RecordingIndex({ROOT: {"content": "Dear Sir"}})
    assert document_text(index.client, "alias", ROOT, CLERK) == "Dear Sir"
    _, request = index.requests[0]
    assert request["query"] == base_query(
        CLERK, filters=[{"ids": {"values": [ROOT]}}], include_deleted=True
    )
    assert document_text(RecordingIndex().client, "alias", ROOT, CLERK) is None


def test_batch_previews_read_content_as_the_reviewer(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    """A preview goes through the trimmed fetch: a reviewer who may not see a file sees no
    text for it (the search finds nothing), and the query carries the reader's ACL filter."""
    with transaction(sqlite_sessions) as session:
        batch = DisposalBatch(schedule_version="1", created_by="rita")
        session.add(batch)
        session.flush()
        session.add(
            DisposalItem(
                batch_id=batch.id,
                doc_id=ROOT,
                source_name="finance",
                path="a.txt",
                unc=r"\\files\finance\a.txt",
                size=8,
                mtime_ns=1,
                file_id=1,
                sha256="f" * 64,
                class_id="minutes",
                class_name="Minutes",
                authority="s.1",
                disposal_date=date(2025, 1, 1),
            )
        )
        batch_id = batch.id
    hidden = RecordingIndex()
    with sqlite_sessions() as session:
        shown = previews(session, hidden.client, "alias", batch_id, CLERK)
    assert [(p.doc_id, p.text) for p in shown] == [(ROOT, "")]
    _, request = hidden.requests[0]
    assert request["query"] == base_query(
        CLERK, filters=[{"ids": {"values": [ROOT]}}], include_deleted=True
    )
    visible = RecordingIndex({ROOT: {"content": "\n\n  Dear Sir"}})
    with sqlite_sessions() as session:
        shown = previews(session, visible.client, "alias", batch_id, OFFICER)
    assert [(p.doc_id, p.text) for p in shown] == [(ROOT, "Dear Sir")]
