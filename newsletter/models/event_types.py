"""The names of the events the tool records (db/event_outbox.py) and sends to webhooks: vocabulary
the settings check `[[webhooks]] events` against, so it lives here, where settings may import it."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "subscriber.created",
    "subscriber.confirmed",
    "subscriber.unsubscribed",
    "subscriber.bounced",
    "subscriber.complained",
    "subscriber.tagged",
    "subscriber.erased",
    "issue.scheduled",
    "issue.sent",
    "issue.cancelled",
)
ALL_EVENTS = "*"
