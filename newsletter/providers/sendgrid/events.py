"""SendGrid's Event Webhook: checking a batch's signature, and reading its delivery events into
our Event (what each one does to the subscriber). The web app's route only reads the body,
calls these and answers."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from ...db import Event
from ...models import CONTROL_CHARACTER, Status
from ...models.addresses import normalize

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"  # the headers SendGrid signs a batch with
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_SKEW = 300  # seconds: an older (or future) timestamp is a replay
STAMP = re.compile(r"[0-9]{1,12}")
MAX_ADDRESS_CHARS = 1_000  # far above any address (254 at most), so the validator never reads a megabyte

STATUS_OF = {"spamreport": Status.COMPLAINED, "unsubscribe": Status.UNSUBSCRIBED, "group_unsubscribe": Status.UNSUBSCRIBED}
# dropped: SendGrid refused to send; these reasons mean the address itself is the problem.
DROPPED_STATUS = {"Bounced Address": Status.BOUNCED, "Invalid": Status.BOUNCED, "Spam Reporting Address": Status.COMPLAINED, "Unsubscribed Address": Status.UNSUBSCRIBED}


def signature_checker(public_key: str | None) -> Any:
    """sendgrid's EventWebhook for `public_key` (as SendGrid shows it), or None without a key.
    Raises ValueError when the key is not a public key in that form."""
    if not public_key:
        return None
    from sendgrid.helpers.eventwebhook import EventWebhook

    try:
        return EventWebhook(public_key)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a public key in the form SendGrid shows it: {exc}") from None


def signed(checker: Any, body: bytes, signature: str, stamp: str) -> bool:
    """The signature checks out over timestamp + raw body, and the timestamp is recent."""
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
    if not checker or not signature or not STAMP.fullmatch(stamp) or abs(time.time() - int(stamp)) > MAX_SKEW:
        return False
    try:
        return bool(checker.verify_signature(body.decode("utf-8"), signature, stamp))
    except (ValueError, TypeError, UnicodeDecodeError):  # a signature that is not base64 DER
        return False


@dataclass(frozen=True)
class EventBatch:
    """One webhook call's events, and how many of them name an address that is not usable (stored
    all the same, since SendGrid would retry a refused batch for a day, but they move nobody)."""

    events: list[Event]
    unusable: int


def read_events(body: bytes) -> EventBatch:
    """The events in a webhook call's body (a JSON list of objects); entries that are no event of
    SendGrid's are left out. Raises ValueError when the body is not a JSON list."""
    items = json.loads(body)
    if not isinstance(items, list):
        raise ValueError("the body is not a list of events")
    pairs = [(item, to_event(item)) for item in items if isinstance(item, dict)]
    unusable = sum(1 for item, event in pairs if event and event.email is None and _named(item))
    return EventBatch([event for _, event in pairs if event], unusable)


def to_event(item: dict[str, Any]) -> Event | None:
    """One of SendGrid's events, mapped to what it does to the subscriber."""
    event_id, kind = item.get("sg_event_id"), item.get("event")
    if not isinstance(event_id, str) or not isinstance(kind, str) or not event_id:
        return None
    email = _address(item.get("email"))
    reason = str(item.get("reason") or item.get("response") or "")[:500] or None
    status, soft = STATUS_OF.get(kind), False
    if kind == "bounce":
        soft = item.get("type") == "blocked"  # SendGrid's "blocked": a temporary refusal
        status = None if soft else Status.BOUNCED
        reason = f"{'soft' if soft else 'hard'}: {reason or ''}"[:500]  # the report tells the two apart
    elif kind == "dropped":
        status = DROPPED_STATUS.get(str(item.get("reason", "")))
    elif kind == "click":  # the report counts clicks per link
        url = item.get("url")
        reason = url[:2000] if isinstance(url, str) and url else None
    elif kind == "open":  # Apple Mail Privacy Protection fetches every image: not a reader
        reason = "machine" if item.get("sg_machine_open") is True or item.get("sg_machine_open") == "true" else None
    return Event(
        event_id=_clean(event_id[:200]), event=_clean(kind[:50]), email=email, issue=_text(item.get("issue")), send_id=_text(item.get("send_id")),
        happened_at=_when(item.get("timestamp")), detail=_clean(reason) if reason else None, status=status, soft_bounce=soft, delivered=kind == "delivered",
    )


def _named(item: dict[str, Any]) -> bool:
    email = item.get("email")
    return isinstance(email, str) and bool(email.strip())


def _address(value: Any) -> str | None:
    """The address as the list stores it: SendGrid writes an IDN domain in its ASCII form
    (`hana@xn--r8jz45g.jp`), the list in Unicode (`hana@例え.jp`). None when absent or unusable."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ADDRESS_CHARS:
        return None
    try:
        return normalize(value)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return _clean(str(value)[:100]) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _clean(text: str) -> str:
    """The text with each control character replaced, line breaks and tabs by a space, the others
    by U+FFFD: PostgreSQL refuses NUL in a text column (one such event lost its whole batch, with a
    500 that SendGrid retried for a day), and none belongs in an id, a reason or a URL."""
    return CONTROL_CHARACTER.sub(lambda found: " " if found.group(0) in "\t\n\r" else "\ufffd", text)


def _when(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 4e9:
        return dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="seconds")
    return None
