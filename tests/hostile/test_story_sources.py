"""`story add` / `story show` sources, attacked: a local "file" that never ends or never opens, a
server that drips or floods, and redirects to other schemes or to the user's own network."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import newsletter.stories.fetch as fetch_module
import newsletter.stories.guarded_http as guarded_http
from newsletter.stories.errors import StoryError
from newsletter.stories.fetch import fetch
from newsletter.stories.guarded_http import Guard, check_public
from tests.helpers.hostile import run

QUICK = 5.0  # seconds: every refusal here must come well within this

ARTICLE = b"""<html><head><title>Harbour crane returns after a year of repairs</title></head><body><article>
<h1>Harbour crane returns after a year of repairs</h1>
<p>The old harbour crane lifted its first container on Monday after twelve months of repairs by the port authority.</p>
<p>Engineers replaced the main cable and the control cabin, the authority said in a statement on Monday morning.</p>
<p>The crane can now lift forty tonnes, ten more than before, and will work two shifts a day from next week.</p>
</article></body></html>"""

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class Server:
    """A web server on 127.0.0.1 answering each path with a function of the test's."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.stop = threading.Event()  # ends a drip at teardown
        routes = self.routes

        class Request(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    routes[self.path](self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up, as it should

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Request)
        self.http.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    thread = threading.Thread(target=state.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        state.http.shutdown()
        state.http.server_close()
        thread.join(timeout=5)


def headers(request: http.server.BaseHTTPRequestHandler, status: int = 200, **extra: str) -> None:
    request.send_response(status)
    request.send_header("Content-Type", "text/html; charset=utf-8")
    for name, value in extra.items():
        request.send_header(name.replace("_", "-"), value)
    request.end_headers()


def redirect_to(location: str) -> Handler:
    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        headers(request, 302, Location=location, Content_Length="0")

    return answer


def article(request: http.server.BaseHTTPRequestHandler) -> None:
    headers(request, Content_Length=str(len(ARTICLE)))
    request.wfile.write(ARTICLE)


def refused(source: str, **options) -> str:
    """Fetch `source`, expecting a quick StoryError; its message."""
    started = time.monotonic()
    with pytest.raises(StoryError) as caught:
        fetch(source, **options)
    assert time.monotonic() - started < QUICK
    return str(caught.value)


# --- local files ----------------------------------------------------------------------------------


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "article.txt"
    os.mkfifo(fifo)

    def unblock() -> None:  # should the check go, a writer ends the blocked open: the test fails, not hangs
        time.sleep(QUICK + 1)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass  # nobody is reading: the check held

    threading.Thread(target=unblock, daemon=True).start()
    message = refused(str(fifo))
    assert str(fifo) in message and "not a regular file" in message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_that_never_ends_is_refused() -> None:
    message = refused("/dev/zero")
    assert "/dev/zero" in message and "not a regular file" in message


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    big.write_bytes(b"All work and no play. " * (11_000_000 // 22 + 1))  # 11 MB of text
    message = refused(str(big))
    assert str(big) in message and "is 11.0 MB; article files are at most 10.0 MB" in message


# --- a server that drips or floods ----------------------------------------------------------------


@pytest.mark.slow
def test_a_server_dripping_a_byte_at_a_time_meets_the_total_deadline(server: Server) -> None:
    def drip(request: http.server.BaseHTTPRequestHandler) -> None:
        headers(request)
        for _ in range(60):  # 30 s, a byte every 0.5 s: each read is quick, the whole never ends
            if server.stop.is_set():
                return
            request.wfile.write(b"a")
            request.wfile.flush()
            time.sleep(0.5)

    server.routes["/drip"] = drip
    started = time.monotonic()
    with pytest.raises(StoryError, match="no complete answer within 2 seconds"):
        fetch(server.url("/drip"), timeout=2, allow_private=True)
    assert time.monotonic() - started < 12  # the 2-s deadline, not the drip's 30 s (10 s of room for a loaded machine)


@pytest.mark.slow
def test_a_server_dripping_its_headers_meets_the_total_deadline(server: Server) -> None:
    def drip(request: http.server.BaseHTTPRequestHandler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"a" * 100:
            if server.stop.is_set():
                return
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            time.sleep(0.3)

    server.routes["/slow-headers"] = drip
    started = time.monotonic()
    with pytest.raises(StoryError, match="no complete answer within 2 seconds"):
        fetch(server.url("/slow-headers"), timeout=2, allow_private=True)
    assert time.monotonic() - started < 12  # the 2-s deadline, not the drip's 45 s (10 s of room for a loaded machine)


def test_a_huge_content_length_is_refused_before_reading(server: Server) -> None:
    def announce(request: http.server.BaseHTTPRequestHandler) -> None:
        headers(request, Content_Length="50000000")
        request.wfile.write(b"<p>" + b"x" * 1000)

    server.routes["/huge"] = announce
    assert "larger than 10 MB" in refused(server.url("/huge"), allow_private=True)


def test_a_stream_past_the_size_cap_is_cut_off(server: Server, monkeypatch) -> None:
    monkeypatch.setattr(fetch_module, "MAX_BYTES", 100_000)
    sent: list[int] = [0]

    def flood(request: http.server.BaseHTTPRequestHandler) -> None:
        headers(request)  # no Content-Length: the body runs until the server stops
        while sent[0] < 5_000_000 and not server.stop.is_set():
            request.wfile.write(b"<p>flood</p>" * 1000)
            sent[0] += 12_000

    server.routes["/flood"] = flood
    assert "is larger than" in refused(server.url("/flood"), allow_private=True)


# --- redirects and private addresses --------------------------------------------------------------


def test_a_redirect_to_ftp_is_not_followed(server: Server) -> None:
    server.routes["/to-ftp"] = redirect_to("ftp://example.com/x")
    message = refused(server.url("/to-ftp"), allow_private=True)
    assert "redirects to ftp://example.com/x" in message and "only http and https" in message


def test_a_plain_redirect_is_still_followed(server: Server) -> None:
    server.routes["/moved"] = redirect_to("/article")
    server.routes["/article"] = article
    fetched = fetch(server.url("/moved"), timeout=5, allow_private=True)
    assert fetched.url == server.url("/article") and b"Harbour crane" in fetched.data


def test_a_redirect_loop_ends_with_one_line(server: Server) -> None:
    server.routes["/loop"] = redirect_to("/loop")
    message = refused(server.url("/loop"), allow_private=True)
    assert "redirects in a loop" in message and "\n" not in message


def test_a_loopback_url_is_refused_unless_allowed(server: Server) -> None:
    server.routes["/article"] = article
    message = refused(server.url("/article"))
    assert "127.0.0.1 is a private or loopback address" in message and "--allow-private" in message
    assert fetch(server.url("/article"), timeout=5, allow_private=True).data == ARTICLE


def test_a_redirect_to_the_metadata_service_is_refused(server: Server, monkeypatch) -> None:
    # The test server is on loopback itself: count 127.0.0.1 (only) as public for this test, so
    # the redirect hop to the metadata service is what is judged.
    real = guarded_http.is_public
    monkeypatch.setattr(guarded_http, "is_public", lambda address: address == "127.0.0.1" or real(address))
    server.routes["/to-metadata"] = redirect_to("http://169.254.169.254/latest/meta-data")
    message = refused(server.url("/to-metadata"), timeout=3)
    assert f"cannot fetch {server.url('/to-metadata')}: 169.254.169.254 is a private or loopback address" in message


def test_a_connection_that_lands_on_loopback_is_refused_whatever_dns_said(server: Server) -> None:
    # DNS rebinding: the name looked public when checked, the socket reached 127.0.0.1.
    guard = Guard("https://news.example.org/story", timeout=5, allow_private=False)
    sock = socket.create_connection(("127.0.0.1", server.http.server_address[1]))
    with pytest.raises(StoryError, match="news.example.org led to a private or loopback address"):
        guard.check_peer(sock)
    assert sock.fileno() == -1  # closed before a byte was sent
    guard.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data",  # the cloud metadata service
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # loopback, written as IPv6
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://localhost/",
    ],
)
def test_private_and_loopback_targets_are_refused(url: str) -> None:
    with pytest.raises(StoryError, match="is a private or loopback address"):
        check_public(url, "https://news.example.org/story")


def test_a_public_address_passes_without_dns() -> None:
    check_public("http://93.184.215.14/article")  # an IP literal: judged as written, nothing resolved


@pytest.mark.slow
def test_the_cli_refuses_a_loopback_url_in_one_line_and_allows_it_on_request(server: Server, in_workspace: Path) -> None:
    server.routes["/article"] = article
    result = run("story", "show", server.url("/article"))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "127.0.0.1 is a private or loopback address (give --allow-private to fetch it anyway)" in result.output
    result = run("story", "show", server.url("/article"), "--allow-private")
    assert result.exit_code == 0, result.output
    assert "Harbour crane returns after a year of repairs" in result.output
