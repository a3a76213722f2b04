"""Helpers of the web tests: a plain HTTP client that never follows redirects, the outbox where the
app's emails land, and the app served on loopback (on a port the system picked)."""

from __future__ import annotations

import email
import email.policy
import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from tests.helpers.workspace import add_config

# Two topics, one on by default and one opt-in: the web app's audience tests' workspace.
TWO_TOPICS = """
[topics.weekly]
name = "The Weekly"
description = "Every Friday, the week in five stories."

[topics.deep]
name = "Deep Dives"
description = "One long read a month."
default = false
"""


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str


@dataclass
class Client:
    """A browser-less client: keeps cookies, never follows a redirect (a redirect is an answer too)."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        parts = urllib.parse.urlsplit(self.base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        answer = Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return answer

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"})

    def subscribe(self, address: str, name: str = "", **extra: str) -> Answer:
        """Load the form (for its CSRF token) and post it, as a browser would."""
        form = self.get("/subscribe")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.body)
        assert token, form.body
        return self.post_form("/subscribe", {"csrf_token": token.group(1), "email": address, "name": name, **extra})


def notices_sent(workspace: Path, timeout: float = 15.0) -> None:
    """Wait until the web app's background sender has sent every confirmation and welcome that
    requests queued (the app never sends them inside a request)."""
    from newsletter.db import Database, NoDatabase
    from newsletter.workspace.config import load_workspace

    location = load_workspace(workspace).database  # DATABASE_URL when a test set it
    deadline = time.monotonic() + timeout
    while True:
        try:
            with Database(location, create=False) as db:
                if db.notice_queue.waiting() == 0:
                    return
        except NoDatabase:
            return
        assert time.monotonic() < deadline, f"queued notices were not sent within {timeout} s"
        time.sleep(0.02)


def outbox(workspace: Path) -> list[EmailMessage]:
    """Every message in the workspace's outbox, oldest first, once the queued notices are sent."""
    notices_sent(workspace)
    folder = workspace / "outbox" / "new"
    files = sorted(folder.iterdir(), key=lambda path: path.stat().st_mtime_ns) if folder.is_dir() else []
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files]  # type: ignore[misc]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def link_in(message: EmailMessage, pattern: str) -> str:
    """The path (and query) of the first link in the text part matching `pattern`."""
    found = re.search(pattern, text_of(message))
    assert found, text_of(message)
    parts = urllib.parse.urlsplit(found.group(0))
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Apps:
    """The app for one workspace, served on loopback as many times as a test asks, each time after
    appending settings to its newsletter.toml and with rate-limit counters at zero."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.running: list = []

    def serve(self, settings: str = "") -> Client:
        from newsletter.web import create_app
        from newsletter.web.extensions import limiter
        from newsletter.web.server import start

        if settings:
            add_config(self.workspace, settings)
        app = create_app(self.workspace)
        limiter.reset()
        self.running.append(start(app, "127.0.0.1", 0))
        return Client(self.running[-1].url)

    def stop(self) -> None:
        for server in self.running:
            server.stop()
