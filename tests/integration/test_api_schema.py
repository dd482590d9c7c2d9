"""Every operation of the published OpenAPI document, called on the real stack, each answer
checked against the schema the document gives for its path, method and status (issue 13).

The document's object schemas are closed (`additionalProperties: false`) and list as required
what the code always sends, so a field the code adds without describing it, a field it stops
sending, a null where the document promises a string, a moment without its offset, or a status
the document does not list each fails here. The data is real: files written over SMB and
crawled (a copy, a zip with a member, a file Tika cannot read), a hold with each kind of scope,
a request case taken through its statuses with collected documents, scoping searches and a
bundle, and a disposal batch built, approved and executed, so searches meet records of
destruction. The run ends by checking that every operation in the document answered with
success at least once: a new endpoint cannot be published without being checked here.

It runs on SQLite and on PostgreSQL, since what a stored moment looks like differs between them.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from devstack.stack import LocalStack
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings
from foi_core.sources import add_source
from foi_core.tokens import create_token
from retention.classify import save_schedule
from search_app import create_app
from search_app.api.openapi import openapi_document
from tests.factories import zip_bytes
from tests.fixtures import ShareWorkspace
from tests.integration.test_records_web import _settle
from tests.records import PASSWORD, RecordsBed

CONTRACT = "Contracts/Bus shelters/contract.txt"
COPY = "Contracts/Bus shelters/copy of contract.txt"
SCAN = "Contracts/Bus shelters/scan.pdf"
LETTERS = "Contracts/Bus shelters/letters.zip"
SMITH = "Cases/Smith/letter.txt"
RATES = "Finance/Rates/rates 2012.txt"
OLD = dt.datetime(2012, 6, 1, tzinfo=dt.UTC)
SCHEDULE = """version: "schema-1"
classes:
  - id: RATES
    name: Business rates records
    authority: "Local Government Finance Act 1988 (test)"
    match: {paths: ["Finance/Rates/**"]}
    retention: 6 years
    trigger: financial_year_end
    action: destroy
    sign_off: signed_off
"""
_DOCUMENT_URI = "urn:foi:api-v1:openapi"
_NO_BODY = object()
# Operations front-office staff may not use (the case workers' and records managers' own).
_STAFF_ONLY = ("/cases", "/holds", "/retention", "/statistics")
# A stand-in for each path parameter, for calls refused before the view reads it.
_ANY_PATH_VALUE: dict[str, object] = {
    "doc_id": "0" * 40,
    "hold_id": 1,
    "batch_id": 1,
    "reference": "FOI-2025-0001",
}

_FORMATS = FormatChecker(formats=("date",))


@_FORMATS.checks("date-time", raises=ValueError)
def _rfc3339_moment(value: object) -> bool:
    """RFC 3339 (what OpenAPI's date-time means): a date, a time and an offset."""
    if not isinstance(value, str):
        return True
    return "T" in value and dt.datetime.fromisoformat(value).tzinfo is not None


def _pointer(*segments: str) -> str:
    return "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)


def _schema_errors(document: Mapping[str, Any], pointer: str, instance: Any) -> list[str]:
    """Why `instance` does not match the schema at `pointer` in `document` (Draft 2020-12,
    `#/components/...` resolved against the document, formats asserted)."""
    registry: Registry[Any] = Registry().with_resource(
        _DOCUMENT_URI, DRAFT202012.create_resource(document)
    )
    validator = Draft202012Validator(
        {"$ref": f"{_DOCUMENT_URI}#{pointer}"}, registry=registry, format_checker=_FORMATS
    )
    return [
        f"at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


class CheckedApi:
    """Calls the API as a user and checks every answer against the published document."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self._headers: dict[str, dict[str, str]] = {}
        self.answered: dict[tuple[str, str], set[int]] = defaultdict(set)
        published = self.client.get("/api/v1/openapi.json", headers=self.headers("olive"))
        assert published.status_code == 200
        self.document: dict[str, Any] = published.get_json()
        self._check("GET", "/openapi.json", published, _NO_BODY)

    def headers(self, user: str | None) -> dict[str, str]:
        if user is None:
            return {}
        if user not in self._headers:
            with transaction(self.app.extensions["foi"].sessions) as session:
                token = create_token(session, user, "schema test")
            self._headers[user] = {"Authorization": f"Bearer {token}"}
        return self._headers[user]

    def operations(self) -> set[tuple[str, str]]:
        return {
            (method.upper(), path)
            for path, item in self.document["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }

    def call(
        self,
        method: str,
        template: str,
        user: str | None,
        status: int,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = _NO_BODY,
        **path: object,
    ) -> TestResponse:
        """Call `template` (a path of the document) and check the answer is `status` and
        matches what the document says of it."""
        return self._send(method, template, template.format(**path), user, status, query, body)

    def refused(self, method: str, template: str, user: str | None, status: int) -> None:
        """Call `template` with a stand-in for each path value, for a refusal that comes before
        the view looks at them (no token, or a role that may not use it)."""
        url = re.sub(r"\{(\w+)\}", lambda found: str(_ANY_PATH_VALUE[found[1]]), template)
        self._send(method, template, url, user, status, None, _NO_BODY)

    def _send(
        self,
        method: str,
        template: str,
        path: str,
        user: str | None,
        status: int,
        query: Mapping[str, Any] | None,
        body: Any,
    ) -> TestResponse:
        url = "/api/v1" + path
        kwargs: dict[str, Any] = {"query_string": query or {}}
        if body is not _NO_BODY:
            kwargs["json"] = body
        response = self.client.open(url, method=method, headers=self.headers(user), **kwargs)
        text = response.get_data(as_text=True)[:500]
        assert response.status_code == status, f"{method} {url} answered {text}"
        self._check(method, template, response, body)
        return response

    def _check(self, method: str, template: str, response: TestResponse, body: Any) -> None:
        where = f"{method} {template} {response.status_code}"
        operation = self.document["paths"][template][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{where} is not in the document"
        content = operation["responses"][status].get("content")
        if content is None:
            # A redirect's few words of HTML are for people; the document describes no body.
            assert 300 <= response.status_code < 400 or not response.data, f"{where}: a body"
        else:
            media = response.mimetype
            assert media in content or "*/*" in content, f"{where}: {media} is not described"
            if media == "application/json":
                pointer = _pointer(
                    "paths", template, method.lower(), "responses", status, "content", media
                )
                errors = _schema_errors(self.document, pointer + "/schema", response.get_json())
                assert not errors, f"{where} does not match the document:\n" + "\n".join(errors)
        if response.status_code < 300 and body is not _NO_BODY:
            pointer = _pointer("paths", template, method.lower(), "requestBody", "content")
            errors = _schema_errors(self.document, pointer + "/application~1json/schema", body)
            assert not errors, f"{where}: the request sent is not as documented: {errors}"
        self.answered[method, template].add(response.status_code)


def _records_bed(
    request: pytest.FixtureRequest,
    stack: LocalStack,
    settings: Settings,
    tmp_path: Path,
    index_prefix: str,
    workspace: ShareWorkspace,
) -> RecordsBed:
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    if request.param == "sqlite":
        return bed
    bed.runtime.engine.dispose()
    url = request.getfixturevalue("postgres_url")
    bed = RecordsBed(stack, workspace, replace(bed.settings, database_url=url))
    upgrade(bed.runtime.engine)
    with transaction(bed.runtime.sessions) as session:
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
        for name, role in (
            ("rita", "records_manager"),
            ("rob", "records_manager"),
            ("olive", "foi_officer"),
            ("clerk", "front_office"),
        ):
            create_user(session, name, role, PASSWORD, [])
    return bed


@pytest.fixture(params=["sqlite", "postgresql"])
def bed(
    request: pytest.FixtureRequest,
    stack: LocalStack,
    settings: Settings,
    tmp_path: Path,
    index_prefix: str,
) -> Iterator[RecordsBed]:
    """Contracts (a copy, a zip with a member, a file Tika cannot read), a case folder, and
    old rates files a schedule says to destroy; a third records manager, reg, for the second
    approval."""
    workspace = ShareWorkspace(stack.samba, "schema")
    made = _records_bed(request, stack, settings, tmp_path, index_prefix, workspace)
    with transaction(made.runtime.sessions) as session:
        create_user(session, "reg", "records_manager", PASSWORD, [])
    contract = b"Bus shelter maintenance contract with Acme Ltd.\n"
    made.write(CONTRACT, contract)
    made.write(COPY, contract)
    made.write(SCAN, b"%PDF-1.4 not really a pdf: bus shelter scan")
    made.write(LETTERS, zip_bytes({"complaint.txt": b"A bus shelter complaint letter.\n"}))
    made.write(SMITH, b"Dear Mrs Smith, about your bus pass.\n")
    for year in (2012, 2013):
        made.write(f"Finance/Rates/rates {year}.txt", b"Rates account.\n", modified=OLD)
    made.crawl()
    save_schedule(made.records, SCHEDULE, actor="rita")
    yield made
    made.runtime.engine.dispose()
    workspace.cleanup()


@pytest.fixture
def api(bed: RecordsBed) -> Iterator[CheckedApi]:
    app = create_app(bed.settings)
    yield CheckedApi(app)
    app.extensions["foi"].engine.dispose()


def test_every_operation_answers_as_the_document_says(api: CheckedApi, bed: RecordsBed) -> None:
    for method, template in sorted(api.operations()):
        api.refused(method, template, None, 401)
        if template.startswith(_STAFF_ONLY):
            api.refused(method, template, "clerk", 403)

    _search_and_documents(api, bed)
    _holds(api, bed)
    reference = _cases(api, bed)
    _disposal(api, bed)
    # After the disposal: a document that is a record of destruction, and a scoping search
    # that meets it.
    rates = bed.doc_id(RATES)
    destroyed = api.call("GET", "/documents/{doc_id}", "olive", 200, doc_id=rates).get_json()
    assert destroyed["destroyed"]
    api.call("GET", "/documents/{doc_id}/content", "olive", 410, doc_id=rates)
    searched = api.call(
        "POST",
        "/cases/{reference}/searches",
        "olive",
        201,
        body={"query": "rates"},
        reference=reference,
    ).get_json()
    assert searched["not_held"], searched

    unanswered = sorted(op for op in api.operations() if not any(s < 300 for s in api.answered[op]))
    assert not unanswered, f"operations never called with success here: {unanswered}"


def _search_and_documents(api: CheckedApi, bed: RecordsBed) -> None:
    found = api.call("GET", "/search", "olive", 200, query={"q": "bus shelter"}).get_json()
    assert found["total"] >= 3 and found["facets"]
    assert any(hit["copies"] == 2 for hit in found["hits"])
    first = api.call("GET", "/search", "olive", 200, query={"q": "bus", "size": 1}).get_json()
    assert first["next_cursor"]
    second = api.call(
        "GET",
        "/search",
        "olive",
        200,
        query={"q": "bus", "size": 1, "cursor": first["next_cursor"]},
    ).get_json()
    assert second["previous_cursor"]
    api.call("GET", "/search", "olive", 200, query={"q": "bus", "copies": "all", "sort": "newest"})
    api.call("GET", "/search", "clerk", 200, query={"q": "bus"})
    api.call("GET", "/search", "olive", 400, query={"sort": "sideways"})
    api.call("GET", "/search", "olive", 400, query={"q": '"unclosed'})

    contract, letters = bed.doc_id(CONTRACT), bed.doc_id(LETTERS)
    shown = api.call("GET", "/documents/{doc_id}", "olive", 200, doc_id=contract).get_json()
    assert shown["duplicates"], shown
    parent = api.call("GET", "/documents/{doc_id}", "olive", 200, doc_id=letters).get_json()
    assert parent["children"], parent
    member = parent["children"][0]["doc_id"]
    child = api.call("GET", "/documents/{doc_id}", "olive", 200, doc_id=member).get_json()
    assert child["container"], child
    api.call("GET", "/documents/{doc_id}", "olive", 200, doc_id=bed.doc_id(SCAN))
    api.call("GET", "/documents/{doc_id}", "olive", 404, doc_id="0" * 40)
    api.call("GET", "/documents/{doc_id}/text", "olive", 200, doc_id=contract)
    api.call("GET", "/documents/{doc_id}/text", "olive", 400, doc_id=contract, query={"page": "x"})
    api.call("GET", "/documents/{doc_id}/text", "olive", 200, doc_id=contract, query={"page": 9})
    api.call("GET", "/documents/{doc_id}/text", "olive", 404, doc_id="0" * 40)
    api.call("GET", "/documents/{doc_id}/content", "olive", 200, doc_id=contract)
    api.call("GET", "/documents/{doc_id}/content", "olive", 200, doc_id=bed.doc_id(SCAN))
    api.call("GET", "/documents/{doc_id}/content", "olive", 409, doc_id=member)
    api.call("GET", "/documents/{doc_id}/content", "olive", 404, doc_id="0" * 40)


def _holds(api: CheckedApi, bed: RecordsBed) -> None:
    """A hold on a folder, a document and a search, preserved, then released."""
    made = api.call("POST", "/holds", "rita", 201, body={"name": "Smith", "reason": "SAR 12"})
    hold = int(made.get_json()["id"])
    api.call("POST", "/holds", "rita", 400, body={"name": "Smith", "reason": "again"})
    api.call("POST", "/holds", "rita", 400, body={"name": 3, "reason": "r"})
    api.call(
        "POST",
        "/holds",
        "rita",
        201,
        body={"name": "For a case", "reason": "r", "case_ref": "FOI-2025-0099"},
    )

    scopes = "/holds/{hold_id}/scopes"
    folder = {"kind": "folder", "source": bed.source, "folder": "Cases/Smith"}
    api.call("POST", scopes, "olive", 201, body=folder, hold_id=hold)
    item = {"kind": "item", "doc_id": bed.doc_id(CONTRACT)}
    api.call("POST", scopes, "rita", 201, body=item, hold_id=hold)
    api.call(
        "POST", scopes, "rita", 201, body={"kind": "query", "query": "q=shelter"}, hold_id=hold
    )
    whole = {"kind": "folder", "source": bed.source, "folder": "/"}
    refused = api.call("POST", scopes, "rita", 400, body=whole, hold_id=hold).get_json()
    assert refused["files"] > 0
    api.call("POST", scopes, "rita", 400, body={"kind": "everything"}, hold_id=hold)
    api.call("POST", scopes, "rita", 404, body=folder, hold_id=999)
    _settle(bed)

    shown = api.call("GET", "/holds/{hold_id}", "rita", 200, hold_id=hold).get_json()
    assert shown["scopes"] and shown["members"]["items"]
    assert any(m["preservation"] for m in shown["members"]["items"])
    api.call("GET", "/holds/{hold_id}", "rita", 400, hold_id=hold, query={"page": "x"})
    api.call("GET", "/holds/{hold_id}", "rita", 404, hold_id=999)
    listed = api.call("GET", "/holds", "olive", 200).get_json()
    assert len(listed["holds"]) == 2

    contract = bed.doc_id(CONTRACT)
    held = api.call("GET", "/documents/{doc_id}", "olive", 200, doc_id=contract).get_json()
    assert held["records_management"]["holds"] and held["hold_ids"]
    trimmed = api.call("GET", "/documents/{doc_id}", "clerk", 200, doc_id=contract).get_json()
    assert trimmed["hold_ids"] is None and trimmed["records_management"]["holds"] == []

    release = "/holds/{hold_id}/release-request"
    api.call("POST", release, "olive", 403, body={"reason": "done"}, hold_id=hold)
    api.call("POST", release, "rita", 400, body={}, hold_id=hold)
    api.call("POST", release, "rita", 404, body={"reason": "done"}, hold_id=999)
    requested = api.call("POST", release, "rita", 200, body={"reason": "Settled"}, hold_id=hold)
    assert requested.get_json()["status"] == "release_requested"
    approve = "/holds/{hold_id}/release-approve"
    api.call("POST", approve, "rita", 400, hold_id=hold)
    api.call("POST", approve, "olive", 403, hold_id=hold)
    api.call("POST", approve, "rob", 404, hold_id=999)
    released = api.call("POST", approve, "rob", 200, hold_id=hold).get_json()
    assert released["status"] == "released" and released["released_at"]


def _cases(api: CheckedApi, bed: RecordsBed) -> str:
    """A case taken through its statuses, with documents, searches and a bundle."""
    body = {
        "regime": "FOIA",
        "received": "2025-12-18",
        "title": "Bus shelters",
        "request_text": "Contracts please",
        "requester_name": "A. Journalist",
        "assigned_to": "olive",
    }
    api.call("POST", "/cases", "olive", 400, body={**body, "received": "18/12/2025"})
    case = api.call("POST", "/cases", "olive", 201, body=body).get_json()
    reference = case["reference"]
    other = api.call(
        "POST", "/cases", "olive", 201, body={**body, "regime": "SAR", "assigned_to": ""}
    ).get_json()
    listed = api.call("GET", "/cases", "olive", 200, query={"status": "open"}).get_json()
    assert len(listed["cases"]) == 2
    api.call("GET", "/cases", "olive", 400, query={"status": "sideways"})
    api.call("GET", "/cases/{reference}", "olive", 200, reference=reference)
    api.call("GET", "/cases/{reference}", "olive", 404, reference="FOI-2025-0404")

    moves = "/cases/{reference}/transitions"
    for step in (
        {"to": "in_progress", "on": "2026-01-02"},
        {"to": "clarification_requested", "on": "2026-01-05"},
    ):
        moved = api.call("POST", moves, "olive", 200, body=step, reference=reference)
    assert moved.get_json()["clock_stopped"], moved.get_json()
    stop = {"to": "clarification_requested", "on": "2026-01-05", "stop_reason": "clarification"}
    api.call("POST", moves, "olive", 200, body=stop, reference=other["reference"])
    api.call(
        "POST",
        moves,
        "olive",
        200,
        body={"to": "in_progress", "on": "2026-01-06"},
        reference=reference,
    )
    api.call(
        "POST", moves, "olive", 400, body={"to": "flying", "on": "2026-01-06"}, reference=reference
    )
    api.call(
        "POST",
        moves,
        "olive",
        404,
        body={"to": "closed", "on": "2026-01-06"},
        reference="FOI-2025-0404",
    )

    documents = "/cases/{reference}/documents"
    api.call("POST", documents, "olive", 201, body={"query": "q=bus+shelter"}, reference=reference)
    by_id = {"doc_ids": [bed.doc_id(SMITH)]}
    added = api.call("POST", documents, "olive", 201, body=by_id, reference=reference).get_json()
    assert added["hold_id"]
    api.call("POST", documents, "olive", 400, body={"doc_ids": ["nope"]}, reference=reference)
    api.call("POST", documents, "olive", 404, body=by_id, reference="FOI-2025-0404")
    page = api.call("GET", documents, "olive", 200, reference=reference).get_json()
    assert page["items"] and page["described"]
    api.call("GET", documents, "olive", 400, reference=reference, query={"page": "x"})
    api.call("GET", documents, "olive", 404, reference="FOI-2025-0404")
    _settle(bed)

    searches = "/cases/{reference}/searches"
    found = api.call(
        "POST", searches, "olive", 201, body={"query": "bus shelter"}, reference=reference
    )
    assert found.get_json()["not_searchable"], found.get_json()
    api.call("POST", searches, "olive", 400, body={"query": 'q="unclosed'}, reference=reference)
    api.call("GET", searches, "olive", 200, reference=reference)
    api.call("GET", searches, "olive", 404, reference="FOI-2025-0404")

    exports = "/cases/{reference}/exports"
    api.call("POST", exports, "olive", 202, reference=reference)
    deadline = time.monotonic() + 60
    while (bundle := _newest_bundle(api, reference))["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the bundle was not written in time"
        time.sleep(0.2)
    assert bundle["status"] == "done", bundle
    api.call("POST", exports, "olive", 400, reference=other["reference"])
    api.call("GET", exports, "olive", 404, reference="FOI-2025-0404")

    for answer in (
        {"to": "responded", "on": "2026-01-20", "outcome": "part", "exemptions": ["s.40"]},
        {"to": "closed", "on": "2026-01-21"},
    ):
        moved = api.call("POST", moves, "olive", 200, body=answer, reference=reference)
    assert moved.get_json()["working_days_left"] is None

    api.call("GET", "/statistics", "olive", 200)
    csv_table = api.call("GET", "/statistics", "olive", 200, query={"format": "csv"})
    assert b"Quarter received" in csv_table.data
    api.call("GET", "/statistics", "olive", 400, query={"format": "xml"})
    return str(reference)


def _newest_bundle(api: CheckedApi, reference: str) -> dict[str, Any]:
    listed = api.call("GET", "/cases/{reference}/exports", "olive", 200, reference=reference)
    return dict(listed.get_json()["exports"][0])


def _disposal(api: CheckedApi, bed: RecordsBed) -> None:
    """A batch built by rita, approved by rob and reg, executed by rob."""
    api.call("GET", "/retention/report", "olive", 403)
    report = api.call("GET", "/retention/report", "rita", 200).get_json()
    assert report["schedule_version"] == "schema-1" and report["eligible"]["files"] == 2
    assert api.call("GET", "/retention/batches", "rita", 200).get_json() == {"batches": []}
    api.call("POST", "/retention/batches", "olive", 403)
    built = api.call("POST", "/retention/batches", "rita", 201).get_json()
    batch = built["id"]
    detail = "/retention/batches/{batch_id}"
    shown = api.call("GET", detail, "rita", 200, batch_id=batch).get_json()
    assert shown["items"]["total"] == 2
    api.call("GET", detail, "rita", 400, batch_id=batch, query={"page": "x"})
    api.call("GET", detail, "rita", 404, batch_id=999)
    api.call("GET", "/retention/batches", "rita", 200)

    approve = "/retention/batches/{batch_id}/approve"
    api.call("POST", approve, "rita", 400, batch_id=batch)
    api.call("POST", approve, "olive", 403, batch_id=batch)
    api.call("POST", approve, "rob", 404, batch_id=999)
    api.call("POST", approve, "rob", 200, batch_id=batch)
    execute = "/retention/batches/{batch_id}/execute"
    api.call("POST", execute, "rob", 400, body={"confirm": True}, batch_id=batch)
    api.call("POST", approve, "reg", 200, batch_id=batch)
    api.call("POST", execute, "rob", 400, batch_id=batch)
    api.call("POST", execute, "rob", 404, body={"confirm": True}, batch_id=999)
    done = api.call("POST", execute, "rob", 200, body={"confirm": True}, batch_id=batch).get_json()
    assert done["destroyed"] == 2, done
    api.call("GET", detail, "rita", 200, batch_id=batch)
    nothing = api.call("POST", "/retention/batches", "rita", 200).get_json()
    assert nothing["batch"] is None


def test_the_document_declares_every_object_closed() -> None:
    """Every object schema says what else it allows (almost always nothing), says which of its
    properties are always sent, and is itself a valid Draft 2020-12 schema."""
    document = openapi_document()
    schemas: list[tuple[str, Any]] = list(document["components"]["schemas"].items())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    schemas.append((f"{method} {path} {status} {media}", content["schema"]))
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                schemas.append((f"{method} {path} request {media}", content["schema"]))
    open_objects: list[str] = []
    for name, schema in schemas:
        Draft202012Validator.check_schema(schema)
        for where, sub in _subschemas(name, schema):
            if _is_object(sub) and "additionalProperties" not in sub:
                open_objects.append(where)
            if "properties" in sub:
                assert "required" in sub, f"{where} does not say which properties are sent"
                assert set(sub["required"]) <= set(sub["properties"]), where
    assert not open_objects, f"object schemas that do not say what else they allow: {open_objects}"


def test_the_check_refuses_an_undescribed_field() -> None:
    document = openapi_document()
    pointer = _pointer("components", "schemas", "Error")
    assert _schema_errors(document, pointer, {"error": "Refused", "message": "no"}) == []
    assert _schema_errors(document, pointer, {"error": "Refused", "message": "no", "why": "x"})
    assert _schema_errors(document, pointer, {"error": "Refused"})
    moment = _pointer("components", "schemas", "CaseDetail", "properties", "created_at")
    assert _schema_errors(document, moment, "2026-01-02T10:00:00")
    assert not _schema_errors(document, moment, "2026-01-02T10:00:00+00:00")


def _is_object(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        "properties" in schema or kind == "object" or (isinstance(kind, list) and "object" in kind)
    )


def _subschemas(where: str, schema: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(schema, Mapping):
        return
    yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _subschemas(f"{where}.{name}", sub)
    for keyword in ("items", "additionalProperties", "propertyNames"):
        yield from _subschemas(f"{where}[{keyword}]", schema.get(keyword))
    for keyword in ("oneOf", "anyOf", "allOf"):
        for number, sub in enumerate(schema.get(keyword, [])):
            yield from _subschemas(f"{where}[{keyword} {number}]", sub)
