"""The queue of confirmation and welcome emails: a web request adds a row, a background sender
(the web app's, or `newsletter notices send`) claims and sends it.

The rows follow the send ledger's rules: a row is claimed (`sending`) and committed before the
provider is called; a definite answer settles it (`sent`, `failed`, or `skipped` when it is no
longer wanted); a refusal that took nothing puts it back, later; a row left `sending` by a sender
that died is settled `unknown` and never sent again (its reader can ask for another)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .connection import Store, now

STALE_AFTER = dt.timedelta(minutes=10)  # a claim older than this belongs to a sender that died


@dataclass(frozen=True)
class QueuedNotice:
    id: int
    kind: str  # confirm | welcome
    email: str
    attempts: int  # including this one


class NoticeQueue:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def add(self, kind: str, email: str) -> None:
        """Queue a `kind` email to `email` (in the caller's transaction, if any)."""
        stamp = now()
        self.db.execute(
            "INSERT INTO notice_queue (kind, email, state, queued_at, not_before) VALUES (?, ?, 'queued', ?, ?)", (kind, email, stamp, stamp)
        )

    def claim(self) -> QueuedNotice | None:
        """The oldest notice due, marked `sending` and committed; None when none is due. Several
        senders (threads, workers, machines) never claim the same row."""
        stamp = now()
        with self.connection.transaction():
            row = self.db.execute(
                "UPDATE notice_queue SET state = 'sending', claimed_at = ?, attempts = attempts + 1"
                " WHERE state = 'queued' AND id = (SELECT id FROM notice_queue WHERE state = 'queued' AND not_before <= ?"
                f" ORDER BY id LIMIT 1{self.connection.dialect.skip_locked()}) RETURNING id, kind, email, attempts",
                (stamp, stamp),
            ).fetchone()
        return QueuedNotice(int(row[0]), row[1], row[2], int(row[3])) if row else None

    def settle(self, notice: QueuedNotice, state: str, detail: str | None) -> None:
        """The final state of a claimed notice: sent, failed, skipped or unknown."""
        with self.connection.transaction():
            self.db.execute("UPDATE notice_queue SET state = ?, detail = ? WHERE id = ? AND state = 'sending'", (state, detail, notice.id))

    def retry_later(self, notice: QueuedNotice, after: dt.timedelta, detail: str | None) -> None:
        """Nothing was taken: queue the notice again, due after `after`."""
        due = (dt.datetime.now(dt.UTC) + after).isoformat(timespec="seconds")
        with self.connection.transaction():
            self.db.execute(
                "UPDATE notice_queue SET state = 'queued', not_before = ?, detail = ? WHERE id = ? AND state = 'sending'", (due, detail, notice.id)
            )

    def settle_abandoned(self) -> list[tuple[str, str]]:
        """Rows claimed by a sender that died (claimed more than STALE_AFTER ago) become `unknown`:
        the email may have left, so it is never sent again. Returns their (kind, email)."""
        before = (dt.datetime.now(dt.UTC) - STALE_AFTER).isoformat(timespec="seconds")
        with self.connection.transaction():
            rows = self.db.execute(
                "UPDATE notice_queue SET state = 'unknown', detail = 'the sender stopped while handing it over; it may have been sent'"
                " WHERE state = 'sending' AND claimed_at < ? RETURNING kind, email",
                (before,),
            ).fetchall()
        return [(kind, email) for kind, email in rows]

    def waiting(self) -> int:
        """Notices being sent, or queued and due."""
        return int(
            self.db.execute("SELECT count(*) FROM notice_queue WHERE state = 'sending' OR (state = 'queued' AND not_before <= ?)", (now(),)).fetchone()[0]
        )

    def states(self, email: str) -> list[tuple[str, str]]:
        """(kind, state) of every notice queued for `email`, oldest first."""
        return [(kind, state) for kind, state in self.db.execute("SELECT kind, state FROM notice_queue WHERE email = ? ORDER BY id", (email,))]
