"""The OpenAPI description of the request-case and statistics endpoints (search_app.api.cases),
merged into the API's document by search_app.api.openapi."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_CASE = {"$ref": "#/components/schemas/Case"}
_CASE_DETAIL = {"$ref": "#/components/schemas/CaseDetail"}
_SEARCH = {"$ref": "#/components/schemas/ScopingSearch"}
_EXPORT = {"$ref": "#/components/schemas/CaseExport"}
_REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{1,12}-[0-9]{4}-[0-9]{4,9}$"},
    "description": "The case reference, for example FOI-2026-0001",
}
_PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}
_NAMES = {
    400: "Bad input, or refused by the service (the message says why)",
    401: "Missing or invalid token",
    403: "The caller's role may not work cases (FOI officers, records managers, admins may)",
    404: "No such case",
    409: "Some cases cannot be counted until their records are fixed (the message lists them)",
    503: "Search unavailable",
}
_TEXT = {"type": "string"}
_DATE = {"type": "string", "format": "date"}
_MAYBE_DATE = {"type": ["string", "null"], "format": "date"}
_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_INTEGER = {"type": "integer"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(_ERROR, _NAMES[code]) for code in codes}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _list_of(name: str, item: dict[str, Any], description: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {name: {"type": "array", "items": item}}}
    return _json(schema, description)


CASES_PATHS: dict[str, Any] = {
    "/cases": {
        "get": {
            "summary": "Cases, the most recently received first, 50 a page",
            "operationId": "listCases",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["open", "closed", "all"]},
                    "description": "open: the clock runs or is stopped; closed: answered, under "
                    "review or closed",
                },
                {"name": "assigned_to", "in": "query", "schema": _TEXT},
                _PAGE,
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "cases": {"type": "array", "items": _CASE},
                            "page": _INTEGER,
                            "pages": _INTEGER,
                            "total": _INTEGER,
                        },
                    },
                    "Cases",
                ),
                **_errors(400, 401, 403),
            },
        },
        "post": {
            "summary": "Create a case; its due date is computed (audited)",
            "operationId": "createCase",
            "requestBody": _body(
                {
                    "regime": {"type": "string", "enum": ["FOIA", "EIR", "SAR"]},
                    "received": _DATE,
                    "title": _TEXT,
                    "request_text": _TEXT,
                    "requester_name": _TEXT,
                    "requester_contact": _TEXT,
                    "assigned_to": {**_TEXT, "description": "An FOI officer; the caller if empty"},
                },
                ["regime", "received", "title", "request_text", "requester_name"],
            ),
            "responses": {"201": _json(_CASE_DETAIL, "The new case"), **_errors(400, 401, 403)},
        },
    },
    "/cases/{reference}": {
        "get": {
            "summary": "A case with its deadline, its explanation and the requester (audited)",
            "operationId": "getCase",
            "parameters": [_REFERENCE],
            "responses": {"200": _json(_CASE_DETAIL, "The case"), **_errors(401, 403, 404)},
        }
    },
    "/cases/{reference}/transitions": {
        "post": {
            "summary": "Move the case to its next status; the clock follows (audited)",
            "operationId": "transitionCase",
            "parameters": [_REFERENCE],
            "requestBody": _body(
                {
                    "to": {
                        "type": "string",
                        "enum": [
                            "received",
                            "clarification_requested",
                            "fee_notice",
                            "in_progress",
                            "pi_extension",
                            "responded",
                            "internal_review",
                            "ico_complaint",
                            "closed",
                        ],
                    },
                    "on": _DATE,
                    "outcome": {
                        "type": "string",
                        "enum": ["full", "part", "refused", "not_held"],
                        "description": "Required when responding",
                    },
                    "exemptions": {
                        "type": "array",
                        "items": _TEXT,
                        "description": "Required for a part or full refusal (s.40, reg 12(4)(b)…)",
                    },
                    "stop_reason": {
                        "type": "string",
                        "enum": ["identity verification", "clarification", "fee"],
                        "description": "SAR clock stops only",
                    },
                },
                ["to", "on"],
            ),
            "responses": {"200": _json(_CASE_DETAIL, "The case"), **_errors(400, 401, 403, 404)},
        }
    },
    "/cases/{reference}/documents": {
        "get": {
            "summary": "One page (100) of the documents collected into the case",
            "operationId": "listCaseDocuments",
            "parameters": [_REFERENCE, _PAGE],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "page": _INTEGER,
                            "pages": _INTEGER,
                            "total": _INTEGER,
                            "described": {"type": "boolean"},
                            "items": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                    "Collected documents",
                ),
                **_errors(400, 401, 403, 404),
            },
        },
        "post": {
            "summary": "Collect documents, or every result of a search, onto the case's hold",
            "operationId": "collectCaseDocuments",
            "parameters": [_REFERENCE],
            "requestBody": _body(
                {
                    "doc_ids": {"type": "array", "items": _TEXT},
                    "query": {
                        **_TEXT,
                        "description": "The search page's query string (q=bus+shelter&type=pdf) "
                        "or search words",
                    },
                },
                [],
            ),
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "properties": {
                            "reference": _TEXT,
                            "collected": {**_INTEGER, "description": "Newly collected"},
                            "hold_id": {"type": ["integer", "null"]},
                        },
                    },
                    "How many documents were newly collected",
                ),
                **_errors(400, 401, 403, 404, 503),
            },
        },
    },
    "/cases/{reference}/searches": {
        "get": {
            "summary": "The case's scoping searches and its adequacy-of-search statement",
            "operationId": "listScopingSearches",
            "parameters": [_REFERENCE],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "searches": {"type": "array", "items": _SEARCH},
                            "adequacy": _TEXT,
                        },
                    },
                    "Searches",
                ),
                **_errors(401, 403, 404),
            },
        },
        "post": {
            "summary": "Run a scoping search and keep it with its counts (audited)",
            "operationId": "runScopingSearch",
            "parameters": [_REFERENCE],
            "requestBody": _body({"query": _TEXT}, ["query"]),
            "responses": {
                "201": _json(_SEARCH, "The search as run"),
                **_errors(400, 401, 403, 404, 503),
            },
        },
    },
    "/cases/{reference}/exports": {
        "get": {
            "summary": "The case's disclosure bundles",
            "operationId": "listCaseExports",
            "parameters": [_REFERENCE],
            "responses": {
                "200": _list_of("exports", _EXPORT, "Bundles"),
                **_errors(401, 403, 404),
            },
        },
        "post": {
            "summary": (
                "Ask for a disclosure bundle; it is written in the background (every original "
                "is re-read and hashed): poll the list for its status"
            ),
            "operationId": "exportCase",
            "parameters": [_REFERENCE],
            "responses": {
                "202": _json(_EXPORT, "The bundle, queued"),
                **_errors(400, 401, 403, 404),
            },
        },
    },
    "/statistics": {
        "get": {
            "summary": "Requests per quarter received and regime, with the cases behind each",
            "operationId": "getStatistics",
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["json", "csv"]},
                }
            ],
            "responses": {
                "200": {
                    "description": "The table",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "rows": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/StatisticsRow"},
                                    }
                                },
                            }
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_errors(400, 401, 403, 409),
            },
        }
    },
}

CASES_SCHEMAS: dict[str, Any] = {
    "Case": {
        "type": "object",
        "properties": {
            "reference": _TEXT,
            "regime": {"type": "string", "enum": ["FOIA", "EIR", "SAR"]},
            "title": _TEXT,
            "status": _TEXT,
            "assigned_to": _MAYBE_TEXT,
            "received": _DATE,
            "due": _MAYBE_DATE,
            "responded": _MAYBE_DATE,
            "internal_target": _MAYBE_DATE,
            "working_days_left": {"type": ["integer", "null"]},
            "overdue": {"type": "boolean"},
            "clock_stopped": {
                "type": ["object", "null"],
                "properties": {"awaiting": _TEXT, "since": _DATE},
            },
        },
    },
    "CaseDetail": {
        "allOf": [
            _CASE,
            {
                "type": "object",
                "properties": {
                    "request_text": _TEXT,
                    "requester_name": _TEXT,
                    "requester_contact": _MAYBE_TEXT,
                    "outcome": _MAYBE_TEXT,
                    "exemptions": {"type": "array", "items": _TEXT},
                    "hold_id": {"type": ["integer", "null"]},
                    "logged_minutes": _INTEGER,
                    "created_by": _TEXT,
                    "created_at": _MOMENT,
                    "deadline": {
                        "type": ["object", "null"],
                        "description": "The deadline engine's answer: due date, day-by-day "
                        "steps with each excluded day's reasons and nations, and notes",
                    },
                    "allowed_transitions": {"type": "array", "items": _TEXT},
                    "links": {"type": "array", "items": {"type": "object"}},
                    "collected": _INTEGER,
                    "estimate": {
                        "type": "object",
                        "properties": {
                            "cost_pence": _INTEGER,
                            "limit_pence": _INTEGER,
                            "exceeds_limit": {"type": "boolean"},
                            "working": _TEXT,
                        },
                    },
                },
            },
        ]
    },
    "ScopingSearch": {
        "type": "object",
        "properties": {
            "id": _INTEGER,
            "query": _TEXT,
            "words": _TEXT,
            "filters": {"type": "object", "additionalProperties": _TEXT},
            "sources": {"type": "array", "items": _TEXT},
            "hits": _INTEGER,
            "documents_in_scope": _INTEGER,
            "not_searchable": {"type": "object", "additionalProperties": _INTEGER},
            "not_held": {
                "type": "array",
                "description": "Matches that are records destroyed before the search (only "
                "their record of destruction remains), by day and retention class; they are "
                "not counted in hits or documents_in_scope",
                "items": {
                    "type": "object",
                    "properties": {
                        "documents": _INTEGER,
                        "destroyed_on": _MAYBE_DATE,
                        "class": _TEXT,
                        "class_name": _TEXT,
                        "statement": _TEXT,
                    },
                },
            },
            "run_by": _TEXT,
            "run_at": _MOMENT,
        },
    },
    "CaseExport": {
        "type": "object",
        "properties": {
            "id": _INTEGER,
            "name": _TEXT,
            "exported_by": _TEXT,
            "exported_at": _MOMENT,
            "expires_at": _MOMENT,
            "counts": {"type": "object", "additionalProperties": _INTEGER},
            "parts": {"type": "array", "items": _TEXT},
            "metadata_files": {"type": "array", "items": _TEXT},
            "available": {"type": "boolean"},
            "status": {
                "type": "string",
                "enum": ["queued", "running", "done", "failed"],
                "description": "A bundle's files can be downloaded once it is done",
            },
            "progress": {**_INTEGER, "description": "Documents written so far"},
            "error": {**_TEXT, "description": "Why a failed bundle failed"},
        },
    },
    "StatisticsRow": {
        "type": "object",
        "properties": {
            "quarter": {**_TEXT, "description": "For example 2026 Q1"},
            "regime": {"type": "string", "enum": ["FOIA", "EIR", "SAR", "All"]},
            "received": _INTEGER,
            "answered": _INTEGER,
            "in_time": _INTEGER,
            "late": _INTEGER,
            "open": _INTEGER,
            "percentage_in_time": {"type": ["number", "null"]},
            "average_days": {"type": ["number", "null"]},
            "cases": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _TEXT},
                "description": "Case references behind each count",
            },
        },
    },
}
