"""The web app around a subscriber's story: a link sent before the editor changed the reader's
address still unsubscribes them, and `newsletter serve` removes signups never confirmed."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.mail.links import Purpose, make_token
from newsletter.models import Status, Subscriber
from newsletter.subscribers.rules import sign_up
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.web.server import start
from newsletter.workspace.credentials import signing_keys
from tests.helpers.cli import run
from tests.helpers.web import Client
from tests.helpers.workspace import add_config

OLD, NEW = "ada@example.com", "ada@new.example.org"


def test_a_link_sent_before_an_address_change_still_unsubscribes_the_reader(workspace: Path, web) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(OLD, "Ada", {})])
        public_id = db.subscribers.get(OLD).public_id
    token = make_token(public_id, Purpose.UNSUBSCRIBE, signing_keys("outbox").current)  # in mail sent to the old address

    run("subscribers", "edit", OLD, "--email", NEW, cwd=workspace, ok=True)

    answer = Client(web.url).request(
        "POST", "/unsubscribe?" + urllib.parse.urlencode({"token": token}), b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status == 200 and "You are unsubscribed" in answer.body
    with Database(workspace / "subscribers.db") as db:
        assert db.subscribers.get(NEW).status == Status.UNSUBSCRIBED
        assert [(c.status, c.channel) for c in db.records.history(NEW)] == [("address changed", "command line"), ("unsubscribed", "one-click")]


@pytest.mark.slow
def test_serve_removes_signups_never_confirmed_once_a_day(workspace: Path) -> None:
    add_config(workspace, "[web]\npurge_pending_after_days = 20\n")
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=21)).isoformat(timespec="seconds")
    with Database(workspace / "subscribers.db") as db:
        sign_up(db, "stale@example.com", None)
        sign_up(db, "recent@example.com", None)
        db.connection.db.execute(
            "UPDATE subscribers SET created_at = ?, status_changed_at = ? WHERE email = 'stale@example.com'", (long_ago, long_ago)
        )
        db.connection.db.execute("UPDATE notice_queue SET queued_at = ?, state = 'sent' WHERE email = 'stale@example.com'", (long_ago,))
    app = create_app(workspace)
    limiter.reset()
    running = start(app, "127.0.0.1", 0)
    try:
        assert Client(running.url).request("GET", "/healthz").status == 200  # the background thread starts with the first request
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "stale@example.com" in emails(workspace):
            time.sleep(0.1)
        assert emails(workspace) == ["recent@example.com"]
    finally:
        running.stop()


def emails(workspace: Path) -> list[str]:
    with Database(workspace / "subscribers.db") as db:
        return [s.email for s in db.subscribers.all()]
