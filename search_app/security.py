"""Security headers on every response, and ids in URLs kept within what the database holds.

The policy allows no inline script or style at all, so templates must keep every style in
static/app.css and carry no `style=` attributes, `<script>` or `on*=` handlers (a unit test
scans them).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter, Map

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Only over HTTPS (the browser ignores it otherwise; the proxy may set it too).
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


# The largest value of the database's INTEGER ids (PostgreSQL's is 32-bit; SQLite refuses
# anything past 64 bits with an error rather than "not found").
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: a number past MAX_ID matches no route (404), like any id that
    does not exist, instead of reaching the database."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: routes take the id converter when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)
    app.after_request(add_security_headers)


def refuse_nul() -> Response | None:
    """A NUL in a path, query or form value is never meaningful, and PostgreSQL refuses it
    in text (a 500 deep in a view): answer 400 before any view sees it."""
    values = [request.path, *request.args.values(), *request.args.keys()]
    if request.method == "POST" and request.mimetype in _FORM_TYPES:
        values += [*request.form.values(), *request.form.keys()]
    if any("\x00" in value for value in values):
        return Response("A value sent holds a NUL character.", status=400, mimetype="text/plain")
    return None


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def add_security_headers(response: Response) -> Response:
    # A response that brings its own policy keeps it: downloads of crawled files set a
    # stricter one (sandbox, nothing loads) than a page needs.
    own_policy = response.headers.get("Content-Security-Policy")
    response.headers.update(HEADERS)
    if own_policy:
        response.headers["Content-Security-Policy"] = own_policy
    # Pages show records and carry form tokens: never stored by browsers or proxies. The
    # stylesheet is the one thing worth caching.
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return response
