"""What the web app asks of the audience store when a reader changes their own choices, on SQLite
and PostgreSQL alike: the topic an issue went to, leaving one topic (credited to the issue, the
status kept), and a new name."""

from __future__ import annotations

from newsletter.db import Database, Location, Settlement
from newsletter.models import State, Status, Subscriber

READER = "reader@example.com"
TOPICS = {"weekly": True, "deep": True}


def test_leaving_one_topic_keeps_the_status_and_is_credited_to_the_issue(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert([Subscriber(READER, "Ada")])
        db.ledger.record_issue("3", "issues/3.yaml", "Three", "fingerprint")
        db.ledger.prepare("3")
        db.ledger.settle(db.ledger.claim("3", 10, "send-3", 0), {}, Settlement(State.SENT))
        with db.transaction():
            db.connection.db.execute("UPDATE issues SET topic = 'deep' WHERE issue = '3'")  # what a send of a topic's issue records
        db.ledger.record_issue("4", "issues/4.yaml", "Four", "fingerprint")
        assert db.audience.issue_topic("3") == "deep" and db.audience.issue_topic("4") is None and db.audience.issue_topic("5") is None

        assert db.audience.leave_topic(READER, "deep", "one-click", "3") is True
        assert db.audience.leave_topic(READER, "deep", "one-click", "3") is False  # a replay changes nothing
        assert db.audience.topics(READER, TOPICS) == {"weekly": True, "deep": False}
        assert db.subscribers.get(READER).status == Status.ACTIVE
        assert db.reports.unsubscribes("3", "0000-01-01T00:00:00+00:00", None) == {"one-click": 1}
        assert [change[:3] for change in db.subscribers.changes(READER)] == [(Status.UNSUBSCRIBED, "one-click", "left topic deep")]

