"""PostgreSQL mode, attacked through what the list stores (issue 22, items 12, 13 and 14), on a real
throw-away server: control characters never reach a row (PostgreSQL refuses NUL in text and
in JSON, which broke every later export), the import's COPY path carries change times, and late
events are weighed in PostgreSQL's own SQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from pathlib import Path

import pytest

from newsletter.db import Database, Event, Server
from newsletter.models import Status, Subscriber
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from tests.helpers.hostile import run


@pytest.fixture
def pg(in_workspace: Path, pg_url: str, monkeypatch) -> Server:
    """The workspace's commands and web app on a fresh PostgreSQL database."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    return Server(pg_url)


def people(server: Server) -> dict[str, Subscriber]:
    with Database(server) as db:
        return {s.email: s for s in db.subscribers.all()}


def exported(server: Server) -> list[dict[str, str]]:
    result = run("subscribers", "export")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


BAD_FILES = {
    "NUL in a cell": ("email,plan\nknown@example.com,pa\x00id\n", "line 2: 'known@example.com': column 'plan': the value contains the control character U+0000"),
    "NUL in JSON": ('email,attributes\nknown@example.com,"{""plan"": ""\\u0000""}"\n', "column 'attributes', key 'plan': the value contains the control character U+0000"),
    "NUL in a JSON key": ('email,attributes\nnew@example.com,"{""\\u0000"": ""x""}"\n', "the attribute name contains the control character U+0000"),
}


@pytest.mark.parametrize("text, message", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_an_import_with_nul_is_refused_and_the_list_keeps_working(pg: Server, in_workspace: Path, text: str, message: str) -> None:
    with Database(pg) as db:
        db.subscribers.upsert([Subscriber("known@example.com", "Known", {"plan": "free"})])
    source = in_workspace / "list.csv"
    source.write_text(text, encoding="utf-8")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert list(people(pg)) == ["known@example.com"]
    assert [row["plan"] for row in exported(pg)] == ["free"]
    source.write_text("email,plan\nknown@example.com,paid\nnew@example.com,free\n")  # the address can still be touched
    assert run("subscribers", "import", str(source)).exit_code == 0
    assert [(row["email"], row["plan"]) for row in exported(pg)] == [("known@example.com", "paid"), ("new@example.com", "free")]


def test_subscribers_add_refuses_nul_on_postgresql(pg: Server) -> None:
    assert run("subscribers", "add", "ada@example.com", "--attr", "plan=free").exit_code == 0
    result = run("subscribers", "add", "ada@example.com", "--attr", "plan=\x00")
    assert result.exit_code == 1 and "--attr 'plan=\\x00': the value contains the control character U+0000" in result.output
    assert [row["plan"] for row in exported(pg)] == ["free"]


def test_a_web_signup_with_nul_in_its_name_stores_no_nul(pg: Server, in_workspace: Path) -> None:
    app = create_app(in_workspace)
    limiter.reset()
    try:
        answer = app.test_client().post("/subscribe", json={"email": "web@example.com", "name": "We\x00b"})
    finally:
        app.extensions["newsletter"].sender.stop()  # its background sender, before the server goes
    assert answer.status_code < 500
    assert "\x00" not in repr(people(pg))
    assert [row["email"] for row in exported(pg)] == (["web@example.com"] if people(pg) else [])


def test_export_and_import_carry_change_times_through_copy(pg: Server, in_workspace: Path) -> None:
    with Database(pg) as db:
        db.subscribers.upsert([Subscriber("left@example.com"), Subscriber("here@example.com")])
        db.subscribers.set_status(["left@example.com"], Status.UNSUBSCRIBED)
        db.subscribers.db.execute("UPDATE subscribers SET status_changed_at = '2026-03-04T05:06:07+00:00' WHERE email = 'left@example.com'")
    saved = in_workspace / "export.csv"
    assert run("subscribers", "export", "--out", str(saved)).exit_code == 0
    for email in ("left@example.com", "here@example.com"):
        assert run("subscribers", "remove", email, "--forget").exit_code == 0
    source = in_workspace / "more.csv"
    source.write_text(saved.read_text() + "gone@example.com,,unsubscribed,,,\n")
    before = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result = run("subscribers", "import", str(source))
    assert result.exit_code == 0, result.output
    rows = {row["email"]: row["status_changed_at"] for row in exported(pg)}
    assert rows["left@example.com"] == "2026-03-04T05:06:07+00:00"
    assert rows["gone@example.com"] >= before  # departed, the file does not say when: at the import
    assert rows["here@example.com"] == ""


def test_a_late_event_is_weighed_against_the_last_change_on_postgresql(pg: Server) -> None:
    confirmed = int(time.time()) - 600

    def at(seconds: int) -> str:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")

    with Database(pg) as db:
        db.subscribers.upsert([Subscriber(f"{name}@example.com") for name in ("late", "newer", "angry", "timeless")])
        db.subscribers.db.execute("UPDATE subscribers SET status_changed_at = ?", (at(confirmed),))
        new = db.events.record(
            [
                Event("e1", "unsubscribe", "late@example.com", "7", "s", at(confirmed - 60), status=Status.UNSUBSCRIBED),
                Event("e2", "unsubscribe", "newer@example.com", "7", "s", at(confirmed + 60), status=Status.UNSUBSCRIBED),
                Event("e3", "spamreport", "angry@example.com", "7", "s", at(confirmed - 3600), status=Status.COMPLAINED),
                Event("e4", "bounce", "timeless@example.com", "7", "s", None, status=Status.BOUNCED),
            ],
            "sendgrid",
        )
        assert new == 4
        assert db.events.counts("7") == {"bounce": 1, "spamreport": 1, "unsubscribe": 2}
    statuses = {email: s.status for email, s in people(pg).items()}
    assert statuses == {
        "angry@example.com": Status.COMPLAINED,
        "late@example.com": Status.ACTIVE,
        "newer@example.com": Status.UNSUBSCRIBED,
        "timeless@example.com": Status.ACTIVE,
    }
