"""Report fixtures: a database in the fixture workspace, filled row by row (ledger rows and status
changes with SQL, provider events through the webhook's own mapping and db.events.record)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.db import Database
from newsletter.providers.sendgrid.events import to_event

T1 = "2026-12-01T09:00:00+00:00"  # issue 7 goes out
T2 = "2026-12-08T09:00:00+00:00"  # issue 8 goes out


class Data:
    """Builds the database the report reads."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sql = db.connection.db
        self.ids = itertools.count(1)

    def ledger(
        self, issue: str, emails: list[str] | range, state: str = "sent", at: str = T1, subject: str | None = None, provider: str | None = None, topic: str | None = None
    ) -> None:
        addresses = [f"r{i}@example.com" for i in emails] if isinstance(emails, range) else emails
        with self.db.transaction():
            self.sql.executemany(
                "INSERT OR REPLACE INTO deliveries (issue, email, state, attempts, updated_at) VALUES (?, ?, ?, 1, ?)", [(issue, email, state, at) for email in addresses]
            )
            if subject:
                self.sql.execute(
                    "INSERT OR REPLACE INTO issues (issue, file, subject, fingerprint, first_fingerprint, updated_at) VALUES (?, 'issues/x.yaml', ?, 'f', 'f', ?)",
                    (issue, subject, at),
                )
            if provider:
                self.sql.execute("UPDATE issues SET provider = ? WHERE issue = ?", (provider, issue))
            if topic:
                self.sql.execute("UPDATE issues SET topic = ? WHERE issue = ?", (topic, issue))

    def events(self, *items: tuple[Any, ...], issue: str = "7", at: str = T1) -> None:
        """(kind, email, extra SendGrid fields...) each, as SendGrid posts them."""
        stamp = int(dt.datetime.fromisoformat(at).timestamp()) + 60
        mapped = []
        for kind, email, *extra in items:
            item = {"sg_event_id": f"ev-{next(self.ids)}", "event": kind, "email": email, "issue": issue, "send_id": "s1", "timestamp": stamp, **(extra[0] if extra else {})}
            event = to_event(item)
            assert event is not None
            mapped.append(event)
        self.db.events.record(mapped, "sendgrid")

    def status_change(self, email: str, channel: str, at: str, status: str = "unsubscribed") -> None:
        with self.db.transaction():
            self.sql.execute("INSERT INTO status_changes (email, status, channel, at) VALUES (?, ?, ?, ?)", (email, status, channel, at))


@pytest.fixture
def data(workspace: Path) -> Iterator[Data]:
    with Database(workspace / "subscribers.db") as db:
        yield Data(db)
