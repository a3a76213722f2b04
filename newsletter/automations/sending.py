"""One send step's emails to the readers waiting at it: the send loop over its own ledger key.

The rows were created (pending) by the runner; this claims, hands over and settles them exactly
as an issue's are (docs/architecture.md, "The send ledger contract"): claimed and committed
before any network call, settled from the provider's outcome, unknown never retried by itself.
"""

from __future__ import annotations

import threading

from ..db import Database
from ..issue.prepare import PreparedIssue
from ..providers.base import Edition, Provider
from ..sending.core import letters_for, tracked_edition_email
from ..sending.loop import NoProgress, SendLoop
from ..sending.went_out import record_went_out
from ..workspace.credentials import SigningKeys


def send_step(db: Database, sender: Provider, key: str, prepared: PreparedIssue, keys: SigningKeys, stop: threading.Event) -> str | None:
    """Send the pending rows of `key` (one send step); why it stopped early, or None."""
    config = prepared.workspace.config
    email = tracked_edition_email(prepared, keys.current, key)
    record_went_out(db.ledger, prepared, sender.name, None, key)
    loop = SendLoop(
        db.ledger, sender, Edition(key, email), lambda recipients: letters_for(recipients, config, keys.current, key, sender.name), config.send, stop, NoProgress()
    )
    return loop.run().stopped


def recover(db: Database, key: str, stamp: str) -> None:
    """Rows a killed run left `sending`: pending again when never handed over, `unknown` when they
    may have left (never retried by itself). Only one run goes at a time, so every such row is a dead run's."""
    with db.transaction():
        db.ledger.recover(key, stamp)
