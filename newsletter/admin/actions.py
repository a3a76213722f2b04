"""What an editor may do from the admin, each through the same code as its command (`subscribers
tag`, `unsubscribe`, `erase`, `send --at`, `cancel`, `send --test`), and each logged in
admin_actions with who did it. Every refusal is an AdminRefused: a sentence for the page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..db import Database
from ..errors import NewsletterError
from ..models import Status
from ..models.addresses import normalize
from ..models.audience import normal_tag
from ..subscribers import rules
from ..subscribers.tagging import retag

if TYPE_CHECKING:
    from ..workspace.config import Workspace

MAX_TEST_ADDRESSES = 10  # a test copy goes to a handful of people


class AdminRefused(NewsletterError):
    """An action the admin cannot do as asked; nothing was changed."""


def address(typed: str) -> str:
    try:
        return normalize(typed.strip())
    except ValueError as exc:
        raise AdminRefused(f"{typed.strip()[:100]!r} is not an email address ({str(exc).rstrip('.')}).") from None


def tags(typed: str) -> list[str]:
    """The tags of a form field: comma-separated, each checked as `subscribers tag` checks it."""
    found = []
    for part in typed.split(","):
        if not part.strip():
            continue
        try:
            found.append(normal_tag(part))
        except ValueError as exc:
            raise AdminRefused(f"{exc}; nothing was changed.") from None
    return list(dict.fromkeys(found))


# --- one subscriber ------------------------------------------------------------------------------


def tag(db: Database, editor: str, email: str, add: list[str], remove: list[str]) -> str:
    if not add and not remove:
        raise AdminRefused("Give a tag to add or to remove; nothing was changed.")
    both = set(add) & set(remove)
    if both:
        raise AdminRefused(f"{sorted(both)[0]!r} is both added and taken off; nothing was changed.")
    with db.transaction():
        done = retag(db, [email], add, remove)
        if done.unknown:
            raise AdminRefused(f"{email} is not a subscriber; nothing was changed.")
        said = "; ".join(part for part in (f"added {', '.join(add)}" if add else "", f"took off {', '.join(remove)}" if remove else "") if part)
        db.admin.record(editor, "tag", email, said)
    return f"Tags of {email}: {said}."


def unsubscribe(db: Database, editor: str, email: str) -> str:
    with db.transaction():
        before = rules.unsubscribe(db, email, channel="admin")
        if before is None:
            raise AdminRefused(f"{email} is not a subscriber; nothing was changed.")
        if before == Status.UNSUBSCRIBED:
            return f"{email} was already unsubscribed."
        db.admin.record(editor, "unsubscribe", email, f"was {before}")
    return f"{email} is unsubscribed: they are never mailed again." if before == Status.ACTIVE else f"{email} (was {before}) is unsubscribed."


def erase(db: Database, editor: str, email: str) -> str:
    """The erasure of `subscribers erase`; the log keeps the placeholder, not the address."""
    with db.transaction():
        if not rules.erase(db, email, "admin"):
            raise AdminRefused(f"{email} is not a subscriber, and no records hold it; nothing was changed.")
        db.admin.record(editor, "erase", None, rules.erased_placeholder(db.audience.address_hash(email)))
    return f"{email} is erased; a suppression keeps them off the list until they sign up and confirm again."


def resend_confirmation(db: Database, editor: str, email: str) -> str:
    """Only to a signup still waiting for its confirmation: anyone else decided already."""
    with db.transaction():
        subscriber = db.subscribers.get(email)
        if subscriber is None:
            raise AdminRefused(f"{email} is not a subscriber; nothing was sent.")
        if subscriber.status != Status.PENDING:
            raise AdminRefused(f"{email} is {subscriber.status}, not waiting for a confirmation; nothing was sent.")
        rules.queue_confirmation(db, email)
        db.admin.record(editor, "resend confirmation", email)
    return f"A new confirmation email to {email} is on its way."


# --- issues --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueFile:
    name: str  # the file's name in issues/
    path: Path
    number: int

    @property
    def key(self) -> str:
        """What the ledger files it under."""
        return str(self.number)


def issue_files(workspace: Workspace) -> list[IssueFile]:
    """The issue files of the workspace's issues/ folder, newest number first (as the CLI reads them)."""
    from ..issue.loading import issue_numbers

    found = [IssueFile(path.name, path, number) for path, number in issue_numbers(workspace.issues_dir).items()]
    return sorted(found, key=lambda issue: (-issue.number, issue.name))


def issue_file(workspace: Workspace, name: str) -> IssueFile:
    """The issue file called `name` in issues/ (only those: never a path someone typed)."""
    for issue in issue_files(workspace):
        if issue.name == name:
            return issue
    raise AdminRefused(f"There is no issue file {name[:100]!r} in {workspace.issues_dir}.")


def schedule(workspace: Workspace, editor: str, name: str, at: str, now: dt.datetime | None = None) -> str:
    """`send ISSUE --at AT`: the delivery held (here or by the provider) until then. A time without
    a zone is UTC; a time that has passed is refused (it would send now)."""
    from ..issue.prepare import prepare_issue
    from ..sending import parse_time, send_issue

    issue = issue_file(workspace, name)
    try:
        when = parse_time(at.strip(), dt.UTC)
    except NewsletterError:
        raise AdminRefused(f"{at.strip()[:60]!r} is not a date and time such as 2026-11-26T08:00 (UTC) or 2026-11-26T09:00+01:00; nothing was scheduled.") from None
    if when <= (now or dt.datetime.now(dt.UTC)):
        raise AdminRefused(f"{when.isoformat()} has passed; give a time ahead. Nothing was scheduled.")
    report = send_issue(prepare_issue(issue.path), at=when)
    if report.schedule is None:
        raise AdminRefused(report.stopped or report.note or f"Issue {issue.key} was not scheduled: nobody is waiting for it.")
    held = "held here until then (`newsletter send --due` from cron delivers it)" if report.schedule.held_by == "here" else f"held by {report.provider}"
    _record(workspace, editor, "schedule", f"issue {issue.key} ({issue.name}) at {report.schedule.send_at.isoformat()}")
    return f"Issue {issue.key} is scheduled for {report.schedule.send_at.isoformat()}, {held}."


def cancel(workspace: Workspace, editor: str, name: str) -> str:
    """As `newsletter cancel`: a scheduled delivery, or a canary, paced or paused send under way."""
    from ..sending import Ended, cancel_send

    issue = issue_file(workspace, name)
    cancelled = cancel_send(workspace, issue.key)
    if isinstance(cancelled, Ended):
        _record(workspace, editor, "cancel", f"issue {issue.key} ({issue.name}), the send under way")
        return cancelled.message
    _record(workspace, editor, "cancel", f"issue {issue.key} ({issue.name}), due {cancelled.schedule.send_at.isoformat()}")
    return f"The delivery of issue {issue.key} is cancelled: {cancelled.changed} recipient(s) are {cancelled.state} again."


def test_copy(workspace: Workspace, editor: str, name: str, typed: str) -> str:
    from ..issue.prepare import prepare_issue
    from ..sending import send_test_copy

    issue = issue_file(workspace, name)
    addresses = [address(part) for part in typed.replace(",", " ").split()]
    if not addresses:
        raise AdminRefused("Give an address to send the test copy to; nothing was sent.")
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise AdminRefused(f"A test copy goes to at most {MAX_TEST_ADDRESSES} addresses; nothing was sent.")
    copies = send_test_copy(prepare_issue(issue.path), None, addresses)
    _record(workspace, editor, "test copy", f"issue {issue.key} ({issue.name}) to {', '.join(addresses)}")
    lines = [f"{target}: {problem or 'sent'}" for target, problem in copies.results]
    mark = "[DRAFT]" if copies.draft else "[TEST]"
    return f"Test copies of issue {issue.key}, subject marked {mark}: " + "; ".join(lines) + "."


def _record(workspace: Workspace, editor: str, action: str, detail: str) -> None:
    with Database(workspace.database) as db, db.transaction():
        db.admin.record(editor, action, None, detail)
