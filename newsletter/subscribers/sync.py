"""`subscribers sync`: SendGrid's unsubscribes, bounces and spam reports marked on our list, so
those people are never mailed again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..db import Database
from ..models import Status
from ..providers.sendgrid import SendGridProvider
from ..providers.sendgrid.suppressions import suppressed

if TYPE_CHECKING:
    from ..workspace.config import Workspace


@dataclass(frozen=True)
class Synced:
    """One of SendGrid's suppression lists, and what it changed here."""

    kind: str  # unsubscribes, bounces, spam_reports or group_unsubscribes
    listed: int  # entries at SendGrid
    skipped: int  # entries that are not usable addresses
    marked: int  # active subscribers it took off the list


def sync_suppressions(workspace: Workspace) -> list[Synced]:
    """Mark the active subscribers on SendGrid's suppression lists with the status each list gives,
    in one transaction. Nobody is made active again, and nobody already off the list changes."""
    lists = suppressed(SendGridProvider(workspace.config).suppressions())  # before the database: a failure here changes nothing
    with Database(workspace.database) as db, db.transaction():
        return [Synced(found.kind, found.listed, found.skipped, db.subscribers.set_status(sorted(found.addresses), found.status, only_from=Status.ACTIVE)) for found in lists]
