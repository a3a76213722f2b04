"""The web app on PostgreSQL: the signup, confirmation and one-click flow in-process, and
gunicorn with several workers taking concurrent writes, none lost and none doubled."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsletter.db import Database, Server
from newsletter.mail.links import Purpose, make_token
from newsletter.models import Status, Subscriber
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.web.server import start
from newsletter.workspace.credentials import signing_keys
from tests.helpers.deployment import listening_port
from tests.helpers.web import Client, link_in, notices_sent, outbox
from tests.helpers.workspace import add_config

CONFIRM_LINK = r"https://fixture\.example\.org/confirm/\S+"


@pytest.fixture
def pg_web(workspace: Path, pg_url: str, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_url)
    app = create_app(workspace)
    limiter.reset()
    running = start(app, "127.0.0.1", 0)
    yield running
    running.stop()


def test_signup_confirm_and_one_click_on_postgresql(pg_web, pg_url: str, workspace: Path) -> None:
    client = Client(pg_web.url)
    assert client.subscribe("new@example.com", "New").status == 200
    with Database(Server(pg_url)) as db:
        assert db.subscribers.get("new@example.com").status == Status.PENDING
    link = link_in(outbox(workspace)[-1], CONFIRM_LINK)
    assert client.request("POST", link).status == 200
    with Database(Server(pg_url)) as db:
        subscriber = db.subscribers.get("new@example.com")
        assert subscriber.status == Status.ACTIVE
    token = make_token(subscriber.public_id, Purpose.UNSUBSCRIBE, signing_keys("outbox").current)
    answer = Client(pg_web.url).request(
        "POST", f"/unsubscribe?token={token}", b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status == 200
    with Database(Server(pg_url)) as db:
        assert [(status, channel) for status, channel, _, _ in db.subscribers.changes("new@example.com")][-1] == ("unsubscribed", "one-click")
    assert not (workspace / "subscribers.db").exists()


def test_gunicorn_workers_share_one_postgresql_database(workspace: Path, pg_url: str, monkeypatch) -> None:
    leavers = [f"leaver{n:02d}@example.com" for n in range(40)]
    with Database(Server(pg_url)) as db:
        db.subscribers.upsert(Subscriber(email, None, {}, Status.ACTIVE) for email in leavers)
        ids = {email: db.subscribers.get(email).public_id for email in leavers}
    key = signing_keys("outbox").current
    add_config(workspace, '[web]\nsubscribe_rate = "10000/minute"')  # one client here stands for many
    env = dict(os.environ, DATABASE_URL=pg_url)
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:newsletter.web.gunicorn_conf", "-w", "3", "-b", "127.0.0.1:0", "newsletter.web:create_app()"]
    log = workspace / "gunicorn.log"  # where it says the port it picked
    with open(log, "wb") as errors:
        server = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    try:
        port = listening_port(log, server)
        _wait_for(port, server, log)

        def post(job: tuple[str, bytes, str]) -> int:
            path, body, content_type = job
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("POST", path, body, {"Content-Type": content_type})
            status = connection.getresponse().status
            connection.close()
            return status

        jobs = [(f"/unsubscribe?token={make_token(ids[e], Purpose.UNSUBSCRIBE, key)}", b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded") for e in leavers]
        jobs += [("/subscribe", json.dumps({"email": f"new{n:02d}@example.com"}).encode(), "application/json") for n in range(40)]
        jobs += jobs[:10]  # repeated one-clicks: still one change each
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(post, jobs))
        monkeypatch.setenv("DATABASE_URL", pg_url)
        notices_sent(workspace)  # the workers' background senders
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert sorted(set(statuses)) == [200, 202], errors.decode()[-2000:]
    with Database(Server(pg_url)) as db:
        assert all(db.subscribers.get(e).status == Status.UNSUBSCRIBED for e in leavers)
        assert all(len(db.subscribers.changes(e)) == 1 for e in leavers)
        assert db.subscribers.counts_by_status()[Status.PENDING] == 40
        assert all(len(db.notices.sent_to(f"new{n:02d}@example.com")) == 1 for n in range(40))


def _wait_for(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not answer /healthz within 30 s")
