"""Subject tests in the database: the plan a test runs by, which reader gets which variant
(deliveries.variant, 0-based), the readers held until the test is decided, and what decided it.

The ledger contract holds as for any send (docs/architecture.md): one row per reader, whichever
variant. A reader of the test group has their variant from the first run that prepared their row;
the rest are `scheduled`, held here (a schedule at the decision time, as `send --at` holds a
delivery), and become pending with the winner's variant when the test is decided. Nothing here
ever changes a row that was, or may have been, handed over.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from .connection import Store, now
from .ledger import Ledger, Schedule


@dataclass(frozen=True)
class VariantFigures:
    """One variant's copies sent, and how many of them did what the test measures."""

    sent: int
    measured: int

    @property
    def rate(self) -> float:
        # In aggregate mode a reader may click twice; a rate above 1 would mean nothing.
        return min(self.measured, self.sent) / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Decision:
    winner: int  # the variant the rest get
    clear: bool  # False: the test could not tell them apart, and the first subject was kept
    measure: str  # "clicks", "readers who clicked" or "opens"
    figures: tuple[VariantFigures, ...]
    decided_at: str


@dataclass(frozen=True)
class SubjectTestPlan:
    issue: str
    subjects: tuple[str, ...]
    share: int  # percent of the readers in the test group
    decide_after: dt.timedelta
    decide_at: dt.datetime
    started_at: str
    decision: Decision | None = None


class SubjectTests:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def plan(self, issue: str) -> SubjectTestPlan | None:
        row = self.db.execute(
            "SELECT issue, subjects, share, decide_after, decide_at, started_at, winner, clear, measure, results, decided_at FROM subject_tests WHERE issue = ?", (issue,)
        ).fetchone()
        if row is None:
            return None
        issue, subjects, share, after, decide_at, started_at, winner, clear, measure, results, decided_at = row
        decision = None
        if winner is not None:
            figures = tuple(VariantFigures(sent, measured) for sent, measured in json.loads(results))
            decision = Decision(int(winner), bool(clear), measure, figures, decided_at)
        return SubjectTestPlan(issue, tuple(json.loads(subjects)), int(share), dt.timedelta(seconds=after), dt.datetime.fromisoformat(decide_at), started_at, decision)

    def start(self, plan: SubjectTestPlan) -> None:
        with self.connection.transaction():
            self.db.execute(
                "INSERT INTO subject_tests (issue, subjects, share, decide_after, decide_at, started_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (plan.issue, json.dumps(plan.subjects), plan.share, int(plan.decide_after.total_seconds()), plan.decide_at.isoformat(), plan.started_at),
            )

    def unassigned(self, issue: str) -> list[tuple[str, str]]:
        """(address, public id) of each pending row without a variant: readers this run must place."""
        rows = self.db.execute(
            """SELECT d.email, s.public_id FROM deliveries d JOIN subscribers s ON s.email = d.email
               WHERE d.issue = ? AND d.state = 'pending' AND d.variant IS NULL ORDER BY d.email""",
            (issue,),
        )
        return [(str(email), str(public_id)) for email, public_id in rows]

    def assign(self, issue: str, variants: dict[str, int], held: Iterable[str], schedule: Schedule) -> None:
        """In one transaction: the test group's variants, and the rest held until the decision."""
        stamp = now()
        detail = f"held here for the subject test until {schedule.send_at.isoformat()}"
        with self.connection.transaction():
            Ledger(self.connection).save_schedule(schedule)
            self.db.executemany(
                "UPDATE deliveries SET variant = ?, updated_at = ? WHERE issue = ? AND email = ? AND state = 'pending' AND variant IS NULL",
                [(variant, stamp, issue, email) for email, variant in variants.items()],
            )
            self.db.executemany(
                "UPDATE deliveries SET state = 'scheduled', detail = ?, updated_at = ? WHERE issue = ? AND email = ? AND state = 'pending' AND variant IS NULL",
                [(detail, stamp, issue, email) for email in held],
            )

    def decide(self, issue: str, decision: Decision) -> None:
        """Record the decision once: a later run sends the same winner."""
        results = json.dumps([[f.sent, f.measured] for f in decision.figures])
        with self.connection.transaction():
            self.db.execute(
                "UPDATE subject_tests SET winner = ?, clear = ?, measure = ?, results = ?, decided_at = ? WHERE issue = ? AND winner IS NULL",
                (decision.winner, int(decision.clear), decision.measure, results, decision.decided_at, issue),
            )

    def give_winner(self, issue: str, winner: int) -> int:
        """The held readers, and any reader without a variant yet (joined since), are pending with
        the winner's variant. Returns how many were held."""
        stamp = now()
        with self.connection.transaction():
            released = self.db.execute(
                "UPDATE deliveries SET state = 'pending', detail = NULL, variant = coalesce(variant, ?), updated_at = ? WHERE issue = ? AND state = 'scheduled'",
                (winner, stamp, issue),
            ).rowcount
            self.db.execute("UPDATE deliveries SET variant = ?, updated_at = ? WHERE issue = ? AND state = 'pending' AND variant IS NULL", (winner, stamp, issue))
        return int(released)

    def end(self, issue: str) -> bool:
        """Forget a test not yet decided (its schedule was cancelled): a later send is a plain one.
        A decided test stays: its winner is what the rest get."""
        with self.connection.transaction():
            return bool(self.db.execute("DELETE FROM subject_tests WHERE issue = ? AND winner IS NULL", (issue,)).rowcount)

    def variants_of(self, issue: str, first: str, last: str) -> dict[str, int | None]:
        """The variant of each row being sent (`sending`) between two addresses: one claimed batch."""
        rows = self.db.execute(
            "SELECT email, variant FROM deliveries INDEXED BY deliveries_sending WHERE issue = ? AND state = 'sending' AND email BETWEEN ? AND ?",
            (issue, first, last),
        )
        return {str(email): (int(variant) if variant is not None else None) for email, variant in rows}

    # --- what each variant got -----------------------------------------------------------------

    def sent_by_variant(self, issue: str) -> dict[int, int]:
        rows = self.db.execute("SELECT variant, count(*) FROM deliveries WHERE issue = ? AND state = 'sent' AND variant IS NOT NULL GROUP BY variant", (issue,))
        return {int(variant): int(count) for variant, count in rows}

    def clicks_by_variant(self, issue: str, readers: bool) -> dict[int, int]:
        """People's clicks (not a machine's) per variant; with `readers`, the readers who clicked."""
        counted = "count(DISTINCT email)" if readers else "count(*)"
        rows = self.db.execute(f"SELECT variant, {counted} FROM clicks WHERE issue = ? AND machine IS NULL AND variant IS NOT NULL GROUP BY variant", (issue,))
        return {int(variant): int(count) for variant, count in rows}

    def opens_by_variant(self, issue: str) -> dict[int, int]:
        """Readers who opened (a machine's opens left out), per the variant their copy had."""
        rows = self.db.execute(
            """SELECT d.variant, count(DISTINCT e.email) FROM events e JOIN deliveries d ON d.issue = e.issue AND d.email = e.email
               WHERE e.issue = ? AND e.event = 'open' AND (e.detail IS NULL OR e.detail <> 'machine') AND d.variant IS NOT NULL GROUP BY d.variant""",
            (issue,),
        )
        return {int(variant): int(count) for variant, count in rows}
