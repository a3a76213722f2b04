"""Sunsetting's SQL (db/sunset.py) on SQLite and PostgreSQL alike: who stopped clicking, rounds that
never overlap, and who is let go after the grace period, with channel sunset in their history."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.db import Database, Event, Location, Settlement
from newsletter.db.clicks import Click
from newsletter.db.segments import Selection
from newsletter.db.sunset import Sunset
from newsletter.models import State, Status, Subscriber
from newsletter.subscribers.rules import erase

NOW = dt.datetime.now(dt.UTC)
ROUND = "sunset-2026-12-01"


def ago(days: float) -> str:
    return (NOW - dt.timedelta(days=days)).isoformat(timespec="seconds")


@pytest.fixture
def db(location: Location):
    """Six weekly issues each (the oldest 37 days ago): ann clicked 3 days ago; ben never; cat's
    only click was SendGrid's, 33 days ago (after her oldest issue, before the other five); dan never, and was sent another round's email 5 days
    ago; eve never, and was erased."""
    with Database(location) as database:
        names = ["ann", "ben", "cat", "dan", "eve"]
        database.subscribers.upsert([Subscriber(f"{name}@example.com", name, {}, Status.ACTIVE, created_at=ago(400)) for name in names])
        rows = [(str(n), f"{name}@example.com", "sent", ago(2 + 7 * (6 - n))) for name in names for n in range(1, 7)]
        rows.append(("sunset-2026-11-26", "dan@example.com", "sent", ago(5)))
        with database.transaction():
            database.connection.db.executemany("INSERT INTO deliveries (issue, email, state, updated_at) VALUES (?, ?, ?, ?)", rows)
        database.clicks.record([Click("6", "1", "https://example.org/", ago(3), "ann@example.com")])
        database.events.record([Event("e1", "click", "cat@example.com", "1", "s1", ago(33), "https://example.org/")], "sendgrid")
        erase(database, "eve@example.com", "command line")
        yield database


def send_round(db: Database, inactive: int) -> list[str]:
    """Prepare ROUND and mark every pending row sent, as the send loop would; the readers sent it."""
    db.ledger.prepare(ROUND, selection=Selection(segment="sunset", in_segment=Sunset(db.connection).inactive(inactive, ROUND)))
    claim = db.ledger.claim(ROUND, 100, "run", 0.0)
    db.ledger.settle(claim, {}, Settlement(State.SENT))
    return [r.email[:3] for r in claim.recipients]


def test_a_round_goes_to_who_stopped_clicking_and_to_no_one_in_another_round(db: Database) -> None:
    rounds = Sunset(db.connection)
    # ann clicked, dan waits on another round's email, eve was erased
    assert [e[:3] for e in rounds.readers(rounds.inactive(6, ROUND), ROUND)] == ["ben"]  # cat clicked during her last 6 issues
    assert [e[:3] for e in rounds.readers(rounds.inactive(5, ROUND), ROUND)] == ["ben", "cat"]  # ...but not during her last 5
    assert rounds.readers(rounds.inactive(7, ROUND), ROUND) == []  # nobody has had 7
    assert rounds.open_round() is None
    db.ledger.prepare(ROUND, selection=Selection(segment="sunset", in_segment=rounds.inactive(5, ROUND)))
    assert rounds.open_round() == ROUND  # interrupted before it sent: the next run, any day, finishes this round
    assert send_round(db, 5) == ["ben", "cat"]
    assert rounds.open_round() is None
    assert send_round(db, 5) == []  # once per round
    assert rounds.readers(rounds.inactive(5, ROUND), ROUND) == []  # a run now would mail nobody


def test_after_the_grace_period_the_silent_are_let_go_and_the_clickers_stay(db: Database) -> None:
    send_round(db, 5)
    rounds = Sunset(db.connection)
    assert [r.email[:3] for r in rounds.silent(ago(14))] == []  # sent just now: within the grace period
    with db.transaction():
        db.connection.db.execute("UPDATE deliveries SET updated_at = ? WHERE issue = ?", (ago(15), ROUND))
    assert [r.email[:3] for r in rounds.silent(ago(14))] == ["ben", "cat"]
    db.clicks.record([Click(ROUND, "0", "https://example.org/", ago(12), "ben@example.com")])  # ben kept himself on the list
    leaving = rounds.silent(ago(14))
    assert [(r.email[:3], r.key) for r in leaving] == [("cat", ROUND)]  # dan's email (5 days ago) is within the grace period
    assert rounds.let_go(leaving, "no click within 14 days of the last-chance email", ago(0)) == ["cat@example.com"]
    assert db.subscribers.get("cat@example.com").status == Status.UNSUBSCRIBED  # type: ignore[union-attr]
    assert db.subscribers.get("ben@example.com").status == Status.ACTIVE  # type: ignore[union-attr]
    assert [c[:3] for c in db.subscribers.changes("cat@example.com")] == [(Status.UNSUBSCRIBED, "sunset", "no click within 14 days of the last-chance email")]
    assert rounds.silent(ago(14)) == []  # done: a later run changes nothing
    assert not db.connection.db.execute("SELECT 1 FROM status_changes WHERE email LIKE 'erased:%' AND channel = 'sunset'").fetchone()


def test_a_reader_made_active_again_is_not_judged_on_an_old_email(db: Database) -> None:
    send_round(db, 5)
    with db.transaction():
        db.connection.db.execute("UPDATE deliveries SET updated_at = ? WHERE issue = ?", (ago(30), ROUND))
    db.subscribers.set_status(["ben@example.com"], Status.UNSUBSCRIBED)
    db.subscribers.set_status(["ben@example.com"], Status.ACTIVE)  # he asked to come back
    assert [r.email[:3] for r in Sunset(db.connection).silent(ago(14))] == ["cat"]
