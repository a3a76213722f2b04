"""Everything the database holds about one address, across its tables: read for a subscriber's
story, moved to a new address, scrubbed when a reader is erased or a signup was never confirmed.
SQL only; subscribers/rules.py decides when each happens."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..models.event_types import SUBSCRIBER_ERASED
from . import webhooks
from .connection import Store, StoreError, now
from .event_outbox import emit, forget_address

# A history row that is not a status change: the address changed (the column is free text; no
# report counts it, and a confirmation link made before it is stale, as it was sent to the old address).
ADDRESS_CHANGED = "address changed"
ERASED = "erased"  # the history row an erasure leaves, under the placeholder

# The tables that hold nothing but what a reader is and chose: deleted with them.
PERSONAL_TABLES = ("tags", "subscriptions", "consents", "address_changes", "notice_queue", "automation_readers")
# The tables that record what happened (the ledger, the history, provider events, notices sent):
# kept for the figures, under a placeholder instead of the address.
CHOICE_TABLES = PERSONAL_TABLES[:4]  # what a reader chose or asked for; the notice queue is what we owe them
RECORD_TABLES = ("deliveries", "status_changes", "events", "notices", "admin_actions")  # admin_actions: what an editor did to them
# Who clicked (only with [tracking] clicks = "reader"): moved with the address, and on erasure the
# click stays counted for nobody.
CLICK_TABLE = "clicks"


@dataclass(frozen=True)
class Change:
    """One row of a subscriber's history."""

    status: str  # a Status, or ADDRESS_CHANGED
    channel: str  # web, one-click, unsubscribe page, preferences, import, command line, sync, sendgrid bounce...
    detail: str | None
    at: str
    issue: str | None  # the issue a link or a refusal came from


@dataclass(frozen=True)
class Received:
    """One issue in the send ledger for a subscriber."""

    issue: str
    state: str
    segment: str | None
    detail: str | None
    updated_at: str


@dataclass(frozen=True)
class ProviderEvent:
    provider: str
    event: str
    issue: str | None
    happened_at: str | None
    detail: str | None


@dataclass(frozen=True)
class NoticeSent:
    kind: str  # confirm, welcome
    provider: str
    outcome: str
    detail: str | None
    at: str


class Records:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    # --- reading ---------------------------------------------------------------------------------

    def status_changed_at(self, email: str) -> str | None:
        row = self.db.execute("SELECT status_changed_at FROM subscribers WHERE email = ?", (email,)).fetchone()
        return row[0] if row else None

    def history(self, email: str) -> list[Change]:
        rows = self.db.execute("SELECT status, channel, detail, at, issue FROM status_changes WHERE email = ? ORDER BY id", (email,))
        return [Change(*row) for row in rows]

    def deliveries(self, email: str) -> list[Received]:
        rows = self.db.execute("SELECT issue, state, segment, detail, updated_at FROM deliveries WHERE email = ? ORDER BY updated_at, issue", (email,))
        return [Received(*row) for row in rows]

    def events(self, email: str) -> list[ProviderEvent]:
        rows = self.db.execute(
            "SELECT provider, event, issue, happened_at, detail FROM events WHERE email = ? ORDER BY coalesce(happened_at, received_at), event_id", (email,)
        )
        return [ProviderEvent(*row) for row in rows]

    def notices(self, email: str) -> list[NoticeSent]:
        rows = self.db.execute("SELECT kind, provider, outcome, detail, at FROM notices WHERE email = ? ORDER BY id", (email,))
        return [NoticeSent(*row) for row in rows]

    def issues_in_the_ledger(self, email: str) -> list[str]:
        return [issue for (issue,) in self.db.execute("SELECT issue FROM deliveries WHERE email = ? ORDER BY issue", (email,))]

    def holds(self, email: str) -> bool:
        """Whether any table holds `email` (a subscriber removed earlier still has ledger rows)."""
        tables = ("subscribers", *PERSONAL_TABLES, *RECORD_TABLES, CLICK_TABLE)
        query = " UNION ALL ".join(f"SELECT 1 FROM {table} WHERE email = ?" for table in tables)
        return self.db.execute(f"SELECT EXISTS ({query})", (email,) * len(tables)).fetchone()[0] in (1, True)

    @contextlib.contextmanager
    def consents_for_new_subscribers(self, method: str, source: str | None) -> Iterator[None]:
        """Inside the caller's transaction: whoever the block adds to the list gets a consent
        record (`method`, `source`); those already on it keep theirs. The list is held against
        other writers meanwhile, so a signup cannot pass for an imported row."""
        dialect, db = self.connection.dialect, self.db
        dialect.lock_against_other_writers(db, "subscribers")
        db.execute(f"DROP TABLE IF EXISTS {dialect.temporary_schema}.known_before")  # left by a block that raised
        # Keyed, so checking each subscriber against it is a lookup, not a scan (SQLite makes no index of its own here).
        db.execute("CREATE TEMP TABLE known_before (email TEXT PRIMARY KEY)")
        db.execute("INSERT INTO known_before (email) SELECT email FROM subscribers")
        yield
        db.execute(
            """INSERT INTO consents (email, at, method, source, text_version)
               SELECT email, ?, ?, ?, NULL FROM subscribers s WHERE NOT EXISTS (SELECT 1 FROM known_before k WHERE k.email = s.email)
               ON CONFLICT (email) DO NOTHING""",
            (now(), method, source),
        )
        db.execute(f"DROP TABLE {dialect.temporary_schema}.known_before")

    # --- a new address ---------------------------------------------------------------------------

    def change_address(self, old: str, new: str, channel: str) -> None:
        """Move every row of `old` to `new`, in one transaction: the subscriber keeps their link id,
        history and ledger rows. The caller has checked that `new` is free (not on the list, not
        in the ledger); a signup of `new` committed meanwhile makes this fail, changing nothing."""
        stamp = now()
        with self.connection.transaction():
            for table in CHOICE_TABLES:  # left by a row removed before removing cleaned these up
                self.db.execute(f"DELETE FROM {table} WHERE email = ? AND NOT EXISTS (SELECT 1 FROM subscribers WHERE email = ?)", (new, new))
            try:
                moved = self.db.execute("UPDATE subscribers SET email = ?, updated_at = ? WHERE email = ?", (new, stamp, old)).rowcount
            except self.connection.integrity_error:
                raise StoreError(f"{new} joined the list meanwhile; nothing was changed") from None
            if not moved:
                raise StoreError(f"{old} left the list meanwhile; nothing was changed")
            for table in (*PERSONAL_TABLES, *RECORD_TABLES, CLICK_TABLE):
                self.db.execute(f"UPDATE {table} SET email = ? WHERE email = ?", (new, old))
            self.db.execute(
                "INSERT INTO status_changes (email, status, channel, detail, at, issue) VALUES (?, ?, ?, NULL, ?, NULL)", (new, ADDRESS_CHANGED, channel, stamp)
            )

    def rename(self, email: str, name: str | None) -> bool:
        return self.db.execute("UPDATE subscribers SET name = ?, updated_at = ? WHERE email = ?", (name, now(), email)).rowcount > 0

    # --- forgetting ------------------------------------------------------------------------------

    def erase(self, email: str, placeholder: str, channel: str) -> bool:
        """Delete what `email` is and chose, and put `placeholder` for the address in what happened
        (the ledger, the history, events, notices), so each issue's figures stay as they were. An
        ERASED row under the placeholder records when and how. Whether anything held the address."""
        stamp = now()
        with self.connection.transaction():
            found = self.holds(email)
            if found:
                row = self.db.execute("SELECT public_id FROM subscribers WHERE email = ?", (email,)).fetchone()
                public_id = row[0] if row else None
                self._scrub(email, placeholder, public_id)
                self.db.execute(
                    "INSERT INTO status_changes (email, status, channel, detail, at, issue) VALUES (?, ?, ?, NULL, ?, NULL)", (placeholder, ERASED, channel, stamp)
                )
                emit(self.db, SUBSCRIBER_ERASED, {"id": public_id, "channel": channel}, stamp)
        return found

    def reclaim_deliveries(self, email: str, placeholder: str) -> int:
        """An erased reader came back through their own double opt-in: the ledger rows kept under
        `placeholder` are theirs again, so no issue they had goes to them twice. How many."""
        return int(self.db.execute(
            "UPDATE deliveries SET email = ? WHERE email = ? AND issue NOT IN (SELECT issue FROM deliveries WHERE email = ?)", (email, placeholder, email)
        ).rowcount)

    def remove(self, email: str) -> bool:
        """Delete the subscriber and what they chose (tags, topics, consent); what happened stays."""
        with self.connection.transaction():
            for table in CHOICE_TABLES:
                self.db.execute(f"DELETE FROM {table} WHERE email = ?", (email,))
            return self.db.execute("DELETE FROM subscribers WHERE email = ?", (email,)).rowcount > 0

    def stale_signups(self, before: str) -> list[str]:
        """Pending subscribers who signed up, last changed and were last sent a confirmation before
        `before` (an ISO time): one who asked for a new link lately may still use it."""
        rows = self.db.execute(
            """SELECT email FROM subscribers s WHERE status = 'pending' AND created_at < ? AND coalesce(status_changed_at, created_at) < ?
                 AND NOT EXISTS (SELECT 1 FROM notice_queue q WHERE q.email = s.email AND q.queued_at >= ?) ORDER BY email""",
            (before, before, before),
        )
        return [email for (email,) in rows]

    def purge_signups(self, before: str, placeholder: Callable[[str], str]) -> int:
        """Scrub every stale signup (see stale_signups) as an erasure does, without a suppression:
        they never confirmed, so nothing says they asked to be left alone. How many."""
        with self.connection.transaction():
            emails = self.stale_signups(before)
            for email in emails:
                self._scrub(email, placeholder(email))
        return len(emails)

    def _scrub(self, email: str, placeholder: str, public_id: str | None = None) -> None:
        self.db.execute("DELETE FROM subscribers WHERE email = ?", (email,))
        forget_address(self.db, email, placeholder, public_id)
        webhooks.forget_address(self.db, email, placeholder)
        for table in PERSONAL_TABLES:
            self.db.execute(f"DELETE FROM {table} WHERE email = ?", (email,))
        # Someone erased twice (they came back, then asked again) already has placeholder rows:
        # an issue both lives received keeps the first row, as one issue is one row per address.
        self.db.execute(
            "DELETE FROM deliveries WHERE email = ? AND issue IN (SELECT issue FROM deliveries WHERE email = ?)", (email, placeholder)
        )
        self.db.execute(f"UPDATE {CLICK_TABLE} SET email = NULL WHERE email = ?", (email,))
        for table in RECORD_TABLES:
            # The provider's words may quote the address ("550 <ada@example.com>: no such user").
            self.db.execute(f"UPDATE {table} SET email = ?, detail = replace(detail, ?, ?) WHERE email = ?", (placeholder, email, placeholder, email))
