"""Events from any other service (Postal, Brevo, a relay of one's own), posted to /webhooks/generic
in one small documented shape and signed by the Standard Webhooks scheme (www.standardwebhooks.com):
HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` with the secret in
NEWSLETTER_WEBHOOK_SECRET (`whsec_<base64>`), the three `webhook-*` headers, five minutes' tolerance.

The body, as JSON: `{"events": [EVENT, ...]}` (at most MAX_EVENTS), or one EVENT alone. An EVENT:

    id           required  text, unique per event (at most 200 characters): a repeated id is stored once
    type         required  delivered | bounced | deferred | complained | unsubscribed | dropped | opened | clicked
    email        required  the recipient's address (an IDN domain in either form)
    occurred_at  required  ISO 8601 (`2026-12-01T09:00:00Z`); without a zone, UTC
    bounce       bounced   hard | soft
    url          clicked   the link clicked
    machine      optional  opened: true when a machine opened it (Apple Mail Privacy Protection)
    reason       optional  the receiving server's or the service's words (kept to 500 characters)
    issue        optional  the issue key the message went out with (its number), so the report counts it
    send_id      optional  the send id the message went out with
Any other field is ignored, so a relay may pass the service's own fields through.

What each type does is what providers/events.py says of its word: bounced hard -> bounced, bounced
soft -> counted (the third in a row bounces), complained -> complained, unsubscribed ->
unsubscribed, delivered -> ends a run of soft bounces; deferred, dropped, opened and clicked are
counted in the report and move nobody.

A post is taken whole or not at all: one malformed event refuses the post with 400 and a reason
naming the event and its field (`events[3].email: not a usable email address`). A relay is written
against this endpoint and run against it while it is written: skipping a bad event would hide its
author's mistake until a report failed to add up, while a 400 that names the field shows it at the
first post. And since a repeated id is stored once, the whole post can simply be sent again once
it is fixed. The reasons name fields, never values, so they echo nothing a post carried.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from ..db import Event
from ..errors import ConfigError
from ..models import Status
from ..workspace import credentials
from ..workspace.config import Config
from .events import (
    BOUNCE,
    CLICK,
    COMPLAINT,
    DEFERRED,
    DELIVERED,
    DROPPED,
    MAX_SKEW,
    OPEN,
    UNSUBSCRIBE,
    EventBatch,
    Forged,
    Headers,
    Unreadable,
    address,
    bounce_detail,
    clean,
    from_iso,
)

MAX_EVENTS = 1_000  # per post: a relay with more sends several posts
MAX_ID_CHARS = 200
MAX_KEY_CHARS = 100  # an issue key or a send id
MAX_URL_CHARS = 2_000
MAX_REASON_CHARS = 500
SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24  # the scheme's smallest key (Svix makes 24 bytes)
MAKE_ONE = """python3 -c 'import base64,secrets; print("whsec_"+base64.b64encode(secrets.token_bytes(32)).decode())'"""

WORD_OF = {
    "delivered": DELIVERED, "bounced": BOUNCE, "deferred": DEFERRED, "complained": COMPLAINT,
    "unsubscribed": UNSUBSCRIBE, "dropped": DROPPED, "opened": OPEN, "clicked": CLICK,
}
STATUS_OF = {"complained": Status.COMPLAINED, "unsubscribed": Status.UNSUBSCRIBED}


class Malformed(Exception):
    """One field of one event is wrong: the post is refused, naming them."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret. Raises ValueError (without the secret in its
    words) when the secret is not in that form or too short to be a key."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"does not start with {SECRET_PREFIX}")
    encoded = secret[len(SECRET_PREFIX):]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"is not base64 after {SECRET_PREFIX}") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"holds {len(key)} bytes; the scheme's keys hold at least {MIN_SECRET_BYTES}")
    return key


def read_events(body: bytes, now: float) -> EventBatch:
    """The post's events, every one of them mapped. Raises Unreadable naming the first problem."""
    try:
        document = json.loads(body)
    except RecursionError:  # nested deeper than the parser goes
        raise Unreadable("the body is nested too deeply to be this endpoint's JSON") from None
    except ValueError as exc:  # not UTF-8, not JSON, or a number too long to read
        raise Unreadable(f"the body is not JSON: {str(exc)[:200]}") from None
    items, label = _items(document)
    try:
        return EventBatch([to_event(item, label(index), now) for index, item in enumerate(items)])
    except Malformed as exc:
        raise Unreadable(str(exc)) from None


def _items(document: Any) -> tuple[list[Any], Callable[[int], str]]:
    """The events of the body and how an error names the n-th of them."""
    if isinstance(document, dict) and "events" in document:
        items = document["events"]
        if not isinstance(items, list):
            raise Unreadable("events: not a list of events")
        if len(items) > MAX_EVENTS:
            raise Unreadable(f"events: {len(items):,} events in one post; at most {MAX_EVENTS:,}, send the rest in further posts")
        return items, lambda index: f"events[{index}]"
    if isinstance(document, dict):
        return [document], lambda _: "the event"
    raise Unreadable('the body is neither {"events": [...]} nor one event object')


def to_event(item: Any, where: str, now: float) -> Event:
    """One event of the shape above, mapped to what it does to the subscriber. Raises Malformed."""
    if not isinstance(item, dict):
        raise Malformed(f"{where}: not an object")
    event_id = _text(item, "id", where, MAX_ID_CHARS, required=True)
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in WORD_OF:
        raise Malformed(f"{where}.type: not one of {', '.join(WORD_OF)}")
    email = address(_required(item, "email", where))
    if email is None:
        raise Malformed(f"{where}.email: not a usable email address")
    detail, status, soft = _detail(item, kind, where)
    return Event(
        event_id=event_id or "",
        event=WORD_OF[kind],
        email=email,
        issue=_text(item, "issue", where, MAX_KEY_CHARS),
        send_id=_text(item, "send_id", where, MAX_KEY_CHARS),
        happened_at=_when(item, where, now),
        detail=detail,
        status=status,
        soft_bounce=soft,
        delivered=kind == "delivered",
    )


def _detail(item: dict[str, Any], kind: str, where: str) -> tuple[str | None, Status | None, bool]:
    """The event's detail as the report reads it, the status it gives, and whether it is a soft bounce."""
    reason = _reason(item, where)
    if kind == "bounced":
        hard = {"hard": True, "soft": False}.get(_required(item, "bounce", where))
        if hard is None:
            raise Malformed(f"{where}.bounce: not hard or soft")
        return bounce_detail(hard, reason), Status.BOUNCED if hard else None, not hard
    if kind == "clicked":
        return _text(item, "url", where, MAX_URL_CHARS, required=True), None, False
    if kind == "opened":
        machine = item.get("machine", False)
        if not isinstance(machine, bool):
            raise Malformed(f"{where}.machine: not true or false")
        return ("machine" if machine else None), None, False
    return reason, STATUS_OF.get(kind), False


def _required(item: dict[str, Any], field: str, where: str) -> Any:
    if item.get(field) is None:
        raise Malformed(f"{where}.{field}: missing")
    return item[field]


def _text(item: dict[str, Any], field: str, where: str, limit: int, required: bool = False) -> str | None:
    """A text field kept whole: one cut short could name another event, issue or link."""
    value = _required(item, field, where) if required else item.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"{where}.{field}: not a text")
    if len(value) > limit:
        raise Malformed(f"{where}.{field}: longer than {limit:,} characters")
    return clean(value)


def _reason(item: dict[str, Any], where: str) -> str | None:
    """The service's words, cut to length: a long SMTP answer is worth its first part."""
    value = item.get("reason")
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{where}.reason: not a text")
    return clean(value[:MAX_REASON_CHARS]) or None


def _when(item: dict[str, Any], where: str, now: float) -> str:
    """The event's time. Required: an event without one cannot show it is newer than a reader's
    last change, so it could move nobody who ever changed (db/events.py)."""
    happened = from_iso(_required(item, "occurred_at", where))
    if happened is None:
        raise Malformed(f"{where}.occurred_at: not an ISO 8601 time")
    if happened > dt.datetime.fromtimestamp(now + MAX_SKEW, dt.UTC).isoformat(timespec="seconds"):  # both UTC, to the second
        raise Malformed(f"{where}.occurred_at: in the future")  # it would outrank every later change of the reader's
    return happened


class GenericReceiver:
    """Posts signed with NEWSLETTER_WEBHOOK_SECRET by the Standard Webhooks scheme."""

    name = "generic"

    def __init__(self, key: bytes) -> None:
        from standardwebhooks.webhooks import Webhook

        self.webhook = Webhook(key)

    def receive(self, headers: Headers, body: bytes) -> EventBatch:
        from standardwebhooks.webhooks import WebhookVerificationError

        try:
            # Checks the three headers, the HMAC and that the timestamp is within five minutes.
            self.webhook.verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError as exc:
            raise Forged(f"no valid Standard Webhooks signature: {exc}") from None
        return read_events(body, time.time())


def receiver(config: Config) -> GenericReceiver:  # noqa: ARG001 (every receiver is made from the settings)
    """The receiver for the secret in NEWSLETTER_WEBHOOK_SECRET. Raises ConfigError without a usable one."""
    variable = credentials.NEWSLETTER_WEBHOOK_SECRET
    secret = credentials.webhook_secret(variable)
    if not secret:
        raise ConfigError(f"{variable} is not set; every post to /webhooks/generic is refused (make one with {MAKE_ONE})")
    try:
        return GenericReceiver(signing_key(secret))
    except ValueError as exc:
        raise ConfigError(f"{variable} {exc}, not a Standard Webhooks secret (whsec_<base64>); every post to /webhooks/generic is refused (make one with {MAKE_ONE})") from None
