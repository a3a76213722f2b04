"""The event outbox: each change others act on (webhooks out, automations) writes its event in the
same transaction, on SQLite and PostgreSQL alike (each test runs once per database)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from newsletter.db import Database, Event, Location, Schedule
from newsletter.models import State, Status, Subscriber
from newsletter.models.event_types import EVENT_TYPES
from newsletter.subscribers.rules import add_subscriber

ADA = "ada@example.com"


def kinds(db: Database) -> list[str]:
    return [event.type for event in reversed(db.event_outbox.recent(1000))]


def test_each_change_to_a_reader_writes_its_event_with_who_and_how(location: Location) -> None:
    with Database(location) as db:
        signed = db.subscribers.sign_up(ADA, "Ada")
        db.subscribers.confirm(str(signed.public_id), "9999-12-31T00:00:00+00:00")
        db.audience.tag([ADA], add=["vip"])
        db.audience.tag([ADA], add=["vip"])  # had it already: nothing happened, no event
        db.events.record([Event("e1", "bounce", ADA, "7", "s1", "2099-01-01T00:00:00+00:00", "550 5.1.1 no such user", Status.BOUNCED)], "sendgrid")
        assert kinds(db) == ["subscriber.created", "subscriber.confirmed", "subscriber.tagged", "subscriber.bounced"]
        created, confirmed, tagged, bounced = reversed(db.event_outbox.recent(4))
        assert created.data == {"id": signed.public_id, "email": ADA, "name": "Ada", "status": "pending", "channel": "web"}
        assert confirmed.data["status"] == "active" and confirmed.data["channel"] == "web"
        assert tagged.data["tag"] == "vip"
        assert bounced.data["issue"] == "7" and bounced.data["detail"] == "550 5.1.1 no such user"
        assert len({event.event_id for event in (created, confirmed, tagged, bounced)}) == 4
        assert all(event.event_id.startswith("evt_") for event in (created, confirmed, tagged, bounced))


def test_an_editors_add_announces_a_new_reader_and_an_import_does_not(location: Location) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada"))
        add_subscriber(db, Subscriber(ADA, "Ada L."))  # an update: not new
        db.subscribers.upsert([Subscriber(f"r{n}@example.com") for n in range(50)])
        db.subscribers.upsert([Subscriber("r1@example.com", status=Status.UNSUBSCRIBED)])  # the import took one off the list
        assert kinds(db) == ["subscriber.created", "subscriber.unsubscribed"]
        assert db.event_outbox.recent(1)[0].data["channel"] == "import"


def test_unsubscribing_by_link_by_topic_and_by_complaint_each_say_which(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert([Subscriber(ADA), Subscriber("bo@example.com")])
        ada = db.subscribers.get(ADA)
        assert ada is not None
        db.audience.leave_topic("bo@example.com", "deep", "web", issue="7")
        db.subscribers.leave(str(ada.public_id), "one-click", issue="7")
        db.events.record([Event("e2", "spamreport", ADA, "7", None, "2099-01-01T00:00:00+00:00", None, Status.COMPLAINED)], "sendgrid")
        topic, left, complained = reversed(db.event_outbox.recent(3))
        assert (topic.type, topic.data["topic"], topic.data["status"]) == ("subscriber.unsubscribed", "deep", "active")
        assert (left.type, left.data["channel"], left.data["issue"]) == ("subscriber.unsubscribed", "one-click", "7")
        assert complained.type == "subscriber.complained"


def test_a_change_and_its_event_commit_together_or_not_at_all(location: Location) -> None:
    with Database(location) as db:
        with pytest.raises(RuntimeError), db.transaction():
            db.subscribers.sign_up(ADA, None)
            raise RuntimeError("the caller failed after the change")
        assert db.subscribers.get(ADA) is None and kinds(db) == []

        refuse_events(db)
        with pytest.raises(Exception, match="no events"):
            db.subscribers.sign_up(ADA, None)
    with Database(location) as db:
        assert db.subscribers.get(ADA) is None  # the event could not be written: the signup was not either


def refuse_events(db: Database) -> None:
    """Make writing any event fail, as a full disk or a lost connection would at that statement."""
    if isinstance(db.location, Path):
        db.connection.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON event_outbox BEGIN SELECT RAISE(ABORT, 'no events'); END")
    else:
        db.connection.db.execute("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no events'; END $$ LANGUAGE plpgsql")
        db.connection.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON event_outbox FOR EACH ROW EXECUTE FUNCTION refuse()")


def test_erasure_takes_the_address_and_name_out_of_every_event_about_the_reader(location: Location) -> None:
    with Database(location) as db:
        add_subscriber(db, Subscriber(ADA, "Ada Lovelace"))
        db.audience.tag([ADA], add=["vip"])
        public_id = db.subscribers.get(ADA).public_id  # type: ignore[union-attr]
        assert db.records.erase(ADA, "erased-1", "command line")
        events = list(reversed(db.event_outbox.recent(10)))
        assert [event.type for event in events] == ["subscriber.created", "subscriber.tagged", "subscriber.erased"]
        assert events[-1].data == {"id": public_id, "channel": "command line"}
        everything = db.connection.db.execute("SELECT email, data FROM event_outbox").fetchall()
        assert not any(ADA in str(row) or "Lovelace" in str(row) for row in everything)


def test_each_consumer_takes_every_event_once_in_order(location: Location) -> None:
    with Database(location) as db:
        db.subscribers.upsert([Subscriber(f"r{n}@example.com") for n in range(5)])
        db.audience.tag([f"r{n}@example.com" for n in range(5)], add=["new"])
        with db.transaction():
            first = db.event_outbox.take("webhooks", limit=3)
            db.event_outbox.handed("webhooks", [event.id for event in first])
        with db.transaction():
            rest = db.event_outbox.take("webhooks")
            db.event_outbox.handed("webhooks", [event.id for event in rest])
        assert [event.data["email"] for event in first + rest] == [f"r{n}@example.com" for n in range(5)]
        with db.transaction():
            assert db.event_outbox.take("webhooks") == []
            assert len(db.event_outbox.take("automations")) == 5  # the other consumer's are its own


@pytest.mark.postgres
def test_two_takers_at_once_on_postgresql_never_get_the_same_event(pg_url: str) -> None:
    from newsletter.db import Server

    with Database(Server(pg_url)) as db:
        db.subscribers.upsert([Subscriber(f"r{n}@example.com") for n in range(6)])
        db.audience.tag([f"r{n}@example.com" for n in range(6)], add=["new"])
    taken: list[list[int]] = []
    holding = threading.Barrier(2)

    def take() -> None:
        with Database(Server(pg_url)) as db, db.transaction():
            events = db.event_outbox.take("webhooks", limit=3)
            holding.wait(timeout=10)  # both hold their rows at once
            db.event_outbox.handed("webhooks", [event.id for event in events])
            taken.append([event.id for event in events])

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(len, taken)) == [3, 3] and not set(taken[0]) & set(taken[1])


def test_an_issue_scheduled_cancelled_and_finished_writes_each_once(location: Location) -> None:
    when = dt.datetime(2099, 1, 1, 9, tzinfo=dt.UTC)
    with Database(location) as db:
        db.subscribers.upsert([Subscriber(ADA)])
        db.ledger.record_issue("7", "issues/7.yaml", "Week 7", "f", "outbox", None)
        db.ledger.prepare("7")
        db.ledger.hold("7", Schedule("7", when, "outbox", "here", None, "issues/7.yaml"))
        db.ledger.save_schedule(Schedule("7", when, "outbox", "here", None, "issues/7.yaml"))  # the same time again: one event
        assert db.ledger.cancel_schedule("7", State.PENDING, "schedule cancelled") == 1
        assert not db.ledger.record_finished("7")  # a reader still waits for it
        db.connection.db.execute("UPDATE deliveries SET state = 'sent' WHERE issue = '7'")
        assert db.ledger.record_finished("7")
        assert not db.ledger.record_finished("7")  # a re-run finds it finished: no second event
        assert kinds(db) == ["issue.scheduled", "issue.cancelled", "issue.sent"]
        scheduled, cancelled, sent = reversed(db.event_outbox.recent(3))
        assert scheduled.data == {"issue": "7", "send_at": when.isoformat(), "provider": "outbox", "held_by": "here", "file": "issues/7.yaml"}
        assert cancelled.data == {"issue": "7", "send_at": when.isoformat(), "readers": 1, "now": "pending"}
        assert sent.data == {"issue": "7", "subject": "Week 7", "sent": 1, "failed": 0, "unknown": 0, "skipped": 0}
        assert set(kinds(db)) <= set(EVENT_TYPES)
