"""The building blocks the API's OpenAPI modules share (search_app.api.openapi,
openapi_cases, openapi_records): closed objects, JSON responses and request bodies, and the
error answers every operation documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
SIGN_IN_REQUIRED = {"$ref": "#/components/schemas/SignInRequired"}
TEXT = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
COUNTS = {"type": "object", "additionalProperties": INTEGER}
PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}


def closed_object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object: every property not named `optional` is always sent, and nothing else is
    (tests/integration/test_api_schema.py holds the real answers to this)."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def array_of(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A required JSON request body; only the `required` properties must be given."""
    schema = {**closed_object(properties), "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def error_responses(names: Mapping[int, str], *codes: int) -> dict[str, Any]:
    """The 401 every operation answers without a valid token, and the `codes` it documents,
    each described by `names`."""
    return {
        "401": json_response(SIGN_IN_REQUIRED, "Missing or invalid token"),
        **{str(code): json_response(ERROR, names[code]) for code in codes},
    }
