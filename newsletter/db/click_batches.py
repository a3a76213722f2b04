"""What the web app's click recorder (engagement/recorder.py) needs from the database: who a
tracked link's reader part stands for, and each batch of clicks and opens written in one
transaction, with earlier clicks of a copy re-marked as a scanner's burst."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .clicks import Click
from .connection import Store
from .events import Event, Events

OPEN_PROVIDER = "newsletter"  # the events table's provider of the tool's own open pixel
IN_CLAUSE_LIMIT = 500  # public ids per query: SQLite's bound parameters are limited


class Copy(NamedTuple):
    """One reader's copy of an issue: their address, the subject variant it had (subject tests)
    and when the ledger marked it sent (None: no `sent` row, e.g. a deleted reader's)."""

    email: str
    variant: int | None
    sent_at: str | None


class ClickBatches:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def copies(self, issue: str, public_ids: Iterable[str]) -> dict[str, Copy]:
        """The copy of `issue` each public id's reader received; a public id nobody has (a reader
        since erased) is left out."""
        wanted = sorted(set(public_ids))
        found: dict[str, Copy] = {}
        for start in range(0, len(wanted), IN_CLAUSE_LIMIT):
            chunk = wanted[start : start + IN_CLAUSE_LIMIT]
            rows = self.db.execute(
                "SELECT s.public_id, s.email, d.variant, CASE WHEN d.state = 'sent' THEN d.updated_at END"
                " FROM subscribers s LEFT JOIN deliveries d ON d.issue = ? AND d.email = s.email"
                f" WHERE s.public_id IN ({', '.join('?' * len(chunk))})",
                (issue, *chunk),
            )
            found.update({str(public_id): Copy(str(email), variant, sent_at) for public_id, email, variant, sent_at in rows})
        return found

    def store(self, clicks: list[Click], opens: list[Event], bursts: Iterable[int] = ()) -> list[int]:
        """One transaction: `clicks` added (their row ids, in order), `opens` recorded as events,
        and the earlier clicks `bursts` (row ids) marked as a scanner's burst unless already
        marked as a machine's."""
        ids: list[int] = []
        marked = sorted(set(bursts))
        with self.connection.transaction():
            for start in range(0, len(clicks), IN_CLAUSE_LIMIT):
                chunk = clicks[start : start + IN_CLAUSE_LIMIT]
                # One statement per 500 rows, not one per row (the web process's request threads
                # wait for the interpreter while this runs). Both databases number the rows of one
                # INSERT in the order of its VALUES; RETURNING may list them in any order.
                rows = self.db.execute(
                    "INSERT INTO clicks (issue, slot, url, email, variant, clicked_at, machine) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                    + " RETURNING id",
                    tuple(value for c in chunk for value in (c.issue, c.slot, c.url, c.email, c.variant, c.clicked_at, c.machine)),
                ).fetchall()
                ids += sorted(int(row[0]) for row in rows)
            for start in range(0, len(marked), IN_CLAUSE_LIMIT):
                earlier = marked[start : start + IN_CLAUSE_LIMIT]
                self.db.execute(f"UPDATE clicks SET machine = 'burst' WHERE machine IS NULL AND id IN ({', '.join('?' * len(earlier))})", tuple(earlier))
            if opens:
                Events(self.connection).record(opens, OPEN_PROVIDER)
        return ids
