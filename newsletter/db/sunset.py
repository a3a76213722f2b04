"""Sunsetting in SQL (sending/sunset.py runs it): who stopped clicking, the rounds of last-chance
emails, and letting go of those who did not click after theirs.

A round is the ledger's rows under one key, `sunset-<date>`, so each reader gets a round's email
once, under the ledger's rules. Those rows are not issues: `received` and the count of issues below
leave them out (segments.RECEIVED_ISSUE). Every reader is found in the subscribers table, so an
erased reader (whose rows hold a placeholder) is never chosen, mailed or unsubscribed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Status
from .connection import Store
from .event_outbox import status_event
from .segments import LAST_CHANCE, PERSONS_CLICKS, RECEIVED_ISSUE, Condition

CHANNEL = "sunset"  # how a reader let go is recorded in their history
# Each reader's latest click (a person's, as PERSONS_CLICKS counts them), read once per statement.
LAST_CLICKS = f"SELECT k.email, max(k.at) AS at FROM ({PERSONS_CLICKS}) k GROUP BY k.email"
# Each reader's issues, newest first: n = 1 is the latest they were sent.
NUMBERED_ISSUES = f"""SELECT d.email, d.updated_at, row_number() OVER (PARTITION BY d.email ORDER BY d.updated_at DESC, d.issue DESC) AS n
    FROM deliveries d WHERE {RECEIVED_ISSUE}"""
# Each reader's latest last-chance email of another round than this one (?), sent or on its way.
OTHER_ROUNDS = f"""SELECT r.email, max(r.updated_at) AS at FROM deliveries r
    WHERE r.issue LIKE '{LAST_CHANCE}%' AND r.issue <> ? AND r.state <> 'skipped' AND r.state <> 'failed' GROUP BY r.email"""


@dataclass(frozen=True)
class LetGo:
    """A reader who did not click after their last-chance email of round `key`, sent at `sent_at`."""

    email: str
    key: str
    sent_at: str


def round_key(day: str) -> str:
    """The ledger's key for the round started on `day` (YYYY-MM-DD)."""
    return f"{LAST_CHANCE}{day}"


class Sunset:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def inactive(self, issues: int, key: str) -> Condition:
        """Over `subscribers s`: readers sent at least `issues` issues with no click of theirs since
        the oldest of their last `issues` was sent, and not waiting on another round's email (one they
        have not clicked since, or one sent within that window). Round `key`'s own rows do not count,
        so a run resuming the round keeps its readers."""
        return Condition(
            f"""s.email IN (
                SELECT w.email FROM ({NUMBERED_ISSUES}) w
                LEFT JOIN ({LAST_CLICKS}) l ON l.email = w.email
                LEFT JOIN ({OTHER_ROUNDS}) o ON o.email = w.email
                WHERE w.n = ? AND (l.at IS NULL OR l.at < w.updated_at)
                  AND (o.at IS NULL OR (o.at < w.updated_at AND l.at >= o.at)))""",
            (key, issues),
        )

    def open_round(self) -> str | None:
        """The key of a round whose emails are not all handed over (an interrupted run), if any:
        it is finished before another starts, so nobody is in two rounds at once."""
        row = self.db.execute(f"SELECT min(issue) FROM deliveries WHERE issue LIKE '{LAST_CHANCE}%' AND (state = 'pending' OR state = 'sending')").fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def readers(self, condition: Condition, key: str) -> list[str]:
        """The active readers `condition` matches who have not been sent round `key`'s email (a run
        would mail them now), by address."""
        rows = self.db.execute(
            f"""SELECT s.email FROM subscribers s WHERE s.status = 'active' AND ({condition.sql})
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = ? AND d.email = s.email AND d.state <> 'pending' AND d.state <> 'skipped')
               ORDER BY s.email""",
            (*condition.params, key),
        )
        return [str(email) for (email,) in rows]

    def silent(self, sent_before: str) -> list[LetGo]:
        """Active readers whose last-chance email was sent before `sent_before` and who have not
        clicked since (nor changed status since: someone made active again is not judged on an old email)."""
        rows = self.db.execute(
            f"""SELECT d.email, max(d.issue), max(d.updated_at) FROM deliveries d
               JOIN subscribers s ON s.email = d.email
               LEFT JOIN ({LAST_CLICKS}) l ON l.email = d.email
               WHERE d.issue LIKE '{LAST_CHANCE}%' AND d.state = 'sent' AND d.updated_at <= ? AND s.status = 'active'
                 AND (s.status_changed_at IS NULL OR s.status_changed_at <= d.updated_at) AND (l.at IS NULL OR l.at < d.updated_at)
               GROUP BY d.email ORDER BY d.email""",
            (sent_before,),
        )
        return [LetGo(str(email), str(key), str(sent_at)) for email, key, sent_at in rows]

    def let_go(self, readers: list[LetGo], detail: str, stamp: str) -> list[str]:
        """Unsubscribe `readers` (still active), each with channel `sunset`, `detail` and their round
        in their history, in one transaction. The addresses unsubscribed."""
        done = []
        with self.connection.transaction():
            for reader in readers:
                changed = self.db.execute(
                    "UPDATE subscribers SET status = ?, updated_at = ?, status_changed_at = ? WHERE email = ? AND status = 'active'",
                    (Status.UNSUBSCRIBED, stamp, stamp, reader.email),
                ).rowcount
                if changed:
                    self.db.execute(
                        "INSERT INTO status_changes (email, status, channel, detail, at, issue) VALUES (?, ?, ?, ?, ?, ?)",
                        (reader.email, Status.UNSUBSCRIBED, CHANNEL, detail, stamp, reader.key),
                    )
                    status_event(self.db, reader.email, Status.UNSUBSCRIBED, CHANNEL, stamp, detail, reader.key)
                    done.append(reader.email)
        return done

    def has_reader_clicks(self) -> bool:
        """Whether any person's click is recorded with its reader (without one, everyone looks inactive)."""
        return self.db.execute(f"SELECT 1 FROM ({PERSONS_CLICKS}) k LIMIT 1").fetchone() is not None
