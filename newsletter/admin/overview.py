"""What the admin's pages show: the list over time, the last issues' figures (the report's own,
newsletter/report/), the issue files with their ledger state, a search of the list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..db.admin import Found
from ..db.segments import EVERYONE, select
from ..errors import NewsletterError
from ..models.segments import SegmentError, parse_segment
from ..report.figures import IssueReport, issue_report, never_sent
from .actions import AdminRefused, IssueFile, issue_files

if TYPE_CHECKING:
    from ..db import Database, Schedule
    from ..workspace.config import Workspace

WEEKS = 12
LAST_ISSUES = 5
SEARCH_LIMIT = 100


@dataclass(frozen=True)
class Week:
    starts: dt.date  # a Monday
    joined: int  # added that week, still on the list
    left: int  # unsubscribed, bounced or complained that week
    total: int  # on the list at the end of the week (as it stands now: erased readers are gone)


def weeks(db: Database, count: int = WEEKS, today: dt.date | None = None) -> list[Week]:
    """The last `count` weeks, oldest first."""
    today = today or dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=today.weekday() + 7 * (count - 1))
    since = dt.datetime.combine(first, dt.time(), dt.UTC).isoformat(timespec="seconds")
    joined, left = db.admin.joined_per_day(since), db.admin.left_per_day(since)
    total = db.admin.joined_before(since)
    found = []
    for number in range(count):
        starts = first + dt.timedelta(days=7 * number)
        days = [(starts + dt.timedelta(days=offset)).isoformat() for offset in range(7)]
        came = sum(joined.get(day, 0) for day in days)
        total += came
        found.append(Week(starts, came, sum(left.get(day, 0) for day in days), total))
    return found


def last_issues(db: Database, count: int = LAST_ISSUES) -> list[IssueReport]:
    """The reports of the last `count` issues that went out, newest first."""
    sends = db.reports.first_sends()
    latest = sorted(sends, key=lambda issue: (sends[issue], issue), reverse=True)[:count]
    return [issue_report(db, issue, first_sends=sends) for issue in latest]


@dataclass(frozen=True)
class IssueRow:
    file: IssueFile
    report: IssueReport
    schedule: Schedule | None


def issues(workspace: Workspace, db: Database) -> list[IssueRow]:
    """Each issue file with its ledger state and schedule."""
    return [issue_row(db, issue) for issue in issue_files(workspace)]


def issue_row(db: Database, issue: IssueFile) -> IssueRow:
    try:
        report = issue_report(db, issue.key)
    except NewsletterError:
        report = never_sent(issue.key)
    return IssueRow(issue, report, db.ledger.schedule(issue.key))


def search(workspace: Workspace, db: Database, address: str, tag: str, segment: str) -> list[Found]:
    """The subscribers matching all that is given: part of an address, a tag, a segment (an
    expression or a [segments] name, as `send --segment` takes)."""
    config = workspace.config
    condition = EVERYONE
    if segment.strip():
        try:
            parsed = parse_segment(segment.strip(), config.segments, config.topics, config.unmeasured_reader_clicks)
        except SegmentError as exc:
            raise AdminRefused(f"The segment: {exc}") from None
        condition = select(db.connection.dialect, None, config.topic_defaults, parsed, dt.datetime.now(dt.UTC)).in_segment
    return db.admin.search(address.strip(), tag.strip() or None, condition, SEARCH_LIMIT)
