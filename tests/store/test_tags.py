"""Tags and topic choices an import brings, `subscribers tag`'s bulk writes, and the export's and the
list's view of them, on SQLite and PostgreSQL alike (each test runs once per database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.db import Database, Location
from newsletter.db import subscribers as subscribers_table
from newsletter.db.audience_writes import retag
from newsletter.models import Status, Subscriber

TOPICS = ("news", "events", "jobs")
DEFAULTS = {"news": True, "events": False, "jobs": True}


def import_path(location: Location, path: str, monkeypatch) -> None:
    """Make the import take `path`: SQLite merges a small list directly and stages a big one;
    PostgreSQL stages every list."""
    if path == "staged":
        monkeypatch.setattr(subscribers_table, "DIRECT_UP_TO", 1)
    elif not isinstance(location, Path):
        pytest.skip("PostgreSQL merges every import the same way (staged)")


def chosen(db: Database, email: str) -> dict[str, tuple[bool, str]]:
    rows = db.connection.db.execute("SELECT topic, subscribed, changed_at FROM subscriptions WHERE email = ? ORDER BY topic", (email,))
    return {topic: (bool(on), at) for topic, on, at in rows}


@pytest.mark.parametrize("path", ["direct", "staged"])
def test_an_import_adds_its_tags_and_never_takes_any_away(location: Location, path: str, monkeypatch) -> None:
    import_path(location, path, monkeypatch)
    with Database(location) as db:
        db.subscribers.upsert([Subscriber("ada@example.com", tags=("vip", "2024 fair")), Subscriber("bo@example.com")])
        db.subscribers.upsert(
            [
                Subscriber("ada@example.com", tags=("paid",)),  # vip and 2024 fair stay
                Subscriber("bo@example.com"),  # no tags given: none taken
                Subscriber("cy@example.com", tags=("paid",)),
                Subscriber("cy@example.com", tags=("paid", "trial")),  # a repeat: its tags add up
            ]
        )
        assert db.audience.tags("ada@example.com") == ["2024 fair", "paid", "vip"]
        assert db.audience.tags("bo@example.com") == []
        assert db.audience.tags("cy@example.com") == ["paid", "trial"]


@pytest.mark.parametrize("path", ["direct", "staged"])
def test_an_import_with_topics_records_a_choice_of_every_topic_and_one_without_records_none(location: Location, path: str, monkeypatch) -> None:
    import_path(location, path, monkeypatch)
    with Database(location) as db:
        db.subscribers.upsert([Subscriber("ada@example.com", topics=("events",)), Subscriber("bo@example.com")], TOPICS)
        assert {topic: on for topic, (on, _) in chosen(db, "ada@example.com").items()} == {"events": True, "jobs": False, "news": False}
        assert chosen(db, "bo@example.com") == {}  # no topics given: each topic's default
        assert db.audience.topics("bo@example.com", DEFAULTS) == DEFAULTS

        first = chosen(db, "ada@example.com")
        db.connection.db.execute("UPDATE subscriptions SET changed_at = '2020-01-01T00:00:00+00:00' WHERE email = 'ada@example.com'")
        db.subscribers.upsert(
            [Subscriber("ada@example.com", topics=("events", "news")), Subscriber("ada@example.com", topics=("news",)), Subscriber("bo@example.com", topics=())],
            TOPICS,
        )
        after = chosen(db, "ada@example.com")
        assert {topic: on for topic, (on, _) in after.items()} == {"events": False, "jobs": False, "news": True}  # the last row wins
        assert after["jobs"][1] == "2020-01-01T00:00:00+00:00"  # unchanged: its time kept
        assert after["news"][1] != "2020-01-01T00:00:00+00:00" and after["news"][1] >= first["news"][1]
        assert db.audience.topics("bo@example.com", DEFAULTS) == {"news": False, "events": False, "jobs": False}


def test_retag_adds_and_removes_in_bulk_and_counts_who_changed(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert([Subscriber("a@example.com", tags=("old",)), Subscriber("b@example.com"), Subscriber("c@example.com", tags=("new",))])
        with db.transaction():
            changed = retag(db.connection, ["a@example.com", "b@example.com", "c@example.com"], ["new"], ["old"])
        assert changed == 2  # c already had `new` and never had `old`
        assert [db.audience.tags(e) for e in ("a@example.com", "b@example.com", "c@example.com")] == [["new"], ["new"], ["new"]]
        with db.transaction():
            assert retag(db.connection, ["a@example.com"], ["new"], []) == 0


def test_the_export_view_carries_tags_and_the_topics_each_gets(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert([Subscriber("a@example.com", tags=("b-tag", "a-tag")), Subscriber("b@example.com", topics=("events",))], TOPICS)
        got = {s.email: (s.tags, s.topics) for s in db.subscribers.with_audience(DEFAULTS)}
        assert got == {"a@example.com": (("a-tag", "b-tag"), ("news", "jobs")), "b@example.com": ((), ("events",))}
        assert {s.email: s.topics for s in db.subscribers.with_audience({})} == {"a@example.com": None, "b@example.com": None}


def test_the_list_filters_by_status_tag_and_topic(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert(
            [
                Subscriber("a@example.com", tags=("vip",)),
                Subscriber("b@example.com", tags=("vip",), topics=("events",)),
                Subscriber("c@example.com", status=Status.UNSUBSCRIBED, tags=("vip",)),
            ],
            TOPICS,
        )
        db.subscribers.sign_up("d@example.com", None)

        def emails(**filters) -> list[str]:
            return [s.email for s in db.subscribers.all(**filters)]

        assert emails(tag="vip") == ["a@example.com", "b@example.com", "c@example.com"]
        assert emails(status=Status.ACTIVE, tag="vip") == ["a@example.com", "b@example.com"]
        assert emails(topic=("news", True)) == ["a@example.com", "c@example.com", "d@example.com"]  # b chose events only
        assert emails(topic=("events", False)) == ["b@example.com"]
        assert emails(status=Status.PENDING) == ["d@example.com"]
        assert emails(tag="nobody has it") == []


def test_an_import_that_rebuilds_the_tags_key_leaves_one_row_per_tag_and_the_key_in_force(location: Location) -> None:
    """A big import into a list with few tags builds the key afresh on PostgreSQL (the fast way);
    a small one into a list with many adds to it: either way a pair is stored once and stays unique."""
    with Database(location) as db:
        db.subscribers.upsert([Subscriber("ada@example.com", tags=("vip",))])
        db.subscribers.upsert(
            [Subscriber(f"r{n}@example.com", tags=("paid", "free")) for n in range(5)]
            + [Subscriber("ada@example.com", tags=("vip", "paid")), Subscriber("ada@example.com", tags=("paid",))]
        )
        db.subscribers.upsert([Subscriber("r1@example.com", tags=("paid", "new"))])  # fewer rows than tags: added one by one
        assert db.audience.tags("ada@example.com") == ["paid", "vip"]
        assert db.audience.tags("r1@example.com") == ["free", "new", "paid"]
        assert db.connection.db.execute("SELECT count(*) FROM tags").fetchone()[0] == 1 + 1 + 5 * 2 + 1
        with pytest.raises(db.connection.integrity_error), db.transaction():
            db.connection.db.execute("INSERT INTO tags (email, tag) VALUES ('r1@example.com', 'paid')")
