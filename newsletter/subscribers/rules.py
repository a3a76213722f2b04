"""What a change to the list decides beyond storing it: that a signup is confirmed by email and a
confirmation welcomed, whether someone who left is made active again, and when an import is
rolled back. Each takes an open database (inside the caller's transaction) and plain values."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ChangeRefused, NotASubscriber
from ..models import Status, Subscriber
from ..models.audience import normal_tag

if TYPE_CHECKING:
    from ..db import Confirmation, Database, ImportCounts
    from .csv_formats import SubscriberCsv

ERASED_REASON = "erased at their request"
EDITOR_CHANNEL = "command line"  # how the editor's own changes are recorded in a subscriber's history
LEFT = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)


CONSENT_WORDS = ("subscribe_title", "subscribe_intro", "email_field", "name_field", "subscribe_button")


def consent_text_version(words: Mapping[str, str], newsletter: str, topics: Mapping[str, tuple[str, str]]) -> str:
    """The version of what a signup form says a reader agrees to: a hash of its words (as the
    newsletter's language and [labels] give them), the newsletter's name and each topic's name and
    description. Changing any of them changes the version a later consent records."""
    shown = {"words": [words.get(key, "") for key in CONSENT_WORDS], "newsletter": newsletter, "topics": sorted(topics.items())}
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def sign_up(
    db: Database,
    email: str,
    name: str | None,
    *,
    page: str | None = None,
    text_version: str | None = None,
    topics: Mapping[str, bool] | None = None,
    tags: Iterable[str] = (),
) -> None:
    """Someone asked for the newsletter from the form: they wait as pending (an address already on
    the list keeps its status) and a confirmation is queued. Whether it is sent, and when, the
    notice sender decides, so a known address and a new one take the same steps here.

    A new address gets a consent record: the form's `page` and `text_version` (a hash of the words
    it showed). A known one keeps the consent it has: a stranger typing it in proves nothing.

    A new address also starts with `topics` (an explicit on or off for each topic, see
    signup_choices) and `tags`; a known one keeps its own: the form must not let a stranger change
    someone's choices any more than their standing."""
    with db.transaction():
        new = db.subscribers.get(email) is None
        db.subscribers.sign_up(email, name)
        if new:
            record_signup_consent(db, email, page, text_version)
            if topics:
                db.audience.choose_topics(email, topics)
            if tags:
                db.audience.tag([email], add=tags)
        queue_confirmation(db, email)


def record_signup_consent(db: Database, email: str, page: str | None, text_version: str | None) -> None:
    """How a reader who signed up on the form consented: the page they used and the words it showed."""
    db.audience.record_consent(email, "form", page, text_version)


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
    if result.result == "confirmed" and result.subscriber is not None:
        email = result.subscriber.email
        with db.transaction():
            # Their own double opt-in: an erasure's suppression no longer stands in their way, and
            # the issues they had before it are theirs again (a rerun must not send one twice).
            if db.audience.lift_suppression(email):
                db.records.reclaim_deliveries(email, erased_placeholder(db.audience.address_hash(email)))
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
    complained stays so unless `resubscribe` (they asked to come back): details never re-activate.
    An address erased at its owner's request is refused (ChangeRefused): only their own signup,
    confirmed from their inbox, brings them back."""
    reason = db.audience.suppression(subscriber.email)
    if reason is not None:
        raise ChangeRefused(
            f"{subscriber.email} is suppressed ({reason}): only their own signup, confirmed from their inbox, can bring them back; nothing was changed"
        )
    existing = db.subscribers.get(subscriber.email)
    with db.transaction():
        db.subscribers.upsert([subscriber])
        if existing is None:
            db.audience.record_consent(subscriber.email, "editor")
            db.subscribers.announce(subscriber.email, "command line")
    if existing is None:
        return Added(None)
    if existing.status != Status.ACTIVE and resubscribe:
        db.subscribers.set_status([subscriber.email], Status.ACTIVE)
        return Added(existing.status, reactivated=True)
    return Added(existing.status)


def unsubscribe(db: Database, address: str, channel: str = "command line") -> Status | None:
    """Mark `address` unsubscribed: they are never mailed again. The status they had, or None
    (and nothing changed) when they are not on the list."""
    existing = db.subscribers.get(address)
    if existing is None:
        return None
    db.subscribers.set_status([address], Status.UNSUBSCRIBED, channel=channel)
    return existing.status


@dataclass(frozen=True)
class Removed:
    """What remove_subscriber() did."""

    before: Status | None  # the status they had; None: not on the list
    removed: bool  # False: refused, they had left (see remove_subscriber)


def remove_subscriber(db: Database, email: str, forget: bool = False) -> Removed:
    """Delete a subscriber with their tags, topic choices and consent (their ledger rows and history
    stay). Someone who unsubscribed, bounced or complained is refused unless `forget`: their row is
    what keeps a later import from adding them as active again."""
    with db.transaction():
        existing = db.subscribers.get(email)
        if existing is None:
            return Removed(None, False)
        if existing.status in LEFT and not forget:
            return Removed(existing.status, False)
        db.records.remove(email)
    return Removed(existing.status, True)


def edit_subscriber(db: Database, email: str, name: str | None = None, new_email: str | None = None, channel: str = EDITOR_CHANNEL) -> str:
    """Change a subscriber's name and/or address; the address they now have. A new address keeps
    their link id (every link already sent still works), history and ledger rows, all moved in one
    transaction. Refused (ChangeRefused, nothing changed) when the new address is on the list or
    suppressed, or already in the ledger for an issue this subscriber has a row of."""
    with db.transaction():
        if db.subscribers.get(email) is None:
            raise NotASubscriber(f"{email} is not a subscriber")
        if new_email is not None and new_email != email:
            _refuse_new_address(db, email, new_email)
            db.records.change_address(email, new_email, channel)
            email = new_email
        if name is not None:
            db.records.rename(email, name)
    return email


def _refuse_new_address(db: Database, email: str, new_email: str) -> None:
    if db.subscribers.get(new_email) is not None:
        raise ChangeRefused(f"{new_email} is already on the list; nothing was changed")
    reason = db.audience.suppression(new_email)
    if reason is not None:
        raise ChangeRefused(f"{new_email} is suppressed ({reason}); nothing was changed")
    both = sorted(set(db.records.issues_in_the_ledger(new_email)) & set(db.records.issues_in_the_ledger(email)))
    if both:
        raise ChangeRefused(
            f"{new_email} already has a row in the send ledger for issue(s) {', '.join(both)}, as {email} does; one issue has one row per address, so nothing was changed"
        )


def request_new_address(db: Database, subscriber: Subscriber, new_email: str) -> None:
    """The reader asked, on their preferences page, to move to `new_email`: a link is queued to
    that address, and nothing changes until it is followed (whoever typed an address must be
    able to read its mail). The answer never says whether `new_email` is on the list."""
    with db.transaction():
        db.audience.request_address(subscriber.email, new_email)
        db.notice_queue.add("address", new_email)


def confirm_new_address(db: Database, public_id: str, issued: str) -> tuple[str, str | None]:
    """The link sent to a requested address (made at `issued`) was followed: the subscriber moves
    there, keeping their link id, history and ledger rows (see edit_subscriber). Returns (result,
    the new address): changed; stale (no request, or a newer one than the link); taken (the
    address joined the list or was suppressed meanwhile: the request is dropped); unknown."""
    with db.transaction():
        subscriber = db.subscribers.by_public_id(public_id)
        if subscriber is None:
            return "unknown", None
        asked = db.audience.requested_address(subscriber.email)
        if asked is None or asked[1] > issued:
            return "stale", None
        new_email = asked[0]
        db.audience.drop_address_request(subscriber.email)
        try:
            edit_subscriber(db, subscriber.email, new_email=new_email, channel="web")
        except ChangeRefused:
            return "taken", new_email
        return "changed", new_email


def erased_placeholder(address_hash: str) -> str:
    """What stands for an erased address in the ledger and history: not the address, and the same for
    one address each time (its issues still count once)."""
    return "erased:" + address_hash[:16]


def erase(db: Database, email: str, channel: str) -> bool:
    """Erase `email` at its owner's request, in one transaction: the subscriber, their tags, topic
    choices, consent and queued notices are deleted; in the ledger, history, events and notices a
    placeholder replaces the address (each issue's figures stay); a suppression (a keyed hash, never
    the address) keeps imports and the editor from adding them again. Whether anything held it."""
    with db.transaction():
        found = db.records.erase(email, erased_placeholder(db.audience.address_hash(email)), channel)
        if found:
            db.audience.suppress(email, ERASED_REASON)
    return found


def purge_pending(db: Database, older_than: dt.timedelta, dry_run: bool = False) -> int:
    """Remove the signups never confirmed that are older than `older_than` (signed up and last
    changed before then), as an erasure does but with no suppression; with `dry_run`, only count."""
    before = (dt.datetime.now(dt.UTC) - older_than).isoformat(timespec="seconds")
    if dry_run:
        return len(db.records.stale_signups(before))
    with db.transaction():
        hasher = db.audience.address_hasher()
        return db.records.purge_signups(before, lambda email: erased_placeholder(hasher(email)))


class _Rejected(Exception):
    """Rows were rejected and the import may not skip them: roll it back."""


@dataclass(frozen=True)
class Imported:
    counts: ImportCounts
    suppressed: dict[str, int] = field(default_factory=dict)  # rows skipped, per suppression reason


def import_subscribers(db: Database, rows: SubscriberCsv, skip_invalid: bool = False) -> Imported | None:
    """Add or update the subscribers of `rows` in one transaction. If any row is rejected (see
    rows.tally) and not `skip_invalid`, the whole import is rolled back and None returned.

    A suppressed address (erased at its owner's request) is skipped and counted. Those new to the
    list get a consent record: method import, the file's name as its source."""
    suppressed: Counter[str] = Counter()
    try:
        with db.transaction():  # all or nothing
            with db.records.consents_for_new_subscribers("import", rows.path.name):
                counts = db.subscribers.upsert(_not_suppressed(db, rows, suppressed), rows.topic_keys)
            if rows.tally.rejected_count and not skip_invalid:
                raise _Rejected
    except _Rejected:
        return None
    return Imported(counts, dict(suppressed))


def _not_suppressed(db: Database, rows: SubscriberCsv, skipped: Counter[str]) -> Iterable[Subscriber]:
    """The rows whose address is not suppressed; the others counted in `skipped` by reason. The
    suppressions are read once, now (not while the rows stream into the database: PostgreSQL's
    COPY takes no other statement), and each address hashed with the key read once."""
    reasons = db.audience.suppression_reasons()
    if not reasons:  # the usual case: nothing to hash
        return rows
    return _skipping(rows, reasons, db.audience.address_hasher(), skipped)


def _skipping(rows: Iterable[Subscriber], reasons: dict[str, str], hasher: Callable[[str], str], skipped: Counter[str]) -> Iterator[Subscriber]:
    for subscriber in rows:
        reason = reasons.get(hasher(subscriber.email))
        if reason is None:
            yield subscriber
        else:
            skipped[reason] += 1


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
