"""The search page: one box with a documented syntax (docs/search-syntax.md), facets, sorting,
paging and folded copies; results trimmed by the searcher's access, every search audited.

Invariants:
- the page is a GET form and plain links: no script is needed and every state has a URL;
- text the query language refuses, and altered page links, get a GOV.UK error summary
  (HTTP 200), never a 500; an unreachable Elasticsearch gets a 503 page;
- every search that runs, and every one refused, is audited with its query, facet choices,
  sort and result count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from elasticsearch import ApiError, BadRequestError, TransportError
from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from foi_core.audit import Outcome, record
from foi_core.db import transaction
from indexer.search.facets import (
    DUPLICATE_LABELS,
    HOLD_LABELS,
    STATUS_LABELS,
    TERMS_FACETS,
    Facets,
    FacetSelection,
)
from indexer.search.queries import Hit, InvalidCursor, PageCursor, SearchResult, Sort, search
from indexer.search.querylang import MAX_QUERY_CHARS, QuerySyntaxError
from search_app import permissions
from search_app.auth import CurrentUser, login_required, services, signed_in_user
from search_app.request_input import client_ip

PAGE_SIZE = 20
MAX_PAGE_NUMBER = 1_000_000
_MARK_TAG = re.compile(r"(</?mark>)")
SORT_LABELS = {
    Sort.RELEVANCE: "Relevance",
    Sort.NEWEST: "Newest first",
    Sort.OLDEST: "Oldest first",
}
_FACET_LABELS = {f.name: f.label for f in TERMS_FACETS} | {
    "year": "Year modified",
    "duplicate": "Duplicates",
    "hold": "Hold and disposal",
}

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
    copies: int = 1
    copies_href: str = ""
    held: bool = False
    held_version: bool = False
    deleted: bool = False
    # "2026-11-26 under RATES" when the record was destroyed and only its stub remains.
    destroyed: str = ""


@dataclass(frozen=True)
class SearchState:
    """Everything the URL says about a search; builds the links that change one part of it.
    Every link starts again at the first page, except the paging links themselves."""

    q: str = ""
    selection: FacetSelection = field(default_factory=FacetSelection)
    sort: Sort = Sort.RELEVANCE
    fold_copies: bool = True

    def href(self, *, cursor: PageCursor | None = None, page: int = 1) -> str:
        params: dict[str, Any] = {"q": self.q or None, **self.selection.params()}
        if self.sort is not Sort.RELEVANCE:
            params["sort"] = self.sort.value
        if not self.fold_copies:
            params["copies"] = "all"
        if cursor is not None:
            params["cursor"] = cursor.token()
            params["page"] = page
        return url_for("search.index", **params)

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The facet choices and copy setting as hidden inputs, so the search and sort forms
        keep them."""
        fields = [(name, v) for name, values in self.selection.params().items() for v in values]
        if not self.fold_copies:
            fields.append(("copies", "all"))
        return fields


@dataclass(frozen=True)
class FacetLink:
    label: str
    count: int
    selected: bool
    href: str
    approximate: bool = False

    @property
    def shown_count(self) -> str:
        """The count as the sidebar shows it: an estimate is rounded and says so."""
        if not self.approximate:
            return str(self.count)
        return f"about {round_estimate(self.count):,}"


def round_estimate(count: int) -> int:
    """`count` to two significant figures (a sampled count is not precise beyond that)."""
    if count < 100:
        return count
    scale = int(10 ** (len(str(count)) - 2))
    return round(count / scale) * scale


@dataclass(frozen=True)
class FacetGroup:
    name: str
    label: str
    links: tuple[FacetLink, ...]


@dataclass(frozen=True)
class FolderNav:
    trail: tuple[tuple[str, str], ...]  # (label, href) from "All folders" down to the current one
    current: str
    children: tuple[FacetLink, ...]


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


def result_row(hit: Hit, state: SearchState | None = None) -> ResultRow:
    source: Mapping[str, Any] = hit.source
    unc = str(source.get("unc") or source.get("path") or "")
    title = str(source.get("title") or source.get("filename") or unc or hit.doc_id)
    copies_href = ""
    if hit.copies > 1 and state is not None:
        same = replace(state.selection, same_content=str(source.get("sha256") or ""))
        copies_href = replace(state, selection=same, fold_copies=False).href()
    return ResultRow(
        doc_id=hit.doc_id,
        title=title,
        unc=unc,
        status=str(source.get("status") or ""),
        modified=_parse_date(source.get("modified")),
        highlights=tuple(highlight_markup(f) for f in hit.highlights),
        copies=hit.copies,
        copies_href=copies_href,
        held=bool(source.get("held")),
        held_version=bool(source.get("version_of")),
        deleted=bool(source.get("deleted")),
        destroyed=(
            f"{str(source['destroyed'])[:10]} under {source.get('destruction_class') or '?'}"
            if source.get("destroyed")
            else ""
        ),
    )


def facet_groups(facets: Facets, state: SearchState) -> list[FacetGroup]:
    groups = []
    for facet in facets.facets:
        links = tuple(
            FacetLink(
                value.label,
                value.count,
                value.selected,
                replace(state, selection=state.selection.toggled(facet.name, value.value)).href(),
                facet.approximate,
            )
            for value in facet.values
        )
        if links:
            groups.append(FacetGroup(facet.name, facet.label, links))
    return groups


def folder_nav(facets: Facets, state: SearchState) -> FolderNav:
    def at(folder: str) -> str:
        return replace(state, selection=state.selection.in_folder(folder)).href()

    trail = (("All folders", at("")), *((label, at(path)) for path, label in facets.folders.trail))
    children = tuple(
        FacetLink(child.label, child.count, False, at(child.value), facets.folders.approximate)
        for child in facets.folders.children
    )
    return FolderNav(trail, facets.folders.selected, children)


def chosen_filters(state: SearchState) -> list[tuple[str, str]]:
    """(description, link that removes it) for each facet choice."""
    chosen = []
    for name, values in state.selection.chosen:
        for value in values:
            label = STATUS_LABELS.get(value, value) if name == "status" else value
            if name == "duplicate":
                label = DUPLICATE_LABELS.get(value, value)
            elif name == "hold":
                label = HOLD_LABELS.get(value, value)
            href = replace(state, selection=state.selection.toggled(name, value)).href()
            chosen.append((f"{_FACET_LABELS[name]}: {label}", href))
    if state.selection.folder:
        href = replace(state, selection=state.selection.in_folder("")).href()
        chosen.append((f"Folder: {state.selection.folder}", href))
    if state.selection.same_content:
        href = replace(state, selection=replace(state.selection, same_content="")).href()
        chosen.append(("Identical copies of one file", href))
    return chosen


def _parse_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _audit_search(
    user: CurrentUser, state: SearchState, outcome: str, page: int, **details: Any
) -> None:
    with transaction(services().sessions) as db:
        record(
            db,
            actor=user.username,
            action="search",
            target=services().names.read_alias,
            ip=client_ip(),
            outcome=outcome,
            details={
                "query": state.q,
                "filters": state.selection.audit(),
                "sort": state.sort.value,
                "page": page,
                **details,
            },
        )


def _state_from_request() -> SearchState:
    args = request.args
    try:
        sort = Sort(args.get("sort", Sort.RELEVANCE.value))
    except ValueError:
        sort = Sort.RELEVANCE
    return SearchState(
        q=args.get("q", "").strip(),
        selection=FacetSelection.from_params(args.to_dict(flat=False)),
        sort=sort,
        fold_copies=args.get("copies") != "all",
    )


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), MAX_PAGE_NUMBER) if raw.isdecimal() and int(raw) > 0 else 1


def _page(state: SearchState, **context: Any) -> str:
    return render_template(
        "search.html",
        state=state,
        q=state.q,
        sort_labels=SORT_LABELS,
        max_query_chars=MAX_QUERY_CHARS,
        **{"rows": None, **context},
    )


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    user = signed_in_user()
    state = _state_from_request()
    if not state.q and state.selection.is_empty:
        return _page(state)
    page = _page_number()
    principal = user.principal()
    scope = "everything" if principal.sees_everything else "acl"
    if len(state.q) > MAX_QUERY_CHARS:
        message = f"Search text must be {MAX_QUERY_CHARS} characters or fewer."
        _audit_search(user, state, Outcome.FAILED, page, scope=scope, error="too long")
        return _page(replace(state, q=""), error=message)
    try:
        token = request.args.get("cursor", "")
        cursor = PageCursor.from_token(token, state.sort) if token else None
        svc = services()
        result = search(
            svc.es,
            svc.names.read_alias,
            state.q,
            principal,
            size=PAGE_SIZE,
            selection=state.selection,
            sort=state.sort,
            cursor=cursor,
            facets=True,
            fold_copies=state.fold_copies,
        )
    except QuerySyntaxError as error:
        _audit_search(user, state, Outcome.FAILED, page, scope=scope, error="syntax")
        return _page(state, error=error.message, error_position=error.position)
    except InvalidCursor:
        _audit_search(user, state, Outcome.FAILED, page, scope=scope, error="page link")
        message = "That page link is not valid. Search again to start from the first page."
        return _page(state, error=message)
    except BadRequestError as error:
        current_app.logger.warning("search refused for %s: %r", user.username, error)
        _audit_search(user, state, Outcome.FAILED, page, scope=scope, error=type(error).__name__)
        return _page(state, error="This search could not be run. Try fewer or simpler terms.")
    except (ApiError, TransportError) as error:
        current_app.logger.warning("search failed for %s: %r", user.username, error)
        _audit_search(user, state, Outcome.FAILED, page, scope=scope, error=type(error).__name__)
        unavailable = render_template(
            "error.html",
            heading="Search is not available right now",
            message="Try again in a few minutes. If it keeps happening, tell the system team.",
        )
        return unavailable, 503
    _audit_search(
        user, state, Outcome.OK, page, total=result.total, scope=scope, folded=state.fold_copies
    )
    return _page(state, **_results_context(result, state, page))


def _results_context(result: SearchResult, state: SearchState, page: int) -> dict[str, Any]:
    assert result.facets is not None
    return {
        "rows": [result_row(hit, state) for hit in result.hits],
        "total": result.total,
        "page": page,
        "next_href": state.href(cursor=result.next_page, page=page + 1) if result.next_page else "",
        "previous_href": state.href(cursor=result.previous_page, page=max(page - 1, 1))
        if result.previous_page
        else "",
        "facet_groups": facet_groups(result.facets, state),
        "folders": folder_nav(result.facets, state),
        "facets_estimated": result.facets.folders.approximate
        or any(f.approximate for f in result.facets.facets),
        "chosen": chosen_filters(state),
        "clear_href": replace(state, selection=FacetSelection()).href(),
        "copies_toggle_href": replace(state, fold_copies=not state.fold_copies).href(),
        # The search as the hold page takes it (`q` plus facet choices).
        "hold_query": urlencode(
            {"q": state.q, **state.selection.params()} if state.q else state.selection.params(),
            doseq=True,
        ),
        "may_hold": signed_in_user().role not in permissions.HOLDS_HIDDEN_FROM,
    }


@bp.app_template_filter("long_date")
def long_date(value: datetime) -> str:
    """GOV.UK style dates: "1 March 2024"."""
    return f"{value.day} {value:%B %Y}"
