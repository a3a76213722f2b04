"""Feeds for the sources tests and bench: RSS 2.0 and Atom documents, and a local web server that
serves them with ETags (a 304 when the client's If-None-Match matches), delays, floods and
redirects. The fixture `feed_server`."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from tests.helpers.local_server import QuietServer


@dataclass(frozen=True)
class Entry:
    title: str
    link: str
    summary: str = ""  # HTML, escaped into the feed as RSS and Atom carry it
    published: dt.datetime = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def rss(entries: list[Entry], title: str = "A feed") -> bytes:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link><guid>{escape(e.link)}</guid>"
        f"<pubDate>{format_datetime(e.published)}</pubDate><description>{escape(e.summary)}</description></item>"
        for e in entries
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://feeds.example.org/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def atom(entries: list[Entry], title: str = "An Atom feed") -> bytes:
    items = "".join(
        f'<entry><title>{escape(e.title)}</title><link href="{escape(e.link)}"/><id>{escape(e.link)}</id>'
        f'<updated>{e.published.isoformat()}</updated><summary type="html">{escape(e.summary)}</summary></entry>'
        for e in entries
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(title)}</title>'
        f"<id>urn:feed</id><updated>2026-12-01T09:00:00Z</updated>{items}</feed>"
    ).encode()


def json_feed(entries: list[Entry], title: str = "A JSON Feed") -> bytes:
    """A JSON Feed 1.1 document (https://jsonfeed.org/version/1.1)."""
    import json

    items = [{"id": e.link, "url": e.link, "title": e.title, "content_html": e.summary, "date_published": e.published.isoformat()} for e in entries]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}).encode()


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: str | None = None  # sent, and a matching If-None-Match gets 304
    delay: float = 0.0  # seconds before answering (cut short when the server stops)
    flood: int = 0  # bytes of filler streamed after `body`, with no Content-Length
    location: str | None = None  # a redirect's target


@dataclass
class FeedServer:
    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers) of each request
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def serve(self, path: str, body: bytes, **options: object) -> str:
        self.routes["/" + path.lstrip("/")] = Route(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)


class FeedHttpd(QuietServer):
    request_queue_size = 128  # socketserver's 5 drops connections from 8 fetching at once (a client retries after 1 s)


def start_feed_server() -> tuple[FeedServer, QuietServer]:
    state = FeedServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            state.asked.append((self.path, dict(self.headers.items())))
            route = state.routes.get(self.path)
            try:
                if route is None:
                    self.send_error(404)
                    return
                if route.delay:
                    state.stopping.wait(route.delay)
                if route.location:
                    self.send_response(302)
                    self.send_header("Location", route.location)
                    self.end_headers()
                    return
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                if not route.flood:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
                chunk = b"<!-- filler -->" * 4096
                sent = 0
                while sent < route.flood and not state.stopping.is_set():
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up, as a capped fetch does

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = FeedHttpd(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return state, httpd


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state, httpd = start_feed_server()
    try:
        yield state
    finally:
        state.stopping.set()
        httpd.shutdown()
        httpd.server_close()
