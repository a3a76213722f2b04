"""A subscriber's story: everything the list holds about one reader, in one place. The editor reads it
with `newsletter subscribers show`; the web app offers it to the reader as "download my data"."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NotASubscriber

if TYPE_CHECKING:
    from ..db import Change, Consent, Database, NoticeSent, ProviderEvent, Received


@dataclass(frozen=True)
class SubscriberStory:
    email: str
    name: str | None
    status: str
    created_at: str | None
    status_changed_at: str | None
    tags: list[str]
    topics: dict[str, bool] | None  # None: the workspace has no [topics]
    attributes: dict[str, Any]
    consent: Consent | None
    history: list[Change]  # each status change with its channel, oldest first
    issues: list[Received]  # each issue in the send ledger, with its state
    events: list[ProviderEvent]  # what the provider reported (delivered, opened, bounced...)
    notices: list[NoticeSent]  # the confirmation and welcome emails sent

    def as_json(self) -> dict[str, Any]:
        """The story as plain JSON values (keys in a stable order); `topics` only when the workspace has topics."""
        found = dataclasses.asdict(self)
        if self.topics is None:
            del found["topics"]
        return found


def subscriber_story(db: Database, email: str, topic_defaults: Mapping[str, bool]) -> SubscriberStory:
    """The story of `email`, a subscriber (NotASubscriber otherwise). `topic_defaults` is the
    workspace's topics with their defaults (Config.topic_defaults); empty: no topics shown."""
    subscriber = db.subscribers.get(email)
    if subscriber is None:
        raise NotASubscriber(f"{email} is not a subscriber")
    records = db.records
    return SubscriberStory(
        email=subscriber.email,
        name=subscriber.name,
        status=str(subscriber.status),
        created_at=subscriber.created_at,
        status_changed_at=records.status_changed_at(email),
        tags=db.audience.tags(email),
        topics=db.audience.topics(email, topic_defaults) if topic_defaults else None,
        attributes=dict(subscriber.attributes or {}),
        consent=db.audience.consent(email),
        history=records.history(email),
        issues=records.deliveries(email),
        events=records.events(email),
        notices=records.notices(email),
    )
