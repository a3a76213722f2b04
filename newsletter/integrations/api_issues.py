"""The REST API's issue operations: the ledger's issues with their counts, one issue's ledger,
events and report, scheduling a send at a time, cancelling it, and test copies. An issue is named
by its key, the `number:` of its file in the workspace's issues/ folder (the key the ledger files
it under); a key is only ever compared with those numbers, never made into a path.

Scheduling is `newsletter send ISSUE --at TIME` and cancelling `newsletter cancel ISSUE`: the same
send core, under the same per-issue lock, with the same ledger rules."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..db import Busy
from ..errors import NewsletterError
from ..issue.loading import issue_numbers, load_issue
from ..models import State
from ..report import figures
from .api_errors import Conflict, FieldProblem, Invalid, NotFound
from .api_models import CancelOut, DeliveryOut, IssueDetail, IssueList, IssueSummary, ScheduleOut, TestCopiesOut, TestCopyOut

if TYPE_CHECKING:
    from ..db import Database, Schedule
    from ..issue.prepare import PreparedIssue
    from ..workspace.config import Workspace

KEY = re.compile(r"[0-9]{1,9}")
MAX_PROBLEMS = 100


def issue_files(workspace: Workspace) -> dict[str, Path]:
    """Each key that exactly one issue file has, and that file."""
    found: dict[str, list[Path]] = {}
    for path, number in issue_numbers(workspace.issues_dir).items():
        found.setdefault(str(number), []).append(path)
    return {key: paths[0] for key, paths in found.items() if len(paths) == 1}


def issue_file(workspace: Workspace, key: str) -> Path:
    """The file of issue `key`; NotFound when no file (or several) has that number."""
    if not KEY.fullmatch(key):
        raise NotFound(f"{key[:40]!r} is not an issue key: an issue is named by its number")
    paths = [path for path, number in issue_numbers(workspace.issues_dir).items() if str(number) == key]
    if len(paths) > 1:
        raise Conflict(f"{len(paths)} issue files have number {key} ({', '.join(path.name for path in paths)}); give each its own number")
    if not paths:
        raise NotFound(f"no issue file in issues/ has number {key}")
    return paths[0]


def _shown(workspace: Workspace, path: Path) -> str:
    return path.relative_to(workspace.root).as_posix() if path.is_relative_to(workspace.root) else path.name


def _schedule(saved: Schedule | None) -> ScheduleOut | None:
    if saved is None:
        return None
    return ScheduleOut(issue=saved.issue, send_at=saved.send_at.isoformat(), provider=saved.provider, held_by=saved.held_by)


def list_issues(db: Database, workspace: Workspace) -> IssueList:
    """Every issue the ledger knows and every issue file, by number."""
    files = issue_files(workspace)
    subjects = dict(db.reports.issues())
    counts = db.api_reads.issue_counts()
    schedules = {saved.issue: saved for saved in db.ledger.schedules()}
    keys = sorted(set(subjects) | set(files), key=lambda key: (not key.isdigit(), int(key) if key.isdigit() else 0, key))
    empty = {state.value: 0 for state in State}
    issues = []
    for key in keys:
        path = files.get(key)
        subject = subjects.get(key) or (_subject(path) if path else None)
        ledger = {state.value: count for state, count in counts[key].items()} if key in counts else dict(empty)
        issues.append(IssueSummary(key=key, subject=subject, file=_shown(workspace, path) if path else None, ledger=ledger, schedule=_schedule(schedules.get(key))))
    return IssueList(issues=issues)


def _subject(path: Path) -> str | None:
    try:
        return load_issue(path).subject
    except NewsletterError:
        return None


def issue_detail(db: Database, workspace: Workspace, key: str) -> IssueDetail:
    """One issue's ledger counts, provider events, problem rows, schedule and report."""
    from ..sending import issue_status

    if not KEY.fullmatch(key):
        raise NotFound(f"{key[:40]!r} is not an issue key: an issue is named by its number")
    path = issue_files(workspace).get(key)
    known = key in dict(db.reports.issues())
    if path is None and not known:
        raise NotFound(f"issue {key} is neither in the ledger nor the number of an issue file")
    found = issue_status(workspace, key)
    report = figures.issue_report(db, key)
    subject = report.subject or (_subject(path) if path else None)
    problems = [DeliveryOut(email=row.email, state=row.state.value, detail=row.detail) for row in found.problems[:MAX_PROBLEMS]]
    return IssueDetail(
        key=key,
        subject=subject,
        file=_shown(workspace, path) if path else None,
        topic=found.topic,
        ledger={state.value: count for state, count in found.counts.items()},
        events=dict(found.events),
        problems=problems,
        schedule=_schedule(found.schedule),
        report=report.to_dict(),
    )


def _prepared(workspace: Workspace, key: str) -> PreparedIssue:
    from ..issue.prepare import prepare_issue

    path = issue_file(workspace, key)
    try:
        return prepare_issue(path)
    except NewsletterError as exc:
        raise Conflict(f"issue {key} cannot be prepared: {exc}") from None


def schedule(workspace: Workspace, key: str, at: dt.datetime) -> ScheduleOut:
    """`newsletter send ISSUE --at AT`: held here (or by a provider that schedules) until then."""
    from ..sending import send_issue

    if at <= dt.datetime.now(dt.UTC):
        raise Invalid(f"at: {at.isoformat()} has passed; give a time in the future", (FieldProblem("has passed; give a time in the future", pointer="/at"),))
    prepared = _prepared(workspace, key)
    try:
        report = send_issue(prepared, at=at.replace(microsecond=0))
    except NewsletterError as exc:  # refused (not ready, already scheduled for another time), or busy
        raise Conflict(str(exc)) from None
    if report.schedule is None:
        raise Conflict(report.stopped or report.note or f"issue {key} was not scheduled")
    out = _schedule(report.schedule)
    assert out is not None
    return out


def cancel(workspace: Workspace, key: str) -> CancelOut:
    """`newsletter cancel ISSUE`: a scheduled delivery, or a canary, paced or paused send under way."""
    from ..sending import Ended, ScheduleError, cancel_send

    if not KEY.fullmatch(key):
        raise NotFound(f"{key[:40]!r} is not an issue key: an issue is named by its number")
    try:
        done = cancel_send(workspace, key)
    except Busy as exc:
        raise Conflict(str(exc)) from None
    except ScheduleError as exc:
        raise NotFound(str(exc)) from None
    except NewsletterError as exc:  # the provider refused to cancel
        raise Conflict(str(exc)) from None
    if isinstance(done, Ended):
        return CancelOut(issue=key, send_at=None, recipients=done.skipped or 0, state="skipped", others=[], detail=done.message)
    state: Literal["pending", "unknown"] = "pending" if done.state == State.PENDING else "unknown"
    others = [other.schedule.issue for other in done.others]
    return CancelOut(issue=key, send_at=done.schedule.send_at.isoformat(), recipients=done.changed, state=state, others=others)


def send_test_copies(workspace: Workspace, key: str, addresses: list[str]) -> TestCopiesOut:
    """`newsletter send ISSUE --test ADDRESS...`: one copy each, marked [TEST], not in the ledger."""
    from ..sending import send_test_copy

    prepared = _prepared(workspace, key)
    try:
        copies = send_test_copy(prepared, None, addresses)
    except NewsletterError as exc:
        raise Conflict(str(exc)) from None
    results = [TestCopyOut(address=address, sent=problem is None, problem=problem) for address, problem in copies.results]
    return TestCopiesOut(issue=key, draft=copies.draft, copies=results)

