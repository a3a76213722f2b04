"""What every send records about an issue before its first copy leaves, whichever path sends it
(a plain send, a subject test, a paced or canary send): the issue itself in the ledger, the stories
it goes out with, what will measure its clicks and opens (reports say "not measured" rather
than draw zeros), and, in a git repository, the commit it goes out from."""

from __future__ import annotations

from ..db import Ledger
from ..db.clicks import Clicks
from ..errors import GitError
from ..issue.prepare import PreparedIssue
from ..mail.clicks import story_links
from ..workspace.git import FileState, file_state


def record_went_out(ledger: Ledger, prepared: PreparedIssue, provider: str, topic: str | None, key: str | None = None) -> None:
    """`key`: the ledger key the copies go out under, when not the issue's own (an automation's send step)."""
    key, config = key or prepared.key, prepared.workspace.config
    ledger.record_issue(key, prepared.relative_path, prepared.email.subject, prepared.fingerprint, provider, topic)
    clicks = Clicks(ledger.connection)
    clicks.record_stories(key, story_links(config, prepared.issue))
    tracking = config.tracking
    clicks.record_tracking(key, tracking.clicks, tracking.opens, provider == "sendgrid" and config.sendgrid.click_tracking)
    state = git_state(prepared)
    if state is not None:
        ledger.record_commit(key, state.commit, state.clean)


def git_state(prepared: PreparedIssue) -> FileState | None:
    """Where the issue file stands in git; None outside a repository, or when git cannot say
    (not installed, too slow): the record is a help to the editor, never a reason not to send."""
    try:
        return file_state(prepared.path)
    except GitError:
        return None
