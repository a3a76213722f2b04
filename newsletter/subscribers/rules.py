"""What a change to the list decides beyond storing it: that a signup is confirmed by email and a
confirmation welcomed, whether someone who left is made active again, and when an import is
rolled back. Each takes an open database (inside the caller's transaction) and plain values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..models import Status, Subscriber
from ..models.audience import normal_tag

if TYPE_CHECKING:
    from ..db import Confirmation, Database, ImportCounts
    from .csv_formats import SubscriberCsv


def sign_up(db: Database, email: str, name: str | None, *, topics: Mapping[str, bool] | None = None, tags: Iterable[str] = ()) -> None:
    """Someone asked for the newsletter from the form: they wait as pending (an address already on
    the list keeps its status) and a confirmation is queued. Whether it is sent, and when, the
    notice sender decides, so a known address and a new one take the same steps here.

    A new address starts with `topics` (an explicit on or off for each topic, see signup_choices)
    and `tags`; an address already on the list keeps its own: the form must not let a stranger
    change someone's choices any more than their standing."""
    known = db.subscribers.get(email) is not None
    db.subscribers.sign_up(email, name)
    if not known:
        if topics:
            db.audience.choose_topics(email, topics)
        if tags:
            db.audience.tag([email], add=tags)
    queue_confirmation(db, email)


MAX_CHOICES = 64  # a form offers a handful of topics and tags; a longer list is nobody's choice


class ChoiceRefused(ValueError):
    """A signup asked for a topic or tag the form does not offer. `problem` is the catalogue key
    of the words a reader is shown, `value` the item refused (empty when none is to blame)."""

    def __init__(self, problem: str, value: str = "") -> None:
        super().__init__(f"{problem}: {value}" if value else problem)
        self.problem = problem
        self.value = value


def signup_choices(
    topics: list[str] | None, tags: list[str], topic_defaults: Mapping[str, bool], allowed_tags: Iterable[str]
) -> tuple[dict[str, bool], list[str]]:
    """What a signup asks for, checked: an explicit on or off for every topic of the workspace
    (`topic_defaults`: each topic and its default), and the tags to set. `topics` None: the form
    offered no choice, so each topic's default; a list: those on, every other one off. A tag
    outside `allowed_tags`, an unknown topic, no topic at all (where topics exist) or more items
    than any form offers raise ChoiceRefused, so nothing is stored."""
    if len(topics or ()) + len(tags) > MAX_CHOICES:
        raise ChoiceRefused("too_many_choices")
    allowed = set(allowed_tags)
    chosen_tags: dict[str, None] = {}
    for raw in tags:
        try:
            tag = normal_tag(raw)
        except ValueError:
            raise ChoiceRefused("tag_not_allowed", str(raw)[:64]) from None
        if tag not in allowed:
            raise ChoiceRefused("tag_not_allowed", tag)
        chosen_tags[tag] = None
    if topics is None:
        return dict(topic_defaults), list(chosen_tags)
    for key in topics:
        if key not in topic_defaults:
            raise ChoiceRefused("topic_unknown", str(key)[:64])
    if topic_defaults and not topics:
        raise ChoiceRefused("choose_a_topic")
    return {key: key in topics for key in topic_defaults}, list(chosen_tags)


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
            counts = db.subscribers.upsert(rows)
            if rows.tally.rejected_count and not skip_invalid:
                raise _Rejected
    except _Rejected:
        return None
    return counts


def preference_topics(topics: list[str], topic_defaults: Mapping[str, bool]) -> dict[str, bool]:
    """The topics a reader ticked on their preferences page, as an explicit on or off for every
    topic (all off is a choice too). ChoiceRefused for a key that is not a topic."""
    if len(topics) > MAX_CHOICES:
        raise ChoiceRefused("too_many_choices")
    for key in topics:
        if key not in topic_defaults:
            raise ChoiceRefused("topic_unknown", str(key)[:64])
    return {key: key in topics for key in topic_defaults}


def change_topics(db: Database, email: str, choices: Mapping[str, bool], topic_defaults: Mapping[str, bool], channel: str) -> list[str]:
    """Record a reader's own choice of topics. A topic they got and no longer want is a leave, in
    their history like one (see leave_topic); the others are recorded as chosen. The topics changed."""
    before = db.audience.topics(email, topic_defaults)
    left = [key for key, on in choices.items() if before.get(key) and not on]
    for key in left:
        db.audience.leave_topic(email, key, channel)
    return left + db.audience.choose_topics(email, {key: on for key, on in choices.items() if key not in left})


def leave_topic(db: Database, public_id: str, topic: str, channel: str, issue: str | None) -> Subscriber | None:
    """The unsubscribe link of an issue of `topic` was used: the reader stops getting that topic
    and keeps the rest (their status stays; leaving everything is a second step). Someone who
    already left everything stays as they are. The subscriber; None when no one has this id."""
    subscriber = db.subscribers.by_public_id(public_id)
    if subscriber is not None and subscriber.status in (Status.ACTIVE, Status.PENDING):
        db.audience.leave_topic(subscriber.email, topic, channel, issue)
    return subscriber
