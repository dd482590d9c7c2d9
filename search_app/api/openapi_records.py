"""The OpenAPI description of the holds and retention endpoints (search_app.api.records),
merged into the API's document by search_app.api.openapi. Every object is closed and lists
what is always sent as required (see search_app.api.openapi)."""

from __future__ import annotations

from typing import Any

from search_app.api.openapi_parts import closed_object as _object
from search_app.api.openapi_parts import error_responses
from search_app.api.openapi_parts import json_body as _body
from search_app.api.openapi_parts import json_response as _json

_HOLD = {"$ref": "#/components/schemas/Hold"}
_HOLD_DETAIL = {"$ref": "#/components/schemas/HoldDetail"}
_BATCH = {"$ref": "#/components/schemas/DisposalBatch"}
_HOLD_ID = {
    "name": "hold_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
_BATCH_ID = {**_HOLD_ID, "name": "batch_id"}
_PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}
_NAMES = {
    400: "Bad input, or refused by the service (the message says why; refusals are audited)",
    403: "The caller's role may not do this",
    404: "No such hold or batch",
    503: "Search unavailable",
}
_TEXT = {"type": "string"}
_INTEGER = {"type": "integer"}
_MOMENT = {"type": "string", "format": "date-time"}
_MAYBE_MOMENT = {**_MOMENT, "type": ["string", "null"]}
_MAYBE_TEXT = {"type": ["string", "null"]}
_COUNTS = {"type": "object", "additionalProperties": _INTEGER}


def _page_of(item: dict[str, Any]) -> dict[str, Any]:
    return _object(
        {
            "page": _INTEGER,
            "pages": _INTEGER,
            "total": _INTEGER,
            "items": {"type": "array", "items": item},
        }
    )


def _errors(*codes: int) -> dict[str, Any]:
    return error_responses(_NAMES, *codes)


RECORDS_PATHS: dict[str, Any] = {
    "/holds": {
        "get": {
            "summary": "Every legal hold, newest first (FOI officers, records managers, admins)",
            "operationId": "listHolds",
            "responses": {
                "200": _json(_object({"holds": {"type": "array", "items": _HOLD}}), "Holds"),
                **_errors(403),
            },
        },
        "post": {
            "summary": "Create a hold (audited)",
            "operationId": "createHold",
            "requestBody": _body(
                {"name": _TEXT, "reason": _TEXT, "case_ref": _TEXT}, ["name", "reason"]
            ),
            "responses": {"201": _json(_HOLD_DETAIL, "The new hold"), **_errors(400, 403)},
        },
    },
    "/holds/{hold_id}": {
        "get": {
            "summary": "A hold, what it covers, and one page (100) of its files (audited)",
            "operationId": "getHold",
            "parameters": [_HOLD_ID, _PAGE],
            "responses": {"200": _json(_HOLD_DETAIL, "The hold"), **_errors(400, 403, 404)},
        }
    },
    "/holds/{hold_id}/scopes": {
        "post": {
            "summary": "Hold a document, a folder or a search; copies are preserved in the "
            "background",
            "operationId": "addHoldScope",
            "parameters": [_HOLD_ID],
            "requestBody": _body(
                {
                    "kind": {"type": "string", "enum": ["item", "folder", "query"]},
                    "doc_id": {**_TEXT, "description": "item: the document's id"},
                    "source": {**_TEXT, "description": "folder: the source's name"},
                    "folder": {
                        **_TEXT,
                        "description": "folder: the folder below the source's root "
                        "(Cases/Smith), or its UNC path on the source; '/' is the whole source. "
                        "'..', other shares, drive paths and control characters are refused",
                    },
                    "confirm_whole_source": {
                        "type": "boolean",
                        "description": "folder: true to hold every file of the source (needed "
                        "when the folder is the whole source; without it the answer is a 400 "
                        "with the number of files in `files`)",
                    },
                    "query": {
                        **_TEXT,
                        "description": "query: the search page's query string "
                        "(q=riverside+wharf&type=pdf) or search words",
                    },
                },
                ["kind"],
            ),
            "responses": {
                "201": _json(
                    _object(
                        {
                            "hold_id": _INTEGER,
                            "kind": {"type": "string", "enum": ["item", "folder", "query"]},
                            "joined": {**_INTEGER, "description": "files newly held"},
                        }
                    ),
                    "How many files newly joined the hold",
                ),
                **_errors(400, 403, 404, 503),
            },
        }
    },
    "/holds/{hold_id}/release-request": {
        "post": {
            "summary": "Ask for a hold to be released (records managers; audited)",
            "operationId": "requestHoldRelease",
            "parameters": [_HOLD_ID],
            "requestBody": _body({"reason": _TEXT}, ["reason"]),
            "responses": {"200": _json(_HOLD_DETAIL, "The hold"), **_errors(400, 403, 404)},
        }
    },
    "/holds/{hold_id}/release-approve": {
        "post": {
            "summary": "Approve a release: a records manager other than the requester",
            "operationId": "approveHoldRelease",
            "parameters": [_HOLD_ID],
            "responses": {"200": _json(_HOLD_DETAIL, "The hold"), **_errors(400, 403, 404)},
        }
    },
    "/retention/report": {
        "get": {
            "summary": "Files per class and action, unclassified files, what can be disposed of",
            "operationId": "retentionReport",
            "responses": {
                "200": _json({"$ref": "#/components/schemas/RetentionReport"}, "The report"),
                **_errors(403, 503),
            },
        }
    },
    "/retention/batches": {
        "get": {
            "summary": "Every disposal batch, newest first (records managers, admins)",
            "operationId": "listDisposalBatches",
            "responses": {
                "200": _json(_object({"batches": {"type": "array", "items": _BATCH}}), "Batches"),
                **_errors(403),
            },
        },
        "post": {
            "summary": "Build a batch of everything eligible today (records managers; audited)",
            "operationId": "buildDisposalBatch",
            "responses": {
                "201": _json(_BATCH, "The new batch, to review and approve"),
                "200": _json(
                    _object({"batch": {"type": "null"}, "message": _TEXT}),
                    "Nothing is eligible today",
                ),
                **_errors(400, 403, 503),
            },
        },
    },
    "/retention/batches/{batch_id}/approve": {
        "post": {
            "summary": "Approve a batch: a records manager who did not build it and has not "
            "approved it (FOI_DISPOSAL_APPROVALS=2 needs two); refusals audited",
            "operationId": "approveDisposalBatch",
            "parameters": [_BATCH_ID],
            "responses": {"200": _json(_BATCH, "The batch"), **_errors(400, 403, 404)},
        }
    },
    "/retention/batches/{batch_id}/execute": {
        "post": {
            "summary": "Destroy an approved batch's files (each checked again first) and write "
            "the certificate: a records manager who did not build it; refusals audited",
            "operationId": "executeDisposalBatch",
            "parameters": [_BATCH_ID],
            "requestBody": _body(
                {
                    "confirm": {
                        "type": "boolean",
                        "description": "must be true: destruction cannot be undone",
                    }
                },
                ["confirm"],
            ),
            "responses": {
                "200": _json(
                    {"$ref": "#/components/schemas/ExecutedDisposalBatch"},
                    "The executed batch with the certificate's counts",
                ),
                **_errors(400, 403, 404, 503),
            },
        }
    },
    "/retention/batches/{batch_id}": {
        "get": {
            "summary": "A disposal batch and one page (100) of its files",
            "operationId": "getDisposalBatch",
            "parameters": [_BATCH_ID, _PAGE],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/DisposalBatchDetail"}, "The batch"),
                **_errors(400, 403, 404),
            },
        }
    },
}

_HOLD_STATUS = {"type": "string", "enum": ["active", "release_requested", "released"]}
_HOLD_FIELDS: dict[str, Any] = {
    "id": _INTEGER,
    "name": _TEXT,
    "status": _HOLD_STATUS,
    "case_ref": {**_TEXT, "description": "empty when the hold is not for a case"},
    "owner": _TEXT,
    "reason": _TEXT,
    "files": _INTEGER,
    "preservation_failures": _INTEGER,
    "created_by": _TEXT,
    "created_at": _MOMENT,
    "release_requested_by": _MAYBE_TEXT,
    "release_requested_at": _MAYBE_MOMENT,
    "release_reason": _MAYBE_TEXT,
    "released_by": _MAYBE_TEXT,
    "released_at": _MAYBE_MOMENT,
}
_SCOPE = _object(
    {
        "id": _INTEGER,
        "kind": {"type": "string", "enum": ["item", "folder", "query"]},
        "description": _TEXT,
        "added_by": _TEXT,
        "added_at": _MOMENT,
    }
)
_MEMBER = _object(
    {
        "root_id": _TEXT,
        "doc_id": _TEXT,
        "source": _TEXT,
        "path": _TEXT,
        "unc": _TEXT,
        "conservative": {
            "type": "boolean",
            "description": "held because its location could not be ruled out",
        },
        "preservation": {
            "type": "array",
            "items": _object({"status": _TEXT, "error": _TEXT}),
        },
    }
)
_BATCH_FIELDS: dict[str, Any] = {
    "id": _INTEGER,
    "status": {
        "type": "string",
        "enum": ["pending", "approved", "executing", "executed", "cancelled"],
    },
    "schedule_version": _TEXT,
    "created_by": _TEXT,
    "created_at": _MOMENT,
    "approvals_needed": _INTEGER,
    "approved_by": {"type": "array", "items": _TEXT},
    "approved_at": _MAYBE_MOMENT,
    "executed_by": _MAYBE_TEXT,
    "executed_at": _MAYBE_MOMENT,
    "note": _MAYBE_TEXT,
    "counts": {
        **_COUNTS,
        "description": "items and bytes when built; destroyed, skipped, failed and excluded "
        "once executed",
    },
    "one_person": {
        "type": "boolean",
        "description": "one person may decide this destruction alone (FOI_DISPOSAL_APPROVALS=1)",
    },
    "warning": _MAYBE_TEXT,
}
_ITEM_STATE = {"type": "string", "enum": ["proposed", "excluded", "destroyed", "skipped", "failed"]}

RECORDS_SCHEMAS: dict[str, Any] = {
    "Hold": _object(_HOLD_FIELDS),
    "HoldDetail": _object(
        {
            **_HOLD_FIELDS,
            "scopes": {"type": "array", "items": _SCOPE},
            "members": _page_of(_MEMBER),
        }
    ),
    "RetentionReport": _object(
        {
            "schedule_version": _MAYBE_TEXT,
            "files": _INTEGER,
            "by_class": {
                "type": "array",
                "items": _object({"class_id": _TEXT, "files": _INTEGER, "bytes": _INTEGER}),
            },
            "by_action": _COUNTS,
            "unclassified": _object(
                {
                    "files": _INTEGER,
                    "bytes": _INTEGER,
                    "folders": {
                        "type": "array",
                        "items": _object({"folder": _TEXT, "files": _INTEGER}),
                    },
                }
            ),
            "eligible": _object({"files": _INTEGER, "bytes": _INTEGER}),
        }
    ),
    "DisposalBatch": _object(_BATCH_FIELDS),
    "ExecutedDisposalBatch": _object(
        {
            **_BATCH_FIELDS,
            **{name: _INTEGER for name in ("destroyed", "skipped", "failed", "excluded")},
        }
    ),
    "DisposalBatchDetail": _object(
        {
            **_BATCH_FIELDS,
            "states": {
                "type": "object",
                "propertyNames": _ITEM_STATE,
                "additionalProperties": _INTEGER,
            },
            "items": _page_of({"$ref": "#/components/schemas/DisposalItem"}),
        }
    ),
    "DisposalItem": _object(
        {
            "doc_id": _TEXT,
            "source": _TEXT,
            "path": _TEXT,
            "unc": _TEXT,
            "class_id": _TEXT,
            "class_name": _TEXT,
            "rule": {**_MAYBE_TEXT, "description": "the class's rule in words"},
            "trigger_date": {
                "type": ["string", "null"],
                "format": "date",
                "description": "the date the rule counted from",
            },
            "disposal_date": {"type": "string", "format": "date"},
            "size": _INTEGER,
            "share_modified": {**_MAYBE_MOMENT, "description": "the share's last-write time"},
            "embedded_modified": {
                **_MAYBE_MOMENT,
                "description": "the date inside the file, when it differs from the share's",
            },
            "modified": {**_MAYBE_MOMENT, "description": "the same as share_modified"},
            "state": _ITEM_STATE,
            "reason": _MAYBE_TEXT,
        }
    ),
}
