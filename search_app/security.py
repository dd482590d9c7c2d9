"""Security headers on every response.

The policy allows no inline script or style at all, so templates must keep every style in
static/app.css and carry no `style=` attributes, `<script>` or `on*=` handlers (a unit test
scans them).
"""

from __future__ import annotations

from flask import Flask, Response, request

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


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


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
