"""The segment terms of engagement, `clicked` and `received`, select the right readers from the
ledger, the clicks and the provider's events, on SQLite and PostgreSQL alike; mistakes are shown
with a caret; and `clicked` is refused, saying why, where nobody's clicks are recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.db import Database, Event, Location
from newsletter.db.clicks import Click
from newsletter.db.segments import select
from newsletter.models import Status, Subscriber
from newsletter.models.segments import SegmentError, parse_segment
from newsletter.workspace.config import Config

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def ago(days: float) -> str:
    return (NOW - dt.timedelta(days=days)).isoformat(timespec="seconds")


def insert_deliveries(db: Database, rows: list[tuple[str, str, str, str]]) -> None:
    """(issue, email, state, updated_at) rows straight into the ledger."""
    with db.transaction():
        db.connection.db.executemany("INSERT INTO deliveries (issue, email, state, updated_at) VALUES (?, ?, ?, ?)", rows)


@pytest.fixture
def db(location: Location):
    """ann: 6 issues, a click 10 days ago. ben: 6 issues, his only click 100 days ago. cat: 2 issues
    and a mail scanner's click 5 days ago (not a person's). dan: no issue, a click SendGrid reported
    20 days ago. eve: 7 issues sent, one failed and a last-chance email (neither is an issue she
    received). gone: unsubscribed, clicked yesterday, 9 issues."""
    with Database(location) as database:
        people = ["ann", "ben", "cat", "dan", "eve"]
        database.subscribers.upsert([Subscriber(f"{name}@example.com", name.title(), {}, Status.ACTIVE, created_at=ago(400)) for name in people])
        database.subscribers.upsert([Subscriber("gone@example.com", "Gone", {}, Status.UNSUBSCRIBED, created_at=ago(400))])
        received = {"ann": 6, "ben": 6, "cat": 2, "eve": 7, "gone": 9}
        rows = [(str(issue), f"{name}@example.com", "sent", ago(70 - 7 * issue)) for name, count in received.items() for issue in range(1, count + 1)]
        rows += [("8", "eve@example.com", "failed", ago(3)), ("sunset-2026-11-30", "eve@example.com", "sent", ago(1))]
        insert_deliveries(database, rows)
        database.clicks.record(
            [
                Click("6", "1", "https://example.org/a", ago(10), "ann@example.com"),
                Click("1", "1", "https://example.org/a", ago(100), "ben@example.com"),
                Click("2", "2", "https://example.org/b", ago(5), "cat@example.com", machine="early"),
                Click("2", "2", "https://example.org/b", ago(5)),  # aggregate: nobody's
                Click("9", "1", "https://example.org/a", ago(1), "gone@example.com"),
            ]
        )
        database.events.record([Event("e1", "click", "dan@example.com", "4", "s1", ago(20), "https://example.org/c")], "sendgrid")
        yield database


def chosen(db: Database, expression: str) -> list[str]:
    selection = select(db.connection.dialect, None, {}, parse_segment(expression, {}, {}), NOW)
    count, first = db.ledger.would_send("99", 100, selection)
    assert count == len(first)
    return [r.email[:3] for r in first]


# Each expression and whom it selects, checked together: one database per engine for them all.
EXPECTED = {
    "clicked < 90d": ["ann", "dan"],  # a person's click: the redirect's (with the reader) or the provider's
    "clicked <= 90d": ["ann", "dan"],
    "clicked >= 90d": ["ben", "cat", "eve"],  # the exact opposite: never clicking included; a scanner's click is none
    "clicked > 90d": ["ben", "cat", "eve"],
    "clicked < 15d": ["ann"],
    "clicked < 3w": ["ann", "dan"],
    "clicked > 2w": ["ben", "cat", "dan", "eve"],
    "clicked < 240h": ["ann"],
    "received >= 6": ["ann", "ben", "eve"],
    "received > 6": ["eve"],  # 7: neither the failed row nor the last-chance email counts
    "received = 7": ["eve"],
    "received = 0": ["dan"],  # no row at all in the ledger
    "received < 3": ["cat", "dan"],
    "received <= 2": ["cat", "dan"],
    "received != 6": ["cat", "dan", "eve"],
    "received >= 0": ["ann", "ben", "cat", "dan", "eve"],
    "received < 0": [],
    "clicked >= 90d and received >= 6": ["ben", "eve"],  # the readers sunsetting is for
    "not clicked < 90d": ["ben", "cat", "eve"],
    "clicked < 90d or received = 2": ["ann", "cat", "dan"],
    "clicked < 2d or received > 7": [],  # gone clicked yesterday and had 9 issues, but left
}


def test_each_engagement_term_selects_the_right_active_readers(db: Database) -> None:
    assert {expression: chosen(db, expression) for expression in EXPECTED} == EXPECTED


@pytest.mark.parametrize(
    ("expression", "message", "caret"),
    [
        ("received >= 2.5", "received counts whole issues: give a whole number such as 6, not 2.5", 12),
        ("received >= -1", "received counts whole issues: give a whole number such as 6, not -1", 12),
        ("clicked = 90d", "expected <, <=, > or >=, found '='", 8),
        ("clicked < 90", "expected an age such as 30d, 4w or 12h, found", 10),
        ("received", "expected a comparison (<, <=, =, !=, > or >=), found the end", 8),
        ("tag:vip and", "expected a condition (tag:, topic:, segment:, attr.NAME, joined, clicked, received, not or '('), found the end", 11),
    ],
)
def test_a_mistake_is_shown_with_a_caret_under_it(expression: str, message: str, caret: int) -> None:
    with pytest.raises(SegmentError) as raised:
        parse_segment(expression, {}, {})
    assert message in str(raised.value)
    assert str(raised.value).endswith(f"\n  {expression}\n  {' ' * caret}^")


def test_clicked_is_refused_with_the_reason_where_nobody_s_clicks_are_recorded() -> None:
    reason = "no clicks are recorded per reader"
    with pytest.raises(SegmentError) as raised:
        parse_segment("tag:vip or clicked < 90d", {}, {}, reason)
    assert str(raised.value) == f"clicked cannot select anyone here: {reason}:\n  tag:vip or clicked < 90d\n             ^"
    with pytest.raises(SegmentError, match=r"in \[segments\] quiet"):  # inside a named segment, named
        parse_segment("quiet", {"quiet": "clicked > 90d"}, {}, reason)
    assert parse_segment("received >= 6", {}, {}, reason).label == "received >= 6"  # the ledger always knows what was sent


BASE = {"newsletter": {"name": "N", "postal_address": "1 Street", "archive_url": "https://n.example.org/"}, "sender": {"name": "E", "address": "e@n.example.org"}}


@pytest.mark.parametrize(
    ("settings", "measured"),
    [
        ({}, False),  # aggregate, through the outbox
        ({"tracking": {"clicks": "reader"}}, True),
        ({"tracking": {"clicks": "off"}, "send": {"provider": "sendgrid"}, "sendgrid": {"click_tracking": True}}, True),
        ({"send": {"provider": "sendgrid"}}, False),  # SendGrid without its click tracking reports no clicks
        ({"send": {"provider": "mailgun"}, "mailgun": {"domain": "mg.example.org"}}, False),  # the tool turns Mailgun's tracking off
    ],
)
def test_whether_a_workspace_records_each_reader_s_clicks(settings: dict[str, dict[str, object]], measured: bool) -> None:
    config = Config.model_validate({**BASE, **settings})
    problem = config.unmeasured_reader_clicks
    assert (problem is None) == measured
    if problem:
        assert '[tracking] clicks = "reader"' in problem and "records no one's clicks" in problem
