"""Webhooks out: one row per (event, receiver) in `webhook_deliveries`, and every attempt in
`webhook_attempts` with the receiver's answer.

The rows follow the send ledger's rules where they apply to a receiver that dedupes by id: a batch
is claimed (`sending`, with a fresh claim and a lease) and committed before any network call; on
PostgreSQL several machines claim with FOR UPDATE SKIP LOCKED, on SQLite BEGIN IMMEDIATE makes
claims one at a time. A row whose claimer died (its lease passed) is claimed again and sent again
under the same id: the receiver sees a repeat, never the same event under two ids."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .connection import Store


def stamp(moment: dt.datetime) -> str:
    """How times are stored: ISO 8601 in UTC, to the second (text that sorts as time)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery, with the event it carries."""

    id: int
    event_id: str
    type: str
    webhook: str
    attempt: int  # 1 for the first
    claim: str
    created_at: dt.datetime
    occurred_at: str
    data: dict[str, Any]


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt as `webhooks log` shows it."""

    at: str
    event_id: str
    type: str
    webhook: str
    attempt: int
    outcome: str  # delivered | retrying | given up
    status: int | None
    error: str | None
    answer: str | None
    next_attempt_at: str | None  # when it is tried again (retrying only)


class WebhookDeliveries:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def add(self, rows: Iterable[tuple[str, str, str]], now: dt.datetime) -> int:
        """A pending delivery per (event_id, type, webhook), due now, in the caller's transaction;
        one that exists already is kept as it is. Returns how many rows were given."""
        at = stamp(now)
        values = [(event_id, kind, webhook, at, at) for event_id, kind, webhook in rows]
        if values:
            self.db.executemany(
                "INSERT INTO webhook_deliveries (event_id, type, webhook, state, next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)"
                " ON CONFLICT (event_id, webhook) DO NOTHING",
                values,
            )
        return len(values)

    def claim(self, webhooks: Sequence[str], claim: str, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[DueDelivery]:
        """Up to `limit` deliveries due at `now` to the named webhooks (pending and due, or
        claimed by a run whose lease passed), marked `sending` under `claim` until now + lease,
        and committed. Several claimers never get the same row."""
        if not webhooks:
            return []
        at, until = stamp(now), stamp(now + lease)
        names = ", ".join("?" * len(webhooks))
        with self.connection.transaction():
            ids = [
                int(row[0])
                for row in self.db.execute(
                    "UPDATE webhook_deliveries SET state = 'sending', claim = ?, lease_until = ?, attempts = attempts + 1"
                    " WHERE id IN (SELECT id FROM webhook_deliveries"
                    f" WHERE webhook IN ({names}) AND ((state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until <= ?))"
                    f" ORDER BY next_attempt_at, id LIMIT ?{self.connection.dialect.skip_locked()}) RETURNING id",
                    (claim, until, *webhooks, at, at, limit),
                ).fetchall()
            ]
            if not ids:
                return []
            rows = self.db.execute(
                "SELECT d.id, d.event_id, d.type, d.webhook, d.attempts, d.created_at, e.occurred_at, e.data"
                " FROM webhook_deliveries d JOIN event_outbox e ON e.event_id = d.event_id"
                f" WHERE d.id IN ({', '.join('?' * len(ids))}) ORDER BY d.next_attempt_at, d.id",
                ids,
            ).fetchall()
        return [
            DueDelivery(int(r[0]), r[1], r[2], r[3], int(r[4]), claim, dt.datetime.fromisoformat(r[5]), str(r[6]), _data(r[7]))
            for r in rows
        ]

    def settle(
        self, delivery: DueDelivery, now: dt.datetime, outcome: str, next_attempt_at: dt.datetime | None,
        status: int | None, error: str | None, answer: str | None,
    ) -> bool:
        """Record an attempt and what follows: `delivered`, `given up` (the row fails) or `retrying`
        at next_attempt_at. Nothing changes when the row was claimed again meanwhile (this run's
        lease passed): False."""
        state = {"delivered": "delivered", "given up": "failed", "retrying": "pending"}[outcome]
        at = stamp(now)
        with self.connection.transaction():
            changed = self.db.execute(
                "UPDATE webhook_deliveries SET state = ?, next_attempt_at = COALESCE(?, next_attempt_at), claim = NULL, lease_until = NULL,"
                " finished_at = ? WHERE id = ? AND claim = ?",
                (state, stamp(next_attempt_at) if next_attempt_at else None, at if state != "pending" else None, delivery.id, delivery.claim),
            ).rowcount
            if changed:
                self.db.execute(
                    "INSERT INTO webhook_attempts (delivery_id, attempt, at, outcome, status, error, answer) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (delivery.id, delivery.attempt, at, outcome, status, error, answer),
                )
        return bool(changed)

    def log(self, limit: int) -> list[AttemptRecord]:
        """The last `limit` attempts, newest first."""
        rows = self.db.execute(
            "SELECT a.at, d.event_id, d.type, d.webhook, a.attempt, a.outcome, a.status, a.error, a.answer,"
            " CASE WHEN a.outcome = 'retrying' THEN d.next_attempt_at END"
            " FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id ORDER BY a.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [AttemptRecord(r[0], r[1], r[2], r[3], int(r[4]), r[5], None if r[6] is None else int(r[6]), r[7], r[8], r[9]) for r in rows]

    def waiting(self) -> dict[str, int]:
        """Deliveries not finished, by state (pending, sending)."""
        rows = self.db.execute("SELECT state, count(*) FROM webhook_deliveries WHERE state IN ('pending', 'sending') GROUP BY state").fetchall()
        return {state: int(count) for state, count in rows}

    def next_due(self, webhooks: Sequence[str]) -> dt.datetime | None:
        """When the earliest pending delivery to the named webhooks is due."""
        if not webhooks:
            return None
        row = self.db.execute(
            f"SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending' AND webhook IN ({', '.join('?' * len(webhooks))})",
            tuple(webhooks),
        ).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row and row[0] else None


def _data(value: Any) -> dict[str, Any]:
    """The outbox's data: JSON text (SQLite) or already decoded (a jsonb column)."""
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(loaded or {})


def forget_address(db: Any, email: str, placeholder: str) -> None:
    """An erased reader's address out of what receivers answered ("ada@example.com added"), in the
    erasure's transaction; the deliveries themselves name only events."""
    db.execute("UPDATE webhook_attempts SET answer = replace(answer, ?, ?) WHERE answer LIKE ?", (email, placeholder, f"%{email}%"))
