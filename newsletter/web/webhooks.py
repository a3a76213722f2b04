"""SendGrid's Event Webhook: signed batches of delivery events, stored once each, that move
subscribers to bounced, complained or unsubscribed."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

from flask import Blueprint, abort, current_app, request
from flask.typing import ResponseReturnValue

from ..db import Event
from ..models import CONTROL_CHARACTER, Status
from ..models.addresses import normalize
from ..workspace import credentials
from .site import site

webhooks = Blueprint("webhooks", __name__)

PUBLIC_KEY = credentials.SENDGRID_WEBHOOK_PUBLIC_KEY
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_SKEW = 300  # seconds: an older (or future) timestamp is a replay
STAMP = re.compile(r"[0-9]{1,12}")
MAX_BODY = 5_000_000  # SendGrid posts batches of up to a few thousand events
MAX_ADDRESS_CHARS = 1_000  # far above any address (254 at most), so the validator never reads a megabyte

STATUS_OF = {"spamreport": Status.COMPLAINED, "unsubscribe": Status.UNSUBSCRIBED, "group_unsubscribe": Status.UNSUBSCRIBED}
# dropped: SendGrid refused to send; these reasons mean the address itself is the problem.
DROPPED_STATUS = {"Bounced Address": Status.BOUNCED, "Invalid": Status.BOUNCED, "Spam Reporting Address": Status.COMPLAINED, "Unsubscribed Address": Status.UNSUBSCRIBED}


def verifier() -> Any:
    """sendgrid's EventWebhook for the key in SENDGRID_WEBHOOK_PUBLIC_KEY (as SendGrid shows it)."""
    cached = current_app.extensions.get("sendgrid-webhook")
    if cached is None:
        from sendgrid.helpers.eventwebhook import EventWebhook

        key = credentials.sendgrid_webhook_public_key()
        try:
            cached = EventWebhook(key) if key else False
        except (ValueError, TypeError):
            current_app.logger.error("%s is not a public key in the form SendGrid shows it; every webhook call is refused", PUBLIC_KEY)
            cached = False
        current_app.extensions["sendgrid-webhook"] = cached
    return cached


@webhooks.post("/webhooks/sendgrid")
def sendgrid_events() -> ResponseReturnValue:
    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    body = request.get_data(cache=False)
    if not _signed(body):
        abort(403)
    try:
        events = json.loads(body)
    except ValueError:
        abort(400)
    if not isinstance(events, list):
        abort(400)
    pairs = [(item, to_event(item)) for item in events if isinstance(item, dict)]
    mapped = [event for _, event in pairs if event]
    # Stored all the same (SendGrid would retry a refused batch for a day), but they move nobody.
    unusable = sum(1 for item, event in pairs if event and event.email is None and _named(item))
    if unusable:
        current_app.logger.warning("SendGrid webhook: %d event(s) name no usable email address; stored, applied to nobody", unusable)
    site().run(lambda db: db.events.record(mapped, "sendgrid"))
    return "", 204


def _signed(body: bytes) -> bool:
    """The signature checks out over timestamp + raw body, and the timestamp is recent."""
    check = verifier()
    signature, stamp = request.headers.get(SIGNATURE, ""), request.headers.get(TIMESTAMP, "")
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
    if not check or not signature or not STAMP.fullmatch(stamp) or abs(time.time() - int(stamp)) > MAX_SKEW:
        return False
    try:
        return bool(check.verify_signature(body.decode("utf-8"), signature, stamp))
    except (ValueError, TypeError, UnicodeDecodeError):  # a signature that is not base64 DER
        return False


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
