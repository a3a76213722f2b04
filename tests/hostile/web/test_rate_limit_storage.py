"""[web] rate_limit_storage = "redis://...", which the README recommends for several workers, against
a real Redis server (tests/helpers/redis_server.py): the limit shared by two app processes, a Redis that
does not answer at start or goes away while serving, and the Redis client not installed."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.web import create_app
from newsletter.web.server import QuietHandler, start
from tests.helpers.hostile import SECRETS
from tests.helpers.web import Client
from tests.helpers.workspace import add_config

pytestmark = pytest.mark.slow  # app processes and a Redis server that goes away

PASSWORD = "redis-password-Zq4Lm8Wx"
NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def signup(client: Client, address: str) -> int:
    answer = client.request("POST", "/subscribe", json.dumps({"email": address}).encode(), {"Content-Type": "application/json"})
    return answer.status


def assert_clean(text: str) -> None:
    """No traceback, no secret, no Redis password in what the app printed."""
    assert "Traceback" not in text
    for secret in (*SECRETS, PASSWORD):
        assert secret not in text


@pytest.fixture
def serve_process(workspace: Path, tmp_path: Path) -> Iterator:
    """serve_process() runs `newsletter serve --port 0` for the workspace as a process of its own
    (as each gunicorn worker is); returns a client for it. All are stopped after the test."""
    started: list[subprocess.Popen[str]] = []

    def run() -> Client:
        process = subprocess.Popen(
            [NEWSLETTER, "serve", "--port", "0"], cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy()
        )
        started.append(process)
        assert process.stdout is not None
        first = process.stdout.readline()  # "Serving <name> at http://127.0.0.1:PORT (...)"
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", first)
        assert found, first + process.stdout.read()
        return Client(found.group(1))

    yield run
    for process in started:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_two_app_processes_share_one_limit_through_redis(workspace: Path, redis_url: str, serve_process) -> None:
    add_config(workspace, f'[web]\nrate_limit_storage = "{redis_url}"\nsubscribe_rate = "3/minute"')
    first, second = serve_process(), serve_process()
    # Alone, each process would let 3 through: together they let 3 through.
    answers = [signup(client, f"reader{n}@example.com") for n, client in enumerate([first, second, first, second, first])]
    assert answers == [202, 202, 202, 429, 429]


def test_without_the_redis_client_the_app_says_which_extra_to_install(workspace: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "no-redis"
    blocked.mkdir()
    (blocked / "redis.py").write_text('raise ImportError("No module named \'redis\'")\n')  # as if never installed
    add_config(workspace, f'[web]\nrate_limit_storage = "redis://:{PASSWORD}@127.0.0.1:6379/0"')
    # blocked first, then whatever PYTHONPATH the suite runs with (a worktree's checkout)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(blocked), os.environ.get("PYTHONPATH")])), XDG_RUNTIME_DIR=str(tmp_path))

    serve = subprocess.run([NEWSLETTER, "serve", "--port", "0"], cwd=workspace, env=env, capture_output=True, text=True, timeout=60)
    assert serve.returncode != 0
    assert "[web] rate_limit_storage" in serve.stderr and "pip install 'newsletter-desk[redis]'" in serve.stderr
    assert "redis://127.0.0.1:6379/0" in serve.stderr
    assert_clean(serve.stdout + serve.stderr)

    # The README's gunicorn command: one line, and gunicorn stops rather than restarting workers forever.
    command = [GUNICORN, "-c", "python:newsletter.web.gunicorn_conf", "-w", "2", "-b", "127.0.0.1:0", "newsletter.web:create_app()"]
    gunicorn = subprocess.run(command, cwd=workspace, env=dict(env, NEWSLETTER_WORKSPACE=str(workspace)), capture_output=True, text=True, timeout=60)
    assert gunicorn.returncode == 1
    # said once, by gunicorn's master before any worker starts (two workers failing at once made
    # gunicorn 27 print a traceback of its own)
    assert gunicorn.stderr.count("pip install 'newsletter-desk[redis]'") == 1
    assert "Booting worker" not in gunicorn.stderr
    assert_clean(gunicorn.stdout + gunicorn.stderr)


@pytest.fixture
def app_log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.WARNING)
    yield caplog
    assert_clean(caplog.text)


def test_a_redis_that_does_not_answer_at_start_is_said_and_the_limits_still_hold(workspace: Path, app_log, refused_port: int) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{refused_port}/0"
    add_config(workspace, f'[web]\nrate_limit_storage = "{url}"\nsubscribe_rate = "2/minute"')
    running = start(create_app(workspace), "127.0.0.1", 0)
    try:
        assert re.search(r"\[web\] rate_limit_storage redis://127\.0\.0\.1:\d+/0 does not answer at start", app_log.text)
        client = Client(running.url)
        assert client.get("/healthz").status == 200
        assert [signup(client, f"r{n}@example.com") for n in range(3)] == [202, 202, 429]  # counted by this process
    finally:
        running.stop()


def test_redis_going_away_while_serving_costs_no_request_and_is_said(workspace: Path, app_log) -> None:
    from tests.helpers import redis_server

    if redis_server.binary() is None:
        pytest.skip("Redis tests need the server (apt-get install redis-server)")
    server = redis_server.start_server()  # its own: this test stops it
    add_config(workspace, f'[web]\nrate_limit_storage = "{server.url}"\nsubscribe_rate = "3/minute"')
    running = start(create_app(workspace), "127.0.0.1", 0)
    try:
        client = Client(running.url)
        assert [signup(client, f"a{n}@example.com") for n in range(2)] == [202, 202]
        server.halt()
        # Counted by this process from now on: 3 more pass, the 4th is refused. Never a 500.
        assert [signup(client, f"b{n}@example.com") for n in range(4)] == [202, 202, 202, 429]
        assert f"[web] rate_limit_storage {server.url} does not answer any more" in app_log.text
        server.restart()
        time.sleep(2.2)  # Flask-Limiter tries the storage again 1 s, then 2 s, ... after it went away
        assert signup(client, "c@example.com") == 202  # Redis's own count starts again: it was wiped
        assert f"[web] rate_limit_storage {server.url} answers again" in app_log.text
    finally:
        running.stop()
        server.stop()


def test_a_client_stalling_its_body_is_not_taken_for_redis_being_away(workspace: Path, redis_url: str, app_log, monkeypatch) -> None:
    """Flask-Limiter takes any exception while it checks a request's limits for its storage being away;
    reading a stalled body for the per-address key raises one. Redis answers: the log must not say otherwise."""
    monkeypatch.setattr(QuietHandler, "timeout", 1)
    add_config(workspace, f'[web]\nrate_limit_storage = "{redis_url}"')
    running = start(create_app(workspace), "127.0.0.1", 0)
    try:
        with socket.create_connection(running.server.server_address[:2], timeout=5) as sock:
            sock.sendall(b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400")
        assert signup(Client(running.url), "after@example.com") == 202
        assert "does not answer" not in app_log.text
    finally:
        running.stop()
