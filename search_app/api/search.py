"""The JSON API under /api/v1: bearer tokens (`foi tokens create`), the same trimming and audit
as the pages, described by the OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elasticsearch import ApiError, BadRequestError, TransportError
from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from foi_core.audit import Outcome, record
from foi_core.db import transaction
from indexer.search import records
from indexer.search.facets import Facets, FacetSelection, FacetValue
from indexer.search.queries import InvalidCursor, PageCursor, Principal, Sort, search
from indexer.search.querylang import QuerySyntaxError
from search_app.api.openapi import openapi_document
from search_app.api.requests import answer_errors_as_json, page_number
from search_app.auth import CurrentUser, services, signed_in_user
from search_app.records.keeping import records_state
from search_app.request_input import client_ip
from search_app.search.documents import audit_access, load_visible, sees_holds, serve_download

bp = Blueprint("api", __name__, url_prefix="/api/v1")
answer_errors_as_json(bp)

_DOCUMENT_FIELDS = (
    "doc_id",
    "kind",
    "title",
    "filename",
    "path",
    "unc",
    "source",
    "share",
    "folder",
    "extension",
    "mime_type",
    "size",
    "sha256",
    "authors",
    "created",
    "modified",
    "crawled",
    "page_count",
    "language",
    "email_from",
    "email_to",
    "email_cc",
    "email_subject",
    "email_date",
    "status",
    "status_reason",
    "container_id",
    "root_id",
    "embedded_path",
    "duplicate_of",
    "deleted",
    "acl_owner",
    "held",
    "hold_ids",
    "version_of",
    "superseded",
    "retention_class",
    "retention_action",
    "disposal_date",
    "retention_reason",
    "destroyed",
    "destruction_class",
    "destruction_authority",
    "destruction_method",
)


def _public_fields(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: doc.get(key) for key in _DOCUMENT_FIELDS}


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        key: doc.get(key)
        for key in (
            "doc_id",
            "title",
            "path",
            "unc",
            "status",
            "kind",
            "embedded_path",
            "deleted",
            "held",
            "destroyed",
        )
    }


def _records_json(doc: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    """The document's records-management state; for front-office staff only whether it is
    held (see search_app.search.documents.sees_holds)."""
    state = records_state(doc).as_json()
    if sees_holds(user):
        return state
    return {**state, "holds": [], "source_changes": [], "cases": [], "preservation": []}


def _visible_original(doc: dict[str, Any], principal: Principal) -> str | None:
    """The id of the file this one is an identical copy of, when the caller may see it: the
    id of a document they may not see is itself something they may not learn."""
    original = doc.get("duplicate_of")
    if not original:
        return None
    visible = records.get_document(services().es, services().names.read_alias, original, principal)
    return str(original) if visible is not None else None


MAX_PAGE_SIZE = 100


def _facets_json(facets: Facets) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values; `approximate` counts were estimated from a sample of the results
    (searches matching more than indexer.search.facets.SAMPLE_ABOVE documents)."""

    def values(found: Sequence[FacetValue], approximate: bool) -> list[dict[str, Any]]:
        return [
            {
                "value": v.value,
                "label": v.label,
                "count": v.count,
                "selected": v.selected,
                "approximate": approximate,
            }
            for v in found
        ]

    body = {f.name: values(f.values, f.approximate) for f in facets.facets}
    body["folder"] = values(facets.folders.children, facets.folders.approximate)
    return body


@bp.get("/search")
def search_documents() -> ResponseReturnValue:
    """The search page's query, facet and paging parameters, as JSON (same trimming/audit)."""
    user = signed_in_user()
    args = request.args
    text = args.get("q", "").strip()
    if len(text) > 500:
        abort(400, description="q must be 500 characters or fewer")
    size = args.get("size", "20")
    if args.get("sort", "relevance") not in {s.value for s in Sort}:
        abort(400, description="sort must be relevance, newest or oldest")
    if not size.isdecimal() or not 1 <= int(size) <= MAX_PAGE_SIZE:
        abort(400, description=f"size must be a whole number from 1 to {MAX_PAGE_SIZE}")
    sort = Sort(args.get("sort", "relevance"))
    selection = FacetSelection.from_params(args.to_dict(flat=False))
    details: dict[str, Any] = {
        "query": text,
        "filters": selection.audit(),
        "sort": sort.value,
        "via": "api",
    }
    try:
        token = args.get("cursor", "")
        cursor = PageCursor.from_token(token, sort) if token else None
        result = search(
            services().es,
            services().names.read_alias,
            text,
            user.principal(),
            size=int(size),
            selection=selection,
            sort=sort,
            cursor=cursor,
            facets=True,
            fold_copies=args.get("copies") != "all",
        )
    except QuerySyntaxError as error:
        _audit_search(user, Outcome.FAILED, {**details, "error": "syntax"})
        abort(400, description=f"{error.message} (at character {error.position})")
    except InvalidCursor:
        _audit_search(user, Outcome.FAILED, {**details, "error": "cursor"})
        abort(400, description="cursor is not valid for this search: start without it")
    except BadRequestError:
        _audit_search(user, Outcome.FAILED, {**details, "error": "refused"})
        abort(400, description="this search could not be run: try fewer or simpler terms")
    except (ApiError, TransportError) as error:
        _audit_search(user, Outcome.FAILED, {**details, "error": type(error).__name__})
        abort(503, description="search is not available right now")
    _audit_search(user, Outcome.OK, {**details, "total": result.total})
    assert result.facets is not None
    return jsonify(
        total=result.total,
        hits=[
            {
                "doc_id": hit.doc_id,
                "path": hit.source.get("path"),
                "unc": hit.source.get("unc"),
                "title": hit.source.get("title"),
                "status": hit.source.get("status"),
                "modified": hit.source.get("modified"),
                "copies": hit.copies,
                "held": bool(hit.source.get("held")),
                "destroyed": hit.source.get("destroyed"),
                "highlights": list(hit.highlights),
            }
            for hit in result.hits
        ],
        facets=_facets_json(result.facets),
        next_cursor=result.next_page.token() if result.next_page else None,
        previous_cursor=result.previous_page.token() if result.previous_page else None,
    )


def _audit_search(user: Any, outcome: str, details: dict[str, Any]) -> None:
    with transaction(services().sessions) as db:
        record(
            db,
            actor=user.username,
            action="search",
            target=services().names.read_alias,
            ip=client_ip(),
            outcome=outcome,
            details=details,
        )


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.get("/documents/<doc_id>")
def document(doc_id: str) -> ResponseReturnValue:
    user = signed_in_user()
    doc, outcome = load_visible(doc_id, user, "view")
    es, alias, principal = services().es, services().names.read_alias, user.principal()
    parent = records.container(es, alias, doc, principal)
    body = {
        **_public_fields(doc),
        "duplicate_of": _visible_original(doc, principal),
        "override": outcome == Outcome.OVERRIDE,
        "container": _summary(parent) if parent else None,
        "children": [_summary(c) for c in records.children(es, alias, doc, principal)],
        "duplicates": [_summary(d) for d in records.duplicates(es, alias, doc, principal)],
        "records_management": _records_json(doc, user),
    }
    if not sees_holds(user):
        body["hold_ids"] = None
    audit_access(
        user, "view", doc_id, outcome, path=doc.get("path"), source=doc.get("source"), via="api"
    )
    return jsonify(body)


@bp.get("/documents/<doc_id>/text")
def document_text(doc_id: str) -> ResponseReturnValue:
    user = signed_in_user()
    _doc, outcome = load_visible(doc_id, user, "view")
    # No limit of the API's own: a page past the text's last is its last (records.text_page).
    page = page_number(limit=None)
    text = records.text_page(
        services().es, services().names.read_alias, doc_id, user.principal(), page
    )
    if text is None:
        abort(404)
    audit_access(user, "view", doc_id, outcome, page=text.page, via="api")
    return jsonify(doc_id=doc_id, page=text.page, pages=text.pages, text=text.text)


@bp.get("/documents/<doc_id>/content")
def document_content(doc_id: str) -> ResponseReturnValue:
    return serve_download(doc_id, via="api")
