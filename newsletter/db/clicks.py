"""Clicks through the tool's own redirect (mail/clicks.py), and the stories each issue went out
with. The web app writes clicks in batches (engagement/); the reports, subject tests, canaries and
sunsetting read them.

A click has no address unless [tracking] clicks = "reader". `machine` says why a click was judged
a mail scanner's rather than a person's (HEAD, a scanner's agent, too soon after delivery, several
links of one copy at once); NULL: a person, as far as anyone can tell.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..mail.clicks import StoryLink
from .connection import Store


class Click(NamedTuple):
    issue: str
    slot: str
    url: str
    clicked_at: str  # ISO 8601 UTC to the second, as every table stores time
    email: str | None = None  # only with [tracking] clicks = "reader"
    variant: int | None = None  # the subject variant of the clicker's copy (subject tests)
    machine: str | None = None  # None: a person; else why not (head, agent, early, burst)


class Clicks:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def record(self, clicks: Iterable[Click]) -> int:
        """Store clicks in one transaction; how many."""
        rows = [(c.issue, c.slot, c.url, c.email, c.variant, c.clicked_at, c.machine) for c in clicks]
        if not rows:
            return 0
        with self.connection.transaction():
            self.db.executemany("INSERT INTO clicks (issue, slot, url, email, variant, clicked_at, machine) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def record_stories(self, issue: str, stories: list[StoryLink]) -> None:
        """What `issue` went out with, replacing what an earlier run of the same issue recorded
        (the file may have been fixed before the first copy left)."""
        with self.connection.transaction():
            self.db.execute("DELETE FROM issue_stories WHERE issue = ?", (issue,))
            self.db.executemany(
                "INSERT INTO issue_stories (issue, slot, position, title, source, section, url, has_image, has_quote, has_facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(issue, s.slot, s.position, s.title, s.source, s.section, s.url, int(s.has_image), int(s.has_quote), int(s.has_facts)) for s in stories],
            )

    def record_tracking(self, issue: str, clicks: str, opens: bool, provider_clicks: bool) -> None:
        """What measures `issue`'s engagement as it goes out: the [tracking] clicks mode ("off",
        "aggregate", "reader"), the open pixel, and whether the provider tracks clicks itself."""
        with self.connection.transaction():
            self.db.execute(
                "UPDATE issues SET tracking_clicks = ?, tracking_opens = ?, provider_clicks = ? WHERE issue = ?", (clicks, int(opens), int(provider_clicks), issue)
            )

    def stories(self, issue: str) -> list[StoryLink]:
        rows = self.db.execute(
            "SELECT slot, position, title, source, section, url, has_image, has_quote, has_facts FROM issue_stories WHERE issue = ? ORDER BY position NULLS LAST, slot",
            (issue,),
        )
        return [StoryLink(slot, position, title, source, section, url, bool(i), bool(q), bool(f)) for slot, position, title, source, section, url, i, q, f in rows]

    def count(self, issue: str, *, people_only: bool = True) -> int:
        where = " AND machine IS NULL" if people_only else ""
        return int(self.db.execute(f"SELECT count(*) FROM clicks WHERE issue = ?{where}", (issue,)).fetchone()[0])
