"""Flask's `session`, kept on the server (foi_core/web_sessions.py) behind a random-id cookie.

Invariants:
- a request without a session cookie touches no database (health checks, static files);
- a session the server no longer holds (ended, idle, too old, never issued) is a new, empty
  one: nothing a browser sends can bring a session back or choose its id;
- `renew_session()` gives the browser a new id and ends the old one with the same response
  (signing in and out), so an id seen before sign-in is never a signed-in one;
- a cleared session is ended on the server and its cookie deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Flask, Request, Response, session
from flask import request as current_request
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import CallbackDict

from foi_core.db import transaction
from foi_core.models import as_utc, utcnow
from foi_core.web_sessions import (
    TOUCH_EVERY,
    SessionLimits,
    end_session,
    live_session,
    new_session,
    save_session,
    touch_session,
)

# The signed-in user's id, in the session's (server-side) contents.
USER_ID = "user_id"


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """The session's contents; `session_id` is None until the store has issued one."""

    def __init__(
        self,
        initial: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        last_seen_at: datetime | None = None,
    ) -> None:
        def on_update(this: ServerSession) -> None:
            this.modified = True

        super().__init__(initial, on_update)
        self.session_id = session_id
        self.last_seen_at = last_seen_at
        # The id this request retired (renewed or cleared): ended when the response is saved.
        self.retired_id: str | None = None
        self.stale_cookie = False
        self.modified = False

    def renew(self) -> None:
        if self.session_id is not None:
            self.retired_id = self.session_id
        self.session_id = None
        self.modified = True


def renew_session() -> None:
    """A new id for the current browser session (its contents kept; the old id ends)."""
    if not isinstance(session, ServerSession):
        raise TypeError("the app's sessions are not server-side: see auth.init_app")
    session.renew()


class ServerSessionInterface(SessionInterface):
    serializer = TaggedJSONSerializer()

    def __init__(self, sessions: sessionmaker[Session], limits: SessionLimits) -> None:
        self.sessions = sessions
        self.limits = limits

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        session_id = request.cookies.get(self.get_cookie_name(app), "")
        if not session_id:
            return ServerSession()
        with transaction(self.sessions) as db:
            row = live_session(db, session_id, self.limits, utcnow())
            if row is None:
                # Unknown here (ended, expired, never issued): a new session, and the browser's
                # cookie goes unless a new id replaces it.
                fresh = ServerSession()
                fresh.stale_cookie = True
                return fresh
            data, last_seen = row.data, as_utc(row.last_seen_at)
        try:
            contents = self.serializer.loads(data) if data else {}
        except ValueError:
            contents = {}
        return ServerSession(contents, session_id, last_seen)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ServerSession):
            raise TypeError("ServerSessionInterface saves only its own sessions")
        now = utcnow()
        retired, session_id = session.retired_id, session.session_id
        if session_id is not None and not session.modified:
            if session.last_seen_at is None or now - session.last_seen_at >= TOUCH_EVERY:
                with transaction(self.sessions) as db:
                    touch_session(db, session_id, now)
            return
        if session_id is None and not session and retired is None:
            if session.stale_cookie:
                self._delete_cookie(app, response)
            return
        with transaction(self.sessions) as db:
            if retired is not None:
                end_session(db, retired)
            if not session:
                if session_id is not None:
                    end_session(db, session_id)
                session.session_id = None
            elif session_id is None:
                session.session_id = new_session(
                    db,
                    data=self.serializer.dumps(dict(session)),
                    user_id=_user_id(session),
                    ip=_client_ip(),
                    now=now,
                    limits=self.limits,
                )
            else:
                save_session(
                    db,
                    session_id,
                    data=self.serializer.dumps(dict(session)),
                    user_id=_user_id(session),
                    now=now,
                )
        response.vary.add("Cookie")
        if session.session_id is None:
            self._delete_cookie(app, response)
        elif session.session_id != session_id:
            response.set_cookie(
                self.get_cookie_name(app),
                session.session_id,
                httponly=self.get_cookie_httponly(app),
                domain=self.get_cookie_domain(app),
                path=self.get_cookie_path(app),
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
            )

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app),
        )


def _user_id(session: ServerSession) -> int | None:
    user_id = session.get(USER_ID)
    return user_id if isinstance(user_id, int) else None


def _client_ip() -> str:
    return current_request.remote_addr or ""
