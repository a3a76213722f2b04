"""The subscriber-facing web app: signup with double opt-in, one-click unsubscribe, preferences and
SendGrid's event webhook, for one workspace.

    newsletter serve                                              # on this machine
    NEWSLETTER_WORKSPACE=/srv/news gunicorn -c python:newsletter.web.gunicorn_conf 'newsletter.web:create_app()'
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from types import TracebackType
from urllib.parse import SplitResult, urlsplit

from flask import Flask, Response, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import speedups

# gunicorn starts here, not in cli.main(): before ..config defines the first pydantic model.
speedups.disable_pydantic_plugins()

from ..db import StoreError
from ..errors import ConfigError
from ..workspace.config import Workspace, load_workspace
from ..workspace.credentials import MAKE_ONE, SECRET, SigningKeys, signing_keys, workspace_from_environment
from .admin import admin
from .api import http_problem, is_api_request, register_api
from .archive import register_archive
from .clicks import click_target, clicks
from .extensions import csrf, limiter
from .pages import pages
from .rate_storage import check_storage_client, init_limiter
from .security import TrustedProxies, content_security_policy, redact_tokens, security_headers
from .site import make_site, page, site
from .webhooks import WEBHOOK_PATHS, webhooks

MAX_FORM_BYTES = 64_000  # a signup form is a few hundred bytes


def preflight(workspace: str | Path | None = None, dev: bool = False) -> tuple[Workspace, SigningKeys]:
    """The workspace and signing keys the app would start with, checked without starting anything
    (no database, no storage connection): what gunicorn's master checks before it forks workers.
    Raises NewsletterError for a workspace, secret or rate-limit storage that is not usable.

    It needs a real NEWSLETTER_SECRET: the development secret is public, so anyone could forge
    the links it checks. `dev` allows it, for trying the app on this machine (`serve --dev`)."""
    loaded = load_workspace(Path(workspace or workspace_from_environment() or Path.cwd()))
    keys = signing_keys(loaded.config.send.provider)
    if keys.development and not dev:
        raise ConfigError(
            f"{SECRET} is not set, and the web app does not run on the public development secret (anyone could forge its links). "
            f"Set {SECRET} to the value `newsletter send` uses (make one with: {MAKE_ONE}), or try the app on this machine with `newsletter serve --dev`."
        )
    check_storage_client(loaded)
    return loaded, keys


def create_app(workspace: str | Path | None = None, dev: bool = False) -> Flask:
    """The WSGI app for the workspace at `workspace` (default: $NEWSLETTER_WORKSPACE, else the
    current folder). Raises NewsletterError for a workspace or secret that is not usable (preflight)."""
    loaded, keys = preflight(workspace, dev)
    here = make_site(loaded, keys)
    app = App(__name__)
    app.config.update(
        # The session only carries the CSRF token; its key is derived from NEWSLETTER_SECRET.
        SECRET_KEY=hmac.new(keys.current, b"newsletter web session", hashlib.sha256).hexdigest(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,  # only the form posts are checked (see pages.py)
        WTF_CSRF_SSL_STRICT=False,  # the Referer check breaks with Referrer-Policy: no-referrer
        MAX_CONTENT_LENGTH=5_000_000,  # the webhook's batches; forms get MAX_FORM_BYTES below
        MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
        RATELIMIT_STORAGE_URI=loaded.config.web.rate_limit_storage,
        RATELIMIT_HEADERS_ENABLED=True,  # 429 answers carry Retry-After
    )
    app.extensions["newsletter"] = here
    app.session_interface = SessionCookies()
    csrf.init_app(app)
    init_limiter(app, loaded)  # a sentence, not a traceback, when the storage cannot be used
    app.register_blueprint(pages)
    app.register_blueprint(webhooks)
    app.register_blueprint(clicks)
    app.register_blueprint(admin)  # /admin: 404 unless [admin] editors are set
    register_api(app)
    limiter.exempt(clicks)  # no limit applies to a redirect: skip the check (half its time)
    allow_signups_from(app, loaded.config.web.allowed_origins)
    register_archive(app, loaded.config.newsletter.archive_path)
    policy = content_security_policy(here.brand_style)

    # Werkzeug would answer /confirm//x or /subscribe/ with a redirect built from the request's
    # Host header, which a stranger chooses: no route redirects, so none is built.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    public = urlsplit(loaded.config.base_url)

    @app.before_request
    def cap_body() -> ResponseReturnValue | None:
        here.sender.ensure_running()  # also sends what other processes queued
        if request.path not in WEBHOOK_PATHS:
            if (request.content_length or 0) > MAX_FORM_BYTES:
                return _error(413)
            # A chunked body has no Content-Length to check: read it through the capped stream
            # (kept for the form and JSON parsers), and refuse one that reaches the cap.
            request.max_content_length = MAX_FORM_BYTES
            if request.content_length is None and "wsgi.input_terminated" in request.environ and len(request.get_data(cache=True)) >= MAX_FORM_BYTES:
                return _error(413)
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        location = response.headers.get("Location")
        if location and not same_origin(location, public) and location != click_target():
            response.headers["Location"] = "/"  # never to a host other than base_url's, but a genuine tracked link's
        # A view that set its own policy keeps it (the archive's pages: see archive.py).
        response.headers.update(security_headers(response.headers.get("Content-Security-Policy") or policy))
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        return _error(error.code or 500)

    @app.errorhandler(StoreError)
    def database_unavailable(error: StoreError) -> ResponseReturnValue:
        # Busy, down or restarting: the reader is told to try again, never shown a 500.
        app.logger.warning("%s %s: %s", request.method, redact_tokens(request.path), error)
        return _error(503, retry_after=5)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:  # noqa: ARG001  # Flask passes the error; the page is the same whatever it says
        words = site().words
        return page("message.html.j2", words["bad_form_title"], status=400, text=words["bad_form"])

    # Flask's way to add a WSGI middleware; mypy sees a method replaced.
    app.wsgi_app = TrustedProxies(app.wsgi_app, loaded.config.web.trusted_proxies, loaded.config.web.proxy_hops)  # type: ignore[method-assign]
    return app


def allow_signups_from(app: Flask, origins: list[str]) -> None:
    """The publication's own site ([web] allowed_origins) may call the JSON signup from its pages:
    CORS on /subscribe alone, its preflight answered here. No cookies cross (the session holds
    only a CSRF token, which a page of another origin never needs: its Origin header is checked)."""
    if not origins:
        return
    from flask_cors import CORS

    CORS(app, resources={"/subscribe": {"origins": origins, "methods": ["POST"], "allow_headers": ["Content-Type"], "max_age": 86_400}})


def same_origin(location: str, public: SplitResult) -> bool:
    """A Location header that stays on this site: a path, or base_url's own origin."""
    target = urlsplit(location)
    if not target.scheme and not target.netloc:
        return not location.startswith(("//", "\\", "/\\"))
    return (target.scheme, target.netloc) == (public.scheme, public.netloc)


class App(Flask):
    def select_jinja_autoescape(self, filename: str | None) -> bool:  # noqa: ARG002  # Flask's signature
        return True  # every page template is HTML; Flask would skip our .html.j2 names

    def log_exception(self, exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None]) -> None:
        # Flask's own line names the URL, and a URL here can hold a token.
        self.logger.error("Exception on %s [%s]", redact_tokens(request.path), request.method, exc_info=exc_info)


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie (it only holds the CSRF token) is Secure whenever the request came over
    https, directly or through a trusted proxy, and still works on http://127.0.0.1 for `serve`."""

    def get_cookie_secure(self, app: Flask) -> bool:  # noqa: ARG002  # Flask's signature: the request, not the app, says
        return request.is_secure


ERROR_WORDS = {404: "not_found", 429: "too_many", 413: "too_large", 403: "not_found", 503: "unavailable"}


def _error(code: int, retry_after: int | None = None) -> ResponseReturnValue:
    if is_api_request():
        return http_problem(code, retry_after)
    key = ERROR_WORDS.get(code, "error")
    words = site().words
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if request.is_json or request.path.startswith("/webhooks/"):
        return jsonify(error=words[key]), code, headers
    html, status = page("message.html.j2", words[f"{key}_title"], status=code, text=words[key])
    return html, status, headers
