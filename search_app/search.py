"""The search page: one box, results trimmed by the searcher's access, every search audited."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, TransportError
from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from foi_core.audit import Outcome, record
from foi_core.db import transaction
from indexer.queries import Hit, search
from search_app.auth import CurrentUser, login_required, services, signed_in_user

MAX_QUERY_CHARS = 500
PAGE_SIZE = 20
_MARK_TAG = re.compile(r"(</?mark>)")

bp = Blueprint("search", __name__)


@dataclass(frozen=True)
class ResultRow:
    """What the results list shows for one hit; every field but `highlights` is plain text."""

    doc_id: str
    title: str
    unc: str
    status: str
    modified: datetime | None
    highlights: tuple[Markup, ...]


def highlight_markup(fragment: str) -> Markup:
    """An Elasticsearch highlight fragment as HTML in which only <mark> tags can be live.

    The query asks for encoder "html", so Elasticsearch escapes the document text and adds
    `<mark>`/`</mark>` itself. That is checked rather than trusted: any text between the tags
    that still holds `<` or `>` is escaped again, so a fragment can never carry another tag.
    """
    pieces: list[str] = []
    for piece in _MARK_TAG.split(fragment):
        if piece in ("<mark>", "</mark>") or not ("<" in piece or ">" in piece):
            pieces.append(piece)
        else:
            pieces.append(str(escape(piece)))
    return Markup("".join(pieces))  # noqa: S704 - built only from checked pieces above


def result_row(hit: Hit) -> ResultRow:
    source: Mapping[str, Any] = hit.source
    unc = str(source.get("unc") or source.get("path") or "")
    title = str(source.get("title") or source.get("filename") or unc or hit.doc_id)
    return ResultRow(
        doc_id=hit.doc_id,
        title=title,
        unc=unc,
        status=str(source.get("status") or ""),
        modified=_parse_date(source.get("modified")),
        highlights=tuple(highlight_markup(f) for f in hit.highlights),
    )


def _parse_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _audit_search(user: CurrentUser, query: str, outcome: str, **details: Any) -> None:
    with transaction(services().sessions) as db:
        record(
            db,
            actor=user.username,
            action="search",
            target=services().index.read_alias,
            ip=request.remote_addr or "",
            outcome=outcome,
            details={"query": query, **details},
        )


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    user = signed_in_user()
    query = request.args.get("q", "").strip()
    if not query:
        return render_template("search.html", q="", rows=None)
    if len(query) > MAX_QUERY_CHARS:
        message = f"Search text must be {MAX_QUERY_CHARS} characters or fewer."
        return render_template("search.html", q="", rows=None, error=message), 400
    principal = user.principal()
    scope = "everything" if principal.sees_everything else "acl"
    svc = services()
    try:
        result = search(svc.es, svc.index.read_alias, query, principal, size=PAGE_SIZE)
    except (ApiError, TransportError) as error:
        current_app.logger.warning("search failed for %s: %r", user.username, error)
        _audit_search(user, query, Outcome.FAILED, scope=scope, error=type(error).__name__)
        page = render_template(
            "error.html",
            heading="Search is not available right now",
            message="Try again in a few minutes. If it keeps happening, tell the system team.",
        )
        return page, 503
    _audit_search(user, query, Outcome.OK, total=result.total, scope=scope)
    rows = [result_row(hit) for hit in result.hits]
    return render_template("search.html", q=query, rows=rows, total=result.total)


@bp.app_template_filter("long_date")
def long_date(value: datetime) -> str:
    """GOV.UK style dates: "1 March 2024"."""
    return f"{value.day} {value:%B %Y}"
