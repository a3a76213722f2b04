"""Resend's webhook: each post is one event, signed the Svix way (headers svix-id, svix-timestamp,
svix-signature; HMAC-SHA256 over "id.timestamp.body" with the whsec_ secret), read into our Events.

The signature is checked by the `standardwebhooks` library, which is Svix's scheme under the
Standard Webhooks names (webhook-id, -timestamp, -signature): the headers are renamed, nothing else.
It refuses a timestamp more than 5 minutes away from now. The svix-id is the event's id: unique per
message, and the same when Resend retries or replays it, so a repeated post is stored once.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from ...db import Event
from ...errors import ConfigError
from ...models import Status
from ...workspace import credentials
from ...workspace.config import Config
from ..events import BOUNCE, CLICK, COMPLAINT, DEFERRED, DELIVERED, DROPPED, OPEN, EventBatch, Forged, Headers, Unreadable, address, bounce_detail, clean, from_iso, named, text

SVIX_HEADERS = {"svix-id": "webhook-id", "svix-timestamp": "webhook-timestamp", "svix-signature": "webhook-signature"}
KINDS = {
    "email.delivered": DELIVERED,
    "email.bounced": BOUNCE,
    "email.complained": COMPLAINT,
    "email.delivery_delayed": DEFERRED,
    "email.suppressed": DROPPED,
    "email.failed": DROPPED,
    "email.opened": OPEN,
    "email.clicked": CLICK,
}  # the others (email.sent, email.scheduled, contact.*, domain.* ...) move nobody: not stored
SUPPRESSED_STATUS = {"previous_bounce": Status.BOUNCED, "previous_complaint": Status.COMPLAINED}


class ResendReceiver:
    """Resend's posts, signed with the endpoint's secret (RESEND_WEBHOOK_SECRET)."""

    name = "resend"

    def __init__(self, webhook: Any) -> None:
        self.webhook = webhook

    def receive(self, headers: Headers, body: bytes) -> EventBatch:
        from standardwebhooks.webhooks import WebhookVerificationError

        renamed = {ours: headers.get(theirs, "") for theirs, ours in SVIX_HEADERS.items()}
        try:
            self.webhook.verify(body, renamed, json_parse=False)
        except (WebhookVerificationError, ValueError, TypeError):
            raise Forged("no valid Resend (Svix) signature") from None
        try:
            item = json.loads(body)
        except ValueError:
            raise Unreadable("the body is not JSON") from None
        if not isinstance(item, dict):
            raise Unreadable("the body is not an event object")
        return read_event(renamed["webhook-id"], item)


def read_event(event_id: str, item: dict[str, Any]) -> EventBatch:
    """The Events of one of Resend's events: one per address in data.to (ours name one reader each)."""
    kind = KINDS.get(str(item.get("type")))
    data = item.get("data")
    if kind is None or not isinstance(data, dict):
        return EventBatch([])
    to = data.get("to")
    recipients: list[Any] = to if isinstance(to, list) else [to]
    tags = _tags(data.get("tags"))
    events = []
    for number, recipient in enumerate(recipients):
        # One post, one svix-id: a second recipient's event needs an id of its own, the same on a replay.
        own_id = event_id if number == 0 else f"{event_id}:{number}"
        events.append(_event(own_id[:200], kind, recipient, data, tags, item.get("created_at")))
    unusable = sum(event.email is None and named(recipient) for event, recipient in zip(events, recipients, strict=True))
    return EventBatch(events, unusable)


def _event(event_id: str, kind: str, recipient: Any, data: dict[str, Any], tags: dict[str, Any], created_at: Any) -> Event:
    status, soft, detail = None, False, None
    if kind == BOUNCE:
        bounce = _object(data.get("bounce"))
        hard = bounce.get("type") == "Permanent"  # Transient and Undetermined may pass: soft
        status, soft = (Status.BOUNCED, False) if hard else (None, True)
        detail = bounce_detail(hard, _words(bounce.get("message")) or _words(bounce.get("subType")))
    elif kind == COMPLAINT:
        status = Status.COMPLAINED
    elif kind == DROPPED:
        suppressed, failed = _object(data.get("suppressed")), _object(data.get("failed"))
        status = SUPPRESSED_STATUS.get(str(suppressed.get("reason")))
        detail = _words(suppressed.get("reason")) or _words(failed.get("reason"))
    elif kind == CLICK:  # the report counts clicks per link
        link = _object(data.get("click")).get("link")
        detail = link[:2000] if isinstance(link, str) and link else None
    return Event(
        event_id=clean(event_id), event=kind, email=address(recipient), issue=text(tags.get("issue")), send_id=text(tags.get("send_id")),
        happened_at=from_iso(created_at) or from_iso(data.get("created_at")), detail=clean(detail) if detail else None,
        status=status, soft_bounce=soft, delivered=kind == DELIVERED,
    )


def _tags(value: Any) -> dict[str, Any]:
    """data.tags: an object of name -> value (a list of {name, value} read as well)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(tag.get("name")): tag.get("value") for tag in value if isinstance(tag, dict)}
    return {}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _words(value: Any) -> str | None:
    return value[:500] if isinstance(value, str) and value else None


def receiver(config: Config) -> ResendReceiver:  # noqa: ARG001 (every provider's receiver is made from the settings)
    """The receiver for the secret in RESEND_WEBHOOK_SECRET. Raises ConfigError without a usable one."""
    from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

    secret = credentials.webhook_secret(credentials.RESEND_WEBHOOK_SECRET)
    if not secret:
        raise ConfigError(f"{credentials.RESEND_WEBHOOK_SECRET} is not set; every Resend event post is refused")
    try:
        return ResendReceiver(Webhook(secret))
    except (binascii.Error, EmptyWebhookSecretError) as exc:  # not base64, or nothing after whsec_
        raise ConfigError(f"{credentials.RESEND_WEBHOOK_SECRET} is not a signing secret in the form Resend shows it (whsec_...): {type(exc).__name__}") from None
