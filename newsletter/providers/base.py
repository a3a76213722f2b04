"""What every provider does: take a batch of recipients for one rendered issue and say what happened.

Providers know nothing about the ledger (DESIGN.md); the send loop turns their answers into states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Protocol

from .. import tokens
from ..config import Config
from ..errors import NewsletterError
from ..message import compose, list_headers
from ..models import Email
from ..store import Recipient, State
from ..tokens import personalize


@dataclass(frozen=True)
class Letter:
    """One recipient's copy: who, and the values for the per-recipient tokens."""

    recipient: Recipient
    unsubscribe_url: str

    @property
    def values(self) -> dict[str, str]:
        return {tokens.UNSUBSCRIBE_URL: self.unsubscribe_url, tokens.NAME: self.recipient.name or ""}


@dataclass(frozen=True)
class Batch:
    issue: str  # the ledger's key for the issue (its number)
    send_id: str
    email: Email
    letters: list[Letter]
    test: bool = False  # a --test copy: not recorded anywhere


@dataclass
class BatchResult:
    """Per-address outcome: SENT, FAILED (definite, with the provider's words) or PENDING (try again)."""

    states: dict[str, tuple[State, str | None]] = field(default_factory=dict)
    message_id: str | None = None


class RetryLater(Exception):
    """Nothing in the batch was accepted (429, 5xx, connection refused): try again after a pause."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Ambiguous(Exception):
    """The request left but no answer came back (timeout, dropped connection): maybe delivered."""


class ProviderSetupError(NewsletterError):
    """The provider refuses us as configured (bad key, no permission, unreachable host name).

    Deliberately outside the RetryLater/Ambiguous family, so the send loop can never swallow it.
    """


class Provider(Protocol):
    name: str
    max_batch: int

    def send(self, batch: Batch) -> BatchResult: ...

    def close(self) -> None: ...


def mime_message(config: Config, batch: Batch, letter: Letter):
    """The complete message for one letter (outbox and SMTP): tokens filled, one-click unsubscribe headers."""
    values = letter.values
    subject = personalize(batch.email.subject, values)
    if batch.test:
        subject = f"[TEST] {subject}"
    name = letter.recipient.name
    return compose(
        batch.email,
        config,
        to=formataddr((name, letter.recipient.email)) if name else letter.recipient.email,
        values=values,
        headers=list_headers(config, letter.unsubscribe_url),
        subject=subject,
    )
