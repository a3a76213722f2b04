"""Segments and topics select the right readers, in SQL, on SQLite and PostgreSQL alike; and the
ledger follows a segment that widens or narrows without un-sending anyone."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.db import Database, Location, Settlement
from newsletter.db.ledger import OUTSIDE
from newsletter.db.segments import WHOLE_LIST, Selection, select
from newsletter.models import State, Status, Subscriber
from newsletter.models.segments import parse_segment

ISSUE = "7"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
TOPICS = {"ai": True, "deals": False}  # deals is opt-in
NAMED = {"ai_readers": "tag:ai and not tag:paused", "germans": 'attr.country = "DE"', "both": "segment:ai_readers or segment:germans"}


def days_ago(days: int) -> str:
    return (NOW - dt.timedelta(days=days)).isoformat(timespec="seconds")


READERS = [
    # email, attributes, joined (days ago), tags, topic choices
    ("ann@example.com", {"country": "DE", "plan": "pro"}, 3, ["ai", "VIP customers"], {}),
    ("ben@example.com", {"country": "FR", "plan": "team"}, 40, ["ai", "paused"], {"ai": False, "deals": True}),
    ("cat@example.com", {"country": "DE", "plan": "free"}, 10, [], {"deals": True}),
    ("dan@example.com", {}, 100, ["VIP customers"], {}),
    ("eve@example.com", {"country": "IT", "plan": "pro", "seats": 5}, 1, ["ai"], {"ai": False}),  # seats: a number in the JSON
]


@pytest.fixture
def db(location: Location):
    with Database(location) as database:
        database.subscribers.upsert(Subscriber(email, email[:3].title(), attributes, Status.ACTIVE, created_at=days_ago(age)) for email, attributes, age, _, _ in READERS)  # type: ignore[arg-type]
        database.subscribers.upsert([Subscriber("gone@example.com", "Gone", {"country": "DE"}, Status.UNSUBSCRIBED, created_at=days_ago(2))])
        for email, _, _, tags, choices in READERS:
            database.audience.tag([email], add=tags)
            database.audience.choose_topics(email, choices)
        database.audience.tag(["gone@example.com"], add=["ai"])
        yield database


def selection(db: Database, expression: str | None, topic: str | None = None) -> Selection:
    segment = parse_segment(expression, NAMED, TOPICS) if expression else None
    return select(db.connection.dialect, topic, TOPICS, segment, NOW)


def chosen(db: Database, expression: str | None, topic: str | None = None) -> list[str]:
    count, first = db.ledger.would_send(ISSUE, 100, selection(db, expression, topic))
    assert count == len(first)
    return [r.email[:3] for r in first]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("tag:ai", ["ann", "ben", "eve"]),
        ('tag:"VIP customers"', ["ann", "dan"]),
        ("tag:nobody", []),
        ("topic:ai", ["ann", "cat", "dan"]),  # default on: everyone but those who left it
        ("topic:deals", ["ben", "cat"]),  # default off: only those who chose it
        ('attr.country = "DE"', ["ann", "cat"]),
        ('attr.country != "DE"', ["ben", "dan", "eve"]),  # dan has no country: he is not in DE either
        ('attr.plan in ("pro", "team")', ["ann", "ben", "eve"]),
        ("attr.seats = 5", ["eve"]),  # a number stored as a number matches its text
        ("joined < 30d", ["ann", "cat", "eve"]),
        ("joined > 7d", ["ben", "cat", "dan"]),
        ("joined < 2w", ["ann", "cat", "eve"]),
        ("joined < 48h", ["eve"]),
        ("tag:ai and not tag:paused", ["ann", "eve"]),
        ('tag:ai or attr.country = "DE"', ["ann", "ben", "cat", "eve"]),
        ('not (tag:ai or attr.country = "DE")', ["dan"]),
        ('not attr.country = "DE"', ["ben", "dan", "eve"]),  # the exact opposite, readers without the attribute included
        ("segment:ai_readers", ["ann", "eve"]),
        ("ai_readers", ["ann", "eve"]),
        ("both", ["ann", "cat", "eve"]),
        ("(tag:ai or tag:paused) and (joined > 30d or attr.plan = 'pro')", ["ann", "ben", "eve"]),
        (None, ["ann", "ben", "cat", "dan", "eve"]),
    ],
)
def test_each_form_selects_the_right_active_readers(db: Database, expression: str | None, expected: list[str]) -> None:
    assert chosen(db, expression) == expected


def test_a_topic_and_a_segment_together(db: Database) -> None:
    assert chosen(db, None, topic="ai") == ["ann", "cat", "dan"]
    assert chosen(db, "tag:ai", topic="ai") == ["ann"]
    assert chosen(db, None, topic="deals") == ["ben", "cat"]


def test_left_out_says_why(db: Database) -> None:
    left = db.ledger.left_out(selection(db, "tag:ai", topic="ai"))
    # gone: not active; ben and eve left topic ai; cat and dan are in it without the tag
    assert (left.everyone, left.not_active, left.not_in_topic, left.not_in_segment) == (6, 1, 2, 2)


def rows(db: Database) -> dict[str, tuple[State, str | None]]:
    found = db.connection.db.execute("SELECT email, state, segment FROM deliveries WHERE issue = ? ORDER BY email", (ISSUE,)).fetchall()
    return {email[:3]: (State(state), segment) for email, state, segment in found}


def send_all(db: Database) -> list[str]:
    """Claim and mark sent everything pending; the addresses claimed."""
    claim = db.ledger.claim(ISSUE, 100, "run", 0.0)
    db.ledger.settle(claim, {}, Settlement(State.SENT))
    return [r.email[:3] for r in claim.recipients]


def test_widening_adds_only_new_readers_and_narrowing_never_unsends(db: Database) -> None:
    germans = selection(db, 'attr.country = "DE"')
    db.ledger.prepare(ISSUE, selection=germans)
    assert send_all(db) == ["ann", "cat"]
    db.ledger.prepare(ISSUE, selection=selection(db, 'attr.country = "DE" or tag:ai'))  # wider
    assert rows(db)["ben"] == (State.PENDING, 'attr.country = "DE" or tag:ai')
    db.ledger.prepare(ISSUE, selection=germans)  # narrower again, before anything of the wider run went out
    assert rows(db)["ben"] == (State.SKIPPED, 'attr.country = "DE" or tag:ai')
    assert rows(db)["ann"] == (State.SENT, 'attr.country = "DE"')  # sent stays sent
    assert send_all(db) == []
    db.ledger.prepare(ISSUE, selection=WHOLE_LIST)  # the whole list: the skipped come back, the sent do not
    assert send_all(db) == ["ben", "dan", "eve"]
    assert {email: state for email, (state, _) in rows(db).items()} == dict.fromkeys(["ann", "ben", "cat", "dan", "eve"], State.SENT)
    counts = db.ledger.segments(ISSUE)
    assert counts == {'attr.country = "DE"': {State.SENT: 2}, None: {State.SENT: 3}}


def test_a_skipped_row_outside_the_segment_says_so(db: Database) -> None:
    db.ledger.prepare(ISSUE, selection=WHOLE_LIST)
    db.ledger.prepare(ISSUE, selection=selection(db, "tag:paused"))
    details = {d.email[:3]: d.detail for d in db.ledger.deliveries(ISSUE, [State.SKIPPED])}
    assert details == dict.fromkeys(["ann", "cat", "dan", "eve"], OUTSIDE)


def test_a_reader_who_leaves_the_topic_mid_send_is_skipped_at_the_claim(db: Database) -> None:
    ai = selection(db, None, topic="ai")
    db.ledger.prepare(ISSUE, selection=ai)
    db.audience.choose_topics("cat@example.com", {"ai": False})  # after the rows were made, before their batch
    claim = db.ledger.claim(ISSUE, 100, "run", 0.0, ai.in_topic)
    assert [r.email[:3] for r in claim.recipients] == ["ann", "dan"]
    assert rows(db)["cat"][0] == State.SKIPPED


def test_the_issue_remembers_its_topic(db: Database) -> None:
    assert db.ledger.issue_topic(ISSUE) is None
    db.ledger.record_issue(ISSUE, "issues/7.yaml", "Subject", "f1", "outbox", "ai")
    assert db.ledger.issue_topic(ISSUE) == "ai"
