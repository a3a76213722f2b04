"""A real HTTP server for the app on this machine (`newsletter serve`, tests): Werkzeug's threaded
server in a thread, with request lines logged without their tokens. A connection holds a thread,
so at most MAX_CONNECTIONS are served at once and an idle one is closed after
IDLE_TIMEOUT_SECONDS (newsletter/preview/capped_server.py, the preview's, which the app shares)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, select_address_family

from ..preview.capped_server import IDLE_TIMEOUT_SECONDS, MAX_CONNECTIONS, CappedConnections
from .security import redact_tokens


class QuietHandler(WSGIRequestHandler):
    timeout = IDLE_TIMEOUT_SECONDS  # applied to the socket: an idle or stalled client frees its thread

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log("info", '"%s" %s %s', redact_tokens(self.requestline), code, size)

    def log_error(self, format: str, *args: object) -> None:
        pass  # clients that hang up are routine


class CappedWSGIServer(CappedConnections, ThreadedWSGIServer):
    label = "serve"

    def __init__(self, host: str, port: int, app: Flask) -> None:
        self.cap_connections(MAX_CONNECTIONS)
        # Werkzeug binds its own socket and, when that fails, prints its own advice and exits the
        # process; binding here first makes a taken port an OSError the command words itself.
        with listening(host, port) as listener:
            super().__init__(host, port, app, handler=QuietHandler, fd=listener.fileno())  # Werkzeug keeps a duplicate


def listening(host: str, port: int) -> socket.socket:
    """A socket listening on host:port. Raises OSError (EADDRINUSE when the port is taken)."""
    return socket.create_server((host, port), family=select_address_family(host, port))


@dataclass
class Running:
    server: CappedWSGIServer
    thread: threading.Thread
    app: Flask | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.server.close_connections()  # kept-alive and idle ones: their threads end now
        self.thread.join(timeout=5)
        here = self.app.extensions.get("newsletter") if self.app is not None else None
        if here is not None:
            here.sender.stop()  # the queued notices' sender goes with the server
            here.recorder.stop()  # and the clicks not yet written are written


def start(app: Flask, host: str, port: int) -> Running:
    server = CappedWSGIServer(host, port, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="newsletter-web")
    thread.start()
    here = app.extensions.get("newsletter")
    if here is not None:
        here.sender.ensure_running()  # queued notices, webhooks out and automations go before any request comes
    return Running(server, thread, app)
