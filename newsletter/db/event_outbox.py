"""The event outbox: one row for each change others may act on (webhooks out, automations), written
in the same transaction as the change itself, so a change and its event commit together or not at
all. Consumers take events in order and mark them handed in their own transaction.

    emit(store.db, SUBSCRIBER_CONFIRMED, subscriber_data(subscriber, "web"), stamp)

Events are never read twice by one consumer: `take` skips rows already handed to it, and on
PostgreSQL rows another process has locked (several `webhooks deliver` runs at once). An event
that happens once per thing (an issue finished) carries a `once` key, so a re-run adds no second.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ..models import Status, Subscriber
from ..models.event_types import (
    EVENT_TYPES,
    SUBSCRIBER_BOUNCED,
    SUBSCRIBER_COMPLAINED,
    SUBSCRIBER_CONFIRMED,
    SUBSCRIBER_TAGGED,
    SUBSCRIBER_UNSUBSCRIBED,
)
from .connection import Executes, Store, now

# The event a reader's new status makes; a status not here (pending) makes none.
STATUS_EVENTS: dict[str, str] = {
    Status.ACTIVE: SUBSCRIBER_CONFIRMED,
    Status.UNSUBSCRIBED: SUBSCRIBER_UNSUBSCRIBED,
    Status.BOUNCED: SUBSCRIBER_BOUNCED,
    Status.COMPLAINED: SUBSCRIBER_COMPLAINED,
}

Consumer = Literal["webhooks", "automations"]
HANDED_COLUMN: dict[str, str] = {"webhooks": "webhooks_at", "automations": "automations_at"}

INSERT = (
    "INSERT INTO event_outbox (event_id, type, email, data, occurred_at, once) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class OutboxEvent:
    id: int  # the order events were written in
    event_id: str  # "evt_...": the id receivers dedupe by (a webhook's `webhook-id`)
    type: str
    occurred_at: str  # ISO 8601 UTC to the second
    data: dict[str, Any]
    email: str | None = None  # the reader it is about, if any


def new_event_id() -> str:
    """"evt_" + the time in milliseconds + 64 random bits: unique, and in time order, so each new id
    goes at the end of its index rather than anywhere in it (a tag on a whole segment writes 100,000)."""
    return f"evt_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"


def _json(data: Mapping[str, Any]) -> str:
    return orjson.dumps(dict(data)).decode()


def emit(db: Executes, kind: str, data: Mapping[str, Any], stamp: str, once: str | None = None) -> bool:
    """Write one event, in the caller's transaction. `once`: a key that makes a second emit a no-op
    (whether this one was written)."""
    assert kind in EVENT_TYPES, kind
    email = data.get("email")
    row = (new_event_id(), kind, email if isinstance(email, str) else None, _json(data), stamp, once)
    return db.execute(INSERT, row).rowcount > 0


def emit_many(db: Executes, kind: str, items: Iterable[Mapping[str, Any]], stamp: str) -> None:
    rows = [(new_event_id(), kind, data.get("email"), _json(data), stamp, None) for data in items]
    if rows:
        db.executemany(INSERT, rows)


def subscriber_data(subscriber: Subscriber, channel: str, **more: Any) -> dict[str, Any]:
    """A subscriber event's payload: who (their public id and address), as they now stand, and how."""
    data: dict[str, Any] = {"id": subscriber.public_id, "email": subscriber.email, "name": subscriber.name, "status": str(subscriber.status), "channel": channel}
    data.update({key: value for key, value in more.items() if value is not None})
    return data


def status_event(db: Executes, email: str, status: str, channel: str, stamp: str, detail: str | None = None, issue: str | None = None, **more: Any) -> None:
    """The event of `email`'s status change, read back from their row in the same transaction (so
    the payload is what was committed: a reader who left one topic is still `active`). Statuses
    that make no event (pending) write nothing."""
    kind = STATUS_EVENTS.get(status)
    if kind is None:
        return
    row = db.execute("SELECT public_id, name, status FROM subscribers WHERE email = ?", (email,)).fetchone()
    if row is None:
        return
    data: dict[str, Any] = {"id": row[0], "email": email, "name": row[1], "status": row[2], "channel": channel}
    data.update({key: value for key, value in {"detail": detail, "issue": issue, **more}.items() if value is not None})
    emit(db, kind, data, stamp)


def tagged_event(db: Executes, email: str, tag: str, stamp: str) -> None:
    """`email` got `tag` (only a tag they did not have: the caller knows it was added)."""
    row = db.execute("SELECT public_id, name, status FROM subscribers WHERE email = ?", (email,)).fetchone()
    if row is not None:
        emit(db, SUBSCRIBER_TAGGED, {"id": row[0], "email": email, "name": row[1], "status": row[2], "tag": tag}, stamp)


def tagged_events(db: Executes, added: Sequence[tuple[str, str]], stamp: str) -> None:
    """`tagged_event` for many (email, tag) pairs, the readers read 500 at a time (`subscribers
    tag` over a whole segment: one query per reader took 8x the tagging itself)."""
    for start in range(0, len(added), 500):
        part = added[start : start + 500]
        emails = sorted({email for email, _ in part})
        rows = db.execute(f"SELECT email, public_id, name, status FROM subscribers WHERE email IN ({','.join('?' * len(emails))})", emails)
        readers = {email: (public_id, name, status) for email, public_id, name, status in rows}
        found = [(email, tag, *readers[email]) for email, tag in part if email in readers]
        emit_many(db, SUBSCRIBER_TAGGED, ({"id": i, "email": email, "name": name, "status": status, "tag": tag} for email, tag, i, name, status in found), stamp)


class EventOutbox:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def take(self, consumer: Consumer, limit: int = 500) -> list[OutboxEvent]:
        """The oldest events not yet handed to `consumer`. Call it inside a transaction that also
        records what the consumer made of them and ends with `handed`: on PostgreSQL the rows stay
        locked until then, and another process taking at once gets the next ones."""
        column = HANDED_COLUMN[consumer]
        rows = self.db.execute(
            f"SELECT id, event_id, type, occurred_at, data, email FROM event_outbox WHERE {column} IS NULL ORDER BY id LIMIT ?{self.connection.dialect.skip_locked()}",
            (limit,),
        )
        return [_event(row) for row in rows]

    def handed(self, consumer: Consumer, ids: Iterable[int]) -> None:
        column = HANDED_COLUMN[consumer]
        stamp = now()
        self.db.executemany(f"UPDATE event_outbox SET {column} = ? WHERE id = ?", [(stamp, event_id) for event_id in ids])

    def recent(self, limit: int = 100, kind: str | None = None) -> list[OutboxEvent]:
        """The newest events first (a type alone with `kind`)."""
        where, params = ("WHERE type = ?", (kind,)) if kind else ("", ())
        rows = self.db.execute(f"SELECT id, event_id, type, occurred_at, data, email FROM event_outbox {where} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [_event(row) for row in rows]

    def get(self, event_id: str) -> OutboxEvent | None:
        row = self.db.execute("SELECT id, event_id, type, occurred_at, data, email FROM event_outbox WHERE event_id = ?", (event_id,)).fetchone()
        return _event(row) if row else None


def forget_address(db: Executes, email: str, placeholder: str, public_id: str | None) -> None:
    """An erased reader's events keep what happened, not who: their address and name go, in the
    same transaction as the erasure (events not yet delivered go out without them)."""
    data = _json({"id": public_id, "erased": True})
    db.execute("UPDATE event_outbox SET email = ?, data = ? WHERE email = ?", (placeholder, data, email))


def _event(row: tuple[Any, ...]) -> OutboxEvent:
    return OutboxEvent(int(row[0]), row[1], row[2], row[3], orjson.loads(row[4]), row[5])
