"""What the pages and the API read from a request the same way: the client's address for the
audit log, a document id, a form field, the page number of a list.

Nothing here refuses a request: a malformed page number falls back to the first page and a
form field is trimmed and capped, so each view decides what is an error.
"""

from __future__ import annotations

import re

from flask import request

# A document id: 40 lower-case hex characters (a cut SHA-256, indexer.documents).
DOC_ID = re.compile(r"^[0-9a-f]{40}$")


def client_ip() -> str:
    """The client's address as the audit log records it ("" when there is none). Behind a
    proxy (settings.proxy_hops) ProxyFix has already made it the forwarded client's."""
    return request.remote_addr or ""


def form_field(name: str, limit: int) -> str:
    """A posted form field, trimmed, then cut to `limit` characters ("" when absent)."""
    return request.form.get(name, "").strip()[:limit]


def page_number() -> int:
    """?page= for a paged list: up to six digits as given (so 0 passes, for the list to clamp),
    anything else the first page."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdecimal() and 0 < len(raw) < 7 else 1
