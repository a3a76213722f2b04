"""What the REST API reads in one go: a page of the subscribers a segment matches (in address
order, after a cursor), the tags of a page's subscribers, and every issue the ledger knows with its
rows per state."""

from __future__ import annotations

from collections.abc import Sequence

from ..models import State, Status, Subscriber
from .connection import Store
from .segments import Condition, an_issue
from .subscribers import COLUMNS, _subscriber


class ApiReads:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def page(self, condition: Condition, after: str | None, limit: int, status: Status | None = None) -> list[Subscriber]:
        """At most `limit` subscribers whom `condition` (over `subscribers s`) matches, with
        `status` when given, in address order, after the address `after`."""
        where = [f"({condition.sql})"]
        params: list[object] = list(condition.params)
        if status is not None:
            where.append("s.status = ?")
            params.append(status)
        if after is not None:
            where.append("s.email > ?")
            params.append(after)
        columns = ", ".join(f"s.{column.strip()}" for column in COLUMNS.split(","))
        rows = self.db.execute(f"SELECT {columns}, s.status_changed_at FROM subscribers s WHERE {' AND '.join(where)} ORDER BY s.email LIMIT ?", (*params, limit))
        return [_subscriber(tuple(row)) for row in rows]

    def tags_of(self, emails: Sequence[str]) -> dict[str, list[str]]:
        """The tags of each of `emails` (a page's worth), sorted."""
        found: dict[str, list[str]] = {email: [] for email in emails}
        if emails:
            marks = ",".join("?" * len(emails))
            for email, tag in self.db.execute(f"SELECT email, tag FROM tags WHERE email IN ({marks}) ORDER BY email, tag", tuple(emails)):
                found[email].append(tag)
        return found

    def issue_counts(self) -> dict[str, dict[State, int]]:
        """Every issue with ledger rows, and its rows per state (not sunsetting's rounds or automations' emails)."""
        found: dict[str, dict[State, int]] = {}
        for issue, state, count in self.db.execute(f"SELECT issue, state, count(*) FROM deliveries WHERE {an_issue('issue')} GROUP BY issue, state"):
            found.setdefault(str(issue), {each: 0 for each in State})[State(state)] = int(count)
        return found
