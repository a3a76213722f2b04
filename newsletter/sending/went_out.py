"""What every send records about an issue before its first copy leaves, whichever path sends it
(a plain send, a subject test, a paced or canary send): the issue itself in the ledger, the stories
it goes out with, and what will measure its clicks and opens (reports say "not measured" rather
than draw zeros)."""

from __future__ import annotations

from ..db import Ledger
from ..db.clicks import Clicks
from ..issue.prepare import PreparedIssue
from ..mail.clicks import story_links


def record_went_out(ledger: Ledger, prepared: PreparedIssue, provider: str, topic: str | None, key: str | None = None) -> None:
    """`key`: the ledger key the copies go out under, when not the issue's own (an automation's send step)."""
    key, config = key or prepared.key, prepared.workspace.config
    ledger.record_issue(key, prepared.relative_path, prepared.email.subject, prepared.fingerprint, provider, topic)
    clicks = Clicks(ledger.connection)
    clicks.record_stories(key, story_links(config, prepared.issue))
    tracking = config.tracking
    clicks.record_tracking(key, tracking.clicks, tracking.opens, provider == "sendgrid" and config.sendgrid.click_tracking)
