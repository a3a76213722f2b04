"""One send step's emails to the readers waiting at it: the send loop over its own ledger key.

The rows were created (pending) by the runner; this claims, hands over and settles them exactly
as an issue's are (docs/architecture.md, "The send ledger contract"): claimed and committed
before any network call, settled from the provider's outcome, unknown never retried by itself.
"""

from __future__ import annotations

import threading

from ..db import Database
from ..db.clicks import Clicks
from ..issue.prepare import PreparedIssue
from ..mail.clicks import story_links, track_email
from ..models import State
from ..providers.base import Edition, Provider
from ..sending.core import letters_for, tracks
from ..sending.loop import NoProgress, SendLoop
from ..workspace.credentials import SigningKeys


def send_step(db: Database, sender: Provider, key: str, prepared: PreparedIssue, keys: SigningKeys, stop: threading.Event) -> str | None:
    """Send the pending rows of `key` (one send step); why it stopped early, or None."""
    workspace = prepared.workspace
    config = workspace.config
    email = track_email(prepared.email, prepared.issue, key, config, keys.current) if tracks(config) else prepared.email
    db.ledger.record_issue(key, prepared.relative_path, prepared.email.subject, prepared.fingerprint, sender.name)
    clicks = Clicks(db.connection)
    clicks.record_stories(key, story_links(config, prepared.issue))
    clicks.record_tracking(key, config.tracking.clicks, config.tracking.opens, sender.name == "sendgrid" and config.sendgrid.click_tracking)
    loop = SendLoop(
        db.ledger, sender, Edition(key, email), lambda recipients: letters_for(recipients, config, keys.current, key, sender.name), config.send, stop, NoProgress()
    )
    return loop.run().stopped


def recover(db: Database, key: str, stamp: str) -> None:
    """Rows a killed run left `sending`: pending again when never handed over, `unknown` when they
    may have left (never retried by itself). Only one run goes at a time, so every such row is a dead run's."""
    with db.transaction():
        db.ledger.recover(key, stamp)


def counts(db: Database, key: str) -> dict[State, int]:
    return db.ledger.counts(key)
