"""One POST to a receiver: connect within 5 s, a whole answer within 10 s (a timer closes the
socket at the deadline, so a receiver that trickles bytes cannot hold the sender), no redirect
followed, and at most ANSWER_CAP bytes of the answer read. Connections are kept alive per host.

http.client (the standard library) rather than a client with its own retries or redirects: this
module decides neither, delivery.py does."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..workspace.credentials import mask_secrets

CONNECT_SECONDS = 5.0
TOTAL_SECONDS = 10.0
ANSWER_CAP = 4096  # bytes of the receiver's answer read; its first words are all that is kept
WORDS = 200  # characters of the answer kept for the log


@dataclass(frozen=True)
class Answer:
    """What came back: an HTTP status and the answer's first words, or an error (no status)."""

    status: int | None
    words: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def first_words(raw: bytes) -> str:
    """The answer's first WORDS characters on one line, any secret of ours in it masked first (a
    receiver's debug page may repeat what it was sent, or what it knows)."""
    text = " ".join(mask_secrets(raw.decode("utf-8", errors="replace")).split())
    return text if len(text) <= WORDS else text[: WORDS - 1] + "…"


class Client:
    def __init__(self, connect_seconds: float = CONNECT_SECONDS, total_seconds: float = TOTAL_SECONDS) -> None:
        self.connect_seconds = connect_seconds
        self.total_seconds = total_seconds
        self._context = ssl.create_default_context()
        self._kept: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def post(self, url: str, payload: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = self._kept.pop(key, None)
        answer, reusable = self._exchange(kept, path, payload, headers) if kept else (None, False)
        connection = kept
        if answer is None or connection is None:  # none kept, or the kept one was closed by the receiver: a new one
            if kept:
                kept.close()
            connection = self._connect(*key)
            answer, reusable = self._exchange(connection, path, payload, headers)
        assert answer is not None  # a new connection always gives an answer or an error
        if reusable:
            self._kept[key] = connection
        else:
            connection.close()
        return answer

    def close(self) -> None:
        for connection in self._kept.values():
            connection.close()
        self._kept.clear()

    def _connect(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.connect_seconds, context=self._context)
        return http.client.HTTPConnection(host, port, timeout=self.connect_seconds)

    def _exchange(self, connection: http.client.HTTPConnection, path: str, payload: bytes, headers: dict[str, str]) -> tuple[Answer | None, bool]:
        """(the answer, whether the connection may be used again); (None, False) when a kept
        connection turned out closed before anything was read (worth one retry on a new one)."""
        deadline = time.monotonic() + self.total_seconds
        expired = threading.Event()
        timer: threading.Timer | None = None
        reused = connection.sock is not None
        try:
            if connection.sock is None:
                connection.connect()
                assert connection.sock is not None
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each request is written whole: no reason to wait
            connection.sock.settimeout(self.total_seconds)
            timer = threading.Timer(max(0.0, deadline - time.monotonic()), _expire, [connection.sock, expired])
            timer.daemon = True
            timer.start()
            connection.request("POST", path, body=payload, headers={**headers, "user-agent": "newsletter-webhooks"})
            response = connection.getresponse()
            raw = response.read(ANSWER_CAP)
            finished = response.isclosed() or _drained(response)
            where = response.getheader("location")
            words = first_words(raw)
            if 300 <= response.status < 400 and where:
                words = first_words(f"redirected to {where} (webhooks are not redirected: set the final address in newsletter.toml) {words}".encode())
            return Answer(response.status, words), finished and not response.will_close and not expired.is_set()
        except (OSError, http.client.HTTPException) as exc:
            if reused and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
                return None, False  # the receiver closed the kept connection while it was idle
            return Answer(None, "", _error(exc, expired.is_set() or time.monotonic() >= deadline, self)), False
        finally:
            if timer is not None:
                timer.cancel()


def _drained(response: http.client.HTTPResponse) -> bool:
    """Whether the whole answer was read (so the connection may carry the next request)."""
    try:
        return response.read(1) == b"" and response.isclosed()
    except (OSError, http.client.HTTPException):
        return False


def _expire(sock: socket.socket, expired: threading.Event) -> None:
    expired.set()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _error(exc: BaseException, late: bool, client: Client) -> str:
    if late or isinstance(exc, TimeoutError):
        return f"no complete answer within {client.total_seconds:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot find the host ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}"[:WORDS]
