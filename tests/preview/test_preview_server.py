"""The preview server without a browser: its routes, what it refuses, and what it serves."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.issue.build import build_issue
from newsletter.preview.app import start_preview
from newsletter.preview.server import PreviewServer

pytestmark = pytest.mark.slow  # each test starts a real preview server, which renders the issue first


def get(url: str, path: str, host: str | None = None, method: str = "GET") -> tuple[int, bytes, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    headers = {"Host": host} if host else {}
    connection.request(method, path, headers=headers)  # the path is sent exactly as written
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, dict(response.getheaders())


def test_email_route_serves_exactly_the_bytes_build_writes(preview, issue_path: Path, workspace: Path) -> None:
    status, body, headers = get(preview.url, "/email.html")
    build_issue(issue_path)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == (workspace / "build" / "2026-12-01" / "email.html").read_bytes()


def test_state_describes_the_render(preview) -> None:
    status, body, _ = get(preview.url, "/state.json")
    state = json.loads(body)
    assert status == 200
    assert state["subject"] == "Robots learn to fold laundry, and a quieter data centre"
    assert state["error"] is None and state["email_version"] == 1
    assert "Liquid cooling cuts a data centre’s noise in half" in state["text"]


@pytest.mark.parametrize(
    "path",
    [
        "/newsletter.toml",
        "/../newsletter.toml",
        "/%2e%2e/newsletter.toml",
        "/issues/2026-12-01.yaml",
        "/../../../../etc/passwd",
        "/static/../../newsletter.toml",
        "/email.html/../newsletter.toml",
        "//etc/passwd",
        "/favicon.ico",
    ],
)
def test_anything_outside_the_preview_routes_is_404(preview, path: str) -> None:
    status, body, _ = get(preview.url, path)
    assert status == 404
    assert b"Fixture Weekly" not in body and b"root:" not in body


def test_head_and_query_strings_work_on_real_routes(preview) -> None:
    assert get(preview.url, "/email.html?v=3")[0] == 200
    status, body, headers = get(preview.url, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_requests_for_another_host_name_are_refused(preview) -> None:
    """A web page on another site must not read the preview through DNS rebinding."""
    assert get(preview.url, "/email.html", host="attacker.example:80")[0] == 403
    port = urlsplit(preview.url).port
    assert get(preview.url, "/email.html", host=f"localhost:{port}")[0] == 200


def test_it_listens_on_loopback_by_default(preview) -> None:
    assert urlsplit(preview.url).hostname == "127.0.0.1"


def test_stopping_a_preview_returns_at_once(preview) -> None:
    """Ctrl-C ends `newsletter preview` without a wait of its own. The serving loop looked for a
    stop every half second, so each stop took up to half a second (0.25 s on average)."""
    waits = []
    for _ in range(8):  # on the session already rendered: only the server's start and stop count
        server = PreviewServer(preview.session, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()  # as start_preview runs it
        assert get(server.url, "/state.json")[0] == 200  # serving
        asked = time.monotonic()
        server.stop()
        waits.append(time.monotonic() - asked)
    assert sum(waits) < 1.0, [f"{wait:.2f} s" for wait in waits]


def test_an_issue_that_fails_at_start_is_served_as_an_error(issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text().replace("source: Robot Report", "source: ''"))
    running = start_preview(issue_path)
    try:
        state = json.loads(get(running.url, "/state.json")[1])
        assert "sections[0].stories[0].source: must not be empty" in state["error"]
        assert get(running.url, "/email.html")[0] == 503
    finally:
        running.stop()


def test_events_stream_announces_each_render(preview, issue_path: Path) -> None:
    parts = urlsplit(preview.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(f"GET /events HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        received = b""
        while b"data: 1\n\n" not in received:
            received += sock.recv(4096)
        assert b"text/event-stream" in received
        issue_path.write_text(issue_path.read_text().replace("Robot Report", "Robot Weekly"))
        while b"data: 2\n\n" not in received:
            received += sock.recv(4096)


def test_cli_reports_a_port_in_use(issue_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["preview", str(issue_path), "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output


def test_cli_reports_a_missing_issue_file(workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["preview", str(workspace / "issues" / "nope.yaml")])
    assert result.exit_code == 1
    assert "no such issue file" in result.output


def test_cli_prints_the_url_and_stops_cleanly_on_ctrl_c(issue_path: Path) -> None:
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "preview", str(issue_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background (`cmd &`) ignores SIGINT, and children inherit that:
        # give the preview the terminal's usual Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Previewing ") and " at http://127.0.0.1:" in line
        url = line.split(" at ")[1].strip()
        assert get(url, "/email.html")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Preview stopped." in out
    assert "Traceback" not in err
