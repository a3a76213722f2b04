"""Fan-out, claim, send, settle: what `newsletter webhooks deliver` and the web app's background
sender both do.

1. Fan-out, in one transaction: the outbox's events not yet handed to "webhooks" become one
   pending delivery per (event, receiver that wants its type), and are marked handed.
2. Claim a batch of due deliveries, committed before any network call (db/webhooks.py).
3. POST each, signed; settle it: delivered (2xx), or tried again later (schedule.py), or given up
   after 3 days. A run that dies mid-request leaves its rows claimed; once their lease passes,
   another run sends them again, under the same webhook-id."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from ..workspace.credentials import outgoing_webhook_secret
from .client import Answer, Client
from .schedule import next_attempt
from .signing import Signer, body

if TYPE_CHECKING:
    from ..db import Database
    from ..db.webhooks import DueDelivery
    from ..workspace.config import WebhookSettings

CONSUMER: Final = "webhooks"  # the outbox's name for us
FAN_OUT_BATCH = 500  # events handed per transaction
CLAIM_BATCH = 16  # deliveries claimed at a time: 16 x 10 s at worst, well inside the lease
LEASE = dt.timedelta(minutes=5)  # a claim older than this belongs to a run that died
GONE = 410  # the receiver's answer that it is no more: given up at once

Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Receiver:
    """One configured webhook, its secret loaded."""

    settings: WebhookSettings
    signer: Signer

    @property
    def name(self) -> str:
        return self.settings.label


@dataclass(frozen=True)
class Attempted:
    """One attempt's result, for the command to print."""

    type: str
    event_id: str
    webhook: str
    attempt: int
    outcome: str  # delivered | retrying | given up | taken over (another run claimed it again meanwhile)
    answer: Answer
    next_attempt_at: dt.datetime | None = None


@dataclass
class Pass:
    """What one pass did."""

    fanned_out: int = 0
    attempts: list[Attempted] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(attempt.outcome for attempt in self.attempts)


def receivers(hooks: Sequence[WebhookSettings]) -> list[Receiver]:
    """Every [[webhooks]] receiver with its secret, or a ConfigError naming the first variable
    that is missing or invalid (never its value)."""
    return [
        Receiver(hook, Signer(outgoing_webhook_secret(hook.secret_env, f"[[webhooks]] {hook.label}: secret_env")))
        for hook in hooks
    ]


class Deliverer:
    """Delivers to `receivers`. `clock` says when "now" is for fan-out, due times and back-off
    (tests move it); the webhook-timestamp header is always the real time of sending, as
    receivers check it against their own clock."""

    def __init__(self, receivers: Sequence[Receiver], clock: Clock = wall_clock, client: Client | None = None) -> None:
        self.receivers = {receiver.name: receiver for receiver in receivers}
        self.clock = clock
        self.client = client or Client()

    def fan_out(self, db: Database) -> int:
        """Hand the outbox's new events to the receivers that want them; how many deliveries that made."""
        made = 0
        while True:
            with db.transaction():
                events = db.event_outbox.take(CONSUMER, FAN_OUT_BATCH)
                if not events:
                    return made
                rows = [(event.event_id, event.type, name) for event in events for name, receiver in self.receivers.items() if receiver.settings.wants(event.type)]
                made += db.webhook_deliveries.add(rows, self.clock())
                db.event_outbox.handed(CONSUMER, [event.id for event in events])
            if len(events) < FAN_OUT_BATCH:
                return made

    def deliver_batch(self, db: Database) -> list[Attempted]:
        """Claim up to CLAIM_BATCH due deliveries, send and settle each; [] when none was due."""
        claim = uuid.uuid4().hex
        due = db.webhook_deliveries.claim(list(self.receivers), claim, self.clock(), LEASE, CLAIM_BATCH)
        return [self._send(db, delivery) for delivery in due]

    def run_pass(self, db: Database, once: bool = False) -> Pass:
        """Fan out, then deliver what is due now (with `once`, one batch at most)."""
        done = Pass(fanned_out=self.fan_out(db))
        while batch := self.deliver_batch(db):
            done.attempts += batch
            if once:
                break
        return done

    def _send(self, db: Database, delivery: DueDelivery) -> Attempted:
        receiver = self.receivers[delivery.webhook]
        payload = body(delivery.type, delivery.occurred_at, delivery.data)
        headers = receiver.signer.headers(delivery.event_id, wall_clock(), payload)
        answer = self.client.post(receiver.settings.url, payload, headers)
        now = self.clock()
        # 410 Gone: the receiver says this endpoint is no more (Standard Webhooks): no retry.
        later = None if answer.ok or answer.status == GONE else next_attempt(delivery.attempt, delivery.created_at, now)
        outcome = "delivered" if answer.ok else "retrying" if later else "given up"
        settled = db.webhook_deliveries.settle(delivery, now, outcome, later, answer.status, answer.error, answer.words or None)
        return Attempted(delivery.type, delivery.event_id, delivery.webhook, delivery.attempt, outcome if settled else "taken over", answer, later)

    def next_due(self, db: Database) -> dt.datetime | None:
        return db.webhook_deliveries.next_due(list(self.receivers))

    def close(self) -> None:
        self.client.close()




def warn_clear_text(hooks: Sequence[WebhookSettings]) -> None:
    """A warning per receiver reached over plain http (allowed only on this machine)."""
    from ..errors import warn

    for hook in hooks:
        if hook.url.startswith("http://"):
            warn(f"[[webhooks]] {hook.label}: {hook.url} is plain http: allowed because it is on this machine; use https:// for any other receiver")


def mask_known_secrets(hooks: Sequence[WebhookSettings]) -> None:
    """Have mask_secrets hide every receiver's secret that is set, for commands that print what
    receivers said without sending anything (`webhooks log`)."""
    from ..errors import ConfigError

    for hook in hooks:
        try:
            outgoing_webhook_secret(hook.secret_env, hook.label)
        except ConfigError:
            pass  # not set or not valid here: nothing to hide
