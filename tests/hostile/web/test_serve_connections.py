"""`newsletter serve` (newsletter/web/server.py) under idle and stalled connections: each holds a
thread, so their number is capped and idle ones are closed, as the preview's are
(newsletter/preview/capped_server.py; tests/hostile/test_preview_server_abuse.py)."""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
import urllib.parse

import pytest

from newsletter.web import server as web_server
from newsletter.web.server import QuietHandler
from tests.helpers.web import Client

pytestmark = pytest.mark.slow  # idle and stalled connections wait out the server's timeouts


def address(client: Client) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(client.base)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def answers_within(client: Client, seconds: float) -> float | None:
    """Seconds until GET /healthz got its 200 (connections may be closed meanwhile); None: never."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if client.get("/healthz").status == 200:
                return time.monotonic() - started
        except OSError:  # closed over the cap
            pass
        time.sleep(0.05)
    return None


def wait_for_threads(at_most: int, seconds: float = 5) -> int:
    deadline = time.monotonic() + seconds
    while threading.active_count() > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return threading.active_count()


def test_connections_are_capped_and_time_out_by_default() -> None:
    assert QuietHandler.timeout is not None and QuietHandler.timeout <= 60
    assert 0 < web_server.MAX_CONNECTIONS <= 256


@pytest.fixture
def quick_timeout(monkeypatch) -> None:
    """The tests below shorten the idle timeout to 1 s (30 s by default: see the test above)."""
    monkeypatch.setattr(QuietHandler, "timeout", 1)


@pytest.mark.parametrize("sent", [b"", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a"], ids=["nothing", "half the headers"])
def test_an_idle_connection_is_closed_after_the_timeout(serve, quick_timeout, sent: bytes, capfd, caplog) -> None:
    client = serve()
    with socket.create_connection(address(client), timeout=5) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, not by our own 5 s timeout
        assert time.monotonic() - started < 4
    assert "Traceback" not in capfd.readouterr().err + caplog.text


def test_a_client_stalled_in_its_body_is_closed_without_a_traceback(serve, quick_timeout, capfd, caplog) -> None:
    caplog.set_level(logging.INFO)
    client = serve()
    host, port = address(client)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"POST /subscribe HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"email\"".encode())
        started = time.monotonic()
        while sock.recv(4096):  # whatever the answer, the connection ends
            pass
        assert time.monotonic() - started < 4
    assert answers_within(client, 2) is not None
    assert "Traceback" not in capfd.readouterr().err + caplog.text


def test_idle_connections_past_the_cap_hold_no_thread_and_a_new_client_is_answered(serve, quick_timeout, monkeypatch) -> None:
    monkeypatch.setattr(web_server, "MAX_CONNECTIONS", 4)
    client = serve()
    assert client.get("/healthz").status == 200  # the app's own threads (its notice sender) are running
    baseline = threading.active_count()
    idle = [socket.create_connection(address(client), timeout=5) for _ in range(4 + 30)]
    try:
        # Those over the cap are closed at once; the first 4 hold a slot (and a thread) each.
        closed: set[socket.socket] = set()
        deadline = time.monotonic() + 3
        while len(closed) < 30 and time.monotonic() < deadline:
            readable, _, _ = select.select([s for s in idle if s not in closed], [], [], 0.1)
            closed.update(s for s in readable if s.recv(1) == b"")
            assert threading.active_count() <= baseline + 4
        assert len(closed) >= 30
        # A new client gets in once the idle ones time out (1 s here), while the attacker still
        # holds its 34 sockets open.
        waited = answers_within(client, 4)
        assert waited is not None and waited < 3
        assert threading.active_count() <= baseline + 4
    finally:
        for sock in idle:
            sock.close()
    assert wait_for_threads(baseline) <= baseline
