"""What a change to the list decides beyond storing it: that a signup is confirmed by email and a
confirmation welcomed, whether someone who left is made active again, and when an import is
rolled back. Each takes an open database (inside the caller's transaction) and plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..models import Status, Subscriber

if TYPE_CHECKING:
    from ..db import Confirmation, Database, ImportCounts
    from .csv_formats import SubscriberCsv


def sign_up(db: Database, email: str, name: str | None) -> None:
    """Someone asked for the newsletter from the form: they wait as pending (an address already on
    the list keeps its status) and a confirmation is queued. Whether it is sent, and when, the
    notice sender decides, so a known address and a new one take the same steps here."""
    db.subscribers.sign_up(email, name)
    queue_confirmation(db, email)


def queue_confirmation(db: Database, email: str) -> None:
    """A confirmation email for `email`, queued for the notice sender (a signup, or a reader asking again)."""
    db.notice_queue.add("confirm", email)


def confirm(db: Database, subscriber: Subscriber, issued: str, after_change: int | None, welcome: bool) -> tuple[Confirmation, bool]:
    """The reader opened their confirmation link (made at `issued`, after status change number
    `after_change`; None in links made before it was counted): active now, unless their status
    changed since the link was made. With
    `welcome` (the workspace has a welcome email) one is queued for a confirmation that took.
    Returns what happened and whether a welcome was queued."""
    result = db.subscribers.confirm(subscriber.public_id or "", issued, after_change)
    welcomed = welcome and result.result == "confirmed"
    if welcomed:
        db.notice_queue.add("welcome", subscriber.email)
    return result, welcomed


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
            counts = db.subscribers.upsert(rows, rows.topic_keys)
            if rows.tally.rejected_count and not skip_invalid:
                raise _Rejected
    except _Rejected:
        return None
    return counts
