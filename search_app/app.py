"""The application factory.

Invariants:
- settings, the database engine and the Elasticsearch client are built once per process, by
  `services.Services`, and reached through `auth.services()`;
- the key that signs form (CSRF) tokens comes from settings or a generated 0600 file; there is
  no default key (sessions themselves live on the server: see auth.py);
- every route requires a signed-in user unless its view is marked `@public` (see auth.py).
"""

from __future__ import annotations

from pathlib import Path

from elasticsearch import Elasticsearch
from flask import Flask, Response, jsonify, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from foi_core.private_files import SecretFileError, read_or_create_secret
from foi_core.settings import Settings
from search_app import auth, security
from search_app.admin import accounts as accounts_admin
from search_app.admin import audit_log
from search_app.api import cases as api_cases
from search_app.api import records as api_records
from search_app.api import search as api_search
from search_app.cases import evidence as case_evidence
from search_app.cases import statistics as statistics_views
from search_app.cases import views as case_views
from search_app.records import holds
from search_app.records import retention as retention_views
from search_app.search import documents, saved
from search_app.search import views as search_views
from services import Services

# The app only takes small forms; anything bigger is refused before it is parsed.
MAX_REQUEST_BYTES = 64 * 1024
_MIN_SECRET_CHARS = 32


# The generated secret-key file is unusable; fix or delete it (everyone is signed out).
SecretKeyError = SecretFileError


def create_app(settings: Settings | None = None, *, es: Elasticsearch | None = None) -> Flask:
    settings = Settings.from_env() if settings is None else settings
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or _secret_key_from_file(settings.state_dir),
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    if settings.proxy_hops:
        # The client's address is the proxy's last-added X-Forwarded-For entry, not the proxy.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    services = Services(settings, given_es=es)
    # Bundles asked for before a restart are written now (each once, whoever claims it first).
    services.exporter.resume()
    app.extensions[auth.SERVICES_KEY] = services
    # Order matters: the sign-in check runs before the CSRF check, so an anonymous request is
    # sent to sign in rather than told its (absent) form token is wrong.
    auth.init_app(app)
    csrf = CSRFProtect(app)
    # The API authenticates by bearer token only (never the session cookie): no CSRF exposure.
    csrf.exempt(api_search.bp)
    csrf.exempt(api_records.bp)
    csrf.exempt(api_cases.bp)
    security.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(search_views.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(audit_log.bp)
    app.register_blueprint(accounts_admin.bp)
    app.register_blueprint(saved.bp)
    app.register_blueprint(api_search.bp)
    app.register_blueprint(holds.bp)
    app.register_blueprint(retention_views.bp)
    app.register_blueprint(api_records.bp)
    app.register_blueprint(case_views.bp)
    app.register_blueprint(case_evidence.bp)
    app.register_blueprint(statistics_views.bp)
    app.register_blueprint(api_cases.bp)
    app.add_url_rule("/healthz", "healthz", auth.public(_healthz))
    app.register_error_handler(HTTPException, _http_error)
    return app


def _healthz() -> Response:
    """Liveness only: answers without touching the database or Elasticsearch."""
    return jsonify(status="ok")


def _http_error(error: HTTPException) -> tuple[str, int]:
    """Every error as a plain page; unhandled exceptions arrive here as a 500, never a trace."""
    code = error.code or 500
    heading, message = _ERROR_PAGES.get(code, _ERROR_PAGES[500 if code >= 500 else 400])
    if isinstance(error, CSRFError):
        heading = "This form has expired"
        message = "Go back, reload the page and try again."
    return render_template("error.html", heading=heading, message=message), code


_ERROR_PAGES = {
    400: ("Sorry, there is a problem", "The request could not be handled."),
    401: ("Sign in to continue", "You need to sign in to see this page."),
    403: ("You cannot see this page", "Your account does not have access to it."),
    404: ("Page not found", "Check the address, or go back to the search page."),
    405: ("Sorry, there is a problem", "The request could not be handled."),
    413: ("Sorry, there is a problem", "What you sent was too large."),
    500: ("Sorry, there is a problem with the service", "Try again later."),
}


def _secret_key_from_file(state_dir: Path) -> str:
    """The generated key (0600, created atomically on first use, never overwritten)."""
    return read_or_create_secret(state_dir / "secrets" / "flask_secret_key", _MIN_SECRET_CHARS)
