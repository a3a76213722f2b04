"""The send ledger: one row per (issue, address), the record of what each issue number sent, and
scheduled deliveries.

The ledger follows the contract in docs/architecture.md: rows are created before sending; a batch is claimed
(state `sending`, a fresh send id) and committed before any network call; `sending` rows left by a
crash become `unknown` and are never retried automatically. Every query that runs once per batch
is served by an index, named with INDEXED BY so that SQLite cannot prefer walking the primary key
past every row already sent; a batch costs the same at any list size (tests/send/test_database.py
checks the query plans and counts the work).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from ..models import HANDED_OVER, Delivery, Recipient, State
from ..models.event_types import ISSUE_CANCELLED, ISSUE_SCHEDULED, ISSUE_SENT
from .connection import Store, StoreError, now
from .event_outbox import emit
from .segments import EVERYONE, WHOLE_LIST, Condition, Selection
from .subscribers import Subscribers

if TYPE_CHECKING:
    from .workers import Worker

LEFT = "no longer an active subscriber"
REMOVED = "removed from the list"
LEFT_TOPIC = "no longer reads this issue's topic"
# A pending row the latest run's segment does not match; a later run whose segment matches it makes
# it pending again (it was never sent). The ledger recognises these rows by this detail.
OUTSIDE = "outside the segment of the latest run"
INTERRUPTED = "interrupted while it was being handed over: it may or may not have been delivered"


@dataclass(frozen=True)
class Claim:
    """A batch of rows marked `sending` under one send id: the recipients, in address order."""

    issue: str
    send_id: str
    recipients: list[Recipient]


class Settlement(NamedTuple):
    """What happened to one claimed row. `not_before` (epoch seconds) delays a pending row;
    `bounced`: the server refused the address itself for good (counted, see Bouncing)."""

    state: State
    detail: str | None = None
    not_before: float | None = None
    message_id: str | None = None
    bounced: bool = False


@dataclass(frozen=True)
class Bouncing:
    """How a run counts permanent refusals of an address: `after` of them in a row (no letter
    taken in between) make the subscriber `bounced`, with the refusal's words in their history
    under `channel` (the provider). 0: counted, never bounced."""

    after: int
    channel: str


@dataclass(frozen=True)
class IssueRecord:
    """What went out under one issue number: from which file, and a fingerprint of its content."""

    issue: str
    file: str
    subject: str
    fingerprint: str
    first_fingerprint: str
    handed_over_before_change: int | None  # set once the content changed after sending began
    changed_at: str | None
    git_commit: str | None = None  # the commit it was sent from (a workspace in git; see record_commit)
    git_clean: bool | None = None  # whether the issue file was as committed then


class LeftOut(NamedTuple):
    """Subscribers a selection does not mail, by the first reason: not active, not reading the
    topic, not in the segment (`everyone`: the whole list, for scale)."""

    everyone: int
    not_active: int
    not_in_topic: int
    not_in_segment: int


@dataclass(frozen=True)
class Schedule:
    """A delivery set for a later time: held by the provider (SendGrid's send_at) or held here
    until `newsletter send --due` runs at or after `send_at`."""

    issue: str
    send_at: dt.datetime
    provider: str
    held_by: Literal["provider", "here"]
    batch_id: str | None = None  # the provider's id for cancelling
    file: str | None = None  # the issue file, relative to the workspace


class Ledger:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    # --- rows ------------------------------------------------------------------------------------

    def prepare(self, issue: str, worker: Worker | None = None, selection: Selection = WHOLE_LIST) -> None:
        """Make the ledger ready for a run: a pending row for every active subscriber of the
        `selection` who has none (idempotent), and rows left `sending` by an interrupted run become
        `unknown`. Pending rows the selection no longer matches are skipped (OUTSIDE), and rows so
        skipped that it matches again are pending again: a wider run adds readers, a narrower one
        never un-sends (sent, failed and unknown rows never change here).

        A send `worker` (one of several sharing a PostgreSQL ledger) recovers only the rows of
        runs that are gone: the others are still being handed over."""
        stamp = now()
        where = selection.condition
        with self.connection.transaction():
            self.connection.dialect.one_worker_at_a_time(self.db)  # workers starting together add the rows once, in turn
            added = self.db.execute(
                f"""INSERT INTO deliveries (issue, email, state, updated_at, segment)
                   SELECT ?, s.email, 'pending', ?, ? FROM subscribers s WHERE s.status = 'active' AND ({where.sql})
                   ON CONFLICT DO NOTHING""",
                (issue, stamp, selection.segment, *where.params),
            ).rowcount
            self._fit_to_selection(issue, selection, stamp)
            if added > 10_000:  # fresh statistics before the first claim
                self.connection.dialect.refresh_statistics(self.db, "deliveries")
            if worker is not None:
                worker.recover(self, issue, stamp)
                return
            self.recover(issue, stamp)
            # A deferral's pause belongs to the run that was told to wait.
            self.db.execute("UPDATE deliveries SET not_before = NULL WHERE issue = ? AND state = 'pending' AND not_before IS NOT NULL", (issue,))

    def _fit_to_selection(self, issue: str, selection: Selection, stamp: str) -> None:
        """Pending rows follow this run's selection; only rows never sent (pending, or skipped as
        OUTSIDE) move, so nobody is mailed twice and nobody sent is forgotten."""
        where = selection.condition
        matches = f"SELECT 1 FROM subscribers s WHERE s.email = deliveries.email AND ({where.sql})"
        self.db.execute(
            f"""UPDATE deliveries SET state = 'pending', detail = NULL, segment = ?, updated_at = ?
               WHERE issue = ? AND state = 'skipped' AND detail = ? AND EXISTS ({matches} AND s.status = 'active')""",
            (selection.segment, stamp, issue, OUTSIDE, *where.params),
        )
        if where is EVERYONE:
            self.db.execute(
                "UPDATE deliveries INDEXED BY deliveries_pending SET segment = NULL, updated_at = ? WHERE issue = ? AND state = 'pending' AND segment IS NOT NULL",
                (stamp, issue),
            )
            return
        self.db.execute(
            f"""UPDATE deliveries INDEXED BY deliveries_pending SET state = 'skipped', detail = ?, updated_at = ?
               WHERE issue = ? AND state = 'pending' AND EXISTS (SELECT 1 FROM subscribers s WHERE s.email = deliveries.email AND NOT ({where.sql}))""",
            (OUTSIDE, stamp, issue, *where.params),
        )
        # The rows still pending go out under this run's segment: status counts them under it.
        self.db.execute(
            f"""UPDATE deliveries INDEXED BY deliveries_pending SET segment = ?, updated_at = ?
               WHERE issue = ? AND state = 'pending' AND {self.connection.dialect.differs("segment", "?")}""",
            (selection.segment, stamp, issue, selection.segment),
        )

    def recover(self, issue: str, stamp: str, send_ids: str = "", params: tuple[object, ...] = ()) -> None:
        """Rows left `sending` (all, or those whose send id matches the SQL condition `send_ids`)
        become pending when their batch was never handed over, and `unknown` when it may have been."""
        only = f" AND {send_ids}" if send_ids else ""
        # A batch claimed but never handed over (its hand-over was not marked) was not sent.
        self.db.execute(
            f"""UPDATE deliveries INDEXED BY deliveries_sending SET state = 'pending', updated_at = ?
               WHERE issue = ? AND state = 'sending'{only} AND send_id NOT IN (SELECT send_id FROM handovers WHERE issue = ?)""",
            (stamp, issue, *params, issue),
        )
        self.db.execute(
            f"UPDATE deliveries INDEXED BY deliveries_sending SET state = 'unknown', detail = ?, updated_at = ? WHERE issue = ? AND state = 'sending'{only}",
            (INTERRUPTED, stamp, issue, *params),
        )
        self.db.execute(f"DELETE FROM handovers WHERE issue = ?{only}", (issue, *params))

    def sending_ids(self, issue: str) -> list[str]:
        """The send ids of rows left `sending`."""
        rows = self.db.execute("SELECT DISTINCT send_id FROM deliveries INDEXED BY deliveries_sending WHERE issue = ? AND state = 'sending'", (issue,))
        return [str(send_id) for (send_id,) in rows]

    def claim(self, issue: str, limit: int, send_id: str, clock: float, member: Condition = EVERYONE) -> Claim:
        """Mark up to `limit` due pending rows as `sending` under `send_id`, committed before returning.

        The subscriber's status, and with `member` (a Selection's `in_topic`) their topic, are
        checked again in the same transaction, so someone who leaves (the list or the topic)
        while a long run is going is skipped rather than mailed. The claimed rows are the first due
        ones in address order, so the batch is one range of the pending index: it is marked (and
        later settled) with one statement rather than one per row."""
        stamp = now()
        with self.connection.transaction():
            claimed = self.pick_due(issue, limit, clock, member, stamp)
            if not claimed:
                return Claim(issue, send_id, [])
            marked = self._mark_sending(issue, send_id, stamp, claimed, clock)
            if marked != len(claimed):  # the selection and the range disagree: never send on that
                raise StoreError(f"{self.connection.path}: claimed {marked} rows for a batch of {len(claimed)}; the ledger changed under this run")
        return Claim(issue, send_id, claimed)

    def pick_due(self, issue: str, limit: int, clock: float, member: Condition, stamp: str, canary: bool = False) -> list[Recipient]:
        """Inside a claim's transaction: up to `limit` due pending rows whose readers still get the
        issue, in address order (or, with `canary`, only the canary's rows, in canary order); rows
        of readers who left are marked `skipped` on the way. Empty when nothing is due."""
        source, only, order = ("deliveries d", "AND d.canary IS NOT NULL ", "d.canary") if canary else ("deliveries d INDEXED BY deliveries_pending", "", "d.email")
        while True:
            rows = self.db.execute(
                f"""SELECT d.email, s.name, s.status, s.public_id, CASE WHEN {member.sql} THEN 1 ELSE 0 END
                   FROM {source} LEFT JOIN subscribers s ON s.email = d.email
                   WHERE d.issue = ? {only}AND d.state = 'pending' AND (d.not_before IS NULL OR d.not_before <= ?)
                   ORDER BY {order} LIMIT ?{self.connection.dialect.skip_locked(of="d")}""",
                (*member.params, issue, clock, limit),
            ).fetchall()
            if not rows:
                return []
            gone = [(_why_not(status, bool(reads)), stamp, issue, email) for email, _, status, _, reads in rows if status != "active" or not reads]
            self.db.executemany("UPDATE deliveries SET state = 'skipped', detail = ?, updated_at = ? WHERE issue = ? AND email = ?", gone)
            claimed = [Recipient(email, name, public_id) for email, name, status, public_id, reads in rows if status == "active" and reads]
            if claimed:
                return claimed

    def _mark_sending(self, issue: str, send_id: str, stamp: str, claimed: list[Recipient], clock: float) -> int:
        if self.connection.dialect.has_send_workers:
            # By address, not by range alone: rows inside the range may be another worker's claim.
            # The range still bounds the index scan (the list alone would be a filter over every pending row).
            return int(self.db.execute(
                """UPDATE deliveries SET state = 'sending', send_id = ?, attempts = attempts + 1, not_before = NULL, updated_at = ?
                   WHERE issue = ? AND state = 'pending' AND email BETWEEN ? AND ? AND email = ANY(?)""",
                (send_id, stamp, issue, claimed[0].email, claimed[-1].email, [r.email for r in claimed]),
            ).rowcount)
        return int(self.db.execute(
            """UPDATE deliveries INDEXED BY deliveries_pending SET state = 'sending', send_id = ?, attempts = attempts + 1, not_before = NULL, updated_at = ?
               WHERE issue = ? AND state = 'pending' AND email BETWEEN ? AND ? AND (not_before IS NULL OR not_before <= ?)""",
            (send_id, stamp, issue, claimed[0].email, claimed[-1].email, clock),
        ).rowcount)

    def mark_handed_over(self, claim: Claim) -> None:
        """Committed just before the provider gets the batch: from here its rows may have left."""
        with self.connection.transaction():
            self.db.execute("INSERT INTO handovers (issue, send_id) VALUES (?, ?)", (claim.issue, claim.send_id))

    def settle(self, claim: Claim, outcomes: Mapping[str, Settlement], rest: Settlement, bouncing: Bouncing | None = None) -> dict[str, str]:
        """Record the outcome of a claimed batch: `outcomes` address by address, and `rest` for
        every other row of the batch (pending: not attempted; unknown: maybe handed over; or the
        outcome most rows share, typically `sent`, written with one statement over the batch's
        range rather than row by row). With `bouncing`, permanent refusals are counted in the same
        transaction; returns the addresses that became `bounced`, with the refusal's words."""
        if not claim.recipients:
            return {}
        stamp = now()
        issue, first, last = claim.issue, claim.recipients[0].email, claim.recipients[-1].email
        with self.connection.transaction():
            self.db.executemany(
                """UPDATE deliveries SET state = ?, detail = ?, not_before = ?, message_id = coalesce(?, message_id), updated_at = ?
                   WHERE issue = ? AND email = ? AND send_id = ? AND state = 'sending'""",
                [(s.state, s.detail, s.not_before, s.message_id, stamp, issue, email, claim.send_id) for email, s in outcomes.items()],
            )
            # A row that goes back to pending or becomes unknown keeps any earlier detail when `rest` has none.
            keep = "coalesce(?, detail)" if rest.state in (State.PENDING, State.UNKNOWN) else "?"
            self.db.execute(
                f"""UPDATE deliveries INDEXED BY deliveries_sending
                    SET state = ?, detail = {keep}, not_before = ?, message_id = coalesce(?, message_id), updated_at = ?
                    WHERE issue = ? AND state = 'sending' AND email BETWEEN ? AND ? AND send_id = ?""",
                (rest.state, rest.detail, rest.not_before, rest.message_id, stamp, issue, first, last, claim.send_id),
            )
            self.db.execute("DELETE FROM handovers WHERE issue = ? AND send_id = ?", (issue, claim.send_id))
            return self._count_refusals(claim, outcomes, bouncing, stamp) if bouncing is not None else {}

    def _count_refusals(self, claim: Claim, outcomes: Mapping[str, Settlement], bouncing: Bouncing, stamp: str) -> dict[str, str]:
        """A letter taken ends an address's run of permanent refusals; a refusal adds one, and the
        `bouncing.after`-th in a row makes the subscriber bounced. The addresses made bounced, with
        the refusal's words."""
        self._end_runs_of_refusals(claim)
        bounced: dict[str, str] = {}
        for email, settlement in outcomes.items():
            if not settlement.bounced:
                continue
            row = self.db.execute("UPDATE subscribers SET permanent_failures = permanent_failures + 1 WHERE email = ? RETURNING permanent_failures", (email,)).fetchone()
            refusals = int(row[0]) if row else 0  # no row: the subscriber was deleted meanwhile
            words = settlement.detail or "refused"
            if bouncing.after and refusals >= bouncing.after:
                detail = f"{words} (issue {claim.issue}: {refusals} permanent refusals in a row)"
                if Subscribers(self.connection).bounce(email, bouncing.channel, detail, claim.issue, stamp):
                    bounced[email] = words
        return bounced

    def _end_runs_of_refusals(self, claim: Claim) -> None:
        """Addresses of the batch whose letter was taken start counting refusals again. Only
        addresses with a run are looked at (a small partial index), so a batch costs the same at
        any list size."""
        issue, first, last = claim.issue, claim.recipients[0].email, claim.recipients[-1].email
        self.db.execute(
            """UPDATE subscribers INDEXED BY subscribers_failing SET permanent_failures = 0
               WHERE permanent_failures > 0 AND email BETWEEN ? AND ?
                 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = ? AND d.email = subscribers.email AND d.send_id = ? AND d.state IN ('sent', 'scheduled'))""",
            (first, last, issue, claim.send_id),
        )

    def retry_unknown(self, issue: str) -> int:
        """Put `unknown` rows back to pending, on the editor's say-so (they may receive a second copy)."""
        with self.connection.transaction():
            return self.db.execute(
                "UPDATE deliveries SET state = 'pending', detail = 'retried on purpose after an unknown outcome', updated_at = ? "
                "WHERE issue = ? AND state = 'unknown'",
                (now(), issue),
            ).rowcount

    def counts(self, issue: str) -> dict[State, int]:
        counts = {state: 0 for state in State}
        for state, count in self.db.execute("SELECT state, count(*) FROM deliveries WHERE issue = ? GROUP BY state", (issue,)):
            counts[State(state)] = count
        return counts

    def handed_over(self, issue: str) -> int:
        """Rows that were, or may have been, handed to a provider (rows held here for a later
        time were not)."""
        schedule = self.schedule(issue)
        held_here = schedule is not None and schedule.held_by == "here"
        return sum(count for state, count in self.counts(issue).items() if state in HANDED_OVER and not (held_here and state == State.SCHEDULED))

    def next_due(self, issue: str) -> float | None:
        """When the earliest deferred pending row may be tried again (epoch seconds), if any."""
        value = self.db.execute("SELECT min(not_before) FROM deliveries INDEXED BY deliveries_pending WHERE issue = ? AND state = 'pending'", (issue,)).fetchone()[0]
        return float(value) if value is not None else None

    def would_send(self, issue: str, limit: int, selection: Selection = WHOLE_LIST) -> tuple[int, list[Recipient]]:
        """Without changing anything: how many active subscribers of `selection` a run would mail
        now, and the first `limit`."""
        where = selection.condition
        query = f"""FROM subscribers s LEFT JOIN deliveries d ON d.issue = ? AND d.email = s.email
                   WHERE s.status = 'active' AND ({where.sql}) AND (d.state IS NULL OR d.state = 'pending' OR (d.state = 'skipped' AND d.detail = ?))"""
        params = (issue, *where.params, OUTSIDE)
        count = self.db.execute(f"SELECT count(*) {query}", params).fetchone()[0]
        first = self.db.execute(f"SELECT s.email, s.name, s.public_id {query} ORDER BY s.email LIMIT ?", (*params, limit)).fetchall()
        return int(count), [Recipient(email, name, public_id) for email, name, public_id in first]

    def left_out(self, selection: Selection) -> LeftOut:
        """How many subscribers `selection` leaves out, and why (each counted once, for the first reason)."""
        topic, segment = selection.topic_readers, selection.in_segment
        row = self.db.execute(
            f"""SELECT count(*), coalesce(sum(CASE WHEN s.status = 'active' THEN 0 ELSE 1 END), 0),
                   coalesce(sum(CASE WHEN s.status = 'active' AND NOT ({topic.sql}) THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN s.status = 'active' AND ({topic.sql}) AND NOT ({segment.sql}) THEN 1 ELSE 0 END), 0)
               FROM subscribers s""",
            (*topic.params, *topic.params, *segment.params),
        ).fetchone()
        return LeftOut(*(int(value) for value in row))

    def segments(self, issue: str) -> dict[str | None, dict[State, int]]:
        """The issue's rows by the segment they were prepared (and sent) under (None: the whole
        list, or the whole topic), then by state."""
        found: dict[str | None, dict[State, int]] = {}
        for segment, state, count in self.db.execute("SELECT segment, state, count(*) FROM deliveries WHERE issue = ? GROUP BY segment, state", (issue,)):
            found.setdefault(segment, {})[State(state)] = int(count)
        return found

    def deliveries(self, issue: str, states: Iterable[State]) -> list[Delivery]:
        wanted = list(states)
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(
            f"SELECT email, state, detail, attempts FROM deliveries WHERE issue = ? AND state IN ({marks}) ORDER BY email",
            (issue, *wanted),
        )
        return [Delivery(email, State(state), detail, attempts) for email, state, detail, attempts in rows]

    # --- what each issue number sent -----------------------------------------------------------

    def issue_record(self, issue: str) -> IssueRecord | None:
        row = self.db.execute(
            "SELECT issue, file, subject, fingerprint, first_fingerprint, handed_over_before_change, changed_at, git_commit, git_clean FROM issues WHERE issue = ?",
            (issue,),
        ).fetchone()
        if row is None:
            return None
        issue_, file, subject, fingerprint, first, handed_over, changed_at, commit, clean = row
        return IssueRecord(issue_, file, subject, fingerprint, first, handed_over, changed_at, commit, None if clean is None else bool(clean))

    def record_commit(self, issue: str, commit: str | None, clean: bool) -> None:
        """The git commit `issue` is being sent from (None: a repository with no commit yet), and
        whether its file was exactly as committed. The latest run's, as `file` is."""
        with self.connection.transaction():
            self.db.execute("UPDATE issues SET git_commit = ?, git_clean = ? WHERE issue = ?", (commit, int(clean), issue))

    def record_issue(self, issue: str, file: str, subject: str, fingerprint: str, provider: str | None = None, topic: str | None = None) -> None:
        """Remember which file and content go out under `issue`, through which provider (the
        report knows what that provider measures) and in which topic (an unsubscribe link from
        it leaves that topic only). Content that changes after some recipients
        were handed the earlier version is noted (once, with how many had it)."""
        stamp = now()
        with self.connection.transaction():
            record = self.issue_record(issue)
            handed_over = self.handed_over(issue)
            if provider is not None:
                self.db.execute("UPDATE issues SET provider = ? WHERE issue = ?", (provider, issue))
            if topic is not None:
                self.db.execute("UPDATE issues SET topic = ? WHERE issue = ?", (topic, issue))
            if record is None or handed_over == 0:
                self.db.execute(
                    """INSERT INTO issues (issue, file, subject, fingerprint, first_fingerprint, handed_over_before_change, changed_at, updated_at, provider, topic)
                       VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)
                       ON CONFLICT (issue) DO UPDATE SET file = excluded.file, subject = excluded.subject, fingerprint = excluded.fingerprint,
                           first_fingerprint = excluded.first_fingerprint, handed_over_before_change = NULL, changed_at = NULL, updated_at = excluded.updated_at""",
                    (issue, file, subject, fingerprint, fingerprint, stamp, provider, topic),
                )
            elif fingerprint != record.fingerprint:
                first_change = record.changed_at is None
                self.db.execute(
                    """UPDATE issues SET file = ?, subject = ?, fingerprint = ?, updated_at = ?,
                           handed_over_before_change = CASE WHEN ? THEN ? ELSE handed_over_before_change END,
                           changed_at = CASE WHEN ? THEN ? ELSE changed_at END
                       WHERE issue = ?""",
                    (file, subject, fingerprint, stamp, first_change, handed_over, first_change, stamp, issue),
                )

    def issue_topic(self, issue: str) -> str | None:
        """The topic `issue` went out in (None: the whole list, or not sent)."""
        row = self.db.execute("SELECT topic FROM issues WHERE issue = ?", (issue,)).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def highest_issue(self) -> int:
        """The highest issue number the ledger knows (0 for none)."""
        number = self.connection.dialect.issue_number("issue")
        found = [
            self.db.execute(f"SELECT max({number}) FROM issues").fetchone()[0],
            self.db.execute(f"SELECT max({number}) FROM (SELECT DISTINCT issue FROM deliveries) AS known").fetchone()[0],
        ]
        return max((int(value) for value in found if value is not None), default=0)

    # --- scheduled deliveries --------------------------------------------------------------------

    def save_schedule(self, schedule: Schedule) -> None:
        """Remember the issue's delivery for a later time; `issue.scheduled` once per time chosen."""
        stamp, send_at = now(), schedule.send_at.isoformat()
        with self.connection.transaction():
            self.db.execute(
                """INSERT INTO schedules (issue, send_at, provider, held_by, batch_id, file, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (issue) DO UPDATE SET send_at = excluded.send_at, provider = excluded.provider, held_by = excluded.held_by,
                       batch_id = excluded.batch_id, file = excluded.file, created_at = excluded.created_at""",
                (schedule.issue, send_at, schedule.provider, schedule.held_by, schedule.batch_id, schedule.file, stamp),
            )
            data = {"issue": schedule.issue, "send_at": send_at, "provider": schedule.provider, "held_by": schedule.held_by, "file": schedule.file}
            emit(self.db, ISSUE_SCHEDULED, data, stamp, once=f"{ISSUE_SCHEDULED}:{schedule.issue}:{send_at}")

    def cancel_schedule(self, issue: str, state: State, detail: str) -> int:
        """A cancelled delivery: its scheduled rows become `state` (pending again, or unknown when
        the cancellation came too late to be sure), the schedule goes, and `issue.cancelled` is
        written, all in one transaction. How many rows changed."""
        stamp = now()
        with self.connection.transaction():
            saved = self.schedule(issue)
            changed = self.settle_scheduled(issue, state, detail, drop_schedule=True)
            data = {"issue": issue, "send_at": saved.send_at.isoformat() if saved else None, "readers": changed, "now": str(state)}
            emit(self.db, ISSUE_CANCELLED, data, stamp)
        return changed

    def record_finished(self, issue: str) -> bool:
        """`issue.sent`, once per issue, when nothing of it is left to send (no row pending,
        sending or scheduled). Whether this call wrote it."""
        stamp = now()
        with self.connection.transaction():
            left = self.db.execute(
                "SELECT 1 FROM deliveries WHERE issue = ? AND (state = 'pending' OR state = 'sending' OR state = 'scheduled') LIMIT 1", (issue,)
            ).fetchone()
            if left is not None or self.schedule(issue) is not None:
                return False
            counts = self.counts(issue)
            if counts[State.SENT] == 0:
                return False
            row = self.db.execute("SELECT subject FROM issues WHERE issue = ?", (issue,)).fetchone()
            data = {"issue": issue, "subject": row[0] if row else None, **{str(state): counts[state] for state in (State.SENT, State.FAILED, State.UNKNOWN, State.SKIPPED)}}
            return emit(self.db, ISSUE_SENT, data, stamp, once=f"{ISSUE_SENT}:{issue}")

    def schedule(self, issue: str) -> Schedule | None:
        row = self.db.execute("SELECT issue, send_at, provider, held_by, batch_id, file FROM schedules WHERE issue = ?", (issue,)).fetchone()
        return _schedule(row) if row else None

    def scheduled_message_ids(self, issue: str) -> list[str]:
        """The provider's ids of the issue's scheduled messages (Resend cancels each by its id)."""
        rows = self.db.execute("SELECT DISTINCT message_id FROM deliveries WHERE issue = ? AND state = 'scheduled' AND message_id IS NOT NULL ORDER BY message_id", (issue,))
        return [row[0] for row in rows]

    def schedules(self) -> list[Schedule]:
        rows = self.db.execute("SELECT issue, send_at, provider, held_by, batch_id, file FROM schedules ORDER BY send_at, issue")
        return [_schedule(row) for row in rows]

    def hold(self, issue: str, schedule: Schedule) -> int:
        """Keep the issue's pending rows here until the schedule's time (`scheduled`)."""
        with self.connection.transaction():
            self.save_schedule(schedule)
            return self.db.execute(
                "UPDATE deliveries SET state = 'scheduled', detail = ?, updated_at = ? WHERE issue = ? AND state = 'pending'",
                (f"held here until {schedule.send_at.isoformat()}", now(), issue),
            ).rowcount

    def settle_scheduled(self, issue: str, state: State, detail: str | None, drop_schedule: bool) -> int:
        """The issue's `scheduled` rows get `state`: sent (the provider delivered them at the time),
        pending (held here and now due, or cancelled in time) or unknown (a late cancellation).
        With drop_schedule the schedule is forgotten too. Returns how many rows changed."""
        with self.connection.transaction():
            count = self.db.execute(
                "UPDATE deliveries SET state = ?, detail = ?, updated_at = ? WHERE issue = ? AND state = 'scheduled'",
                (state, detail, now(), issue),
            ).rowcount
            if drop_schedule:
                self.drop_schedule(issue)
        return count

    def drop_schedule(self, issue: str) -> None:
        with self.connection.transaction():
            self.db.execute("DELETE FROM schedules WHERE issue = ?", (issue,))


def _why_not(status: str | None, reads_the_topic: bool) -> str:
    """Why a pending row is skipped at its claim."""
    if status is None:
        return REMOVED
    return LEFT if status != "active" else LEFT_TOPIC if not reads_the_topic else ""


def _schedule(row: tuple[str, str, str, Literal["provider", "here"], str | None, str | None]) -> Schedule:
    issue, send_at, provider, held_by, batch_id, file = row
    return Schedule(issue, dt.datetime.fromisoformat(send_at), provider, held_by, batch_id, file)
