"""Issue 4's search features against the real Elasticsearch: the query language, facets and
their ACL trimming, sorting, search_after paging, folded copies, and the search page.

Documents are built the way the crawler builds them (indexer.documents) and written through
the strict mapping, into indices with a unique prefix that are dropped afterwards.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from html import unescape
from typing import Any
from uuid import uuid4

import pytest
from elasticsearch import BadRequestError, Elasticsearch
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from foi_core.accounts import create_user
from foi_core.audit import Outcome
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import AuditEvent, Role
from foi_core.settings import Settings
from foi_core.tokens import create_token
from indexer.bulk import write_documents
from indexer.documents import FileRecord, embedded_documents, file_document
from indexer.extract import Extraction, Part, Status
from indexer.lifecycle import IndexNames, drop_all
from indexer.migration import ensure_index
from indexer.search import facets as facets_module
from indexer.search.facets import Facets, FacetSelection
from indexer.search.folding import EMPTY_SHA256
from indexer.search.multisearch import side_by_side
from indexer.search.queries import Principal, SearchResult, Sort, search, search_body
from search_app import create_app
from search_app.search import views as search_view

pytestmark = pytest.mark.integration

PLANNING = "S-1-5-21-1004336348-1177238915-682003330-1101"
HR = "S-1-5-21-1004336348-1177238915-682003330-1102"
OFFICER = Principal("olive", (), sees_everything=True)
CLERK = Principal("fred", (PLANNING,), sees_everything=False)
PASSWORD = "correct horse battery staple"
CRAWLED = datetime(2024, 6, 1, tzinfo=UTC)
RIVERSIDE_TEXT = "The officer's report covers the flood risk assessment for the riverside scheme."
RIVERSIDE_SHA = hashlib.sha256(RIVERSIDE_TEXT.encode()).hexdigest()
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _doc(
    path: str,
    content: str = "",
    *,
    title: str | None = None,
    allow: Sequence[str] = (PLANNING,),
    deny: Sequence[str] = (),
    sha256: str | None = None,
    modified: str | None = "2020-01-01T12:00:00+00:00",
    authors: Sequence[str] = (),
    owner: str = "COUNCIL\\records",
    status: str = Status.OK,
    **fields: Any,
) -> dict[str, Any]:
    """A file's index document, as the crawler would write it, with some facts set."""
    record = FileRecord(
        source="council",
        share="Council",
        path=path,
        unc="\\\\fs\\Council\\" + path.replace("/", "\\"),
        size=len(content),
        mtime_ns=1_577_880_000_000_000_000,
        created_ns=1_577_880_000_000_000_000,
        file_id=int(hashlib.sha256(path.encode()).hexdigest()[:8], 16),
        sha256=hashlib.sha256((path + content).encode()).hexdigest() if sha256 is None else sha256,
        mime="text/plain",
        acl_owner=owner,
        acl_allow=tuple(allow),
        acl_deny=tuple(deny),
    )
    metadata = {"dc:title": title} if title else {}
    doc = file_document(record, status, "", Part(0, "", content, metadata, status), CRAWLED)
    doc.update(modified=modified, authors=list(authors), **fields)
    return doc


RIVERSIDE = _doc(
    "Planning/Applications/2023/riverside.docx",
    RIVERSIDE_TEXT,
    title="Riverside planning application",
    sha256=RIVERSIDE_SHA,
    modified="2023-03-01T09:00:00+00:00",
    authors=["Jo Smith"],
)


def _copy(path: str, allow: Sequence[str]) -> dict[str, Any]:
    copy = _doc(
        path,
        RIVERSIDE_TEXT,
        title="Riverside planning application",
        sha256=RIVERSIDE_SHA,
        allow=allow,
        modified="2023-03-01T09:00:00+00:00",
        authors=["Jo Smith"],
    )
    copy["duplicate_of"] = RIVERSIDE["doc_id"]
    return copy


EMAIL = _doc(
    "Planning/Correspondence/tree-works.eml",
    "Please schedule the tree works at Oak Lane. The felling licence is attached.",
    title="Tree works at Oak Lane",
    modified="2024-01-10T10:00:00+00:00",
    email_from=["jo.bloggs@council.gov.uk"],
    email_to=["planning@council.gov.uk"],
    email_subject="Tree works at Oak Lane",
    mime_type="message/rfc822",
)
ATTACHMENTS = embedded_documents(
    EMAIL,
    Extraction(
        Status.OK,
        parts=(
            Part(0, "", "", {}, Status.OK),
            Part(1, "schedule-a.pdf", "Felling schedule A and licence conditions.", {}, Status.OK),
            Part(2, "schedule-b.pdf", "Felling schedule B and licence conditions.", {}, Status.OK),
        ),
    ),
    CRAWLED,
)
DOCUMENTS = [
    RIVERSIDE,
    _copy("Archive/riverside copy.docx", [PLANNING]),
    _copy("HR/Old/riverside.docx", [HR]),
    _doc(
        "Planning/Appeals/appeal-letter.pdf",
        "The applicant appeals the planning refusal for the riverside site.",
        title="Appeal against refusal",
        modified="2022-06-15T12:00:00+00:00",
        authors=["Sam Patel"],
    ),
    EMAIL,
    *ATTACHMENTS,
    _doc(
        "HR/Grievances/grievance.odt",
        "Confidential notes on the grievance hearing about noise in the office.",
        title="Grievance hearing notes",
        allow=[HR],
        modified="2021-05-05T12:00:00+00:00",
        authors=["Hidden Author"],
        owner="COUNCIL\\hr-secret-owner",
    ),
    _doc(
        "Planning/Denied/withheld.txt",
        "Noise abatement notice withheld from the front desk.",
        title="Withheld notice",
        allow=[PLANNING],
        deny=[PLANNING],
        authors=["Denied Author"],
    ),
    _doc(
        "Environment/Noise/complaint.txt",
        "Residents complain about noise and odour from the plant.",
        title="Noise complaint",
        modified=None,
        status=Status.TRUNCATED,
    ),
    _doc(
        "Environment/Odour/odour-report.pdf",
        "Odour monitoring results for the plant.",
        title="Odour report",
        modified="2023-11-20T12:00:00+00:00",
    ),
    # 23:30 UTC on 30 June is 00:30 on 1 July in London: a July document.
    _doc("Planning/late.txt", "Late night minutes.", modified="2023-06-30T23:30:00+00:00"),
    _doc("Planning/Empty/empty-one.txt", "", sha256=EMPTY_SHA256, status=Status.EMPTY),
    _doc("Planning/Empty/empty-two.txt", "", sha256=EMPTY_SHA256, status=Status.EMPTY),
    _doc("Planning/Big/huge-one.bin", "", sha256="", status=Status.TOO_LARGE),
    _doc("Planning/Big/huge-two.bin", "", sha256="", status=Status.TOO_LARGE),
    _doc("Planning/a.b/inner/one.txt", "Dotted folder document."),
    _doc("Planning/aXb/inner/two.txt", "Lookalike folder document."),
    _doc("Planning/Gone/deleted.txt", "Riverside noise odour", deleted=True),
]


def _visible(principal: Principal) -> list[dict[str, Any]]:
    def allowed(doc: dict[str, Any]) -> bool:
        if doc["deleted"]:
            return False
        if principal.sees_everything:
            return True
        sids = set(principal.sids)
        return bool(sids & set(doc["acl_allow"])) and not sids & set(doc["acl_deny"])

    return [doc for doc in DOCUMENTS if allowed(doc)]


@pytest.fixture(scope="module")
def names(es: Elasticsearch) -> Iterator[IndexNames]:
    names = IndexNames(f"test-search-{uuid4().hex[:8]}")
    ensure_index(es, names)
    try:
        write_documents(es, names.write_alias, DOCUMENTS, refresh=True)
        yield names
    finally:
        drop_all(es, names)


def _run(
    es: Elasticsearch, names: IndexNames, text: str, principal: Principal = OFFICER, **options: Any
) -> SearchResult:
    return search(es, names.read_alias, text, principal, size=100, **options)


def _found(
    es: Elasticsearch, names: IndexNames, text: str, principal: Principal = OFFICER, **options: Any
) -> set[str]:
    """The paths (with #member for embedded documents) a search finds."""
    result = _run(es, names, text, principal, **options)
    assert result.total == len(result.hits)
    return {
        hit.source["path"]
        + (f"#{hit.source['embedded_path']}" if hit.source["embedded_path"] else "")
        for hit in result.hits
    }


RIVERSIDES = {
    "Planning/Applications/2023/riverside.docx",
    "Archive/riverside copy.docx",
    "HR/Old/riverside.docx",
}
EMAIL_PATH = "Planning/Correspondence/tree-works.eml"
ATTACHMENT_PATHS = {f"{EMAIL_PATH}#schedule-a.pdf", f"{EMAIL_PATH}#schedule-b.pdf"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("riverside", {*RIVERSIDES, "Planning/Appeals/appeal-letter.pdf"}),
        ('"flood risk assessment"', RIVERSIDES),
        ('"assessment risk flood"', set()),
        ("reports", RIVERSIDES | {"Environment/Odour/odour-report.pdf"}),  # stemmed
        (
            "noise OR odour",
            {
                "Environment/Noise/complaint.txt",
                "Environment/Odour/odour-report.pdf",
                "HR/Grievances/grievance.odt",
                "Planning/Denied/withheld.txt",
            },
        ),
        ("noise -odour", {"HR/Grievances/grievance.odt", "Planning/Denied/withheld.txt"}),
        ("noise NOT odour NOT withheld", {"HR/Grievances/grievance.odt"}),
        ("(noise OR odour) AND monitoring", {"Environment/Odour/odour-report.pdf"}),
        (
            "-(noise OR odour OR riverside OR document OR felling OR late) type:txt",
            {"Planning/Empty/empty-one.txt", "Planning/Empty/empty-two.txt"},
        ),
        ("applic*", {*RIVERSIDES, "Planning/Appeals/appeal-letter.pdf"}),
        ("licnce~", {EMAIL_PATH, *ATTACHMENT_PATHS}),
        ("licnce", set()),
        ("complian~2", {"Environment/Noise/complaint.txt"}),
        ('author:"Jo Smith"', RIVERSIDES),
        ("author:smith", RIVERSIDES),
        ("author:pat*", {"Planning/Appeals/appeal-letter.pdf"}),
        ("path:environment/noise", {"Environment/Noise/complaint.txt"}),
        ("path:odour", {"Environment/Odour/odour-report.pdf"}),
        ("path:Planning/a.b", {"Planning/a.b/inner/one.txt"}),
        ("type:odt", {"HR/Grievances/grievance.odt"}),
        ("type:email", {EMAIL_PATH}),
        ("type:message/rfc822", {EMAIL_PATH}),
        (
            "type:pdf",
            {
                "Planning/Appeals/appeal-letter.pdf",
                "Environment/Odour/odour-report.pdf",
                *ATTACHMENT_PATHS,
            },
        ),
        ("from:jo.bloggs@council.gov.uk", {EMAIL_PATH}),
        ("from:BLOGGS", {EMAIL_PATH}),
        ("to:planning@council.gov.uk", {EMAIL_PATH}),
        ("to:jo.bloggs", set()),
        ('subject:"tree works"', {EMAIL_PATH}),
        ("subject:oak", {EMAIL_PATH}),
        ("subject:tre*", {EMAIL_PATH}),
        (
            "modified:2023",
            {
                *RIVERSIDES,
                "Environment/Odour/odour-report.pdf",
                "Planning/late.txt",
            },
        ),
        ("modified:2023-07", {"Planning/late.txt"}),
        ("modified:2023-06", set()),
        ("modified:2022..2023-03", {*RIVERSIDES, "Planning/Appeals/appeal-letter.pdf"}),
        ("after:2024", {EMAIL_PATH}),
        ("after:2023-06 before:2024", {"Environment/Odour/odour-report.pdf", "Planning/late.txt"}),
    ],
)
def test_each_syntax_element_finds_and_excludes_the_right_documents(
    es: Elasticsearch, names: IndexNames, text: str, expected: set[str]
) -> None:
    assert _found(es, names, text) == expected


def test_before_is_strictly_before(es: Elasticsearch, names: IndexNames) -> None:
    early = {
        d["path"] + (f"#{d['embedded_path']}" if d["embedded_path"] else "")
        for d in _visible(OFFICER)
        if d["modified"] and d["modified"] < "2021-05-05"
    }
    assert early, "the default date is 2020"
    assert _found(es, names, "before:2021-05-05") == early
    assert _found(es, names, "before:2021-05-06") == early | {"HR/Grievances/grievance.odt"}


def test_deleted_documents_are_never_found(es: Elasticsearch, names: IndexNames) -> None:
    assert "Planning/Gone/deleted.txt" not in _found(es, names, "riverside OR noise OR odour")


def test_front_office_search_is_trimmed(es: Elasticsearch, names: IndexNames) -> None:
    assert _found(es, names, "noise OR odour", CLERK) == {
        "Environment/Noise/complaint.txt",
        "Environment/Odour/odour-report.pdf",
    }
    assert _found(es, names, '"flood risk assessment"', CLERK) == RIVERSIDES - {
        "HR/Old/riverside.docx"
    }


def _counts(facets: Facets, name: str) -> dict[str, int]:
    [facet] = [f for f in facets.facets if f.name == name]
    return {v.value: v.count for v in facet.values}


def _expected_counts(docs: list[dict[str, Any]], field: str) -> dict[str, int]:
    counter: Counter[str] = Counter()
    for doc in docs:
        value = doc.get(field)
        for item in value if isinstance(value, list) else [value]:
            if item:
                counter[str(item)] += 1
    return dict(counter)


@pytest.mark.parametrize("principal", [OFFICER, CLERK], ids=["officer", "front-office"])
def test_facet_counts_cover_exactly_what_the_searcher_can_see(
    es: Elasticsearch, names: IndexNames, principal: Principal
) -> None:
    visible = _visible(principal)
    result = _run(es, names, "", principal, facets=True)
    assert result.total == len(visible)
    assert result.facets is not None
    facets = result.facets
    for name, field in [
        ("source", "source"),
        ("type", "extension"),
        ("author", "authors"),
        ("owner", "acl_owner"),
        ("status", "status"),
    ]:
        assert _counts(facets, name) == _expected_counts(visible, field), name
    years = Counter(
        str(datetime.fromisoformat(d["modified"]).year) for d in visible if d.get("modified")
    )
    assert _counts(facets, "year") == dict(years)
    copies = sum(1 for d in visible if d.get("duplicate_of"))
    if principal.sees_everything:
        assert _counts(facets, "duplicate") == {"copy": copies, "original": len(visible) - copies}
    else:
        # A copy's twin may be hidden from a trimmed searcher: the facet would reveal it.
        assert "duplicate" not in {facet.name for facet in facets.facets}
    top = {child.value: child.count for child in facets.folders.children}
    assert top == _expected_counts(
        [{"f": [f for f in d["folders"] if "/" not in f]} for d in visible], "f"
    )
    if not principal.sees_everything:
        everything = repr(facets)
        for secret in ("HR", "Hidden Author", "hr-secret-owner", "odt", "Denied Author"):
            assert secret not in everything, secret


def test_facet_choices_narrow_hits_and_other_facets_but_not_their_own(
    es: Elasticsearch, names: IndexNames
) -> None:
    pdf = FacetSelection.from_params({"type": ["pdf"]})
    result = _run(es, names, "", selection=pdf, facets=True)
    assert {hit.source["extension"] for hit in result.hits} == {"pdf"}
    assert result.total == 4
    assert result.facets is not None
    everything = _run(es, names, "", facets=True).facets
    assert everything is not None
    # The ticked facet still offers its alternatives, with their full counts...
    assert _counts(result.facets, "type") == _counts(everything, "type")
    assert [v.value for v in result.facets.facets[1].values if v.selected] == ["pdf"]
    # ...and the other facets count only PDFs.
    assert _counts(result.facets, "author") == {"Sam Patel": 1}
    both = _run(es, names, "", selection=pdf.toggled("type", "odt"))
    assert {hit.source["extension"] for hit in both.hits} == {"pdf", "odt"}
    narrowed = _run(es, names, "", selection=pdf.toggled("status", "truncated"))
    assert narrowed.total == 0


@pytest.mark.parametrize("principal", [OFFICER, CLERK], ids=["officer", "front-office"])
def test_many_results_sample_descriptive_facets_but_count_status_holds_copies_exactly(
    es: Elasticsearch, names: IndexNames, principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = _run(es, names, "", principal, facets=True).facets
    assert exact is not None
    assert not exact.folders.approximate and not any(f.approximate for f in exact.facets)
    # Pretend this small index is a big one: sample a third of the results.
    monkeypatch.setattr(facets_module, "SAMPLE_ABOVE", 1)
    monkeypatch.setattr(facets_module, "SAMPLE_DOCS", len(_visible(principal)) // 3)
    sampled = _run(es, names, "", principal, facets=True).facets
    assert sampled is not None and sampled.folders.approximate
    for facet in sampled.facets:
        assert facet.approximate == (facet.name not in ("status", "duplicate", "hold")), facet.name
        if facet.approximate:
            # A sample can only find fewer values, never one the searcher cannot see.
            assert set(_counts(sampled, facet.name)) <= set(_counts(exact, facet.name))
        else:
            assert _counts(sampled, facet.name) == _counts(exact, facet.name), facet.name
    hidden = {child.value for child in sampled.folders.children} - {
        child.value for child in exact.folders.children
    }
    assert not hidden


def test_fuzzy_words_highlight_the_words_they_found(es: Elasticsearch, names: IndexNames) -> None:
    [hit] = _run(es, names, "asessment~ -felling~", CLERK, fold_copies=True).hits
    assert hit.source["path"] == RIVERSIDE["path"]
    assert any("<mark>assessment</mark>" in f for f in hit.highlights), hit.highlights
    # The expanded words highlight what the fuzzy query itself would have highlighted.
    body = search_body("asessment~", CLERK)
    body["query"]["bool"]["filter"].append({"ids": {"values": [hit.doc_id]}})
    slow = es.search(index=names.read_alias, **body)["hits"]["hits"][0]["highlight"]
    assert tuple(f for fragments in slow.values() for f in fragments) == hit.highlights
    # A fuzzy word nothing in the index is near to leaves the other words highlighted.
    hits = _run(es, names, "assessment (zqxjv~ OR riverside)", CLERK).hits
    assert hits and all(any("<mark>assessment</mark>" in f for f in h.highlights) for h in hits)


def test_requests_run_side_by_side_answer_as_alone_and_fail_as_alone(
    es: Elasticsearch, names: IndexNames
) -> None:
    alias = names.read_alias
    counts = {"size": 0, "aggs": {"types": {"terms": {"field": "extension"}}}}
    pdfs = {"size": 0, "query": {"term": {"extension": "pdf"}}}
    together = side_by_side(es, alias, counts, None, pdfs)
    assert together[1] is None
    assert together[0] is not None and together[2] is not None
    assert together[0]["aggregations"] == es.search(index=alias, **counts)["aggregations"]
    assert together[2]["hits"]["total"] == es.search(index=alias, **pdfs)["hits"]["total"]
    broken = {"size": 0, "query": {"range": {"modified": {"gte": "not a date"}}}}
    with pytest.raises(BadRequestError):
        side_by_side(es, alias, counts, broken)


def test_year_and_duplicate_and_status_choices(es: Elasticsearch, names: IndexNames) -> None:
    in_2023 = _run(es, names, "", selection=FacetSelection.from_params({"year": ["2023"]}))
    assert {h.source["path"] for h in in_2023.hits} == _found(es, names, "modified:2023")
    copies = _run(es, names, "", selection=FacetSelection.from_params({"duplicate": ["copy"]}))
    assert {h.source["path"] for h in copies.hits} == RIVERSIDES - {RIVERSIDE["path"]}
    empty = _run(es, names, "", selection=FacetSelection.from_params({"status": ["empty"]}))
    assert empty.total == 2


def test_folder_facet_drills_down_one_level_with_literal_folder_names(
    es: Elasticsearch, names: IndexNames
) -> None:
    def children(folder: str, principal: Principal = OFFICER) -> dict[str, int]:
        selection = FacetSelection.from_params({"folder": [folder]})
        result = _run(es, names, "", principal, selection=selection, facets=True)
        assert result.facets is not None
        assert result.facets.folders.selected == folder
        return {c.value: c.count for c in result.facets.folders.children}

    assert children("") == {"Archive": 1, "Environment": 2, "HR": 2, "Planning": 13}
    assert children("", CLERK) == {"Archive": 1, "Environment": 2, "Planning": 12}
    assert children("Planning") == {
        "Planning/Applications": 1,
        "Planning/Appeals": 1,
        "Planning/Big": 2,
        "Planning/Correspondence": 3,
        "Planning/Denied": 1,
        "Planning/Empty": 2,
        "Planning/a.b": 1,
        "Planning/aXb": 1,
    }
    assert "Planning/Denied" not in children("Planning", CLERK)
    # "." is a literal dot: the lookalike folder "aXb" is not a child of "a.b".
    assert children("Planning/a.b") == {"Planning/a.b/inner": 1}
    assert children("Planning/a.b/inner") == {}
    in_folder = _run(
        es, names, "", selection=FacetSelection.from_params({"folder": ["Planning/a.b"]})
    )
    assert [h.source["path"] for h in in_folder.hits] == ["Planning/a.b/inner/one.txt"]


def test_identical_copies_fold_into_their_first_with_a_count(
    es: Elasticsearch, names: IndexNames
) -> None:
    folded = _run(es, names, "riverside", fold_copies=True)
    rows = {h.source["path"]: h.copies for h in folded.hits}
    assert folded.total == 4, "the total counts documents, copies included"
    assert len(rows) == 2
    [copies] = [c for p, c in rows.items() if p in RIVERSIDES]
    assert copies == 3
    # The first copy in the page order stands for the rest, whichever sort is chosen.
    for sort in Sort:
        plain = [h.source["path"] for h in _run(es, names, "riverside", sort=sort).hits]
        first = next(p for p in plain if p in RIVERSIDES)
        again = _run(es, names, "riverside", sort=sort, fold_copies=True)
        assert [h.source["path"] for h in again.hits] == [
            p for p in plain if p not in RIVERSIDES or p == first
        ]
    # A copy the front desk cannot see is not counted (nor shown).
    clerk = _run(es, names, "riverside", CLERK, fold_copies=True)
    assert [h.copies for h in clerk.hits if h.source["path"] in RIVERSIDES] == [2]


def test_documents_without_a_shared_hash_never_fold_together(
    es: Elasticsearch, names: IndexNames
) -> None:
    attachments = _run(es, names, "felling schedule", fold_copies=True)
    assert {h.source["embedded_path"] for h in attachments.hits} == {
        "",  # the email itself
        "schedule-a.pdf",
        "schedule-b.pdf",
    }
    assert all(h.copies == 1 for h in attachments.hits)
    for status in ("empty", "too_large"):
        selection = FacetSelection.from_params({"status": [status]})
        result = _run(es, names, "", selection=selection, fold_copies=True)
        assert len(result.hits) == 2, status
        assert all(h.copies == 1 for h in result.hits)


def test_same_content_choice_lists_every_copy(es: Elasticsearch, names: IndexNames) -> None:
    selection = FacetSelection.from_params({"same": [RIVERSIDE_SHA]})
    assert {h.source["path"] for h in _run(es, names, "", selection=selection).hits} == RIVERSIDES


def test_sort_by_date_puts_undated_documents_last(es: Elasticsearch, names: IndexNames) -> None:
    newest = [h.source for h in _run(es, names, "noise OR odour", sort=Sort.NEWEST).hits]
    assert [d["path"] for d in newest] == [
        "Environment/Odour/odour-report.pdf",
        "HR/Grievances/grievance.odt",
        "Planning/Denied/withheld.txt",
        "Environment/Noise/complaint.txt",
    ]
    oldest = [h.source["path"] for h in _run(es, names, "noise OR odour", sort=Sort.OLDEST).hits]
    assert oldest == [
        "Planning/Denied/withheld.txt",
        "HR/Grievances/grievance.odt",
        "Environment/Odour/odour-report.pdf",
        "Environment/Noise/complaint.txt",
    ]


def test_highlights_are_html_escaped_with_live_marks(es: Elasticsearch, names: IndexNames) -> None:
    [hit] = _run(
        es,
        names,
        '"flood risk"',
        CLERK,
        selection=FacetSelection.from_params({"folder": ["Planning"]}),
    ).hits
    assert any("<mark>flood risk</mark>" in f for f in hit.highlights)
    assert any("officer&#x27;s" in f for f in hit.highlights)


# ------------------------------------------------------------------ paging


def _paged_corpus() -> list[dict[str, Any]]:
    docs = []
    for n in range(55):
        words = " ".join(["permit"] * (1 + n % 4))  # a handful of distinct scores, many ties
        modified = None if n % 11 == 0 else f"20{10 + n % 7}-0{1 + n % 9}-15T12:00:00+00:00"
        # Documents 40-54 are five sets of three identical copies.
        sha = hashlib.sha256(f"set {n % 5}".encode()).hexdigest() if n >= 40 else None
        docs.append(
            _doc(f"Paged/doc-{n:02d}.txt", f"{words} number {n}", sha256=sha, modified=modified)
        )
    return docs


def _walk(
    es: Elasticsearch, alias: str, text: str, sort: Sort, fold: bool
) -> tuple[list[list[str]], list[list[str]]]:
    """Every page forwards, then every page backwards from the last."""
    forwards: list[list[str]] = []
    result = search(es, alias, text, OFFICER, size=20, sort=sort, fold_copies=fold)
    assert result.previous_page is None
    while True:
        forwards.append([h.doc_id for h in result.hits])
        if result.next_page is None:
            break
        assert len(forwards) < 10
        result = search(
            es, alias, text, OFFICER, size=20, sort=sort, cursor=result.next_page, fold_copies=fold
        )
    backwards = [forwards[-1]]
    while result.previous_page is not None:
        result = search(
            es,
            alias,
            text,
            OFFICER,
            size=20,
            sort=sort,
            cursor=result.previous_page,
            fold_copies=fold,
        )
        backwards.append([h.doc_id for h in result.hits])
        assert len(backwards) < 10
    return forwards, backwards


@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize("text", ["", "permit"])
def test_search_after_paging_reaches_every_document_exactly_once(
    es: Elasticsearch, index_prefix: str, sort: Sort, text: str
) -> None:
    names = IndexNames(index_prefix)
    ensure_index(es, names)
    docs = _paged_corpus()
    write_documents(es, names.write_alias, docs, refresh=True)

    forwards, backwards = _walk(es, names.read_alias, text, sort, fold=False)
    assert [len(page) for page in forwards] == [20, 20, 15]
    seen = [doc_id for page in forwards for doc_id in page]
    assert sorted(seen) == sorted(d["doc_id"] for d in docs)
    unpaged = search(es, names.read_alias, text, OFFICER, size=100, sort=sort)
    assert seen == [h.doc_id for h in unpaged.hits], "pages follow the one total order"
    assert backwards == forwards[::-1]

    folded, folded_back = _walk(es, names.read_alias, text, sort, fold=True)
    shown = [doc_id for page in folded for doc_id in page]
    assert len(shown) == len(set(shown)) == 40 + 5
    by_id = {d["doc_id"]: d for d in docs}
    assert {by_id[i]["sha256"] for i in shown if int(by_id[i]["path"][-6:-4]) >= 40} == {
        hashlib.sha256(f"set {k}".encode()).hexdigest() for k in range(5)
    }
    # Each set is shown at its first member in the unfolded order.
    order = [h.doc_id for h in unpaged.hits]
    firsts = {}
    for doc_id in order:
        firsts.setdefault(by_id[doc_id]["sha256"], doc_id)
    assert shown == [i for i in order if firsts[by_id[i]["sha256"]] == i]
    assert [i for page in folded_back[::-1] for i in page] == shown


# ------------------------------------------------------------------ the search page


@pytest.fixture
def app(tmp_path: Any, names: IndexNames) -> Iterator[Flask]:
    settings = Settings(
        state_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        elasticsearch_url=Settings.from_env().elasticsearch_url,
        index_prefix=names.prefix,
        secure_cookies=False,
    )
    app = create_app(settings)
    services = app.extensions["foi"]
    upgrade(services.engine)
    with transaction(services.sessions) as db:
        create_user(db, "officer", Role.FOI_OFFICER, PASSWORD)
        create_user(db, "front.desk", Role.FRONT_OFFICE, PASSWORD, sids=[PLANNING])
    yield app
    services.es.close()
    services.engine.dispose()


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF_INPUT.search(page)
    assert token
    signed_in = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert signed_in.status_code == 302
    return client


def _html(response: TestResponse) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _audit(app: Flask) -> list[AuditEvent]:
    with app.extensions["foi"].sessions() as db:
        query = select(AuditEvent).where(AuditEvent.action == "search").order_by(AuditEvent.id)
        return list(db.execute(query).scalars())


def _link(html: str, text: str) -> str:
    """The href of the link whose text starts with `text`."""
    found = re.search(
        r'<a [^>]*href="([^"]+)"[^>]*>(?:<span[^>]*></span>)?' + re.escape(text), html
    )
    assert found, f"no link {text!r}"
    return unescape(found.group(1))


def test_page_shows_facets_copies_and_audits_filters(app: Flask) -> None:
    client = _client(app, "officer")
    html = _html(client.get("/", query_string={"q": "riverside"}))
    assert "4 results" in html
    assert "Filter results" in html
    assert "File type" in html
    assert "3 copies" in html
    assert "List every copy" in html
    # Tick the PDF facet by following its link.
    pdf = _html(client.get(_link(html, "pdf")))
    assert "1 result" in pdf
    assert "Appeal against refusal" in pdf
    assert "Riverside planning application" not in pdf
    assert "File type: pdf" in pdf
    # Following "3 copies" lists them all.
    copies = _html(client.get(_link(html, "List all 3 copies")))
    assert copies.count('class="result"') == 3
    entries = _audit(app)
    assert [e.outcome for e in entries] == [Outcome.OK] * 3
    assert entries[1].details["filters"] == {"type": ["pdf"]}
    assert entries[1].details["total"] == 1
    assert entries[1].details["sort"] == "relevance"
    assert entries[2].details["filters"] == {"same": [RIVERSIDE_SHA]}


def test_page_says_which_facet_counts_are_estimates(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(app, "officer")
    query = {"q": "noise OR odour OR riverside OR document OR felling OR late OR grievance"}
    html = _html(client.get("/", query_string=query))
    assert re.search(r"1\d results", html) and "estimated from a sample" not in html
    monkeypatch.setattr(facets_module, "SAMPLE_ABOVE", 1)
    monkeypatch.setattr(facets_module, "SAMPLE_DOCS", 4)
    html = _html(client.get("/", query_string=query))
    assert "estimated from a sample" in html
    assert re.search(r'facet__count">about \d', html)
    with transaction(app.extensions["foi"].sessions) as session:
        token = create_token(session, "officer", "test")
    api = client.get(
        "/api/v1/search", query_string=query, headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert all(v["approximate"] for v in api["facets"]["source"])
    assert not any(v["approximate"] for v in api["facets"]["status"])


def test_page_facets_never_show_what_the_front_desk_cannot_see(app: Flask) -> None:
    client = _client(app, "front.desk")
    html = _html(client.get("/", query_string={"q": "noise OR riverside OR grievance"}))
    for secret in (
        "Grievance hearing notes",
        "Withheld notice",
        "Hidden Author",
        "Denied Author",
        "hr-secret-owner",
        ">HR<",
        ">odt<",
    ):
        assert secret not in html, secret
    assert "2 copies" in html


def test_folder_drill_down_on_the_page(app: Flask) -> None:
    client = _client(app, "officer")
    html = _html(client.get("/", query_string={"q": "document"}))
    planning = _html(client.get(_link(html, "Planning")))
    assert 'aria-current="location">Planning<' in planning
    dotted = _html(client.get(_link(planning, "a.b")))
    assert "Dotted folder document" in unescape(dotted) or "one.txt" in dotted
    assert "Lookalike" not in dotted
    assert "Folder: Planning/a.b" in dotted
    back = _html(client.get(_link(dotted, "All folders")))
    assert "Lookalike" in back or "two.txt" in back


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ('"planning application', "not closed"),
        ("(noise OR odour", "not closed"),
        ("noise)", "no opening bracket"),
        ("_source:secret", "There is no field called"),
        ("script:x", "There is no field called"),
        ("*:*", "words or numbers"),
        ("pl*", "at least 3 letters"),
        ("modified:2023-02-30", "not a real date"),
        ("a" * 501, "500 characters or fewer"),
    ],
)
def test_bad_syntax_gets_a_friendly_error_not_a_500(app: Flask, query: str, says: str) -> None:
    client = _client(app, "officer")
    response = client.get("/", query_string={"q": query})
    html = _html(response)
    assert "There is a problem" in html
    assert says in unescape(html)
    assert "<title>Error:" in html
    assert "Traceback" not in html
    [entry] = _audit(app)
    assert entry.outcome == Outcome.FAILED
    assert entry.details["error"] in {"syntax", "too long"}


def test_hostile_query_and_cursor_are_escaped_and_refused(app: Flask) -> None:
    client = _client(app, "officer")
    html = _html(client.get("/", query_string={"q": 'x:"<script>alert(1)</script>"'}))
    assert "<script>alert" not in html
    assert "There is no field called &#34;x&#34;" in html or "There is no field called" in html
    for cursor in ("not-a-cursor", "eyJzIjoxfQ", "A" * 5000):
        page = _html(client.get("/", query_string={"q": "riverside", "cursor": cursor}))
        assert "That page link is not valid" in page


def test_sort_and_pagination_links_walk_every_result(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_view, "PAGE_SIZE", 3)
    client = _client(app, "officer")
    html = _html(
        client.get("/", query_string={"q": "document OR riverside OR noise", "sort": "newest"})
    )
    assert '<option value="newest" selected>' in html
    titles: list[str] = []
    pages = 0
    while True:
        pages += 1
        titles += re.findall(r'<h3 class="result__title"><a [^>]*>([^<]*)</a></h3>', html)
        if "Next page" not in html:
            break
        html = _html(client.get(_link(html, "Next page")))
        assert f"Page {pages + 1}" in html
        assert pages < 10
    assert "Previous page" in html
    direct = search(
        app.extensions["foi"].es,
        app.extensions["foi"].names.read_alias,
        "document OR riverside OR noise",
        OFFICER,
        size=100,
        sort=Sort.NEWEST,
        fold_copies=True,
    )
    assert len(titles) == len(direct.hits)
    assert pages == -(-len(direct.hits) // 3)
    previous = _html(client.get(_link(html, "Previous page")))
    assert f"Page {pages - 1}" in previous
    assert [e.details["sort"] for e in _audit(app)] == ["newest"] * (pages + 1)
