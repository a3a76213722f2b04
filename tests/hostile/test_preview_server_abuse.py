"""The preview server, attacked over real loopback sockets: DNS rebinding through a foreign Host header,
idle connections that would hold a thread each, floods past the connection cap, and clients that reset."""

from __future__ import annotations

import http.client
import select
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from newsletter.preview import server as preview_server
from newsletter.preview.app import Preview, start_preview
from newsletter.preview.server import PreviewHandler, PreviewServer

pytestmark = pytest.mark.slow  # each attack runs against a real preview server, which renders the issue first


@pytest.fixture
def serve(issue_path: Path):
    """Start previews on any address; all are stopped after the test."""
    started: list[Preview] = []

    def start(host: str = "127.0.0.1") -> Preview:
        started.append(start_preview(issue_path, host=host))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def port_of(running: Preview) -> int:
    return running.server.server_address[1]


def status(running: Preview, host_header: str, connect_to: str | None = None) -> int:
    """GET /state.json with exactly this Host header."""
    ip = connect_to or running.server.server_address[0]
    connection = http.client.HTTPConnection(ip, port_of(running), timeout=5)
    try:
        connection.request("GET", "/state.json", headers={"Host": host_header})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def answers_within(running: Preview, seconds: float) -> bool:
    """True once a normal request gets its 200 (connections may be refused meanwhile)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if status(running, f"127.0.0.1:{port_of(running)}") == 200:
                return True
        except OSError:  # closed over the cap, or reset
            pass
        time.sleep(0.05)
    return False


def wait_for_threads(at_most: int, seconds: float = 5) -> int:
    deadline = time.monotonic() + seconds
    while threading.active_count() > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return threading.active_count()


# --- DNS rebinding: the Host header must name the address actually bound -----------------------


def test_a_non_default_loopback_address_refuses_a_foreign_host(serve) -> None:
    running = serve("127.0.0.2")  # Linux routes all of 127/8 to lo; this bind was unprotected before
    port = port_of(running)
    assert status(running, f"attacker.example:{port}") == 403
    assert status(running, "attacker.example") == 403
    assert status(running, f"127.0.0.1:{port}") == 403  # another address than the one bound
    assert status(running, f"127.0.0.2:{port}") == 200


FOREIGN_HOSTS = [
    "attacker.example:{port}",
    "localhost.attacker.example:{port}",
    "127.0.0.1.attacker.example:{port}",
    "127.0.0.1:{port}.attacker.example",
    "127.0.0.1:{port}@attacker.example",
    "127.0.0.1",  # no port means 80, which is not this server
    "127.0.0.1:1{port}",
    "localhost:+{port}",
    "[127.0.0.1]:{port}",
    "[::1]:{port}",
    "::1:{port}",
    "",
]


def test_loopback_answers_its_address_and_localhost_only(serve) -> None:
    running = serve()
    port = port_of(running)
    for host in FOREIGN_HOSTS:
        assert status(running, host.format(port=port)) == 403, host
    assert status(running, f"127.0.0.1:{port}") == 200
    assert status(running, f"localhost:{port}") == 200
    assert status(running, f"LocalHost:{port}") == 200  # host names are case-insensitive
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:  # no Host header at all
        sock.sendall(b"GET /state.json HTTP/1.0\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 403")


def test_a_wildcard_bind_answers_addresses_and_this_machine_but_no_other_name(serve) -> None:
    running = serve("0.0.0.0")
    port = port_of(running)
    assert status(running, f"attacker.example:{port}", connect_to="127.0.0.1") == 403
    assert status(running, f"127.0.0.1:{port}", connect_to="127.0.0.1") == 200
    assert status(running, f"192.0.2.7:{port}", connect_to="127.0.0.1") == 200  # any IP literal
    assert status(running, f"localhost:{port}", connect_to="127.0.0.1") == 200
    assert status(running, f"{socket.gethostname()}:{port}", connect_to="127.0.0.1") == 200
    assert status(running, f"127.0.0.1:{port + 1}", connect_to="127.0.0.1") == 403


# --- Idle connections time out ----------------------------------------------------------------


def test_an_idle_connection_is_closed_after_the_timeout(serve, monkeypatch) -> None:
    monkeypatch.setattr(PreviewHandler, "timeout", 1)
    running = serve()
    with socket.create_connection(("127.0.0.1", port_of(running)), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, not by our own 5 s timeout
        assert time.monotonic() - started < 4


def test_an_idle_keep_alive_connection_is_closed_quietly(serve, monkeypatch, capfd) -> None:
    monkeypatch.setattr(PreviewHandler, "timeout", 1)
    running = serve()
    port = port_of(running)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"HEAD / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(4096)
        assert received.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - started < 4
    assert capfd.readouterr().err == ""


def test_the_event_stream_outlives_the_socket_timeout(serve, monkeypatch) -> None:
    """The stream only writes; its keep-alives come more often than the timeout, so it stays open."""
    monkeypatch.setattr(PreviewHandler, "timeout", 1)
    monkeypatch.setattr(preview_server, "KEEPALIVE_SECONDS", 0.3)
    running = serve()
    port = port_of(running)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        received = b""
        deadline = time.monotonic() + 1.8
        while time.monotonic() < deadline:
            chunk = sock.recv(4096)
            assert chunk, "the event stream was closed"
            received += chunk
        assert b"data: 1\n\n" in received and received.count(b": keep-alive\n\n") >= 3


# --- The connection cap and the listen backlog ------------------------------------------------


def test_idle_connections_beyond_the_cap_hold_no_thread(serve, monkeypatch) -> None:
    monkeypatch.setattr(preview_server, "MAX_CONNECTIONS", 4)
    running = serve()
    baseline = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port_of(running)), timeout=5) for _ in range(50)]
    try:
        # Those over the cap are closed at once; the first 4 hold a slot (and a thread) each.
        closed: set[socket.socket] = set()
        deadline = time.monotonic() + 3
        while len(closed) < 46 and time.monotonic() < deadline:
            readable, _, _ = select.select([s for s in idle if s not in closed], [], [], 0.1)
            closed.update(s for s in readable if s.recv(1) == b"")
            assert threading.active_count() < baseline + 4 + 10
        assert len(closed) == 46
        assert threading.active_count() < baseline + 4 + 10
        with pytest.raises(OSError):  # every slot is held: a new connection is closed at once
            status(running, f"127.0.0.1:{port_of(running)}")
    finally:
        for sock in idle:
            sock.close()
    assert answers_within(running, 5)
    assert wait_for_threads(baseline) <= baseline


def test_the_listen_backlog_takes_a_burst_and_sockets_time_out() -> None:
    assert PreviewServer.request_queue_size >= 128
    # The event stream's keep-alives must come well within the timeout, or it would be cut.
    assert PreviewHandler.timeout is not None
    assert preview_server.KEEPALIVE_SECONDS < PreviewHandler.timeout <= 60


# --- Clients that reset -----------------------------------------------------------------------


def test_clients_that_reset_print_no_traceback(serve, capfd) -> None:
    running = serve()
    baseline = threading.active_count()
    port = port_of(running)
    for _ in range(200):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"GET /email.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAcc".encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # with a zero linger: a reset, not a FIN
    assert answers_within(running, 5)
    wait_for_threads(baseline)  # every reset has been handled
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err
    assert err == ""
