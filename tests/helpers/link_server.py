"""A web server for the links of an issue (`check --links`): each path answers as a test says, to
HEAD and GET alike unless told otherwise; every request is recorded. The fixture `link_server`, and
`issue_with_links`, an issue file whose links are the server's pages."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.local_server import QuietServer

ARTICLE = b"<!doctype html><html><head><title>An article</title></head><body><p>The article.</p></body></html>"


@dataclass
class Route:
    status: int = 200
    body: bytes = ARTICLE
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None  # a redirect's target: a path of this server or a URL
    head_status: int | None = None  # HEAD's own answer (405: HEAD refused), when it differs
    delay: float = 0.0  # seconds before answering; cut short when the server stops


@dataclass
class LinkServer:
    """Pages by path (`routes`; an unknown path is a 404); `requests` lists (method, path) in order."""

    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def answer(self, handler: http.server.BaseHTTPRequestHandler, method: str) -> None:
        with self.lock:
            self.requests.append((method, handler.path))
        route = self.routes.get(handler.path.partition("?")[0], Route(status=404, body=b"not found"))
        self.stopping.wait(route.delay)
        status = route.head_status if method == "HEAD" and route.head_status is not None else route.status
        try:
            handler.send_response(status)
            if route.location is not None:
                handler.send_header("Location", route.location if "://" in route.location else self.url(route.location))
            handler.send_header("Content-Type", route.content_type)
            handler.send_header("Content-Length", str(len(route.body)))
            handler.end_headers()
            if method == "GET":
                handler.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the deadline tests hang up on purpose


class _LinkHTTPServer(QuietServer):
    request_queue_size = 128  # socketserver's 5 drops connections a pool of 8 opens at once (a 1 s SYN retry)


def start_link_server() -> tuple[LinkServer, QuietServer]:
    """A LinkServer on a free port of 127.0.0.1, serving from a thread; stop it with stop_link_server."""
    state = LinkServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.answer(self, "GET")

        def do_HEAD(self) -> None:
            state.answer(self, "HEAD")

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    server = _LinkHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return state, server


def stop_link_server(state: LinkServer, server: QuietServer) -> None:
    state.stopping.set()
    server.shutdown()
    server.server_close()


def issue_with_links(workspace: Path, server: LinkServer, *paths: str, sponsor: str = "/sponsor", intro: str = "/intro") -> Path:
    """An issue file whose stories link to `paths` of the server, one story each, with the server's
    `sponsor` and `intro` pages as the sponsor's link and a link in the intro."""
    stories = "".join(
        f"""      - title: Story number {n} of the week
        url: {server.url(path)}
        source: Test Site
        summary: The story's summary, written out.
"""
        for n, path in enumerate(paths)
    )
    for page in (sponsor, intro):
        server.routes.setdefault(page, Route())
    text = f"""number: 12
date: 2026-12-08
subject: "Links of the week, each fetched before sending"
preheader: "A week of stories whose links the check fetches one by one, in parallel."
intro: Hello, see [the intro page]({server.url(intro)}).
sections:
  - title: News
    stories:
{stories}sponsor:
  name: A Sponsor
  url: {server.url(sponsor)}
  text: A sentence about the sponsor.
"""
    path = workspace / "issues" / "2026-12-08.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def link_server() -> Iterator[LinkServer]:
    state, server = start_link_server()
    try:
        yield state
    finally:
        stop_link_server(state, server)
