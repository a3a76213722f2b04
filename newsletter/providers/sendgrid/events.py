"""SendGrid's Event Webhook: checking a batch's signature, and reading its delivery events into
our Event (what each one does to the subscriber). The web app's route only reads the body,
calls these and answers."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from ...db import Event
from ...errors import ConfigError
from ...models import Status
from ...workspace import credentials
from ...workspace.config import Config
from ..events import MAX_SKEW, EventBatch, Forged, Headers, Unreadable, address, clean, from_epoch, named, text

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"  # the headers SendGrid signs a batch with
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
STAMP = re.compile(r"[0-9]{1,12}")

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
    email = address(item.get("email"))
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
        event_id=clean(event_id[:200]), event=clean(kind[:50]), email=email, issue=text(item.get("issue")), send_id=text(item.get("send_id")),
        happened_at=from_epoch(item.get("timestamp")), detail=clean(reason) if reason else None, status=status, soft_bounce=soft, delivered=kind == "delivered",
    )


def _named(item: dict[str, Any]) -> bool:
    return named(item.get("email"))


class SendGridReceiver:
    """The Event Webhook's posts: signed with SendGrid's key (SENDGRID_WEBHOOK_PUBLIC_KEY)."""

    name = "sendgrid"

    def __init__(self, checker: Any) -> None:
        self.checker = checker

    def receive(self, headers: Headers, body: bytes) -> EventBatch:
        if not signed(self.checker, body, headers.get(SIGNATURE.lower(), ""), headers.get(TIMESTAMP.lower(), "")):
            raise Forged("no valid SendGrid signature")
        try:
            return read_events(body)
        except ValueError as exc:
            raise Unreadable(str(exc)) from None


def receiver(config: Config) -> SendGridReceiver:  # noqa: ARG001 (every provider's receiver is made from the settings)
    """The receiver for the key in SENDGRID_WEBHOOK_PUBLIC_KEY. Raises ConfigError without a usable key."""
    key = credentials.sendgrid_webhook_public_key()
    if not key:
        raise ConfigError(f"{credentials.SENDGRID_WEBHOOK_PUBLIC_KEY} is not set; every SendGrid event post is refused")
    try:
        return SendGridReceiver(signature_checker(key))
    except ValueError:
        raise ConfigError(f"{credentials.SENDGRID_WEBHOOK_PUBLIC_KEY} is not a public key in the form SendGrid shows it; every SendGrid event post is refused") from None
