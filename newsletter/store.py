"""The subscriber database (SQLite): subscribers and the send ledger. The only module that speaks SQL.

The ledger follows the contract in DESIGN.md: one row per (issue, address); a batch is claimed
(state `sending`, a fresh send id) and committed before any network call; `sending` rows left by a
crash or an ambiguous timeout become `unknown` and are never retried automatically.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from .errors import NewsletterError

# Each entry upgrades the database by one version (PRAGMA user_version). Never edit a released
# entry: add a new one, so databases written by any earlier version are brought up to date.
MIGRATIONS = (
    # 1: subscribers, the send ledger and scheduled sends
    """
    CREATE TABLE subscribers (
        email TEXT PRIMARY KEY,
        name TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE deliveries (
        issue TEXT NOT NULL,
        email TEXT NOT NULL,
        name TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
        send_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        message_id TEXT,
        detail TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (issue, email)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_state ON deliveries (issue, state);
    CREATE TABLE schedules (
        issue TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL,
        send_at TEXT NOT NULL
    );
    """,
    # 2: a deferred recipient waits (not_before, epoch seconds); claims read the queue in address order
    """
    ALTER TABLE deliveries ADD COLUMN not_before REAL;
    DROP INDEX deliveries_by_state;
    CREATE INDEX deliveries_queue ON deliveries (issue, state, email);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(NewsletterError):
    """The subscriber database cannot be opened or used."""


class Status(StrEnum):
    """A subscriber's standing. Only `active` subscribers are ever mailed."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class State(StrEnum):
    """A ledger row's state: pending -> sending -> sent | failed, plus unknown and skipped."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the request may or may not have been accepted; never retried automatically
    SKIPPED = "skipped"  # unsubscribed (or bounced, or removed) before their turn came


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str | None = None
    attributes: dict[str, str] | None = None
    status: Status = Status.ACTIVE


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None


@dataclass(frozen=True)
class Delivery:
    email: str
    state: State
    detail: str | None
    attempts: int


class Settlement(NamedTuple):
    """What happened to one claimed row. `not_before` (epoch seconds) delays a pending row."""

    state: State
    detail: str | None = None
    not_before: float | None = None


@dataclass(frozen=True)
class ImportCounts:
    added: int
    updated: int


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store:
    """One open database. Every method that changes something commits before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE for claims).
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")  # readers (status) never block the sender
            self.db.execute("PRAGMA synchronous=NORMAL")  # durable at each commit in WAL mode, and fast
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot use the subscriber database: {exc}") from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the subscriber database: {exc.strerror or exc}") from None

    def _migrate(self) -> None:
        with self._transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer version of newsletter (schema {version}); upgrade newsletter")
            for script in MIGRATIONS[version:]:
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db, self.path)

    # --- subscribers -----------------------------------------------------------------------

    def import_subscribers(self, subscribers: Iterable[Subscriber]) -> ImportCounts:
        """Add new subscribers and update names and attributes of known ones, in one transaction.

        A known subscriber's status is never changed: an import cannot re-activate anyone.
        """
        stamp = now()
        rows = [(s.email, s.name, json.dumps(s.attributes or {}), s.status, stamp, stamp) for s in subscribers]
        with self._transaction():
            before = self._count()
            self.db.executemany(
                """INSERT INTO subscribers (email, name, attributes, status, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (email) DO UPDATE SET
                       name = coalesce(excluded.name, name),
                       attributes = json_patch(attributes, excluded.attributes),
                       updated_at = excluded.updated_at""",
                rows,
            )
            added = self._count() - before
        return ImportCounts(added=added, updated=len(rows) - added)

    def get(self, email: str) -> Subscriber | None:
        row = self.db.execute("SELECT email, name, attributes, status FROM subscribers WHERE email = ?", (email,)).fetchone()
        return _subscriber(row) if row else None

    def set_status(self, emails: Iterable[str], status: Status, only_from: Status | None = None) -> int:
        """Change the status of the given (known) subscribers; returns how many changed.

        With `only_from`, only subscribers currently in that status change (sync: active ones)."""
        stamp = now()
        condition = "status = ?" if only_from else "status != ?"
        with self._transaction():
            cursor = self.db.executemany(
                f"UPDATE subscribers SET status = ?, updated_at = ? WHERE email = ? AND {condition}",
                [(status, stamp, email, only_from or status) for email in emails],
            )
        return cursor.rowcount

    def remove(self, email: str) -> bool:
        with self._transaction():
            return self.db.execute("DELETE FROM subscribers WHERE email = ?", (email,)).rowcount > 0

    def counts_by_status(self) -> dict[Status, int]:
        counts = {status: 0 for status in Status}
        for status, count in self.db.execute("SELECT status, count(*) FROM subscribers GROUP BY status"):
            counts[Status(status)] = count
        return counts

    def subscribers(self, status: Status | None = None) -> Iterator[Subscriber]:
        query = "SELECT email, name, attributes, status FROM subscribers"
        rows = self.db.execute(query + " WHERE status = ? ORDER BY email", (status,)) if status else self.db.execute(query + " ORDER BY email")
        return (_subscriber(row) for row in rows)

    def _count(self) -> int:
        return self.db.execute("SELECT count(*) FROM subscribers").fetchone()[0]

    # --- the send ledger -----------------------------------------------------------------------

    def prepare(self, issue: str) -> None:
        """Make the ledger ready for a run: rows for every active subscriber (idempotent), rows left
        `sending` by an interrupted run become `unknown`, and pending rows of people who have left
        since are skipped."""
        stamp = now()
        with self._transaction():
            self.db.execute(
                """INSERT OR IGNORE INTO deliveries (issue, email, name, state, updated_at)
                   SELECT ?, email, name, 'pending', ? FROM subscribers WHERE status = 'active'""",
                (issue, stamp),
            )
            self.db.execute(
                """UPDATE deliveries SET state = 'unknown', updated_at = ?,
                       detail = 'interrupted while the request was in flight: it may or may not have been delivered'
                   WHERE issue = ? AND state = 'sending'""",
                (stamp, issue),
            )
            self.db.execute(
                """UPDATE deliveries SET state = 'skipped', updated_at = ?, detail = 'no longer an active subscriber'
                   WHERE issue = ? AND state = 'pending'
                     AND email NOT IN (SELECT email FROM subscribers WHERE status = 'active')""",
                (stamp, issue),
            )
            self.db.execute("UPDATE deliveries SET not_before = NULL WHERE issue = ? AND not_before IS NOT NULL", (issue,))

    def claim(self, issue: str, limit: int, send_id: str) -> list[Recipient]:
        """Mark up to `limit` due pending rows as `sending` under `send_id`, committed before returning.

        The subscriber's status is checked again here, so someone who unsubscribes while a long run
        is going is skipped rather than mailed."""
        stamp = now()
        with self._transaction():
            while True:
                rows = self.db.execute(
                    """SELECT d.email, s.name, s.status FROM deliveries d LEFT JOIN subscribers s ON s.email = d.email
                       WHERE d.issue = ? AND d.state = 'pending' AND (d.not_before IS NULL OR d.not_before <= ?)
                       ORDER BY d.email LIMIT ?""",
                    (issue, time.time(), limit),
                ).fetchall()
                gone = [(stamp, issue, email) for email, _, status in rows if status != Status.ACTIVE]
                self.db.executemany(
                    "UPDATE deliveries SET state = 'skipped', detail = 'no longer an active subscriber', updated_at = ? WHERE issue = ? AND email = ?",
                    gone,
                )
                claimed = [Recipient(email, name) for email, name, status in rows if status == Status.ACTIVE]
                if claimed or not gone:
                    break
            self.db.executemany(
                """UPDATE deliveries SET state = 'sending', send_id = ?, attempts = attempts + 1, not_before = NULL, updated_at = ?
                   WHERE issue = ? AND email = ?""",
                [(send_id, stamp, issue, r.email) for r in claimed],
            )
        return claimed

    def settle(self, issue: str, send_id: str, outcomes: dict[str, Settlement], message_id: str | None = None) -> None:
        """Record the outcome of a claimed batch, address by address."""
        stamp = now()
        with self._transaction():
            self.db.executemany(
                """UPDATE deliveries SET state = ?, detail = ?, not_before = ?, message_id = coalesce(?, message_id), updated_at = ?
                   WHERE issue = ? AND email = ? AND send_id = ? AND state = 'sending'""",
                [(s.state, s.detail, s.not_before, message_id, stamp, issue, email, send_id) for email, s in outcomes.items()],
            )

    def settle_batch(self, issue: str, send_id: str, state: State, detail: str | None = None) -> int:
        """Give every row still `sending` under `send_id` the same outcome (e.g. back to pending)."""
        with self._transaction():
            return self.db.execute(
                "UPDATE deliveries SET state = ?, detail = coalesce(?, detail), updated_at = ? WHERE issue = ? AND send_id = ? AND state = 'sending'",
                (state, detail, now(), issue, send_id),
            ).rowcount

    def retry_unknown(self, issue: str) -> int:
        """Put `unknown` rows back to pending, on the editor's say-so (they may receive a second copy)."""
        with self._transaction():
            return self.db.execute(
                "UPDATE deliveries SET state = 'pending', detail = 'retried on purpose after an unknown outcome', updated_at = ? "
                "WHERE issue = ? AND state = 'unknown'",
                (now(), issue),
            ).rowcount

    def ledger_counts(self, issue: str) -> dict[State, int]:
        counts = {state: 0 for state in State}
        for state, count in self.db.execute("SELECT state, count(*) FROM deliveries WHERE issue = ? GROUP BY state", (issue,)):
            counts[State(state)] = count
        return counts

    def pending_count(self, issue: str) -> int:
        return self.db.execute("SELECT count(*) FROM deliveries WHERE issue = ? AND state = 'pending'", (issue,)).fetchone()[0]

    def next_due(self, issue: str) -> float | None:
        """When the earliest deferred pending row may be tried again (epoch seconds), if any."""
        return self.db.execute("SELECT min(not_before) FROM deliveries WHERE issue = ? AND state = 'pending'", (issue,)).fetchone()[0]

    def due(self, issue: str, limit: int) -> tuple[int, list[Recipient]]:
        """Without changing anything: how many active subscribers a run would mail now, and the first `limit`."""
        query = """FROM subscribers s LEFT JOIN deliveries d ON d.issue = ? AND d.email = s.email
                   WHERE s.status = 'active' AND (d.state IS NULL OR d.state = 'pending')"""
        count = self.db.execute(f"SELECT count(*) {query}", (issue,)).fetchone()[0]
        first = self.db.execute(f"SELECT s.email, s.name {query} ORDER BY s.email LIMIT ?", (issue, limit)).fetchall()
        return count, [Recipient(email, name) for email, name in first]

    def deliveries(self, issue: str, states: Iterable[State]) -> list[Delivery]:
        wanted = list(states)
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(
            f"SELECT email, state, detail, attempts FROM deliveries WHERE issue = ? AND state IN ({marks}) ORDER BY email",
            (issue, *wanted),
        )
        return [Delivery(email, State(state), detail, attempts) for email, state, detail, attempts in rows]

    # --- scheduled sends (SendGrid send_at + batch id) ----------------------------------------------

    def save_schedule(self, issue: str, batch_id: str, send_at: dt.datetime) -> None:
        with self._transaction():
            self.db.execute("INSERT OR REPLACE INTO schedules VALUES (?, ?, ?)", (issue, batch_id, send_at.isoformat()))

    def schedule(self, issue: str) -> tuple[str, dt.datetime] | None:
        """The batch id and time of the issue's scheduled delivery, if it has one."""
        row = self.db.execute("SELECT batch_id, send_at FROM schedules WHERE issue = ?", (issue,)).fetchone()
        return (row[0], dt.datetime.fromisoformat(row[1])) if row else None

    def unschedule(self, issue: str, state: State, detail: str) -> int:
        """After a scheduled delivery was cancelled: its recipients get `state` (pending again, or
        unknown when the cancellation came too late to be sure). Returns how many."""
        found = self.schedule(issue)
        if not found:
            return 0
        with self._transaction():
            count = self.db.execute(
                "UPDATE deliveries SET state = ?, detail = ?, updated_at = ? WHERE issue = ? AND state = 'sent' AND detail = ?",
                (state, detail, now(), issue, scheduled_detail(found[0])),
            ).rowcount
            self.db.execute("DELETE FROM schedules WHERE issue = ?", (issue,))
        return count


def scheduled_detail(batch_id: str) -> str:
    """The detail of a ledger row handed to SendGrid for a scheduled delivery under batch_id."""
    return f"scheduled (batch {batch_id})"


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (or ROLLBACK on error): the write lock is taken at the start."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    def __enter__(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: the database is busy ({exc}); is another newsletter command writing it?") from None

    def __exit__(self, kind, *rest) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _subscriber(row: tuple) -> Subscriber:
    email, name, attributes, status = row
    return Subscriber(email=email, name=name, attributes=json.loads(attributes), status=Status(status))
