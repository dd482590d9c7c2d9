"""Sign-in, sign-out and the signed-in user.

Invariants:
- deny by default: `require_sign_in` runs before every request, and only views marked
  `@public` (and static files) are reachable without signing in, so a new route cannot forget;
- sessions live on the server (server_sessions.py): signing out ends the session whatever copy
  of the cookie anyone kept, and so do the idle and absolute limits;
- the user is re-read from the database on each request and must still match what the session
  was granted (active, same role, SIDs and password: `access_fingerprint`), so a disabled or
  changed account loses its sessions at once, whoever made the change and however;
- signing in and out give the browser a new session id (no session fixation);
- every sign-in attempt and every sign-out is audited, while the person signing in only ever
  learns "Sign-in failed" (never whether the account exists, is disabled or paused); every
  refusal costs the same (foi_core/sign_in.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from foi_core.accounts import USERNAME_MAX, effective_sids
from foi_core.audit import Outcome, record
from foi_core.db import transaction
from foi_core.models import Role, User
from foi_core.sign_in import LoginRefused, authenticate, prepare
from foi_core.tokens import TokenRefusal, user_for_token
from foi_core.web_sessions import SessionLimits, access_fingerprint
from indexer.search.queries import Principal
from search_app import permissions
from search_app.request_input import client_ip
from search_app.server_sessions import USER_ID, ServerSessionInterface, renew_session
from services import Services

P = ParamSpec("P")
R = TypeVar("R")
V = TypeVar("V", bound=Callable[..., Any])

SERVICES_KEY = "foi"
_PUBLIC_MARK = "foi_public"
# What the signed-in session was granted (web_sessions.access_fingerprint).
_ACCESS = "access"
# Every signed-in Windows user's token carries Everyone and Authenticated Users, so a share
# readable by either is readable by every member of staff.
WELL_KNOWN_SIDS = ("S-1-1-0", "S-1-5-11")

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user, detached from the database session that loaded it."""

    id: int
    username: str
    role: str
    sids: tuple[str, ...]

    def principal(self) -> Principal:
        # Unknown roles fall to the restricted side: only permissions.SEES_EVERYTHING sees all.
        sids = tuple(dict.fromkeys((*self.sids, *WELL_KNOWN_SIDS)))
        return Principal(self.username, sids, self.role in permissions.SEES_EVERYTHING)


def services() -> Services:
    return cast("Services", current_app.extensions[SERVICES_KEY])


def current_user() -> CurrentUser | None:
    return cast("CurrentUser | None", g.get("user"))


def signed_in_user() -> CurrentUser:
    """The current user, for views that run only after sign-in has been enforced."""
    user = current_user()
    if user is None:
        abort(_deny())
    return user


def signed_in_username() -> str:
    """The signed-in user's username: the actor a view's audited decisions are recorded under."""
    return signed_in_user().username


def public(view: V) -> V:
    """Mark a view as reachable without signing in. Keep the list short: login and health."""
    setattr(view, _PUBLIC_MARK, True)
    return view


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Explicit form of the app-wide rule, for views that must never be made public."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        signed_in_user()
        return view(*args, **kwargs)

    return wrapper


def require_role(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Allow a view only to signed-in users holding one of `roles` (others get 403); the role
    sets views pass are named in search_app.permissions."""
    allowed = frozenset(roles)

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if signed_in_user().role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def init_app(app: Flask) -> None:
    foi = cast("Services", app.extensions[SERVICES_KEY])
    app.session_interface = ServerSessionInterface(
        foi.sessions, SessionLimits.from_settings(foi.settings)
    )
    prepare()
    app.before_request(require_sign_in)
    # The navigation shows only what the role may open, by the same sets the views enforce.
    app.context_processor(lambda: {"current_user": current_user(), "permissions": permissions})


API_PREFIX = "/api/v1/"


def require_sign_in() -> ResponseReturnValue | None:
    # The API takes bearer tokens only: a browser's session cookie never authenticates it, so
    # cross-site requests cannot ride on a signed-in officer (the API has no CSRF tokens).
    g.user = _load_token_user() if request.path.startswith(API_PREFIX) else _load_user()
    if g.user is not None or _is_public(request.endpoint):
        return None
    return _deny()


def _load_token_user() -> CurrentUser | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with transaction(services().sessions) as db:
        user = user_for_token(db, token.strip())
        if isinstance(user, TokenRefusal):
            # A real token that may no longer be used: worth an entry (guesses are not).
            record(
                db,
                actor=user.username,
                action="api.token",
                target=f"token {user.token_id}",
                ip=client_ip(),
                outcome=Outcome.DENIED,
                details={"reason": user.reason},
            )
            return None
        if user is None:
            return None
        return CurrentUser(user.id, user.username, user.role, effective_sids(db, user))


def _load_user() -> CurrentUser | None:
    user_id = session.get(USER_ID)
    if user_id is None:
        return None
    found: CurrentUser | None = None
    if isinstance(user_id, int):
        with services().sessions() as db:
            user = db.get(User, user_id)
            if user is not None and user.active:
                sids = effective_sids(db, user)
                granted = access_fingerprint(user.role, sids, user.password_hash)
                if session.get(_ACCESS) == granted:
                    found = CurrentUser(user.id, user.username, user.role, sids)
    if found is None:
        _end_session()
    return found


def _end_session() -> None:
    session.clear()
    renew_session()


def _is_public(endpoint: str | None) -> bool:
    # No endpoint means routing failed (404/405): anonymous callers learn nothing from those.
    if endpoint is None:
        return False
    if endpoint == "static":
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, _PUBLIC_MARK, False))


def _deny() -> BaseResponse:
    """Anonymous: browsers are sent to sign in; API clients asking for JSON get 401."""
    accept = request.accept_mimetypes
    if request.path.startswith(API_PREFIX) or accept["application/json"] > accept["text/html"]:
        response = jsonify(error="sign-in required")
        response.status_code = 401
        return response
    target = _safe_next(request.full_path.rstrip("?")) if request.method == "GET" else ""
    return redirect(url_for("auth.login", next=target or None))


def _safe_next(target: str) -> str:
    """`target` if it is a path on this site, else "" (no open redirects)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    # Browsers drop tabs and newlines from URLs, so "/\t/evil" would become "//evil".
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return ""
    parts = urlsplit(target)
    return "" if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    next_url = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(next_url or url_for("search.index"))
        return render_template("login.html", username="", failed=False, next_url=next_url)

    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    claimed = username[:USERNAME_MAX]
    user_id: int | None = None
    granted = ""
    # One transaction for the check and its audit entry: the failure counters that pause
    # guessing must be committed even though sign-in failed.
    with transaction(services().sessions) as db:
        try:
            user = authenticate(db, username, password, client_ip())
        except LoginRefused as refused:
            record(
                db,
                actor="anonymous",
                action="login",
                target=claimed,
                ip=client_ip(),
                outcome=Outcome.DENIED,
                details={"reason": refused.reason},
            )
        else:
            record(
                db,
                actor=user.username,
                action="login",
                target=user.username,
                ip=client_ip(),
                outcome=Outcome.OK,
            )
            user_id = user.id
            granted = access_fingerprint(user.role, effective_sids(db, user), user.password_hash)
    if user_id is None:
        page = render_template("login.html", username=claimed, failed=True, next_url=next_url)
        return page, 401
    _end_session()
    session[USER_ID] = user_id
    session[_ACCESS] = granted
    return redirect(next_url or url_for("search.index"))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    user = signed_in_user()
    with transaction(services().sessions) as db:
        record(db, actor=user.username, action="logout", target=user.username, ip=client_ip())
    _end_session()
    flash("You have signed out.")
    return redirect(url_for("auth.login"))
