"""`newsletter report` on event data posted by anyone: item 20 (a clicked link holding `$...$`
crashed the HTML page in matplotlib's mathtext), terminal escapes in event data reaching the text
report, and an event naming no known issue making a phantom issue in the trend."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from pathlib import Path

import pytest

from newsletter.db import Database, Event
from newsletter.providers.sendgrid.events import to_event
from tests.helpers.hostile import run

T1 = "2026-12-01T09:00:00+00:00"  # issue 7 goes out
T2 = "2026-12-08T09:00:00+00:00"  # a week later
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # anything but a line break or a tab
ESCAPES = [
    "https://example.org/a\x1b]0;owned\x07",  # sets the terminal's title
    "https://example.org/b\x1b[2J\x1b[H",  # clears the screen
    "https://example.org/c\x9b31m",  # C1 CSI: red, on terminals that take it
    "https://example.org/d\n  complaints          0  0.00% of sent",  # a line of the report's own
]
MATH = ["https://example.org/?price=$5&total=$10", "https://example.org/$x^$", "https://example.org/$\\frac{a}{$", "https://example.org/$$"]
ids = itertools.count(1)


def ledger(db: Database, issue: str, count: int, at: str = T1, subject: str | None = None) -> None:
    sql = db.connection.db
    with db.transaction():
        sql.executemany("INSERT INTO deliveries (issue, email, state, attempts, updated_at) VALUES (?, ?, 'sent', 1, ?)", [(issue, f"r{i}@example.com", at) for i in range(count)])
        if subject:
            sql.execute(
                "INSERT INTO issues (issue, file, subject, fingerprint, first_fingerprint, updated_at) VALUES (?, 'issues/x.yaml', ?, 'f', 'f', ?)", (issue, subject, at)
            )


def events(db: Database, *items: tuple[str, str, dict[str, object]], issue: object = "7", at: str = T1) -> None:
    """(kind, email, extra SendGrid fields) each, through the webhook's own mapping."""
    stamp = int(dt.datetime.fromisoformat(at).timestamp()) + 60
    mapped = [to_event({"sg_event_id": f"ev-{next(ids)}", "event": kind, "email": email, "issue": issue, "timestamp": stamp, **extra}) for kind, email, extra in items]
    db.events.record([event for event in mapped if event], "sendgrid")


@pytest.fixture
def db(in_workspace: Path):
    with Database(in_workspace / "subscribers.db") as database:
        yield database


def raw_clicks(db: Database, urls: list[str]) -> None:
    """Clicks stored as they came, controls and all: the webhook now replaces controls before
    storing, but a database written by an earlier version (or copied in) still holds them."""
    db.events.record([Event(f"raw-{next(ids)}", "click", "r1@example.com", "7", None, T1, detail=url) for url in urls], "sendgrid")


def test_terminal_escapes_in_event_data_never_reach_the_terminal(db: Database, issue_path: Path) -> None:
    ledger(db, "7", 3, subject="Robots\x1b[5m fold laundry")
    raw_clicks(db, ESCAPES)
    for args in (["report", str(issue_path)], ["report"]):
        output = run(*args).output
        assert not CONTROL.search(output), CONTROL.search(output)
    text = run("report", str(issue_path)).output
    assert "example.org/a]0;owned" in text and "example.org/c31m" in text  # the links are shown, without their controls
    assert [line.split()[0] for line in text.splitlines() if line.lstrip().startswith("complaints")] == ["complaints"]  # no line comes from an event
    assert "Issue 7: Robots[5m fold laundry" in text

    shown = run("report", str(issue_path), "--json").output
    assert not CONTROL.search(shown.replace("\n", ""))
    assert sorted(link["url"] for link in json.loads(shown)["clicks"]["links"]) == sorted(ESCAPES)  # JSON keeps the data, escaped


@pytest.mark.slow
def test_a_dollar_in_a_clicked_link_is_text_not_math(db: Database, issue_path: Path, tmp_path: Path) -> None:
    ledger(db, "7", 3)
    events(db, *[("click", "r1@example.com", {"url": url}) for url in MATH])
    page_file = tmp_path / "report.html"
    result = run("report", str(issue_path), "--html", str(page_file))
    assert result.exit_code == 0, result.output
    page = page_file.read_text(encoding="utf-8")
    assert "https://example.org/$\\frac{a}{$" in page and "price=$5&amp;total=$10" in page
    assert page.count("<svg") >= 3


@pytest.mark.slow
def test_an_event_naming_no_known_issue_makes_no_phantom_issue(db: Database, in_workspace: Path, issue_path: Path, tmp_path: Path) -> None:
    ledger(db, "7", 10)
    events(db, ("delivered", "r1@example.com", {}), ("delivered", "r2@example.com", {}))
    for issue in ("not-an-issue", "99", "7\x1b[31m"):  # a week later: without the fix each was an issue of the trend
        events(db, ("click", "r1@example.com", {"url": "https://example.org/x"}), issue=issue, at=T2)
    events(db, ("delivered", "r3@example.com", {}), issue=12345678901234567890, at=T2)

    text = run("report").output
    rows = [line.split()[0] for line in text.splitlines() if re.match(r"^\s*\S+\s+\d{4}-\d\d-\d\d\s", line)]
    assert rows == ["7"], text
    assert "4 provider event(s) named no issue the ledger knows; they are left out of the trend." in text

    trend = json.loads(run("report", "--json").output)
    assert [point["issue"] for point in trend["issues"]] == ["7"] and trend["unknown_issue_events"] == 4
    # Nor does a phantom issue's "first send" end issue 7's unsubscribe window.
    assert json.loads(run("report", str(issue_path), "--json").output)["unsubscribes"]["window"]["until"] is None

    assert run("report", "--html", str(tmp_path / "trend.html")).exit_code == 0
    page = (tmp_path / "trend.html").read_text(encoding="utf-8")
    assert "#99" not in page and "4 provider event(s) named no issue the ledger knows" in page
