"""The document page and the download of originals, both trimmed and audited.

A document a user may not see answers 404, exactly like one that does not exist. Staff who see
everything (FOI officers, records managers, admins) reach documents their own SIDs would not
allow; each such view or download is audited with outcome "override".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from elasticsearch import ApiError, TransportError
from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from crawler.acl import read_acl
from crawler.shares import CHUNK_BYTES, ShareProvider, SourceUnavailable
from crawler.smb import SourceError
from foi_core.audit import Outcome, record
from foi_core.db import transaction
from indexer.search import records
from ingest import moves
from search_app import permissions
from search_app.auth import CurrentUser, services, signed_in_user
from search_app.records.keeping import RecordsState, records_state
from search_app.request_input import DOC_ID, client_ip

bp = Blueprint("documents", __name__)


def shares() -> ShareProvider:
    return services().shares


def audit_access(user: CurrentUser, action: str, doc_id: str, outcome: str, **details: Any) -> None:
    with transaction(services().sessions) as session:
        record(
            session,
            actor=user.username,
            action=action,
            target=doc_id,
            ip=client_ip(),
            outcome=outcome,
            details=details,
        )


def load_visible(doc_id: str, user: CurrentUser, action: str) -> tuple[dict[str, Any], str]:
    """The document and the audit outcome for this access (ok or override); 404 if hidden.
    An id retired by a move at source redirects to the same address with the document's id
    now, when the user may see it there (otherwise 404, like any hidden document)."""
    if not DOC_ID.match(doc_id):
        abort(404)
    principal = user.principal()
    try:
        doc = records.get_document(services().es, services().names.read_alias, doc_id, principal)
    except (ApiError, TransportError):
        abort(503)
    if doc is None:
        moved = _moved_to(doc_id, user)
        if moved is not None and request.endpoint is not None:
            target: dict[str, Any] = {**request.args, **(request.view_args or {})}
            target["doc_id"] = moved
            abort(redirect(url_for(request.endpoint, **target)))
        audit_access(user, action, doc_id, Outcome.DENIED, reason="not found or not permitted")
        abort(404)
    own = records.visible_to_own_sids(doc, user.principal().sids)
    return doc, Outcome.OK if own else Outcome.OVERRIDE


def sees_holds(user: CurrentUser) -> bool:
    """Whether this user may learn which holds and request cases cover a document. Front-office
    staff may not: a hold's name or case reference can reveal that someone made a request (a
    subject access request names its subject). They learn only that a file is held."""
    return user.role not in permissions.HOLDS_HIDDEN_FROM


def _moved_to(doc_id: str, user: CurrentUser) -> str | None:
    """The id of the document once indexed as `doc_id` (moved or renamed at source since), if
    this user may see it."""
    with services().sessions() as session:
        current = moves.current_id(session, doc_id)
    if current is None:
        return None
    try:
        doc = records.get_document(
            services().es, services().names.read_alias, current, user.principal()
        )
    except (ApiError, TransportError):
        abort(503)
    return current if doc is not None else None


@bp.get("/documents/<doc_id>")
def view(doc_id: str) -> ResponseReturnValue:
    user = signed_in_user()
    doc, outcome = load_visible(doc_id, user, "view")
    page = request.args.get("page", "1")
    page_number = int(page) if page.isdecimal() else 1
    es, alias, principal = services().es, services().names.read_alias, user.principal()
    text = records.text_page(es, alias, doc_id, principal, page_number)
    audit_access(user, "view", doc_id, outcome, path=doc.get("path"), source=doc.get("source"))
    return render_template(
        "document.html",
        doc=doc,
        kept=records_state(doc),
        may_hold=user.role not in permissions.HOLDS_HIDDEN_FROM,
        sees_holds=sees_holds(user),
        text=text,
        override=outcome == Outcome.OVERRIDE,
        container=records.container(es, alias, doc, principal),
        children=records.children(es, alias, doc, principal),
        duplicates=records.duplicates(es, alias, doc, principal),
        similar=records.more_like_this(es, alias, doc, principal),
    )


def content_disposition(filename: str) -> str:
    """RFC 6266 header, always an attachment: an ASCII fallback (letters, digits, dots,
    spaces, hyphens and underscores only, so no quote, separator or line break reaches the
    header) plus the exact name percent-encoded as UTF-8."""
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", filename).strip(" .") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# What a browser may render or run from our origin is never served as itself: script, markup
# (HTML, SVG, XML, which can carry script), and plug-in content.
_PASSIVE_PREFIXES = ("audio/", "video/", "application/vnd.", "font/")
_PASSIVE_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/rtf",
        "application/zip",
        "application/gzip",
        "application/x-7z-compressed",
        "application/x-tar",
        "application/octet-stream",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/tiff",
        "image/webp",
        "message/rfc822",
        "text/plain",
        "text/csv",
    }
)
# Applied to every download: a file opened from our origin anyway runs nothing, loads nothing
# and is its own unique origin (no cookies, no same-origin requests).
DOWNLOAD_POLICY = "sandbox; default-src 'none'"


def download_type(mime_type: str) -> str:
    """The Content-Type to serve a crawled file's bytes with: its own when it is passive
    content, else application/octet-stream, which no browser runs or renders (with nosniff,
    a `<script src>` or stylesheet pointed at the download is refused too)."""
    essence = mime_type.split(";", 1)[0].strip().lower()
    if essence in _PASSIVE_TYPES or (
        essence.startswith(_PASSIVE_PREFIXES)
        and "html" not in essence
        and not essence.endswith(("+xml", "/xml"))
    ):
        return essence
    return "application/octet-stream"


def _preserved_chunks(sha256: str) -> Iterator[bytes]:
    with services().records.store.open(sha256) as stored:
        while chunk := stored.read(CHUNK_BYTES):
            yield chunk


def _origin(doc: dict[str, Any], kept: RecordsState) -> str:
    """Where the original comes from: the share, or the preservation store for a held version
    or a held file deleted at source (the share no longer has those bytes)."""
    if doc.get("version_of") or (doc.get("deleted") and kept.held):
        return "preservation store"
    return "share"


def download_response(doc: dict[str, Any], kept: RecordsState) -> Response:
    """Stream the original, never the whole file in memory, as an attachment that a browser
    neither renders nor runs (see `download_type` and `DOWNLOAD_POLICY`)."""
    if doc.get("kind") != "file":
        abort(409, description="This is part of another file: download the containing file.")
    if doc.get("destroyed"):
        abort(410, description="This record was destroyed under the retention schedule.")
    if _origin(doc, kept) == "preservation store":
        sha256 = str(doc.get("sha256") or "")
        if not sha256 or not services().records.store.has(sha256):
            abort(404, description="The held original was not preserved (see the hold's page).")
        chunks: Iterator[bytes] = _preserved_chunks(sha256)
    else:
        try:
            chunks = shares().stream(str(doc["source"]), str(doc["path"]))
        except SourceUnavailable:
            abort(502, description="The file could not be read from its share just now.")
    response = Response(
        stream_with_context(chunks),
        mimetype=download_type(str(doc.get("mime_type") or "")),
    )
    response.headers["Content-Disposition"] = content_disposition(str(doc["filename"]))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response


def serve_download(doc_id: str, **context: Any) -> ResponseReturnValue:
    """Check access, stream the original and audit it (shared by the page and the API)."""
    user = signed_in_user()
    doc, outcome = load_visible(doc_id, user, "download")
    kept = records_state(doc)
    if _origin(doc, kept) == "share" and not user.principal().sees_everything:
        _check_live_access(doc_id, doc, user)
    response = download_response(doc, kept)
    audit_access(
        user,
        "download",
        doc_id,
        outcome,
        path=doc.get("path"),
        source=doc.get("source"),
        sha256=doc.get("sha256"),
        origin=_origin(doc, kept),
        **context,
    )
    return response


def _check_live_access(doc_id: str, doc: dict[str, Any], user: CurrentUser) -> None:
    """Trimmed staff download what the share holds now, so its permissions now must let them:
    the index may not have seen a tightened permission yet (the next crawl will). Refused,
    and audited, when they do not, or when the permissions cannot be read."""
    sids = set(user.principal().sids)
    try:
        acl = read_acl(shares().share(str(doc["source"])), str(doc["path"]))
    except (SourceError, SourceUnavailable, ValueError) as exc:
        audit_access(user, "download", doc_id, Outcome.DENIED, reason=str(exc))
        abort(503, description="The file's permissions could not be checked just now.")
    if sids & set(acl.deny_sids) or not sids & set(acl.allow_sids):
        audit_access(
            user,
            "download",
            doc_id,
            Outcome.DENIED,
            reason="the share's permissions no longer allow it",
        )
        abort(
            403, description="The file's permissions on its share no longer allow you to read it."
        )


@bp.get("/documents/<doc_id>/download")
def download(doc_id: str) -> ResponseReturnValue:
    return serve_download(doc_id)
