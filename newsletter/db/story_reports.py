"""The queries behind the reports by story: clicks per story and per link of one issue, the readers
who clicked, and click-through across the archive by source, section, position and format. Read
only; the figures are put together in newsletter/report/stories.py.

Two things measure clicks: the tool's own redirect (the clicks table; `machine IS NULL` is a person)
and a provider that tracks clicks itself (its 'click' events, the link in `detail`). A provider
click on a story's own link counts for that story; one on the tool's redirect (the provider wrapped
a tracked link) is the same click the clicks table holds, and matches no story's link, so it is
never counted twice.
"""

from __future__ import annotations

from typing import NamedTuple

from .connection import Store

TRACKED = ("aggregate", "reader")  # [tracking] clicks modes that put the tool's redirect in the email
DIMENSIONS = ("source", "section", "position", "image", "quote", "facts")


class Tracking(NamedTuple):
    """What measured an issue's engagement as it went out (None: sent before it was recorded)."""

    clicks: str | None  # the [tracking] clicks mode: off, aggregate or reader
    opens: bool | None  # the tool's open pixel
    provider_clicks: bool | None  # the provider tracked clicks (SendGrid's click_tracking)


class SlotClicks(NamedTuple):
    clicks: int  # by people
    machine: int  # by mail scanners (kept apart)


class LinkClicks(NamedTuple):
    url: str
    slot: str
    clicks: int  # by people
    machine: int
    clickers: int  # distinct addresses (only ever non-zero with [tracking] clicks = "reader")


class Group(NamedTuple):
    """One figure of the archive: the stories of one source (section, position, format) together."""

    dimension: str  # one of DIMENSIONS
    key: str | None  # the source, section, position ("1", "2", ...) or, for a format, "1" (with) or "0" (without)
    stories: int
    clicks: int  # by people, through the redirect or reported by the provider
    copies: int  # delivered (or sent, where the provider reported no delivery) copies of their issues


class StoryRate(NamedTuple):
    source: str | None
    clicks: int
    copies: int


# Issues whose clicks something measured, as a subquery: the redirect or the provider's tracking was
# on as they went out, or (sent before that was recorded) clicks of either kind are stored.
MEASURED = f"""
    SELECT issue FROM issues WHERE tracking_clicks IN {TRACKED!r} OR provider_clicks = 1
    UNION SELECT DISTINCT s.issue FROM issue_stories s WHERE EXISTS (SELECT 1 FROM clicks c WHERE c.issue = s.issue)
    UNION SELECT DISTINCT s.issue FROM issue_stories s WHERE EXISTS (SELECT 1 FROM events e WHERE e.issue = s.issue AND e.event = 'click')
"""

# One row per story of a measured issue: its clicks by people and its issue's copies. Every
# figure is grouped in the database; a CTE named twice or more is computed once by both engines.
STORIES = f"""
    WITH measured AS ({MEASURED}),
    sent AS (SELECT d.issue, count(*) AS copies FROM deliveries d WHERE d.state = 'sent' AND d.issue IN (SELECT issue FROM measured) GROUP BY d.issue),
    delivered AS (
        SELECT e.issue, count(DISTINCT e.email) AS copies FROM events e
        WHERE e.event = 'delivered' AND e.issue IN (SELECT issue FROM measured) GROUP BY e.issue
    ),
    tool AS (SELECT c.issue, c.slot, count(*) AS clicks FROM clicks c WHERE c.machine IS NULL GROUP BY c.issue, c.slot),
    story AS (
        SELECT s.source, s.section, s.position, s.has_image, s.has_quote, s.has_facts,
               -- the provider's clicks: looked up per story through events_by_issue (a join would scan every event)
               coalesce(t.clicks, 0) + (SELECT count(*) FROM events e WHERE e.issue = s.issue AND e.event = 'click' AND e.detail = s.url) AS clicks,
               coalesce(dv.copies, st.copies, 0) AS copies
        FROM issue_stories s
        JOIN measured m ON m.issue = s.issue
        LEFT JOIN sent st ON st.issue = s.issue
        LEFT JOIN delivered dv ON dv.issue = s.issue
        LEFT JOIN tool t ON t.issue = s.issue AND t.slot = s.slot
        WHERE s.position IS NOT NULL
    )
"""


def _grouped(dimension: str, column: str) -> str:
    return f"SELECT '{dimension}', {column}, count(*), sum(clicks), sum(copies) FROM story GROUP BY {column}"


ARCHIVE = (
    STORIES
    + "\nUNION ALL\n".join(
        [
            _grouped("source", "source"),
            _grouped("section", "section"),
            _grouped("position", "CAST(position AS TEXT)"),
            _grouped("image", "CAST(has_image AS TEXT)"),
            _grouped("quote", "CAST(has_quote AS TEXT)"),
            _grouped("facts", "CAST(has_facts AS TEXT)"),
        ]
    )
)


class StoryReports:
    def __init__(self, connection: Store) -> None:
        self.connection = connection
        self.db = connection.db

    def tracking(self, issue: str) -> Tracking:
        row = self.db.execute("SELECT tracking_clicks, tracking_opens, provider_clicks FROM issues WHERE issue = ?", (issue,)).fetchone()
        if row is None:
            return Tracking(None, None, None)
        clicks, opens, provider = row
        return Tracking(clicks, None if opens is None else bool(opens), None if provider is None else bool(provider))

    def stored(self, issue: str) -> tuple[bool, bool, bool]:
        """(any clicks row, any clicks row with an address, any provider click event) for `issue`."""
        row = self.db.execute(
            """SELECT EXISTS (SELECT 1 FROM clicks WHERE issue = ?), EXISTS (SELECT 1 FROM clicks WHERE issue = ? AND email IS NOT NULL),
                      EXISTS (SELECT 1 FROM events WHERE issue = ? AND event = 'click')""",
            (issue, issue, issue),
        ).fetchone()
        return bool(row[0]), bool(row[1]), bool(row[2])

    def slot_clicks(self, issue: str) -> dict[str, SlotClicks]:
        """Clicks through the redirect per slot (a story's position, "sponsor", "0" for other links)."""
        rows = self.db.execute(
            "SELECT slot, sum(CASE WHEN machine IS NULL THEN 1 ELSE 0 END), count(machine) FROM clicks WHERE issue = ? GROUP BY slot", (issue,)
        )
        return {str(slot): SlotClicks(int(people), int(machine)) for slot, people, machine in rows}

    def provider_story_clicks(self, issue: str) -> dict[str, int]:
        """The provider's click events on each story's own link."""
        rows = self.db.execute(
            """SELECT s.slot, count(*) FROM issue_stories s JOIN events e ON e.issue = s.issue AND e.event = 'click' AND e.detail = s.url
               WHERE s.issue = ? GROUP BY s.slot""",
            (issue,),
        )
        return {str(slot): int(count) for slot, count in rows}

    def story_clickers(self, issue: str) -> dict[str, int]:
        """Distinct addresses that clicked each slot, through the redirect (people only) or the provider."""
        rows = self.db.execute(
            """SELECT slot, count(DISTINCT email) FROM (
                   SELECT slot, email FROM clicks WHERE issue = ? AND machine IS NULL AND email IS NOT NULL
                   UNION ALL
                   SELECT s.slot, e.email FROM issue_stories s JOIN events e ON e.issue = s.issue AND e.event = 'click' AND e.detail = s.url
                   WHERE s.issue = ? AND e.email IS NOT NULL
               ) AS clicked GROUP BY slot""",
            (issue, issue),
        )
        return {str(slot): int(count) for slot, count in rows}

    def link_clicks(self, issue: str) -> list[LinkClicks]:
        """Clicks through the redirect per link, the most clicked by people first."""
        rows = self.db.execute(
            """SELECT url, min(slot), sum(CASE WHEN machine IS NULL THEN 1 ELSE 0 END) AS people, count(machine),
                      count(DISTINCT CASE WHEN machine IS NULL THEN email END)
               FROM clicks WHERE issue = ? GROUP BY url ORDER BY people DESC, url""",
            (issue,),
        )
        return [LinkClicks(str(url), str(slot), int(people), int(machine), int(clickers)) for url, slot, people, machine, clickers in rows]

    def readers(self, issue: str) -> list[str]:
        """The addresses that clicked any link of `issue` (a person's click, or a provider's click event)."""
        rows = self.db.execute(
            """SELECT email FROM clicks WHERE issue = ? AND machine IS NULL AND email IS NOT NULL
               UNION SELECT email FROM events WHERE issue = ? AND event = 'click' AND email IS NOT NULL
               ORDER BY 1""",
            (issue, issue),
        )
        return [str(email) for (email,) in rows]

    def archive(self) -> list[Group]:
        """Every figure of `report --stories`, grouped in one statement."""
        rows = self.db.execute(ARCHIVE)
        return [Group(str(dimension), None if key is None else str(key), int(stories), int(clicks or 0), int(copies or 0)) for dimension, key, stories, clicks, copies in rows]

    def story_rates(self) -> list[StoryRate]:
        """Each story of a measured issue: its source, clicks by people and its issue's copies."""
        rows = self.db.execute(STORIES + "SELECT source, clicks, copies FROM story")
        return [StoryRate(None if source is None else str(source), int(clicks), int(copies)) for source, clicks, copies in rows]
