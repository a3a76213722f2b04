"""What providers tell us after a send (delivered, bounced, complained...), stored once per event,
and the confirmation and welcome messages the web app sent."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Status
from .connection import Store, now
from .event_outbox import status_event

SOFT_BOUNCES_TO_BOUNCE = 3  # soft bounces in a row that make an address `bounced`


@dataclass(frozen=True)
class Event:
    """One provider event, already read and mapped by the provider (providers/sendgrid/events.py)."""

    event_id: str
    event: str  # the provider's word: delivered, bounce, dropped, spamreport, unsubscribe...
    email: str | None
    issue: str | None
    send_id: str | None
    happened_at: str | None
    detail: str | None = None
    status: Status | None = None  # the status this event gives the subscriber, if any
    soft_bounce: bool = False  # a temporary failure: counted, and the third in a row bounces
    delivered: bool = False  # a delivery ends a run of soft bounces


class Events:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def record(self, events: list[Event], provider: str) -> int:
        """Store the events not seen before (providers retry and repeat) and apply their statuses,
        all in one transaction. Returns how many were new."""
        stamp = now()
        new = 0
        with self.connection.transaction():
            for event in events:
                cursor = self.db.execute(
                    "INSERT INTO events (event_id, provider, event, email, issue, send_id, happened_at, received_at, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (event.event_id, provider, event.event, event.email, event.issue, event.send_id, event.happened_at, stamp, event.detail),
                )
                if cursor.rowcount == 0 or event.email is None:
                    continue
                new += 1
                self._apply(event, provider, stamp)
        return new

    def _apply(self, event: Event, provider: str, stamp: str) -> None:
        status = event.status
        if event.delivered:
            self.db.execute("UPDATE subscribers SET soft_bounces = 0 WHERE email = ? AND soft_bounces > 0", (event.email,))
        if event.soft_bounce:
            row = self.db.execute("UPDATE subscribers SET soft_bounces = soft_bounces + 1 WHERE email = ? RETURNING soft_bounces", (event.email,)).fetchone()
            if row and row[0] >= SOFT_BOUNCES_TO_BOUNCE:
                status = Status.BOUNCED
        if status is None:
            return
        # Only someone on the list moves: a bounce never re-activates, and a complaint outranks all.
        leaving_from = ("active", "pending") if status != Status.COMPLAINED else ("active", "pending", "unsubscribed", "bounced")
        newer, params = self._newer_than_last_change(event, status)
        cursor = self.db.execute(
            f"UPDATE subscribers SET status = ?, updated_at = ?, status_changed_at = ?"
            f" WHERE email = ? AND status IN ({', '.join('?' * len(leaving_from))}){newer}",
            (status, stamp, stamp, event.email, *leaving_from, *params),
        )
        if cursor.rowcount:
            self.db.execute(
                "INSERT INTO status_changes (email, status, channel, detail, at, issue) VALUES (?, ?, ?, ?, ?, ?)",
                (event.email, status, f"{provider} {event.event}", event.detail, stamp, event.issue),
            )
            status_event(self.db, str(event.email), status, f"{provider} {event.event}", stamp, event.detail, event.issue)

    @staticmethod
    def _newer_than_last_change(event: Event, status: Status) -> tuple[str, tuple[str, ...]]:
        """The condition that keeps a late event from undoing a newer state: SendGrid posts events
        late and retries them for a day, so an unsubscribe stamped before a re-confirmation must
        not take the reader off again. In the same statement as the change, so a confirmation
        committed meanwhile is seen.

        - A complaint always applies: a reader who marked us as spam is never mailed again.
        - An event applies when it happened at or after the last change (times are to the
          second: within the same second, leaving wins over staying) or when that time is unknown.
        - An event without a time cannot show it is newer, so it changes only a subscriber whose
          last change time is unknown. SendGrid stamps every event; `subscribers sync` still
          marks whoever its suppression lists name."""
        if status == Status.COMPLAINED:
            return "", ()
        if event.happened_at is None:
            return " AND status_changed_at IS NULL", ()
        return " AND (status_changed_at IS NULL OR status_changed_at <= ?)", (event.happened_at,)

    def counts(self, issue: str) -> dict[str, int]:
        """How many of each event an issue's messages got (distinct addresses per event)."""
        rows = self.db.execute("SELECT event, count(DISTINCT email) FROM events WHERE issue = ? GROUP BY event ORDER BY event", (issue,))
        return {event: count for event, count in rows}


class NoticeLog:
    """Confirmation and welcome messages: one row each, with what the provider said."""

    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def record(self, kind: str, email: str, provider: str, outcome: str, detail: str | None) -> None:
        with self.connection.transaction():
            self.db.execute(
                "INSERT INTO notices (kind, email, provider, outcome, detail, at) VALUES (?, ?, ?, ?, ?, ?)", (kind, email, provider, outcome, detail, now())
            )

    def sent_to(self, email: str) -> list[tuple[str, str, str]]:
        """(kind, outcome, at) of each notice to `email`, oldest first."""
        return list(self.db.execute("SELECT kind, outcome, at FROM notices WHERE email = ? ORDER BY id", (email,)))
