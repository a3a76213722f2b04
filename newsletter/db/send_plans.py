"""Paced and canary sends: each issue's plan, its canary rows, and the figures that pause it.

A plan is one row per issue (send_plans), written by the send core (sending/pacing.py) before the
rows it governs go out: the window the rest is spread over, the canary (its share, size and wait,
when it went and when it was cleared), a pause with what was seen, and a cancellation. The canary
itself is a position in the ledger (`deliveries.canary`, NULL: not in it), so erasure and a new
address treat it as any ledger row. Canary rows are claimed by address, in canary order, under
the ledger's contract: claimed and committed before any network call, settled as any batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import heapq
from dataclasses import dataclass
from typing import NamedTuple

from ..models import State
from ..models.event_types import ISSUE_CANCELLED
from .connection import Store, StoreError, now
from .event_outbox import emit
from .ledger import Claim, Ledger
from .segments import EVERYONE, Condition

CANCELLED = "the send was cancelled before their turn"
CLICKS_COUNT_FOR = dt.timedelta(days=90)  # a click older than this no longer puts a reader first in the canary


@dataclass(frozen=True)
class SendPlan:
    issue: str
    file: str  # the issue file, relative to the workspace (`send --due` prepares it again)
    provider: str
    window: dt.timedelta | None = None  # the rest spread over this; None: as fast as the provider allows
    starts_at: dt.datetime | None = None  # set when the paced part starts (after a canary)
    ends_at: dt.datetime | None = None
    total: int | None = None  # copies the window spreads (the pending rows when it started)
    done_before: int = 0  # rows handed over before the window started
    canary_share: float | None = None  # percent of the readers; None: no canary
    canary_wait: dt.timedelta | None = None
    canary_size: int | None = None  # set when the canary is chosen
    canary_sent_at: dt.datetime | None = None  # the last canary copy handed over: the wait starts
    canary_cleared_at: dt.datetime | None = None  # judged fine (or the editor said go)
    paused_at: dt.datetime | None = None
    paused_reason: str | None = None
    baseline: Figures | None = None  # what the editor saw and accepted when resuming: later checks count what came after
    cancelled_at: dt.datetime | None = None

    def but(self, **changes: object) -> SendPlan:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


class Figures(NamedTuple):
    """Copies accepted, and the readers among them who hard-bounced or complained."""

    copies: int
    hard_bounces: int
    complaints: int

    def since(self, baseline: Figures | None) -> Figures:
        if baseline is None:
            return self
        return Figures(self.copies - baseline.copies, self.hard_bounces - baseline.hard_bounces, self.complaints - baseline.complaints)


COLUMNS = (
    "issue, file, provider, window_seconds, starts_at, ends_at, total, done_before, canary_share, canary_wait_seconds, canary_size, "
    "canary_sent_at, canary_cleared_at, paused_at, paused_reason, baseline_copies, baseline_hard, baseline_complaints, cancelled_at"
)

# Readers with a person's click (the tool's own, or a provider's click event) since a time, most recent first.
CLICKERS = """
    SELECT d.email, max(c.at) AS last FROM deliveries d JOIN (
        SELECT email, clicked_at AS at FROM clicks WHERE machine IS NULL AND email IS NOT NULL AND clicked_at >= ?
        UNION ALL
        SELECT email, coalesce(happened_at, received_at) AS at FROM events WHERE event = 'click' AND email IS NOT NULL AND coalesce(happened_at, received_at) >= ?
    ) c ON c.email = d.email
    WHERE d.issue = ? AND d.state = 'pending'
    GROUP BY d.email ORDER BY last DESC, d.email
"""


class SendPlans:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def get(self, issue: str) -> SendPlan | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM send_plans WHERE issue = ?", (issue,)).fetchone()
        return _plan(row) if row else None

    def going_on(self) -> list[SendPlan]:
        """Paced and canary sends that still have rows to send and are neither paused nor cancelled
        (cron carries them on). One index probe per plan, however many issues went out before."""
        rows = self.db.execute(
            f"""SELECT {COLUMNS} FROM send_plans p
               WHERE p.paused_at IS NULL AND p.cancelled_at IS NULL AND (p.window_seconds IS NOT NULL OR p.canary_size IS NOT NULL)
                 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = p.issue AND d.state = 'pending')
               ORDER BY p.issue"""
        )
        return [_plan(row) for row in rows]

    def save(self, plan: SendPlan) -> None:
        values = _values(plan)
        marks = ", ".join("?" * len(values))
        updates = ", ".join(f"{column} = excluded.{column}" for column in COLUMNS.replace(" ", "").split(",")[1:])
        with self.connection.transaction():
            self.db.execute(
                f"INSERT INTO send_plans ({COLUMNS}, created_at) VALUES ({marks}, ?) ON CONFLICT (issue) DO UPDATE SET {updates}",
                (*values, now()),
            )

    def drop(self, issue: str) -> None:
        with self.connection.transaction():
            self.db.execute("DELETE FROM send_plans WHERE issue = ?", (issue,))
            self.db.execute("UPDATE deliveries SET canary = NULL WHERE issue = ? AND canary IS NOT NULL", (issue,))

    # --- the canary --------------------------------------------------------------------------------

    def choose_canary(self, issue: str, size: int, key: bytes, at: dt.datetime) -> int:
        """Mark `size` pending rows as the canary, in the order they go: readers who clicked lately
        (most recent first), then the others in a keyed random order that a re-run reproduces.
        Idempotent: a canary already chosen is kept. How many rows are in it."""
        with self.connection.transaction():
            chosen = self.canary_rows(issue)
            if chosen:
                return chosen
            since = (at - CLICKS_COUNT_FOR).isoformat(timespec="seconds")
            clickers = [email for email, _ in self.db.execute(CLICKERS, (since, since, issue)).fetchall()][:size]
            first = set(clickers)
            others = (email for (email,) in self.db.execute("SELECT email FROM deliveries WHERE issue = ? AND state = 'pending'", (issue,)) if email not in first)
            rest = heapq.nsmallest(size - len(clickers), others, key=lambda email: _keyed(key, issue, email))
            order = [*clickers, *rest]
            self.db.executemany("UPDATE deliveries SET canary = ? WHERE issue = ? AND email = ?", [(position, issue, email) for position, email in enumerate(order)])
            return len(order)

    def canary_rows(self, issue: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM deliveries WHERE issue = ? AND canary IS NOT NULL", (issue,)).fetchone()[0])

    def canary_pending(self, issue: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM deliveries WHERE issue = ? AND canary IS NOT NULL AND state = 'pending'", (issue,)).fetchone()[0])

    def canary_order(self, issue: str) -> list[str]:
        return [email for (email,) in self.db.execute("SELECT email FROM deliveries WHERE issue = ? AND canary IS NOT NULL ORDER BY canary", (issue,))]

    def claim_canary(self, issue: str, limit: int, send_id: str, clock: float, member: Condition = EVERYONE) -> Claim:
        """Ledger.claim for the canary: up to `limit` due pending canary rows, in canary order,
        marked `sending` by address (they are no range of the address index) and committed
        before returning; readers who left are skipped. The batch lists them in address order,
        as every claim does (a batch is settled over its range and its send id)."""
        stamp = now()
        with self.connection.transaction():
            claimed = sorted(Ledger(self.connection).pick_due(issue, limit, clock, member, stamp, canary=True))
            if not claimed:
                return Claim(issue, send_id, [])
            marked = sum(
                self.db.execute(
                    """UPDATE deliveries SET state = 'sending', send_id = ?, attempts = attempts + 1, not_before = NULL, updated_at = ?
                       WHERE issue = ? AND email = ? AND state = 'pending'""",
                    (send_id, stamp, issue, recipient.email),
                ).rowcount
                for recipient in claimed
            )
            if marked != len(claimed):
                raise StoreError(f"{self.connection.path}: claimed {marked} rows for a canary batch of {len(claimed)}; the ledger changed under this run")
        return Claim(issue, send_id, claimed)

    # --- what providers reported -------------------------------------------------------------------

    def canary_figures(self, issue: str) -> Figures:
        """The canary's copies accepted, and its readers who hard-bounced or complained (the providers' events)."""
        copies = self.db.execute("SELECT count(*) FROM deliveries WHERE issue = ? AND canary IS NOT NULL AND state = 'sent'", (issue,)).fetchone()[0]
        return Figures(int(copies), *self._reported(issue, "AND EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = e.issue AND d.email = e.email AND d.canary IS NOT NULL)"))

    def figures(self, issue: str) -> Figures:
        """The issue's copies accepted so far, and the readers who hard-bounced or complained."""
        copies = self.db.execute("SELECT count(*) FROM deliveries WHERE issue = ? AND state = 'sent'", (issue,)).fetchone()[0]
        return Figures(int(copies), *self._reported(issue))

    def _reported(self, issue: str, among: str = "") -> tuple[int, int]:
        row = self.db.execute(
            f"""SELECT count(DISTINCT CASE WHEN e.event = 'bounce' AND e.detail LIKE 'hard: %' THEN e.email END),
                       count(DISTINCT CASE WHEN e.event = 'spamreport' THEN e.email END)
                FROM events e WHERE e.issue = ? AND e.event IN ('bounce', 'spamreport') {among}""",
            (issue,),
        ).fetchone()
        return int(row[0]), int(row[1])

    # --- ending a send -----------------------------------------------------------------------------

    def skip_rest(self, issue: str) -> int:
        """The rows that have not gone (pending, or held here) will not: `skipped`, with the
        send's `issue.cancelled` event (once) in the same transaction. How many."""
        stamp = now()
        with self.connection.transaction():
            skipped = int(self.db.execute(
                "UPDATE deliveries SET state = 'skipped', detail = ?, not_before = NULL, updated_at = ? WHERE issue = ? AND state IN ('pending', 'scheduled')",
                (CANCELLED, stamp, issue),
            ).rowcount)
            if skipped:
                data = {"issue": issue, "send_at": None, "readers": skipped, "now": str(State.SKIPPED)}
                emit(self.db, ISSUE_CANCELLED, data, stamp, once=f"{ISSUE_CANCELLED}:{issue}:rest")
        return skipped

    def cancelled_rows(self, issue: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM deliveries WHERE issue = ? AND state = 'skipped' AND detail = ?", (issue, CANCELLED)).fetchone()[0])


def _keyed(key: bytes, issue: str, email: str) -> bytes:
    """A reader's place in the issue's random order: stable for a key, unguessable without it."""
    return hashlib.blake2b(email.encode(), key=key[:64], person=b"canary", salt=issue.encode()[:16].ljust(16, b"\0")).digest()


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _seconds(value: int | None) -> dt.timedelta | None:
    return dt.timedelta(seconds=value) if value is not None else None


def _plan(row: tuple[object, ...]) -> SendPlan:
    (issue, file, provider, window, starts, ends, total, done_before, share, wait, size, canary_sent, cleared, paused, reason, b_copies, b_hard, b_complaints, cancelled) = row
    baseline = Figures(int(b_copies), int(b_hard), int(b_complaints)) if (b_copies or b_hard or b_complaints) else None  # type: ignore[call-overload]
    return SendPlan(
        str(issue), str(file), str(provider), _seconds(window), _time(starts), _time(ends), total, int(done_before), share, _seconds(wait), size,  # type: ignore[arg-type, call-overload]
        _time(canary_sent), _time(cleared), _time(paused), reason, baseline, _time(cancelled),  # type: ignore[arg-type]
    )  # fmt: skip


def _values(plan: SendPlan) -> tuple[object, ...]:
    baseline = plan.baseline or Figures(0, 0, 0)
    window = int(plan.window.total_seconds()) if plan.window else None
    wait = int(plan.canary_wait.total_seconds()) if plan.canary_wait else None
    return (
        plan.issue, plan.file, plan.provider, window, _iso(plan.starts_at), _iso(plan.ends_at), plan.total, plan.done_before, plan.canary_share, wait,
        plan.canary_size, _iso(plan.canary_sent_at), _iso(plan.canary_cleared_at), _iso(plan.paused_at), plan.paused_reason, *baseline, _iso(plan.cancelled_at),
    )  # fmt: skip
