"""The OpenAPI description of the holds and retention endpoints (search_app.api.records),
merged into the API's document by search_app.api.openapi."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
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
    401: "Missing or invalid token",
    403: "The caller's role may not do this",
    404: "No such hold or batch",
    503: "Search unavailable",
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(_ERROR, _NAMES[code]) for code in codes}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_TEXT = {"type": "string"}

RECORDS_PATHS: dict[str, Any] = {
    "/holds": {
        "get": {
            "summary": "Every legal hold, newest first (FOI officers, records managers, admins)",
            "operationId": "listHolds",
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"holds": {"type": "array", "items": _HOLD}}},
                    "Holds",
                ),
                **_errors(401, 403),
            },
        },
        "post": {
            "summary": "Create a hold (audited)",
            "operationId": "createHold",
            "requestBody": _body(
                {"name": _TEXT, "reason": _TEXT, "case_ref": _TEXT}, ["name", "reason"]
            ),
            "responses": {"201": _json(_HOLD_DETAIL, "The new hold"), **_errors(400, 401, 403)},
        },
    },
    "/holds/{hold_id}": {
        "get": {
            "summary": "A hold, what it covers, and one page (100) of its files (audited)",
            "operationId": "getHold",
            "parameters": [_HOLD_ID, _PAGE],
            "responses": {"200": _json(_HOLD_DETAIL, "The hold"), **_errors(400, 401, 403, 404)},
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
                    {
                        "type": "object",
                        "properties": {
                            "hold_id": {"type": "integer"},
                            "kind": _TEXT,
                            "joined": {"type": "integer"},
                        },
                    },
                    "How many files newly joined the hold",
                ),
                **_errors(400, 401, 403, 404, 503),
            },
        }
    },
    "/holds/{hold_id}/release-request": {
        "post": {
            "summary": "Ask for a hold to be released (records managers; audited)",
            "operationId": "requestHoldRelease",
            "parameters": [_HOLD_ID],
            "requestBody": _body({"reason": _TEXT}, ["reason"]),
            "responses": {"200": _json(_HOLD_DETAIL, "The hold"), **_errors(400, 401, 403, 404)},
        }
    },
    "/holds/{hold_id}/release-approve": {
        "post": {
            "summary": "Approve a release: a records manager other than the requester",
            "operationId": "approveHoldRelease",
            "parameters": [_HOLD_ID],
            "responses": {"200": _json(_HOLD_DETAIL, "The hold"), **_errors(400, 401, 403, 404)},
        }
    },
    "/retention/report": {
        "get": {
            "summary": "Files per class and action, unclassified files, what can be disposed of",
            "operationId": "retentionReport",
            "responses": {
                "200": _json({"$ref": "#/components/schemas/RetentionReport"}, "The report"),
                **_errors(401, 403, 503),
            },
        }
    },
    "/retention/batches": {
        "get": {
            "summary": "Every disposal batch, newest first (records managers, admins)",
            "operationId": "listDisposalBatches",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"batches": {"type": "array", "items": _BATCH}},
                    },
                    "Batches",
                ),
                **_errors(401, 403),
            },
        },
        "post": {
            "summary": "Build a batch of everything eligible today (records managers; audited)",
            "operationId": "buildDisposalBatch",
            "responses": {
                "201": _json(_BATCH, "The new batch, to review and approve"),
                "200": _json(
                    {"type": "object", "properties": {"batch": {"type": "null"}, "message": _TEXT}},
                    "Nothing is eligible today",
                ),
                **_errors(400, 401, 403, 503),
            },
        },
    },
    "/retention/batches/{batch_id}/approve": {
        "post": {
            "summary": "Approve a batch: a records manager who did not build it and has not "
            "approved it (FOI_DISPOSAL_APPROVALS=2 needs two); refusals audited",
            "operationId": "approveDisposalBatch",
            "parameters": [_BATCH_ID],
            "responses": {"200": _json(_BATCH, "The batch"), **_errors(400, 401, 403, 404)},
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
                    {
                        "allOf": [
                            _BATCH,
                            {
                                "type": "object",
                                "properties": {
                                    name: {"type": "integer"}
                                    for name in ("destroyed", "skipped", "failed", "excluded")
                                },
                            },
                        ]
                    },
                    "The executed batch with the certificate's counts",
                ),
                **_errors(400, 401, 403, 404, 503),
            },
        }
    },
    "/retention/batches/{batch_id}": {
        "get": {
            "summary": "A disposal batch and one page (100) of its files",
            "operationId": "getDisposalBatch",
            "parameters": [_BATCH_ID, _PAGE],
            "responses": {
                "200": _json(
                    {
                        "allOf": [
                            _BATCH,
                            {
                                "type": "object",
                                "properties": {
                                    "states": {
                                        "type": "object",
                                        "additionalProperties": {"type": "integer"},
                                    },
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "page": {"type": "integer"},
                                            "pages": {"type": "integer"},
                                            "total": {"type": "integer"},
                                            "items": {
                                                "type": "array",
                                                "items": {
                                                    "$ref": "#/components/schemas/DisposalItem"
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        ]
                    },
                    "The batch",
                ),
                **_errors(400, 401, 403, 404),
            },
        }
    },
}

_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_MAYBE_TEXT = {"type": ["string", "null"]}

RECORDS_SCHEMAS: dict[str, Any] = {
    "Hold": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": _TEXT,
            "status": {"type": "string", "enum": ["active", "release_requested", "released"]},
            "case_ref": _TEXT,
            "owner": _TEXT,
            "reason": _TEXT,
            "files": {"type": "integer"},
            "preservation_failures": {"type": "integer"},
            "created_by": _TEXT,
            "created_at": _MOMENT,
            "release_requested_by": _MAYBE_TEXT,
            "release_requested_at": _MOMENT,
            "release_reason": _MAYBE_TEXT,
            "released_by": _MAYBE_TEXT,
            "released_at": _MOMENT,
        },
    },
    "HoldDetail": {
        "allOf": [
            _HOLD,
            {
                "type": "object",
                "properties": {
                    "scopes": {"type": "array", "items": {"type": "object"}},
                    "members": {
                        "type": "object",
                        "properties": {
                            "page": {"type": "integer"},
                            "pages": {"type": "integer"},
                            "total": {"type": "integer"},
                            "items": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
            },
        ]
    },
    "RetentionReport": {
        "type": "object",
        "properties": {
            "schedule_version": _MAYBE_TEXT,
            "files": {"type": "integer"},
            "by_class": {"type": "array", "items": {"type": "object"}},
            "by_action": {"type": "object", "additionalProperties": {"type": "integer"}},
            "unclassified": {"type": "object"},
            "eligible": {"type": "object"},
        },
    },
    "DisposalBatch": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "status": {
                "type": "string",
                "enum": ["pending", "approved", "executing", "executed", "cancelled"],
            },
            "schedule_version": _TEXT,
            "created_by": _TEXT,
            "created_at": _MOMENT,
            "approvals_needed": {"type": "integer"},
            "approved_by": {"type": "array", "items": _TEXT},
            "approved_at": _MOMENT,
            "executed_by": _MAYBE_TEXT,
            "executed_at": _MOMENT,
            "note": _MAYBE_TEXT,
            "counts": {"type": "object"},
            "one_person": {
                "type": "boolean",
                "description": "one person may decide this destruction alone "
                "(FOI_DISPOSAL_APPROVALS=1)",
            },
            "warning": _MAYBE_TEXT,
        },
    },
    "DisposalItem": {
        "type": "object",
        "properties": {
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
            "size": {"type": "integer"},
            "share_modified": {**_MOMENT, "description": "the share's last-write time"},
            "embedded_modified": {
                **_MOMENT,
                "description": "the date inside the file, when it differs from the share's",
            },
            "modified": {**_MOMENT, "description": "the same as share_modified"},
            "state": {
                "type": "string",
                "enum": ["proposed", "excluded", "destroyed", "skipped", "failed"],
            },
            "reason": _MAYBE_TEXT,
        },
    },
}
