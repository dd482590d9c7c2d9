"""The OpenAPI 3.1 description of /api/v1, kept next to the routes it describes (a test checks
that every API route is described and every described path exists).

Every object schema is closed (`additionalProperties: false`) and lists as required every field
the code always sends, so the document is the contract: tests/integration/test_api_schema.py
calls every operation on the real stack and validates each answer against it.
"""

from __future__ import annotations

from typing import Any

from indexer.search.facets import SAMPLE_ABOVE
from search_app.api.openapi_cases import CASES_PATHS, CASES_SCHEMAS
from search_app.api.openapi_parts import closed_object as _object
from search_app.api.openapi_parts import error_responses
from search_app.api.openapi_parts import json_response as _json
from search_app.api.openapi_records import RECORDS_PATHS, RECORDS_SCHEMAS

_DOC_ID = {
    "name": "doc_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
}
_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_MAYBE_TEXTS = {"type": ["array", "null"], "items": _TEXT}
_MAYBE_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_MAYBE_DATE = {"type": ["string", "null"], "format": "date"}
_MAYBE_INTEGER = {"type": ["integer", "null"]}
_MAYBE_BOOLEAN = {"type": ["boolean", "null"]}
_MOVED = {
    "description": "The document moved at source: the same address with its id now (only "
    "when the caller may see it there)"
}


_ERROR_NAMES = {
    400: "Bad request",
    403: "The share's permissions no longer let the caller read the file",
    404: "Not found or not permitted",
    409: "Part of another file: download the containing file",
    410: "Destroyed under the retention schedule",
    502: "The share could not be read",
    503: "Search unavailable",
}


def _errors(*codes: int) -> dict[str, Any]:
    return error_responses(_ERROR_NAMES, *codes)


_SEARCH_PATH: dict[str, Any] = {
    "get": {
        "summary": "Search documents (trimmed by the caller's access; audited)",
        "operationId": "search",
        "parameters": [
            {
                "name": "q",
                "in": "query",
                "schema": {"type": "string", "maxLength": 500},
                "description": "Query in the documented search syntax",
            },
            {
                "name": "filter",
                "in": "query",
                "style": "form",
                "explode": True,
                "schema": {"type": "array", "items": {"type": "string"}},
                "description": "Facet filters as FIELD:VALUE (source, folder, type, author, "
                "owner, year, status, duplicate)",
            },
            {
                "name": "sort",
                "in": "query",
                "schema": {"type": "string", "enum": ["relevance", "newest", "oldest"]},
            },
            {
                "name": "cursor",
                "in": "query",
                "schema": {"type": "string"},
                "description": "Opaque cursor from a previous page's next_cursor or "
                "previous_cursor",
            },
            {
                "name": "size",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100},
            },
            {
                "name": "copies",
                "in": "query",
                "schema": {"type": "string", "enum": ["all"]},
                "description": "all: list every identical copy (by default copies are folded "
                "into one hit, with `copies` counting them)",
            },
        ],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/SearchResult"}, "Results"),
            **_errors(400, 503),
        },
    }
}

# Every field of an indexed document the API shows (search_app.api.search._DOCUMENT_FIELDS);
# null when the document does not have it (an embedded document has no share dates, a file
# not yet classified no retention fields).
_DOCUMENT_FIELDS: dict[str, Any] = {
    "doc_id": _TEXT,
    "kind": {"type": "string", "enum": ["file", "embedded"]},
    "title": _MAYBE_TEXT,
    "filename": _MAYBE_TEXT,
    "path": _TEXT,
    "unc": _TEXT,
    "source": _TEXT,
    "share": _MAYBE_TEXT,
    "folder": _MAYBE_TEXT,
    "extension": _MAYBE_TEXT,
    "mime_type": _MAYBE_TEXT,
    "size": _MAYBE_INTEGER,
    "sha256": _MAYBE_TEXT,
    "authors": _MAYBE_TEXTS,
    "created": _MAYBE_MOMENT,
    "modified": _MAYBE_MOMENT,
    "crawled": _MAYBE_MOMENT,
    "page_count": _MAYBE_INTEGER,
    "language": _MAYBE_TEXT,
    "email_from": _MAYBE_TEXTS,
    "email_to": _MAYBE_TEXTS,
    "email_cc": _MAYBE_TEXTS,
    "email_subject": _MAYBE_TEXT,
    "email_date": _MAYBE_MOMENT,
    "status": _TEXT,
    "status_reason": _MAYBE_TEXT,
    "container_id": _MAYBE_TEXT,
    "root_id": _TEXT,
    "embedded_path": _MAYBE_TEXT,
    "duplicate_of": {
        **_MAYBE_TEXT,
        "description": "The file this one is an identical copy of, when the caller may see it",
    },
    "deleted": _MAYBE_BOOLEAN,
    "acl_owner": _MAYBE_TEXT,
    "held": _MAYBE_BOOLEAN,
    "hold_ids": {**_MAYBE_TEXTS, "description": "null for front-office staff"},
    "version_of": {**_MAYBE_TEXT, "description": "A held version: the live document's id"},
    "superseded": _MAYBE_MOMENT,
    "retention_class": _MAYBE_TEXT,
    "retention_action": _MAYBE_TEXT,
    "disposal_date": _MAYBE_DATE,
    "retention_reason": _MAYBE_TEXT,
    "destroyed": _MAYBE_MOMENT,
    "destruction_class": _MAYBE_TEXT,
    "destruction_authority": _MAYBE_TEXT,
    "destruction_method": _MAYBE_TEXT,
}

_SUMMARY = _object(
    {
        "doc_id": _TEXT,
        "title": _MAYBE_TEXT,
        "path": _TEXT,
        "unc": _TEXT,
        "status": _TEXT,
        "kind": {"type": "string", "enum": ["file", "embedded"]},
        "embedded_path": _MAYBE_TEXT,
        "deleted": _MAYBE_BOOLEAN,
        "held": _MAYBE_BOOLEAN,
        "destroyed": _MAYBE_MOMENT,
    }
)

_RECORDS_MANAGEMENT = _object(
    {
        "held": {"type": "boolean"},
        "holds": {
            "type": "array",
            "description": "empty for front-office staff",
            "items": _object(
                {
                    "id": {"type": "integer"},
                    "name": _TEXT,
                    "case": _TEXT,
                    "status": {
                        "type": "string",
                        "enum": ["active", "release_requested", "released"],
                    },
                }
            ),
        },
        "source_changes": {
            "type": "array",
            "description": "empty for front-office staff",
            "items": _object(
                {
                    "change": _TEXT,
                    "detected_at": {"type": "string", "format": "date-time"},
                    "held_version": _MAYBE_TEXT,
                    "original_preserved": {"type": "boolean"},
                }
            ),
        },
        "cases": {
            "type": "array",
            "items": _TEXT,
            "description": "references of the cases the document was collected into; empty "
            "for front-office staff",
        },
        "preservation": {
            "type": "array",
            "description": "empty for front-office staff",
            "items": _object({"sha256": _TEXT, "status": _TEXT, "error": _MAYBE_TEXT}),
        },
    }
)

_FACET_VALUE = _object(
    {
        "value": _TEXT,
        "label": _TEXT,
        "count": {"type": "integer"},
        "selected": {"type": "boolean"},
        "approximate": {
            "type": "boolean",
            "description": (
                "count estimated from a random sample of the results (searches matching more "
                f"than {SAMPLE_ABOVE:,} documents); extraction status, hold and duplicate "
                "counts are always exact"
            ),
        },
    }
)

_SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error": _TEXT,
            "message": _TEXT,
            "files": {
                "type": "integer",
                "description": "a hold on a whole source refused for want of "
                "confirm_whole_source: how many files it would hold",
            },
        },
        optional=("files",),
    ),
    "SignInRequired": _object({"error": {"const": "sign-in required"}}),
    "Hit": _object(
        {
            "doc_id": _TEXT,
            "path": _TEXT,
            "unc": _TEXT,
            "title": _MAYBE_TEXT,
            "status": _TEXT,
            "modified": _MAYBE_MOMENT,
            "copies": {"type": "integer", "description": "identical copies folded into this hit"},
            "held": {"type": "boolean"},
            "destroyed": {**_MAYBE_MOMENT, "description": "a record of destruction: when"},
            "highlights": {"type": "array", "items": _TEXT},
        }
    ),
    "SearchResult": _object(
        {
            "total": {"type": "integer"},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _FACET_VALUE},
            },
            "next_cursor": _MAYBE_TEXT,
            "previous_cursor": _MAYBE_TEXT,
        }
    ),
    "Document": _object(
        {
            **_DOCUMENT_FIELDS,
            "override": {
                "type": "boolean",
                "description": "seen by the caller's role, not their own permissions (audited)",
            },
            "container": {"oneOf": [_SUMMARY, {"type": "null"}]},
            "children": {"type": "array", "items": _SUMMARY},
            "duplicates": {"type": "array", "items": _SUMMARY},
            "records_management": _RECORDS_MANAGEMENT,
        }
    ),
    "DocumentText": _object(
        {
            "doc_id": _TEXT,
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "text": _TEXT,
        }
    ),
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "FOI records discovery API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/search": _SEARCH_PATH,
            "/documents/{doc_id}": {
                "get": {
                    "summary": "A document's metadata, container, embedded files and copies",
                    "operationId": "getDocument",
                    "parameters": [_DOC_ID],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Document"}, "The document"),
                        "302": _MOVED,
                        **_errors(404, 503),
                    },
                }
            },
            "/documents/{doc_id}/text": {
                "get": {
                    "summary": "One page of the document's extracted text",
                    "operationId": "getDocumentText",
                    "parameters": [
                        _DOC_ID,
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/DocumentText"}, "Text"),
                        "302": _MOVED,
                        **_errors(400, 404, 503),
                    },
                }
            },
            "/documents/{doc_id}/content": {
                "get": {
                    "summary": "The original file, streamed from its share (or, for a held "
                    "version, from the preservation store)",
                    "operationId": "getDocumentContent",
                    "parameters": [_DOC_ID],
                    "responses": {
                        "200": {
                            "description": "The file's bytes, as an attachment: served as its "
                            "own type when that is passive content (text/plain, application/"
                            "pdf, images...), else as application/octet-stream",
                            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        "302": _MOVED,
                        **_errors(403, 404, 409, 410, 502, 503),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["openapi", "info", "paths", "components"],
                                "additionalProperties": True,
                                "description": "An OpenAPI 3.1 document",
                            },
                            "OpenAPI document",
                        ),
                        **_errors(),
                    },
                }
            },
            **RECORDS_PATHS,
            **CASES_PATHS,
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token from `foi tokens create`",
                }
            },
            "schemas": {**_SCHEMAS, **RECORDS_SCHEMAS, **CASES_SCHEMAS},
        },
    }
