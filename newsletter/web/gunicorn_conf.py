"""gunicorn settings for the web app: `gunicorn -c python:newsletter.web.gunicorn_conf 'newsletter.web:create_app()'`.

The access log never holds a token (a request line can carry a signed unsubscribe or confirm
token); a setting the app cannot start with is one sentence, not a traceback; and the client
timeouts gunicorn has are set. It has none for a request that has begun: see `keepalive` below, and
the README for the nginx that goes in front."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from gunicorn.arbiter import Arbiter
from gunicorn.errors import AppImportError
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from newsletter.errors import NewsletterError
from newsletter.web.security import redact_tokens

if TYPE_CHECKING:
    from gunicorn.http.message import Request
    from gunicorn.http.wsgi import Response


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn ships no types: its classes are Any
    def atoms(self, resp: Response, req: Request, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        found = super().atoms(resp, req, environ, request_time)
        return {key: redact_tokens(value) if isinstance(value, str) else value for key, value in found.items()}


class Worker(ThreadWorker):  # type: ignore[misc]  # (as above)
    """gunicorn's gthread worker, whose app, when it cannot start for a reason of the user's (a
    setting, the secret, a missing extra), says why in one line and stops gunicorn."""

    def load_wsgi(self) -> None:
        try:
            super().load_wsgi()
        except NewsletterError as exc:
            # gunicorn prints an AppImportError as its message alone, then stops ("App failed to load").
            raise AppImportError(f"newsletter: {exc}") from None


def on_starting(server: Arbiter) -> None:  # noqa: ARG001  # gunicorn's hook signature
    """Check the settings, the secret and the storage's client in the master, before any worker
    starts: a mistake is then said once and gunicorn stops with status 1. Left to the workers, each
    says it, and when two fail at once gunicorn 27 halts twice and prints its own traceback."""
    from newsletter.web import preflight

    try:
        preflight()
    except NewsletterError as exc:
        print(f"newsletter: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def post_worker_init(worker: ThreadWorker) -> None:
    """A worker starts its background threads (queued notices, webhooks out, automations) at once,
    not at its first request: a served workspace with no visitors still delivers."""
    here = _newsletter(worker)
    if here is not None:
        here.sender.ensure_running()


def _newsletter(worker: ThreadWorker) -> Any:
    app = getattr(worker, "wsgi", None)
    return app.extensions.get("newsletter") if app is not None and hasattr(app, "extensions") else None


def worker_exit(server: Arbiter, worker: ThreadWorker) -> None:  # noqa: ARG001  # gunicorn's hook signature
    """A worker leaving (a clean stop, a restart, max_requests) writes the clicks it has not
    written yet: its recorder's thread dies with it."""
    here = _newsletter(worker)
    if here is not None:
        here.recorder.stop()


logger_class = RedactingLogger
accesslog = "-"
workers = 2
worker_class = "newsletter.web.gunicorn_conf.Worker"  # gthread: threads overlap a request waiting on the disk or the database with others
threads = 4
# gthread waits for a new connection's first byte without a thread, and closes a connection that
# sends nothing for `keepalive` seconds (a kept-alive one too). Once a request has begun, a thread
# reads it to the end however slowly it comes: gunicorn has no timeout for a slow request line,
# headers or body. Hence nginx in front (README), which passes on whole requests only.
keepalive = 2
timeout = 30  # the worker's heartbeat: a worker silent this long is restarted (not a client timeout)
limit_request_line = 4094
