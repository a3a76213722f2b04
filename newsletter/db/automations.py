"""Where each reader is in each automation (newsletter/automations/), and the ledger rows of its emails.

A reader's row says the step they are at and when it is due (epoch seconds). A send step is a
ledger "issue" of its own (`auto-<name>-<step>`): the row for the reader is created idempotently,
sent by the same send loop as any issue, and the reader moves on only once it is settled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from ..models import State, Status
from .audience import Audience
from .connection import Store, now
from .ledger import LEFT

ACTIVE, DONE, LEFT_AUTOMATION = "active", "done", "left"
SETTLED = (State.SENT, State.FAILED, State.SKIPPED)  # a send step the reader can move on from


class Due(NamedTuple):
    """A reader whose current step is due, with what the step needs to know of them."""

    email: str
    step: str
    due_at: float
    enrolled_at: str
    status: str | None  # their status on the list now; None: no longer on it
    attributes: dict[str, str]


class AutomationReaders:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def enroll(self, automation: str, emails: Iterable[str], step: str, due_at: float) -> int:
        """Start each of `emails` still on the list at `step` (in the caller's transaction, as the
        events that enroll them are handed). A reader enters an automation once: again, nothing
        changes. How many entered."""
        stamp = now()
        entered = 0
        for email in emails:
            entered += self.db.execute(
                """INSERT INTO automation_readers (automation, email, step, state, due_at, enrolled_at, updated_at)
                   SELECT ?, email, ?, 'active', ?, ?, ? FROM subscribers WHERE email = ? ON CONFLICT DO NOTHING""",
                (automation, step, due_at, stamp, stamp, email),
            ).rowcount
        return entered

    def leave_when_gone(self, automations: Sequence[str], keys: Sequence[str]) -> int:
        """Readers no longer active on the list (unsubscribed, bounced, complained, removed) leave
        the automations, and their pending rows of these `keys` are skipped. How many left."""
        if not automations:
            return 0
        stamp = now()
        names = ", ".join("?" * len(automations))
        gone = "SELECT s.status FROM subscribers s WHERE s.email = automation_readers.email"
        with self.connection.transaction():
            left = self.db.execute(
                f"""UPDATE automation_readers SET state = 'left', detail = coalesce(({gone}), 'removed from the list'), updated_at = ?
                    WHERE automation IN ({names}) AND state = 'active'
                      AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = automation_readers.email AND s.status = 'active')""",
                (stamp, *automations),
            ).rowcount
            if keys:
                marks = ", ".join("?" * len(keys))
                self.db.execute(
                    f"""UPDATE deliveries SET state = 'skipped', detail = ?, updated_at = ? WHERE issue IN ({marks}) AND state = 'pending'
                        AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = deliveries.email AND s.status = 'active')""",
                    (LEFT, stamp, *keys),
                )
        return int(left)

    def due(self, automation: str, clock: float, limit: int = 1000, after: str = "") -> list[Due]:
        """Up to `limit` active readers whose step is due at `clock`, by address after `after`."""
        rows = self.db.execute(
            """SELECT r.email, r.step, r.due_at, r.enrolled_at, s.status, s.attributes
               FROM automation_readers r LEFT JOIN subscribers s ON s.email = r.email
               WHERE r.automation = ? AND r.state = 'active' AND r.due_at <= ? AND r.email > ?
               ORDER BY r.email LIMIT ?""",
            (automation, clock, after, limit),
        ).fetchall()
        return [Due(email, step, float(due_at), enrolled, status, json.loads(attributes) if attributes else {}) for email, step, due_at, enrolled, status, attributes in rows]

    def move(self, automation: str, email: str, step: str, due_at: float, tags: Sequence[str] = ()) -> None:
        """The reader is at `step`, due at `due_at`; with `tags`, a tag step's tags are added in the same transaction."""
        with self.connection.transaction():
            Audience(self.connection).tag([email], add=tags)  # with its subscriber.tagged event
            self.db.execute(
                "UPDATE automation_readers SET step = ?, due_at = ?, updated_at = ? WHERE automation = ? AND email = ? AND state = 'active'",
                (step, due_at, now(), automation, email),
            )

    def end(self, automation: str, email: str, state: str, detail: str | None = None, tags: Sequence[str] = ()) -> None:
        """The reader is done with the automation (DONE), or left it (LEFT_AUTOMATION, with why)."""
        with self.connection.transaction():
            Audience(self.connection).tag([email], add=tags)  # with its subscriber.tagged event
            self.db.execute(
                "UPDATE automation_readers SET state = ?, detail = ?, updated_at = ? WHERE automation = ? AND email = ? AND state = 'active'",
                (state, detail, now(), automation, email),
            )

    def has_tag(self, email: str, tag: str) -> bool:
        return self.db.execute("SELECT 1 FROM tags WHERE email = ? AND tag = ?", (email, tag)).fetchone() is not None

    def clicked(self, email: str, keys: Sequence[str], since: str) -> bool:
        """Whether the reader clicked a link of one of the automation's emails (`keys`) since `since`
        (an ISO time): through the tool's redirect with the reader known, not a scanner's, or as the
        provider reported it."""
        if not keys:
            return False
        marks = ", ".join("?" * len(keys))
        found = self.db.execute(
            f"""SELECT 1 FROM clicks WHERE email = ? AND machine IS NULL AND issue IN ({marks}) AND clicked_at >= ?
                UNION ALL SELECT 1 FROM events WHERE email = ? AND event = 'click' AND issue IN ({marks}) AND coalesce(happened_at, received_at) >= ?""",
            (email, *keys, since, email, *keys, since),
        ).fetchone()
        return found is not None

    # --- the ledger rows of a send step ------------------------------------------------------------

    def row_state(self, key: str, email: str) -> State | None:
        row = self.db.execute("SELECT state FROM deliveries WHERE issue = ? AND email = ?", (key, email)).fetchone()
        return State(row[0]) if row else None

    def queue(self, key: str, email: str) -> None:
        """The reader's pending row of send step `key`, created once: running it again adds nothing."""
        with self.connection.transaction():
            self.db.execute(
                "INSERT INTO deliveries (issue, email, state, updated_at) VALUES (?, ?, 'pending', ?) ON CONFLICT DO NOTHING", (key, email, now())
            )

    def pending(self, key: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM deliveries WHERE issue = ? AND state = 'pending'", (key,)).fetchone()[0])

    # --- status ------------------------------------------------------------------------------------

    def counts(self, automation: str) -> dict[tuple[str, str], int]:
        """Readers by (state, step): ("active", "3t1"), ("done", ...), ("left", ...)."""
        rows = self.db.execute("SELECT state, step, count(*) FROM automation_readers WHERE automation = ? GROUP BY state, step", (automation,))
        return {(state, step): int(count) for state, step, count in rows}

    def left_by_status(self, automation: str) -> dict[str, int]:
        rows = self.db.execute("SELECT detail, count(*) FROM automation_readers WHERE automation = ? AND state = 'left' GROUP BY detail", (automation,))
        return {str(detail): int(count) for detail, count in rows}

    def automations(self) -> list[str]:
        """Every automation anyone entered (an automation file since deleted included)."""
        return [name for (name,) in self.db.execute("SELECT DISTINCT automation FROM automation_readers ORDER BY automation")]


def still_active(status: str | None) -> bool:
    return status == Status.ACTIVE
