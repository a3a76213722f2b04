"""gunicorn settings for the web app: `gunicorn -c python:newsletter.web.gunicorn_conf 'newsletter.web:create_app()'`.

Its one job is the access log: gunicorn logs each request line, and a line here can hold a
signed token (unsubscribe, confirm), which must never reach a log."""

from __future__ import annotations

from gunicorn.glogging import Logger

from newsletter.web.security import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        found = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in found.items()}


logger_class = RedactingLogger
accesslog = "-"
workers = 2
worker_class = "gthread"  # threads overlap a request waiting on the disk or the database with others
threads = 4
timeout = 30
limit_request_line = 4094
