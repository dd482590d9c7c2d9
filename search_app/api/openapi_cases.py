"""The OpenAPI description of the request-case and statistics endpoints (search_app.api.cases),
merged into the API's document by search_app.api.openapi. Every object is closed and lists
what is always sent as required (see search_app.api.openapi); the enumerations are the code's
own (case statuses, regimes, export states)."""

from __future__ import annotations

from typing import Any

from cases.deadlines.calendar import NationTag
from cases.deadlines.records import ClockStopReason, Regime
from cases.export_jobs import ExportState
from foi_core.models import CaseStatus
from search_app.api.openapi_parts import array_of as _array
from search_app.api.openapi_parts import closed_object as _object
from search_app.api.openapi_parts import error_responses
from search_app.api.openapi_parts import json_body as _body
from search_app.api.openapi_parts import json_response as _json

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
    403: "The caller's role may not work cases (FOI officers, records managers, admins may)",
    404: "No such case",
    409: "Some cases cannot be counted until their records are fixed (the message lists them)",
    503: "Search unavailable",
}
_TEXT = {"type": "string"}
_DATE = {"type": "string", "format": "date"}
_MAYBE_DATE = {"type": ["string", "null"], "format": "date"}
_MOMENT = {"type": "string", "format": "date-time"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_INTEGER = {"type": "integer"}
_BOOLEAN = {"type": "boolean"}
_STATUS = {"type": "string", "enum": [s.value for s in CaseStatus]}
_REGIME = {"type": "string", "enum": [r.value for r in Regime]}
_COUNTS = {"type": "object", "additionalProperties": _INTEGER}


def _errors(*codes: int) -> dict[str, Any]:
    return error_responses(_NAMES, *codes)


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
                    _object(
                        {
                            "cases": _array(_CASE),
                            "page": _INTEGER,
                            "pages": _INTEGER,
                            "total": _INTEGER,
                        }
                    ),
                    "Cases",
                ),
                **_errors(400, 403),
            },
        },
        "post": {
            "summary": "Create a case; its due date is computed (audited)",
            "operationId": "createCase",
            "requestBody": _body(
                {
                    "regime": _REGIME,
                    "received": _DATE,
                    "title": _TEXT,
                    "request_text": _TEXT,
                    "requester_name": _TEXT,
                    "requester_contact": _TEXT,
                    "assigned_to": {**_TEXT, "description": "An FOI officer; the caller if empty"},
                },
                ["regime", "received", "title", "request_text", "requester_name"],
            ),
            "responses": {"201": _json(_CASE_DETAIL, "The new case"), **_errors(400, 403)},
        },
    },
    "/cases/{reference}": {
        "get": {
            "summary": "A case with its deadline, its explanation and the requester (audited)",
            "operationId": "getCase",
            "parameters": [_REFERENCE],
            "responses": {"200": _json(_CASE_DETAIL, "The case"), **_errors(403, 404)},
        }
    },
    "/cases/{reference}/transitions": {
        "post": {
            "summary": "Move the case to its next status; the clock follows (audited)",
            "operationId": "transitionCase",
            "parameters": [_REFERENCE],
            "requestBody": _body(
                {
                    "to": _STATUS,
                    "on": _DATE,
                    "outcome": {
                        "type": "string",
                        "enum": ["full", "part", "refused", "not_held"],
                        "description": "Required when responding",
                    },
                    "exemptions": {
                        **_array(_TEXT),
                        "description": "Required for a part or full refusal (s.40, reg 12(4)(b)…)",
                    },
                    "stop_reason": {
                        "type": "string",
                        "enum": [r.value for r in ClockStopReason],
                        "description": "SAR clock stops only",
                    },
                },
                ["to", "on"],
            ),
            "responses": {"200": _json(_CASE_DETAIL, "The case"), **_errors(400, 403, 404)},
        }
    },
    "/cases/{reference}/documents": {
        "get": {
            "summary": "One page (100) of the documents collected into the case",
            "operationId": "listCaseDocuments",
            "parameters": [_REFERENCE, _PAGE],
            "responses": {
                "200": _json(
                    _object(
                        {
                            "page": _INTEGER,
                            "pages": _INTEGER,
                            "total": _INTEGER,
                            "described": {
                                **_BOOLEAN,
                                "description": "false when the index could not be reached: "
                                "the items then carry their ids only",
                            },
                            "items": _array({"$ref": "#/components/schemas/CaseDocument"}),
                        }
                    ),
                    "Collected documents",
                ),
                **_errors(400, 403, 404),
            },
        },
        "post": {
            "summary": "Collect documents, or every result of a search, onto the case's hold",
            "operationId": "collectCaseDocuments",
            "parameters": [_REFERENCE],
            "requestBody": _body(
                {
                    "doc_ids": _array({"type": "string", "pattern": "^[0-9a-f]{40}$"}),
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
                    _object(
                        {
                            "reference": _TEXT,
                            "collected": {**_INTEGER, "description": "Newly collected"},
                            "hold_id": {"type": ["integer", "null"]},
                        }
                    ),
                    "How many documents were newly collected",
                ),
                **_errors(400, 403, 404, 503),
            },
        },
    },
    "/cases/{reference}/searches": {
        "get": {
            "summary": "The case's scoping searches and its adequacy-of-search statement",
            "operationId": "listScopingSearches",
            "parameters": [_REFERENCE],
            "responses": {
                "200": _json(_object({"searches": _array(_SEARCH), "adequacy": _TEXT}), "Searches"),
                **_errors(403, 404),
            },
        },
        "post": {
            "summary": "Run a scoping search and keep it with its counts (audited)",
            "operationId": "runScopingSearch",
            "parameters": [_REFERENCE],
            "requestBody": _body({"query": _TEXT}, ["query"]),
            "responses": {
                "201": _json(_SEARCH, "The search as run"),
                **_errors(400, 403, 404, 503),
            },
        },
    },
    "/cases/{reference}/exports": {
        "get": {
            "summary": "The case's disclosure bundles",
            "operationId": "listCaseExports",
            "parameters": [_REFERENCE],
            "responses": {
                "200": _json(_object({"exports": _array(_EXPORT)}), "Bundles"),
                **_errors(403, 404),
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
                **_errors(400, 403, 404),
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
                            "schema": _object(
                                {"rows": _array({"$ref": "#/components/schemas/StatisticsRow"})}
                            )
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_errors(400, 403, 409),
            },
        }
    },
}

_REASONS = _array(
    _object(
        {"name": _TEXT, "nations": _array({"type": "string", "enum": [n.value for n in NationTag]})}
    )
)
_DEADLINE = _object(
    {
        "regime": _REGIME,
        "received": _DATE,
        "extended": _BOOLEAN,
        "start": {**_DATE, "description": "The day the count runs from"},
        "due": _DATE,
        "working_days": {"type": ["integer", "null"], "description": "null for SAR"},
        "excluded_days": _array(_object({"date": _DATE, "reasons": _REASONS})),
        "steps": _array(
            _object(
                {
                    "date": _DATE,
                    "day_number": {"type": ["integer", "null"]},
                    "note": _TEXT,
                    "reasons": _REASONS,
                }
            )
        ),
        "notes": _array(_TEXT),
        "calendar_version": _TEXT,
    }
)
_CASE_FIELDS: dict[str, Any] = {
    "reference": _TEXT,
    "regime": _REGIME,
    "title": _TEXT,
    "status": _STATUS,
    "assigned_to": _MAYBE_TEXT,
    "received": _DATE,
    "due": _MAYBE_DATE,
    "responded": _MAYBE_DATE,
    "internal_target": _MAYBE_DATE,
    "working_days_left": {"type": ["integer", "null"], "description": "null once closed"},
    "overdue": _BOOLEAN,
    "clock_stopped": {
        "oneOf": [
            _object({"awaiting": _TEXT, "since": _MAYBE_DATE}),
            {"type": "null"},
        ]
    },
}

CASES_SCHEMAS: dict[str, Any] = {
    "Case": _object(_CASE_FIELDS),
    "CaseDetail": _object(
        {
            **_CASE_FIELDS,
            "request_text": _TEXT,
            "requester_name": _TEXT,
            "requester_contact": _MAYBE_TEXT,
            "outcome": _MAYBE_TEXT,
            "exemptions": _array(_TEXT),
            "hold_id": {"type": ["integer", "null"]},
            "logged_minutes": _INTEGER,
            "created_by": _TEXT,
            "created_at": _MOMENT,
            "deadline": {
                "oneOf": [_DEADLINE, {"type": "null"}],
                "description": "The deadline engine's answer: due date, day-by-day steps with "
                "each excluded day's reasons and nations, and notes",
            },
            "allowed_transitions": _array(_STATUS),
            "links": _array(_object({"reference": _TEXT, "why": _TEXT, "added_by": _TEXT})),
            "collected": _INTEGER,
            "estimate": _object(
                {
                    "cost_pence": _INTEGER,
                    "limit_pence": _INTEGER,
                    "exceeds_limit": _BOOLEAN,
                    "working": _TEXT,
                }
            ),
        }
    ),
    "CaseDocument": _object(
        {
            "doc_id": _TEXT,
            "root_id": _TEXT,
            "title": _TEXT,
            "path": _TEXT,
            "unc": _TEXT,
            "status": _TEXT,
            "in_index": _BOOLEAN,
            "held": _BOOLEAN,
            "collected_by": _TEXT,
            "collected_at": _MOMENT,
        }
    ),
    "ScopingSearch": _object(
        {
            "id": _INTEGER,
            "query": _TEXT,
            "words": _TEXT,
            "filters": {"type": "object", "additionalProperties": _TEXT},
            "sources": _array(_TEXT),
            "hits": _INTEGER,
            "documents_in_scope": _INTEGER,
            "not_searchable": _COUNTS,
            "not_held": {
                **_array(
                    _object(
                        {
                            "documents": _INTEGER,
                            "destroyed_on": _MAYBE_DATE,
                            "class": _TEXT,
                            "class_name": _TEXT,
                            "statement": _TEXT,
                        }
                    )
                ),
                "description": "Matches that are records destroyed before the search (only "
                "their record of destruction remains), by day and retention class; they are "
                "not counted in hits or documents_in_scope",
            },
            "run_by": _TEXT,
            "run_at": _MOMENT,
        }
    ),
    "CaseExport": _object(
        {
            "id": _INTEGER,
            "name": _TEXT,
            "exported_by": _TEXT,
            "exported_at": _MOMENT,
            "expires_at": _MOMENT,
            "counts": _COUNTS,
            "parts": _array(_TEXT),
            "metadata_files": _array(_TEXT),
            "available": _BOOLEAN,
            "status": {
                "type": "string",
                "enum": [s.value for s in ExportState],
                "description": "A bundle's files can be downloaded once it is done",
            },
            "progress": {**_INTEGER, "description": "Documents written so far"},
            "error": {**_TEXT, "description": "Why a failed bundle failed; empty otherwise"},
        }
    ),
    "StatisticsRow": _object(
        {
            "quarter": {**_TEXT, "description": "For example 2026 Q1"},
            "regime": {"type": "string", "enum": [*(r.value for r in Regime), "All"]},
            "received": _INTEGER,
            "answered": _INTEGER,
            "in_time": _INTEGER,
            "late": _INTEGER,
            "open": _INTEGER,
            "percentage_in_time": {"type": ["number", "null"]},
            "average_days": {"type": ["number", "null"]},
            "cases": {
                "type": "object",
                "additionalProperties": _array(_TEXT),
                "description": "Case references behind each count",
            },
        }
    ),
}
