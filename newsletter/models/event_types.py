"""The names of the events the tool records (db/event_outbox.py) and sends to webhooks: vocabulary
the settings check `[[webhooks]] events` against, so it lives here, where settings may import it."""

from __future__ import annotations

SUBSCRIBER_CREATED = "subscriber.created"
SUBSCRIBER_CONFIRMED = "subscriber.confirmed"
SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed"
SUBSCRIBER_BOUNCED = "subscriber.bounced"
SUBSCRIBER_COMPLAINED = "subscriber.complained"
SUBSCRIBER_TAGGED = "subscriber.tagged"
SUBSCRIBER_ERASED = "subscriber.erased"
ISSUE_SCHEDULED = "issue.scheduled"
ISSUE_SENT = "issue.sent"
ISSUE_CANCELLED = "issue.cancelled"

EVENT_TYPES: tuple[str, ...] = (
    SUBSCRIBER_CREATED,
    SUBSCRIBER_CONFIRMED,
    SUBSCRIBER_UNSUBSCRIBED,
    SUBSCRIBER_BOUNCED,
    SUBSCRIBER_COMPLAINED,
    SUBSCRIBER_TAGGED,
    SUBSCRIBER_ERASED,
    ISSUE_SCHEDULED,
    ISSUE_SENT,
    ISSUE_CANCELLED,
)
ALL_EVENTS = "*"
