"""The web app on PostgreSQL under the races and faults a live server meets: two confirmations of
one link at once, one new address signed up twice at once, and a server restart that leaves dead
connections in the pool. Nobody twice, nobody lost, never a 500."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsletter.db import Database, Server
from newsletter.mail.links import Purpose, make_dated_token, make_token
from newsletter.models import Status, Subscriber
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.web.server import Running, start
from tests.helpers.hostile import NEWSLETTER_SECRET
from tests.helpers.web import Client
from tests.helpers.workspace import add_config

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WELCOME = "<mjml><mj-body><mj-section><mj-column><mj-text>Welcome to {{ newsletter.name }}</mj-text></mj-column></mj-section></mj-body></mjml>\n"


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, workspace: Path, monkeypatch) -> str | None:
    """Each race runs on both databases; the PostgreSQL URL, or None for SQLite."""
    if request.param == "sqlite":
        return None
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def app(workspace: Path, database: str | None) -> Iterator[Running]:
    add_config(workspace, '[web]\nsubscribe_rate = "100000/minute"\naddress_rate = "100000/minute"')
    (workspace / "templates" / "welcome.mjml.j2").write_text(WELCOME, encoding="utf-8")
    running = start(create_app(workspace), "127.0.0.1", 0)
    limiter.reset()
    yield running
    running.stop()


def opened(workspace: Path, url: str | None) -> Database:
    return Database(Server(url) if url else workspace / "subscribers.db")


def post(base: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body, headers)
        return connection.getresponse().status
    finally:
        connection.close()


def at_once(jobs: list[tuple[str, bytes, dict[str, str]]], base: str) -> list[int]:
    """Every job posted at the same moment, each from its own thread."""
    barrier = threading.Barrier(len(jobs))

    def go(job: tuple[str, bytes, dict[str, str]]) -> int:
        barrier.wait()
        return post(base, *job)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(go, jobs))


@pytest.mark.slow
def test_two_confirmations_at_once_confirm_once_and_welcome_once(app: Running, workspace: Path, database: str | None) -> None:
    people = [f"double{n:02d}@example.com" for n in range(20)]
    with opened(workspace, database) as db:
        for address in people:
            db.subscribers.sign_up(address, None)
        ids = {address: db.subscribers.get(address).public_id for address in people}
    issued = int(time.time()) + 1  # after the signup's own second
    for address in people:
        link = "/confirm/" + make_dated_token(ids[address], Purpose.CONFIRM, NEWSLETTER_SECRET.encode(), issued)
        assert at_once([(link, b"", FORM), (link, b"", FORM)], app.url) == [200, 200]  # a double click
    with opened(workspace, database) as db:
        for address in people:
            assert db.subscribers.get(address).status == Status.ACTIVE
            assert [status for status, _, detail, _ in db.subscribers.changes(address)].count("active") == 1
            assert [kind for kind, _ in db.notice_queue.states(address)].count("welcome") == 1


@pytest.mark.slow
def test_one_new_address_signed_up_twice_at_once_is_one_row_and_no_500(app: Running, workspace: Path, database: str | None) -> None:
    for n in range(10):
        body = json.dumps({"email": f"twice{n}@example.com"}).encode()
        statuses = at_once([("/subscribe", body, {"Content-Type": "application/json"})] * 4, app.url)
        assert statuses == [202] * 4
    with opened(workspace, database) as db:
        assert db.subscribers.counts_by_status()[Status.PENDING] == 10
        for n in range(10):
            assert [status for status, _, _, _ in db.subscribers.changes(f"twice{n}@example.com")] == ["pending"]


def test_one_clicks_after_a_server_restart_all_take(workspace: Path, postgres, pg_url: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    readers = [f"leaver{n}@example.com" for n in range(6)]
    with Database(Server(pg_url)) as db:
        db.subscribers.upsert(Subscriber(address, None, {}, Status.ACTIVE) for address in readers)
        ids = [db.subscribers.get(address).public_id for address in readers]
    running = start(create_app(workspace), "127.0.0.1", 0)
    try:
        client = Client(running.url)
        # Fill the pool with connections, as a day of traffic would.
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(lambda _: client.get("/healthz").status, range(32))) == {200}
        postgres.restart()
        statuses = []
        for public_id in ids:
            path = "/unsubscribe?token=" + make_token(public_id, Purpose.UNSUBSCRIBE, NEWSLETTER_SECRET.encode())
            statuses.append(client.request("POST", path, b"List-Unsubscribe=One-Click", FORM).status)
    finally:
        running.stop()
    assert statuses == [200] * 6
    with Database(Server(pg_url)) as db:
        assert [db.subscribers.get(address).status for address in readers] == [Status.UNSUBSCRIBED] * 6


def test_a_database_that_is_down_is_a_503_not_a_500(workspace: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@/newsletter?host={workspace}/no-server-here&connect_timeout=1")
    running = start(create_app(workspace), "127.0.0.1", 0)
    try:
        client = Client(running.url)
        answer = client.request("POST", "/unsubscribe?token=" + make_token("A" * 16, Purpose.UNSUBSCRIBE, NEWSLETTER_SECRET.encode()), b"List-Unsubscribe=One-Click", FORM)
        health = client.get("/healthz")
    finally:
        running.stop()
    assert answer.status == 503 and answer.headers.get("Retry-After")
    assert "try again" in answer.body and "Traceback" not in answer.body and "nobody@" not in answer.body
    assert health.status == 503
