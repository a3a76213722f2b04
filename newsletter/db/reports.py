"""The queries behind `newsletter report`: small read-only counts over the send ledger, the stored
provider events and the status changes. The figures themselves are put together in
newsletter/report/figures.py; nothing here writes.

Times are compared as text: every table stores ISO 8601 in UTC to the second (see connection.now),
so string order is time order.
"""

from __future__ import annotations

from .connection import Store
from .segments import an_issue

RECEIVED = "sent"  # the ledger state of a recipient the provider accepted the issue for
MAY_HAVE_GONE_OUT = ("sent", "failed", "unknown", "sending")  # rows that went (or may have gone) out
# An issue key the ledger knows: it has rows, or a record. `key` names the column to test.
KNOWN = "(EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = {key}) OR EXISTS (SELECT 1 FROM issues i WHERE i.issue = {key}))"


class Reports:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def issues(self) -> list[tuple[str, str | None]]:
        """Every issue the ledger knows (rows or a record), with its subject when recorded; not
        sunsetting's rounds of last-chance emails (db/sunset.py)."""
        rows = self.db.execute(
            f"""SELECT key, (SELECT subject FROM issues i WHERE i.issue = key) FROM (
                   SELECT DISTINCT issue AS key FROM deliveries UNION SELECT issue FROM issues
               ) AS known WHERE {an_issue("key")} ORDER BY {self.connection.dialect.issue_number("key")} NULLS LAST, key"""
        )
        return [(str(key), subject) for key, subject in rows]

    def subject(self, issue: str) -> str | None:
        row = self.db.execute("SELECT subject FROM issues WHERE issue = ?", (issue,)).fetchone()
        return str(row[0]) if row else None

    def provider(self, issue: str) -> str | None:
        """The provider the issue last went out through (None: unknown, sent before it was recorded)."""
        row = self.db.execute("SELECT provider FROM issues WHERE issue = ?", (issue,)).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def commit(self, issue: str) -> tuple[str | None, bool] | None:
        """The git commit the issue last went out from, and whether its file was as committed
        (None: not recorded; the workspace is not in git, or it was sent before this was kept)."""
        row = self.db.execute("SELECT git_commit, git_clean FROM issues WHERE issue = ? AND git_clean IS NOT NULL", (issue,)).fetchone()
        return (None if row[0] is None else str(row[0]), bool(row[1])) if row else None

    def topics(self) -> dict[str, str]:
        """The topic each issue went out in, for the issues recorded with one."""
        return {str(issue): str(topic) for issue, topic in self.db.execute("SELECT issue, topic FROM issues WHERE topic IS NOT NULL")}

    def first_sends(self) -> dict[str, str]:
        """When each issue first went out: the earliest of its handed-over ledger rows' last update
        and its earliest provider event. Issues nothing went out for are missing, and so are the
        keys only events name (anyone can post an event: its issue may be no issue at all)."""
        marks = ", ".join("?" * len(MAY_HAVE_GONE_OUT))
        rows = self.db.execute(
            f"""SELECT issue, min(at) FROM (
                    SELECT issue, min(updated_at) AS at FROM deliveries WHERE state IN ({marks}) GROUP BY issue
                    UNION ALL
                    SELECT issue, at FROM (
                        SELECT issue, min(happened_at) AS at FROM events WHERE issue IS NOT NULL AND happened_at IS NOT NULL GROUP BY issue
                    ) AS named WHERE {KNOWN.format(key="named.issue")}
                ) AS firsts WHERE {an_issue("issue")} GROUP BY issue""",
            MAY_HAVE_GONE_OUT,
        )
        return {str(issue): str(at) for issue, at in rows if at is not None}

    def events_of_no_known_issue(self) -> int:
        """Events that name an issue the ledger does not know (neither rows nor a record)."""
        row = self.db.execute(
            f"""SELECT coalesce(sum(events), 0) FROM (SELECT issue, count(*) AS events FROM events WHERE issue IS NOT NULL GROUP BY issue) AS named
                WHERE NOT ({KNOWN.format(key="named.issue")})"""
        ).fetchone()
        return int(row[0])

    def states(self, issue: str) -> dict[str, int]:
        """Ledger rows of the issue per state."""
        rows = self.db.execute("SELECT state, count(*) FROM deliveries WHERE issue = ? GROUP BY state", (issue,))
        return {str(state): int(count) for state, count in rows}

    def addresses_per_event(self, issue: str) -> dict[str, int]:
        """Distinct addresses per provider event (delivered, deferred, dropped, spamreport...)."""
        rows = self.db.execute("SELECT event, count(DISTINCT email) FROM events WHERE issue = ? GROUP BY event", (issue,))
        return {str(event): int(count) for event, count in rows}

    def bounces(self, issue: str) -> dict[str, int]:
        """Distinct bounced addresses per kind: hard, soft, or unclassified (stored before the
        webhook noted the kind). An address with both kinds counts once in each."""
        rows = self.db.execute(
            """SELECT CASE WHEN detail LIKE 'hard: %' THEN 'hard' WHEN detail LIKE 'soft: %' THEN 'soft' ELSE 'unclassified' END AS kind,
                      count(DISTINCT email)
               FROM events WHERE issue = ? AND event = 'bounce' GROUP BY kind""",
            (issue,),
        )
        return {str(kind): int(count) for kind, count in rows}

    def clicks(self, issue: str) -> list[tuple[str, int, int]]:
        """(link, clicks, distinct clickers) per clicked link, the most clicked first."""
        rows = self.db.execute(
            """SELECT detail, count(*) AS clicks, count(DISTINCT email) FROM events
               WHERE issue = ? AND event = 'click' AND detail IS NOT NULL
               GROUP BY detail ORDER BY clicks DESC, detail""",
            (issue,),
        )
        return [(str(url), int(clicks), int(clickers)) for url, clicks, clickers in rows]

    def opens(self, issue: str) -> tuple[int, int, int]:
        """(addresses with a human open, addresses with a machine open, open events). An open the
        tool's own pixel recorded with nobody's address ([tracking] clicks = "aggregate") counts once
        per open: there is no address to count it by."""
        row = self.db.execute(
            """SELECT count(DISTINCT CASE WHEN detail IS DISTINCT FROM 'machine' THEN email END)
                        + count(CASE WHEN email IS NULL AND detail IS DISTINCT FROM 'machine' THEN 1 END),
                      count(DISTINCT CASE WHEN detail IS NOT DISTINCT FROM 'machine' THEN email END)
                        + count(CASE WHEN email IS NULL AND detail IS NOT DISTINCT FROM 'machine' THEN 1 END),
                      count(*)
               FROM events WHERE issue = ? AND event = 'open'""",
            (issue,),
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def unsubscribes(self, issue: str, since: str, until: str | None) -> dict[str, int]:
        """Addresses that received the issue (ledger state `sent`) and were unsubscribed from it, per
        channel of their status change: through a link of this issue (the change names it), or,
        for a change that names no issue (a link sent before links named theirs, the command
        line), at or after `since` and before `until` (open-ended without it)."""
        rows = self.db.execute(
            """SELECT channel, count(DISTINCT email) FROM status_changes s
               WHERE status = 'unsubscribed'
                 AND (s.issue = ? OR (s.issue IS NULL AND at >= ? AND (CAST(? AS TEXT) IS NULL OR at < ?)))
                 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = ? AND d.email = s.email AND d.state = ?)
               GROUP BY channel""",
            (issue, since, until, until, issue, RECEIVED),
        )
        return {str(channel): int(count) for channel, count in rows}
