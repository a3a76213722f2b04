"""What every threaded HTTP server of the tool needs: the preview's and `newsletter serve`'s each give
a connection a thread of its own, so idle or flooding clients could hold threads without end.

They cap the connections that hold a thread (one more is closed at once, without a thread), and
their request handlers time idle sockets out (`IDLE_TIMEOUT_SECONDS`, applied by socketserver's
StreamRequestHandler), so a slot comes back by itself. Stopping a server closes the connections it
still holds, as the end of the process would.

It lives with the preview, part of every install, and the web app (the [web] extra) imports it from
here: imported from newsletter.web, it would make the preview load Flask."""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any

MAX_CONNECTIONS = 64  # connections holding a thread at once
IDLE_TIMEOUT_SECONDS = 30  # a socket that sends (or takes) nothing this long is closed
QUIET_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, TimeoutError)  # clients going away


class CappedConnections:
    """A mixin for a socketserver.ThreadingMixIn server, named before it in the bases. Call
    `cap_connections(limit)` in __init__; `label` names the server in its one-line errors."""

    label = "server"

    def cap_connections(self, limit: int) -> None:
        self.slots = threading.BoundedSemaphore(limit)
        self.open_connections: set[socket.socket] = set()  # closed by close_connections()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)  # type: ignore[attr-defined]  # BaseServer's, a base of the server; over the cap: close at once, no thread
            return
        try:
            super().process_request(request, client_address)  # type: ignore[misc]  # ThreadingMixIn's, after this mixin in the server's bases
        except BaseException:
            self.slots.release()  # no thread was started to release it
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]  # ThreadingMixIn's, as above
        finally:
            with self.connections_lock:
                self.open_connections.discard(request)
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002  # socketserver's signature
        """A client that resets or times out is routine: stay quiet. Anything else: one line, no traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, QUIET_ERRORS):
            print(f"{self.label}: error serving {client_address[0]}: {error!r}", file=sys.stderr)

    def close_connections(self) -> None:
        """Close the connections still open (kept alive by a browser, or idle), as the end of the
        process would: a server started again on the same port in this process must not see them."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client
