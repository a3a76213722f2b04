"""What every provider's events become: our Event (db.Event), in one vocabulary, so that the events
table, `status` and `report` read the same words whichever provider posted them.

Each provider that posts events has an events.py with a `receiver(config)` (named in REGISTRY) that
checks a post by the provider's own scheme and reads it into Events. The web app's route
(web/webhooks.py) only reads the body, calls the receiver and answers.

The words (the `event` column), and what each does to the subscriber (Event's fields):
- DELIVERED: the receiving server took it; ends a run of soft bounces (`delivered=True`)
- BOUNCE: detail starts "hard: " (status BOUNCED) or "soft: " (`soft_bounce=True`, counted)
- DEFERRED: delayed, still being tried; changes nothing
- DROPPED: the provider would not send to the address (status as its reason says, if any)
- COMPLAINT ("spamreport"): status COMPLAINED
- UNSUBSCRIBE: status UNSUBSCRIBED (the provider's own unsubscribe link or list)
- CLICK: detail is the URL; OPEN: detail "machine" for a machine open (Apple's proxy)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..db import Event
from ..models import CONTROL_CHARACTER
from ..models.addresses import normalize

DELIVERED, BOUNCE, DEFERRED, DROPPED, COMPLAINT, UNSUBSCRIBE, CLICK, OPEN = (
    "delivered", "bounce", "deferred", "dropped", "spamreport", "unsubscribe", "click", "open",
)
MAX_ADDRESS_CHARS = 1_000  # far above any address (254 at most), so the validator never reads a megabyte
MAX_SKEW = 300  # seconds: a signed timestamp older (or further ahead) than this is a replay


class Forged(Exception):
    """The post does not prove it comes from the provider (no or a wrong signature, a stale
    timestamp, a certificate from elsewhere): answered 403, nothing stored."""


class Unavailable(Exception):
    """The post could not be checked for a reason on our side or the network's (the signing
    certificate could not be fetched): answered 503, so the provider posts it again later."""


class Unreadable(ValueError):
    """A post that proves its origin but whose body is not the provider's format: answered 400."""


@dataclass(frozen=True)
class EventBatch:
    """One post's events, and how many of them name an address that is not usable (stored all the
    same, since the provider would retry a refused post, but they move nobody). `note`: something
    the web app should log (e.g. an SNS subscription confirmed)."""

    events: list[Event]
    unusable: int = 0
    note: str | None = None


Headers = Mapping[str, str]  # a post's headers, every name in lower case


class Receiver(Protocol):
    """Reads one provider's event posts. Made once per web app, with its secret from the environment."""

    name: str

    def receive(self, headers: Headers, body: bytes) -> EventBatch:
        """The post's events. Raises Forged (403), Unreadable (400) or Unavailable (503); changes nothing itself."""
        ...


def bounce_detail(hard: bool, reason: str | None) -> str:
    """The detail of a BOUNCE event: the report tells hard and soft apart by its first word."""
    return f"{'hard' if hard else 'soft'}: {reason or ''}"[:500]


def address(value: Any) -> str | None:
    """The address as the list stores it: providers write an IDN domain in its ASCII form
    (`hana@xn--r8jz45g.jp`), the list in Unicode (`hana@例え.jp`). None when absent or unusable."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ADDRESS_CHARS:
        return None
    try:
        return normalize(value)
    except ValueError:
        return None


def named(value: Any) -> bool:
    """The event names some address (usable or not): an unusable one is counted."""
    return isinstance(value, str) and bool(value.strip())


def text(value: Any, limit: int = 100) -> str | None:
    """A short id or value from the provider (an issue key, a send id), cleaned; None if not text."""
    return clean(str(value)[:limit]) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def clean(value: str) -> str:
    """The text with each control character replaced, line breaks and tabs by a space, the others
    by U+FFFD: PostgreSQL refuses NUL in a text column (one such event lost its whole batch, with a
    500 that the provider retried for a day), and none belongs in an id, a reason or a URL."""
    return CONTROL_CHARACTER.sub(lambda found: " " if found.group(0) in "\t\n\r" else "\ufffd", value)


def from_epoch(value: Any) -> str | None:
    """An event time in seconds since 1970 (SendGrid, Mailgun), as the events table stores it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 4e9:
        return dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="seconds")
    return None


def from_iso(value: Any) -> str | None:
    """An ISO 8601 event time (SES, Postmark, Resend), in UTC as the events table stores it."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return from_epoch(when.timestamp())
