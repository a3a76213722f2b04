"""What a change to the list decides beyond storing it: whether someone who left is made active
again, and when an import is rolled back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..models import Status, Subscriber

if TYPE_CHECKING:
    from ..db import Database, ImportCounts
    from .csv_formats import SubscriberCsv


@dataclass(frozen=True)
class Added:
    """What add_subscriber() did."""

    before: Status | None  # the status they had; None: they are new to the list
    reactivated: bool = False  # made active again, at their request


def add_subscriber(db: Database, subscriber: Subscriber, resubscribe: bool = False) -> Added:
    """Add `subscriber`, or update their name and attributes. Someone who unsubscribed, bounced or
    complained stays so unless `resubscribe` (they asked to come back): details never re-activate."""
    existing = db.subscribers.get(subscriber.email)
    db.subscribers.upsert([subscriber])
    if existing is None:
        return Added(None)
    if existing.status != Status.ACTIVE and resubscribe:
        db.subscribers.set_status([subscriber.email], Status.ACTIVE)
        return Added(existing.status, reactivated=True)
    return Added(existing.status)


def unsubscribe(db: Database, address: str) -> Status | None:
    """Mark `address` unsubscribed: they are never mailed again. The status they had, or None
    (and nothing changed) when they are not on the list."""
    existing = db.subscribers.get(address)
    if existing is None:
        return None
    db.subscribers.set_status([address], Status.UNSUBSCRIBED)
    return existing.status


class _Rejected(Exception):
    """Rows were rejected and the import may not skip them: roll it back."""


def import_subscribers(db: Database, rows: SubscriberCsv, skip_invalid: bool = False) -> ImportCounts | None:
    """Add or update the subscribers of `rows` in one transaction. If any row is rejected (see
    rows.tally) and not `skip_invalid`, the whole import is rolled back and None returned."""
    try:
        with db.transaction():  # all or nothing
            counts = db.subscribers.upsert(rows)
            if rows.tally.rejected_count and not skip_invalid:
                raise _Rejected
    except _Rejected:
        return None
    return counts
