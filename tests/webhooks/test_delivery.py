"""Deliveries to a local receiver that verifies each signature: exactly one event per id however
often the receiver fails, retries on the Standard Webhooks schedule, given up after 3 days,
filtered by type, and a claim left by a run that died sent again after its lease (both databases)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest

from newsletter.db import Database, Location
from newsletter.webhooks_out.delivery import LEASE, Deliverer, receivers
from tests.helpers.ports import refusing_port
from tests.helpers.webhook_receiver import Receiver

from .conftest import Clock, hook


def sign_ups(db: Database, count: int) -> list[str]:
    """`count` signups, each a subscriber.created event; their event ids."""
    for n in range(count):
        db.subscribers.sign_up(f"reader{n}@example.com", f"Reader {n}")
    return [event.event_id for event in reversed(db.event_outbox.recent(count))]


def test_each_event_arrives_signed_under_its_own_id_with_its_payload(location: Location, clock: Clock) -> None:
    with Receiver() as receiver, Database(location) as db:
        ids = sign_ups(db, 3)
        deliverer = Deliverer(receivers([hook(receiver.url)]), clock)
        done = deliverer.run_pass(db)
        assert done.fanned_out == 3 and done.counts == {"delivered": 3}
        assert receiver.forged == 0
        assert receiver.ids() == ids
        message_id, body = receiver.accepted[0]
        event = db.event_outbox.get(message_id)
        assert event is not None
        assert body == {"type": "subscriber.created", "timestamp": event.occurred_at, "data": event.data}
        assert body["data"]["email"] == "reader0@example.com"
        assert deliverer.run_pass(db).attempts == []  # nothing twice
        log = db.webhook_deliveries.log(10)
        assert {(entry.outcome, entry.status, entry.answer) for entry in log} == {("delivered", 200, '{"ok": true}')}


@pytest.mark.slow
def test_a_receiver_that_fails_then_is_down_then_recovers_gets_every_event_once(location: Location, clock: Clock) -> None:
    receiver = Receiver()
    port = receiver.port
    with Database(location) as db:
        ids = sign_ups(db, 4)
        with receiver:
            receiver.answers = ["500"] * 4
            deliverer = Deliverer(receivers([hook(receiver.url)]), clock)
            first = deliverer.run_pass(db)
            assert first.counts == {"retrying": 4} and receiver.accepted == []
            assert "Internal trouble 500: the database is down second line" in first.attempts[0].answer.words  # one line
            clock.advance(seconds=4)
            assert deliverer.run_pass(db).attempts == []  # not due before 5 s
        # The receiver is down: connections refused (its kept-alive ones gone with it)
        deliverer.client.close()
        clock.advance(seconds=1)
        down = deliverer.run_pass(db)
        assert down.counts == {"retrying": 4}
        assert {attempt.answer.error for attempt in down.attempts} == {"connection refused"}
        assert all(attempt.next_attempt_at == clock.now + dt.timedelta(minutes=5) for attempt in down.attempts)
        with Receiver(port=port) as back:
            clock.advance(minutes=5)
            recovered = deliverer.run_pass(db)
            assert recovered.counts == {"delivered": 4}
            clock.advance(days=4)
            assert deliverer.run_pass(db).attempts == []
            assert sorted(back.ids()) == sorted(ids) and back.forged == 0
        attempts = Counter(entry.event_id for entry in db.webhook_deliveries.log(100))
        assert attempts == {event_id: 3 for event_id in ids}


def test_a_delivery_is_given_up_after_three_days_of_failures(location: Location, clock: Clock) -> None:
    with refusing_port() as port, Database(location) as db:
        sign_ups(db, 1)
        deliverer = Deliverer(receivers([hook(f"http://127.0.0.1:{port}/x")]), clock)
        outcomes = []
        for _ in range(40):
            done = deliverer.run_pass(db)
            outcomes += [attempt.outcome for attempt in done.attempts]
            if "given up" in outcomes:
                break
            clock.advance(hours=10)
        # 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h until 3 days after the first
        assert outcomes[-1] == "given up" and set(outcomes[:-1]) == {"retrying"}
        assert 8 <= len(outcomes) <= 12
        clock.advance(days=10)
        assert deliverer.run_pass(db).attempts == []


def test_a_receiver_that_answers_410_gone_is_given_up_at_once_and_a_404_retried(location: Location, clock: Clock) -> None:
    with Receiver() as receiver, Database(location) as db:
        sign_ups(db, 2)
        receiver.answers = ["410", "404"]
        deliverer = Deliverer(receivers([hook(receiver.url)]), clock)
        first = sorted(attempt.outcome for attempt in deliverer.run_pass(db).attempts)
        assert first == ["given up", "retrying"]
        clock.advance(minutes=1)
        assert [attempt.outcome for attempt in deliverer.run_pass(db).attempts] == ["delivered"]
        assert len(receiver.accepted) == 1


def test_each_receiver_gets_only_the_events_it_asked_for(location: Location, clock: Clock) -> None:
    with Receiver() as everything, Receiver() as confirmations, Database(location) as db:
        signed = db.subscribers.sign_up("ada@example.com", "Ada")
        db.subscribers.confirm(str(signed.public_id), "9999-12-31T00:00:00+00:00")
        db.audience.tag(["ada@example.com"], add=["vip"])
        hooks = [hook(everything.url, name="all"), hook(confirmations.url, ["subscriber.confirmed"], name="confirmations")]
        Deliverer(receivers(hooks), clock).run_pass(db)
        assert [body["type"] for _, body in everything.accepted] == ["subscriber.created", "subscriber.confirmed", "subscriber.tagged"]
        assert [body["type"] for _, body in confirmations.accepted] == ["subscriber.confirmed"]
        assert confirmations.ids()[0] == everything.ids()[1]  # one event, one id, whoever receives it


def test_a_claim_left_by_a_run_that_died_is_sent_again_after_its_lease_under_the_same_id(location: Location, clock: Clock) -> None:
    with Receiver() as receiver, Database(location) as db:
        [event_id] = sign_ups(db, 1)
        dead = Deliverer(receivers([hook(receiver.url)]), clock)
        dead.fan_out(db)
        claimed = db.webhook_deliveries.claim(["127.0.0.1"], "dead-run", clock(), LEASE, 10)
        assert [delivery.event_id for delivery in claimed] == [event_id]  # ...and the run dies here
        later = Deliverer(receivers([hook(receiver.url)]), clock)
        assert later.run_pass(db).attempts == []  # still leased
        clock.advance(seconds=LEASE.total_seconds())
        assert later.run_pass(db).counts == {"delivered": 1}
        assert receiver.ids() == [event_id]
        assert db.webhook_deliveries.log(5)[0].attempt == 2


@pytest.mark.slow
def test_several_deliverers_at_once_never_send_one_delivery_twice(location: Location, clock: Clock) -> None:
    with Receiver() as receiver:
        with Database(location) as db:
            ids = sign_ups(db, 60)

        def run() -> None:
            with Database(location) as own:
                deliverer = Deliverer(receivers([hook(receiver.url)]), clock)
                deliverer.run_pass(own)
                deliverer.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(receiver.ids()) == sorted(ids)  # each once


def test_erasing_a_reader_takes_their_address_out_of_what_receivers_answered(location: Location, clock: Clock) -> None:
    with Receiver() as receiver, Database(location) as db:
        sign_ups(db, 1)
        receiver.answers, receiver.echo = ["echo"], "could not add reader0@example.com:"
        Deliverer(receivers([hook(receiver.url)]), clock).run_pass(db)
        assert "reader0@example.com" in (db.webhook_deliveries.log(1)[0].answer or "")
        db.records.erase("reader0@example.com", "erased-1@invalid", "cli")
        assert "could not add erased-1@invalid:" in (db.webhook_deliveries.log(1)[0].answer or "")
