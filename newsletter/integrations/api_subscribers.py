"""The REST API's subscriber operations: upsert by address, read one, a page of a segment, tags,
erasure. Each takes an open database (inside the caller's transaction) and checked values; the
database's own methods make the changes, so every change is recorded as the command line's is.

An upsert never makes active again someone who unsubscribed, bounced or complained: it sends them
the confirmation the signup form sends (double opt-in), and only their confirming brings them back.
A new address is active at once, as `newsletter subscribers add` makes it (the caller vouches for
it, and its consent is recorded as method "api" with the token's name), unless the request asks
for double opt-in."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..db.segments import EVERYONE, select
from ..models import Status, Subscriber
from ..models.segments import SegmentError, parse_segment
from ..subscribers import rules
from .api_errors import ApiError, Conflict, FieldProblem, Invalid, NotFound, invalid_parameter
from .api_models import SubscriberFields, SubscriberOut, SubscriberPage, UpsertOut

if TYPE_CHECKING:
    from ..db import Database
    from ..workspace.config import Config

MAX_PAGE = 500
DEFAULT_PAGE = 100
CURSOR_PREFIX = "after:"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL refuses NUL in text; no address or segment holds any
# Asked before a confirmation is queued: None when this inbox may get one more, else the seconds
# until it may (the web app's [web] address_rate, the same counter the signup form uses).
InboxLimit = Callable[[str], "int | None"]


class TooManyConfirmations(ApiError):
    status = 429
    title = "Too many requests"
    slug = "too-many-confirmations"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def address_from_path(value: str) -> str:
    from ..models.addresses import normalize

    if "\ufffd" in value:  # what the server put for bytes of the path that were not UTF-8
        raise invalid_parameter("email", "not a usable email address: the path is not UTF-8")
    try:
        return normalize(value[:320])
    except ValueError as exc:
        raise invalid_parameter("email", f"not a usable email address: {str(exc).rstrip('.')}") from None


def upsert(db: Database, config: Config, email: str, fields: SubscriberFields, token: str, inbox_limit: InboxLimit) -> UpsertOut:
    """Add `email` or update their details, tags and topics. See the module's note on who becomes
    active. Raises Conflict for an address erased at its owner's request, Invalid for a topic the
    workspace does not have, TooManyConfirmations when the address's inbox had enough email."""
    _check_topics(config, fields.topics)
    reason = db.audience.suppression(email)
    if reason is not None:
        raise Conflict(f"{email} is suppressed ({reason}): only their own signup on the form, confirmed from their inbox, brings them back; nothing was changed")
    existing = db.subscribers.get(email)
    attributes = dict(fields.attributes)
    queued = False
    if existing is None and fields.double_opt_in:
        _may_confirm(email, inbox_limit)
        db.subscribers.sign_up(email, fields.name)
        db.audience.record_consent(email, "api", token)
        if attributes:
            db.subscribers.upsert([Subscriber(email, None, attributes, Status.PENDING)])
        queued = True
    elif existing is None:
        db.subscribers.upsert([Subscriber(email, fields.name, attributes)])
        db.audience.record_consent(email, "api", token)
        db.subscribers.announce(email, "api")  # subscriber.created, as `subscribers add` announces its own
    else:
        if fields.name is not None or attributes:
            db.subscribers.upsert([Subscriber(email, fields.name, attributes, existing.status)])
        if existing.status in rules.LEFT or (existing.status == Status.PENDING and fields.double_opt_in):
            _may_confirm(email, inbox_limit)
            queued = True
    if fields.tags:
        db.audience.tag([email], add=fields.tags)
    if fields.topics:
        db.audience.choose_topics(email, fields.topics)
    if queued:
        rules.queue_confirmation(db, email)
    found = db.subscribers.get(email)
    assert found is not None
    return UpsertOut(subscriber=subscriber_out(db, found, config.topic_defaults), created=existing is None, confirmation_queued=queued, note=_note(existing, queued))


def _note(existing: Subscriber | None, queued: bool) -> str:
    if existing is None:
        return "added; a confirmation email was queued: they become active when they confirm" if queued else "added, active"
    if existing.status in rules.LEFT:
        return (
            f"they are {existing.status}, and an upsert never makes them active again: a confirmation email was queued "
            "(double opt-in), and they become active only if they confirm"
        )
    if queued:
        return "they have not confirmed yet: the confirmation email was queued again"
    return f"updated; status {existing.status} kept"


def _may_confirm(email: str, inbox_limit: InboxLimit) -> None:
    wait = inbox_limit(email)
    if wait is not None:
        raise TooManyConfirmations(f"{email} was sent enough confirmation emails for now ([web] address_rate); try again in {wait} s. Nothing was changed", wait)


def _check_topics(config: Config, topics: Mapping[str, bool] | None) -> None:
    for key in topics or {}:
        if key not in config.topics:
            known = ", ".join(config.topics) or "none: newsletter.toml has no [topics]"
            words = f"not a topic of this workspace (topics: {known})"
            raise Invalid(f"topics: {key!r} is {words}", (FieldProblem(words, pointer=f"/topics/{key}"),))


def subscriber_out(db: Database, subscriber: Subscriber, defaults: Mapping[str, bool], tags: list[str] | None = None) -> SubscriberOut:
    email = subscriber.email
    return SubscriberOut(
        id=subscriber.public_id,
        email=email,
        name=subscriber.name,
        status=subscriber.status.value,
        tags=db.audience.tags(email) if tags is None else tags,
        topics=db.audience.topics(email, defaults) if defaults else None,
        attributes=subscriber.attributes or {},
        created_at=subscriber.created_at,
        status_changed_at=subscriber.status_changed_at if subscriber.status_changed_at is not None else db.records.status_changed_at(email),
    )


def get(db: Database, config: Config, email: str) -> SubscriberOut:
    found = db.subscribers.get(email)
    if found is None:
        raise NotFound(f"{email} is not a subscriber")
    return subscriber_out(db, found, config.topic_defaults)


def page(db: Database, config: Config, segment: str | None, status: str | None, cursor: str | None, limit: int) -> SubscriberPage:
    """The subscribers `segment` matches (an expression or a [segments] name; None: everyone), with
    `status` when given, in address order, `limit` at most, after `cursor`."""
    if not 1 <= limit <= MAX_PAGE:
        raise invalid_parameter("limit", f"expected a number from 1 to {MAX_PAGE}")
    wanted = _status(status)
    condition = EVERYONE
    if segment is not None:
        if CONTROL.search(segment):
            raise invalid_parameter("segment", "a segment is one line of text, without control characters")
        try:
            parsed = parse_segment(segment[:2000], config.segments, config.topics, config.unmeasured_reader_clicks)
        except SegmentError as exc:
            raise invalid_parameter("segment", str(exc)) from None
        condition = select(db.connection.dialect, None, config.topic_defaults, parsed, dt.datetime.now(dt.UTC)).in_segment
    found = db.api_reads.page(condition, _after(cursor), limit + 1, wanted)
    more = len(found) > limit
    found = found[:limit]
    tags = db.api_reads.tags_of([s.email for s in found])
    items = [subscriber_out(db, s, config.topic_defaults, tags[s.email]) for s in found]
    return SubscriberPage(subscribers=items, next_cursor=_cursor(found[-1].email) if more else None)


def _status(value: str | None) -> Status | None:
    if value is None:
        return None
    try:
        return Status(value)
    except ValueError:
        raise invalid_parameter("status", f"expected one of {', '.join(Status)}") from None


def _cursor(email: str) -> str:
    return base64.urlsafe_b64encode((CURSOR_PREFIX + email).encode()).decode().rstrip("=")


def _after(cursor: str | None) -> str | None:
    """The address a cursor continues after; Invalid for anything this API did not hand out."""
    if cursor is None:
        return None
    cursor = cursor[:1000]
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(CURSOR_PREFIX) or len(text) <= len(CURSOR_PREFIX) or CONTROL.search(text):
        raise invalid_parameter("cursor", "not a cursor this API handed out: pass next_cursor of the previous page as it was")
    return text[len(CURSOR_PREFIX) :]


def retag(db: Database, config: Config, email: str, add: list[str], remove: list[str]) -> SubscriberOut:
    if db.subscribers.get(email) is None:
        raise NotFound(f"{email} is not a subscriber; nothing was changed")
    db.audience.tag([email], add=add, remove=remove)
    return get(db, config, email)


def erase(db: Database, email: str) -> None:
    """Erase `email` as `newsletter subscribers erase` does (channel "api"); NotFound when nothing held it."""
    if not rules.erase(db, email, "api"):
        raise NotFound(f"{email} is not a subscriber, and no records hold it; nothing was changed")
