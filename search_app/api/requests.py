"""How the JSON API reads a request and answers one it cannot act on.

Every API blueprint registers `json_error`, so an abort anywhere under /api/v1 answers
`{"error": <HTTP name>, "message": <what to send instead>}` with its status; a refusal by a
service is a 400 `{"error": "Refused", "message": <the service's message>}` (`refused`).
Parsing aborts with a 400 naming the field; an id in the path that is not a plain number names
nothing, so it is a 404.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from foi_core.models import as_utc

INDEX_UNAVAILABLE = "the search index cannot be reached just now"
# Page numbers of the API's lists stop below this (a client paging that far has a bug).
PAGE_LIMIT = 1_000_000


def json_error(error: HTTPException) -> tuple[Response, int]:
    return jsonify(error=error.name, message=error.description), error.code or 500


def answer_errors_as_json(bp: Blueprint) -> None:
    """Make every HTTP error raised by `bp`'s views a JSON body (`json_error`)."""
    bp.register_error_handler(HTTPException, json_error)


def refused(error: ValueError, **extra: Any) -> ResponseReturnValue:
    """A service's refusal (its message as given, plus `extra` fields) as a 400."""
    return jsonify(error="Refused", message=str(error), **extra), 400


def path_number(raw: str, what: str) -> int:
    """A path id: anything but a plain number names nothing, so it is a 404."""
    if not raw.isdecimal() or len(raw) > 9:
        abort(404, description=f"there is no {what} {raw[:40]!r}")
    return int(raw)


def page_number(*, limit: int | None = PAGE_LIMIT) -> int:
    """?page=, a whole number from 1 and below `limit` (None: no limit); 400 otherwise."""
    raw = request.args.get("page", "1")
    if not raw.isdecimal() or int(raw) < 1 or (limit is not None and int(raw) >= limit):
        abort(400, description="page must be a whole number from 1")
    return int(raw)


def json_object() -> dict[str, Any]:
    """The JSON object sent, its values unchecked; 400 if the body is not one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="send a JSON object (Content-Type: application/json)")
    return body


def string_fields(*required: str, flags: tuple[str, ...] = ()) -> dict[str, str]:
    """The JSON object sent, every value a string except the `flags` (true or false, and left
    out of what is returned: read them with `flag`); 400 naming what is missing or wrong."""
    body = json_object()
    not_flags = sorted(k for k in flags if k in body and not isinstance(body[k], bool))
    if not_flags:
        abort(400, description=f"these fields must be true or false: {', '.join(not_flags)}")
    wrong = sorted(k for k, v in body.items() if k not in flags and not isinstance(v, str))
    if wrong:
        abort(400, description=f"these fields must be strings: {', '.join(wrong)}")
    missing = [name for name in required if not str(body.get(name, "")).strip()]
    if missing:
        abort(400, description=f"required: {', '.join(missing)}")
    return {str(k): str(v) for k, v in body.items() if k not in flags}


def flag(name: str) -> bool:
    """A true/false field of the JSON object `string_fields` has checked (absent is false)."""
    body = request.get_json(silent=True)
    return isinstance(body, dict) and body.get(name) is True


def iso(value: date | datetime | None) -> str | None:
    """A date as YYYY-MM-DD; a moment in RFC 3339 with its offset (SQLite gives back naive
    UTC, PostgreSQL aware moments: both are sent the same way)."""
    if isinstance(value, datetime):
        return as_utc(value).astimezone(UTC).isoformat()
    return value.isoformat() if value is not None else None
