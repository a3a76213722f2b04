"""The preview's HTTP server: a fixed set of routes, all answered from memory.

No route maps a URL to a file of its choosing, so nothing outside the preview (or the workspace)
can be read: the only files served are the local pictures the issue names (images/chip.jpg),
at those paths, each resolved inside the workspace when the issue was rendered.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..files.reading import UnreadableFile, read_capped
from ..images.local import MAX_SOURCE_BYTES
from .capped_server import IDLE_TIMEOUT_SECONDS, MAX_CONNECTIONS, CappedConnections
from .session import PreviewSession

KEEPALIVE_SECONDS = 15
RETRY_MS = 1000
# How often the serving loop looks whether stop() was called: stop() (and so Ctrl-C) waits up to
# this long. socketserver's default of 0.5 s made every stop take about half a second.
STOP_POLL_SECONDS = 0.05
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/preview.js": ("preview.js", "text/javascript; charset=utf-8"),
    "/preview.css": ("preview.css", "text/css; charset=utf-8"),
}
DYNAMIC = ("/email.html", "/state.json", "/events")
PICTURE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


class PreviewServer(CappedConnections, ThreadingHTTPServer):
    """Each connection holds a thread: at most MAX_CONNECTIONS of them (capped_server.py)."""

    daemon_threads = True  # open event streams must not keep the process alive
    request_queue_size = 128  # the default of 5 drops connections under a burst of page loads
    label = "preview"

    def __init__(self, session: PreviewSession, host: str, port: int) -> None:
        self.session = session
        self.stopping = threading.Event()
        self.assets = {route: _asset(name) for route, (name, _) in STATIC.items()}
        self.address_family = _family(host)
        self.cap_connections(MAX_CONNECTIONS)
        self.watcher: threading.Thread | None = None  # set by start_preview; the page says when it has stopped
        super().__init__((host, port), PreviewHandler)
        self.bound = ipaddress.ip_address(self.socket.getsockname()[0])  # e.g. "localhost" resolved

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def allowed_host(self, header: str | None) -> bool:
        """Answer only requests addressed to this server by address (or localhost / this machine's
        name), never by another name: a page on attacker.example re-pointed here (DNS rebinding)
        sends `Host: attacker.example` and is refused."""
        parsed = _split_host(header or "")
        if parsed is None or parsed[1] != self.server_address[1]:
            return False
        name, literal = parsed[0], _ip(parsed[0])
        bound = self.bound
        if bound.is_unspecified:  # 0.0.0.0 or ::, reachable at any local address
            return literal is not None or name in ("localhost", socket.gethostname().lower())
        return literal == bound or (bound.is_loopback and name == "localhost")

    def watching(self) -> bool:
        """Whether saves still reach the page: false once the watcher thread is gone."""
        return self.watcher is None or self.watcher.is_alive()

    def serve_forever(self, poll_interval: float = STOP_POLL_SECONDS) -> None:
        super().serve_forever(poll_interval)

    def stop(self) -> None:
        self.stopping.set()
        self.session.close()
        self.shutdown()
        self.server_close()
        # The browser's kept-alive connections too: otherwise a preview started again on the same
        # port in this process would see the page's next requests answered by this stopped one.
        self.close_connections()


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    # Applied to the socket by StreamRequestHandler: an idle or stalled client frees its thread (and
    # connection slot) after this long. The event stream is unaffected: it writes every KEEPALIVE_SECONDS.
    timeout = IDLE_TIMEOUT_SECONDS

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        route = self.path.split("?", 1)[0]
        if not self.server.allowed_host(self.headers.get("Host")):
            return self._send(HTTPStatus.FORBIDDEN, b"Forbidden: unexpected Host header\n", "text/plain; charset=utf-8", with_body)
        if route in STATIC:
            return self._send(HTTPStatus.OK, self.server.assets[route], STATIC[route][1], with_body)
        if route == "/state.json":
            state = self.server.session.snapshot.as_json(str(self.server.session.issue_path))
            state["watching"] = self.server.watching()
            return self._send(HTTPStatus.OK, json.dumps(state).encode(), "application/json", with_body)
        if route == "/email.html":
            email = self.server.session.snapshot.email
            if email is None:
                body = b"No successful render yet: fix the error shown in the preview.\n"
                return self._send(HTTPStatus.SERVICE_UNAVAILABLE, body, "text/plain; charset=utf-8", with_body)
            return self._send(HTTPStatus.OK, email.html.encode("utf-8"), "text/html; charset=utf-8", with_body)
        if route == "/events" and with_body:
            return self._stream_events()
        picture = self.server.session.snapshot.images.get(unquote(route).removeprefix("/"))
        if picture is not None:
            return self._send_picture(picture, with_body)
        self._send(HTTPStatus.NOT_FOUND, b"Not found\n", "text/plain; charset=utf-8", with_body)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, with_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _send_picture(self, path: Path, with_body: bool) -> None:
        """A local picture of the issue, read when asked for (an edited photo shows on reload)."""
        try:
            data = read_capped(path, MAX_SOURCE_BYTES, "local image")
        except (OSError, UnreadableFile):
            return self._send(HTTPStatus.NOT_FOUND, b"Not found\n", "text/plain; charset=utf-8", with_body)
        self._send(HTTPStatus.OK, data, PICTURE_TYPES.get(path.suffix.lower(), "application/octet-stream"), with_body)

    def _stream_events(self) -> None:
        """Server-sent events: one `data: <version>` line each time the render changes."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        seen = -1
        try:
            self.wfile.write(f"retry: {RETRY_MS}\n\n".encode())  # how soon the page reconnects after a drop
            while not self.server.stopping.is_set():
                snapshot = self.server.session.wait_for_change(seen, timeout=KEEPALIVE_SECONDS)
                if snapshot.version > seen:
                    seen = snapshot.version
                    self.wfile.write(f"data: {seen}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page was closed

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows the tool's own messages only


def _asset(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _split_host(header: str) -> tuple[str, int] | None:
    """`name:port` or `[v6]:port`, the port optional (meaning 80) -> (lower-case name, port)."""
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or ":" not in name:  # only IPv6 addresses go in brackets
            return None
    else:
        name, colon, port = header.partition(":")
        rest = colon + port
    if not rest:
        number = 80
    elif rest.startswith(":") and rest[1:].isascii() and rest[1:].isdigit():
        number = int(rest[1:])
    else:
        return None  # includes an unbracketed IPv6 address
    return (name.lower(), number) if name else None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None
