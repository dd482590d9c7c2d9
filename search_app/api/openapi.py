"""The OpenAPI 3.1 description of /api/v1, kept next to the routes it describes (a test checks
that every API route is described and every described path exists)."""

from __future__ import annotations

from typing import Any

from indexer.search.facets import SAMPLE_ABOVE
from search_app.api.openapi_cases import CASES_PATHS, CASES_SCHEMAS
from search_app.api.openapi_records import RECORDS_PATHS, RECORDS_SCHEMAS

_ERROR = {"$ref": "#/components/schemas/Error"}
_DOC_ID = {
    "name": "doc_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    names = {
        400: "Bad request",
        401: "Missing or invalid token",
        404: "Not found or not permitted",
        502: "The share could not be read",
        503: "Search unavailable",
    }
    return {str(code): _json(_ERROR, names[code]) for code in codes}


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
                "description": "Opaque cursor from a previous page's next_cursor",
            },
            {
                "name": "size",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100},
            },
        ],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/SearchResult"}, "Results"),
            **_errors(400, 401, 503),
        },
    }
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
                        **_errors(401, 404, 503),
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
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "doc_id": {"type": "string"},
                                    "page": {"type": "integer"},
                                    "pages": {"type": "integer"},
                                    "text": {"type": "string"},
                                },
                            },
                            "Text",
                        ),
                        **_errors(400, 401, 404, 503),
                    },
                }
            },
            "/documents/{doc_id}/content": {
                "get": {
                    "summary": "The original file, streamed from its share",
                    "operationId": "getDocumentContent",
                    "parameters": [_DOC_ID],
                    "responses": {
                        "200": {
                            "description": "The file's bytes",
                            "content": {
                                "application/octet-stream": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        **_errors(401, 404, 502, 503),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI document")},
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
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "Hit": {
                    "type": "object",
                    "properties": {
                        "doc_id": {"type": "string"},
                        "path": {"type": "string"},
                        "unc": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "string"},
                        "modified": {"type": ["string", "null"]},
                        "copies": {"type": "integer"},
                        "highlights": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "SearchResult": {
                    "type": "object",
                    "properties": {
                        "total": {"type": "integer"},
                        "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
                        "facets": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "value": {"type": "string"},
                                        "label": {"type": "string"},
                                        "count": {"type": "integer"},
                                        "selected": {"type": "boolean"},
                                        "approximate": {
                                            "type": "boolean",
                                            "description": (
                                                "count estimated from a random sample of "
                                                "the results (searches matching more than "
                                                f"{SAMPLE_ABOVE:,} documents); extraction "
                                                "status, hold and duplicate counts are "
                                                "always exact"
                                            ),
                                        },
                                    },
                                },
                            },
                        },
                        "next_cursor": {"type": ["string", "null"]},
                    },
                },
                "Document": {
                    "type": "object",
                    "properties": {
                        "doc_id": {"type": "string"},
                        "kind": {"type": "string"},
                        "title": {"type": ["string", "null"]},
                        "path": {"type": "string"},
                        "unc": {"type": "string"},
                        "status": {"type": "string"},
                        "sha256": {"type": ["string", "null"]},
                        "override": {"type": "boolean"},
                        "children": {"type": "array", "items": {"type": "object"}},
                        "duplicates": {"type": "array", "items": {"type": "object"}},
                        "container": {"type": ["object", "null"]},
                    },
                    "additionalProperties": True,
                },
                **RECORDS_SCHEMAS,
                **CASES_SCHEMAS,
            },
        },
    }
