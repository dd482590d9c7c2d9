"""Saved searches: each user's named searches (the search page's own query string)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from foi_core.audit import record
from foi_core.db import transaction
from foi_core.models import SavedSearch
from search_app.auth import services, signed_in_user
from search_app.request_input import client_ip

bp = Blueprint("saved", __name__)
MAX_NAME = 100
MAX_PARAMS = 2000
# Only the search page's own parameters are kept; paging is deliberately dropped.
_KEPT = frozenset(
    {
        "q",
        "sort",
        "copies",
        "folder",
        "same",
        "source",
        "type",
        "author",
        "owner",
        "status",
        "year",
        "duplicate",
    }
)


def clean_params(raw: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=False) if k in _KEPT]
    return urlencode(pairs)[:MAX_PARAMS]


@bp.get("/saved")
def index() -> ResponseReturnValue:
    user = signed_in_user()
    with services().sessions() as session:
        searches = list(
            session.execute(
                select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.name)
            ).scalars()
        )
    return render_template("saved.html", searches=searches)


@bp.post("/saved")
def save() -> ResponseReturnValue:
    user = signed_in_user()
    name = request.form.get("name", "").strip()
    params = clean_params(request.form.get("params", ""))
    if not name or len(name) > MAX_NAME:
        flash(f"Give the search a name of 1 to {MAX_NAME} characters.")
        return redirect(url_for("search.index") + ("?" + params if params else ""))
    if not params:
        flash("There is no search to save yet.")
        return redirect(url_for("search.index"))
    try:
        with transaction(services().sessions) as session:
            session.add(SavedSearch(user_id=user.id, name=name, params=params))
            session.flush()
            record(
                session,
                actor=user.username,
                action="search.save",
                target=name,
                ip=client_ip(),
                details={"params": params},
            )
    except IntegrityError:
        flash(f"You already have a saved search called {name!r}. Choose another name.")
        return redirect(url_for("search.index") + "?" + params)
    flash(f"Saved the search as {name!r}.")
    return redirect(url_for("saved.index"))


@bp.post("/saved/<int:search_id>/delete")
def delete(search_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    with transaction(services().sessions) as session:
        found = session.get(SavedSearch, search_id)
        # Another user's saved search is "not found", never "forbidden".
        if found is None or found.user_id != user.id:
            abort(404)
        name = found.name
        session.delete(found)
        record(
            session,
            actor=user.username,
            action="search.unsave",
            target=name,
            ip=client_ip(),
        )
    flash(f"Deleted the saved search {name!r}.")
    return redirect(url_for("saved.index"))
