"""What every provider does: take a batch of recipients for one rendered issue and say what happened.

Providers know nothing about the ledger (DESIGN.md): they answer with an Outcome per address, and
the send loop (newsletter.sending) turns outcomes into ledger states.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from enum import StrEnum
from typing import NamedTuple, Protocol

from .. import tokens
from ..config import Config
from ..errors import NewsletterError
from ..message import compose, list_headers
from ..models import Email
from ..tokens import personalize

TEST_MARK = "[TEST] "


@dataclass(frozen=True)
class Letter:
    """One recipient's copy: who, and the values for the per-recipient tokens."""

    email: str
    name: str | None
    unsubscribe_url: str

    @property
    def values(self) -> dict[str, str]:
        """Token values for plain text: the subject, the text part and headers."""
        return {tokens.UNSUBSCRIBE_URL: self.unsubscribe_url, tokens.NAME: self.name or ""}

    @property
    def html_values(self) -> dict[str, str]:
        """The same values escaped for the HTML part, so a name like `<b>Bo</b> & Co` is shown, not obeyed."""
        return {token: html.escape(value) for token, value in self.values.items()}


@dataclass(frozen=True)
class Batch:
    issue: str  # the ledger's key for the issue (its number)
    send_id: str
    email: Email
    letters: list[Letter]
    test: bool = False  # a --test copy: not recorded anywhere

    @property
    def subject(self) -> str:
        return TEST_MARK + self.email.subject if self.test else self.email.subject


class Outcome(StrEnum):
    """What a provider can say about one recipient: a closed set, never free text."""

    ACCEPTED = "accepted"  # the provider took the message
    REJECTED = "rejected"  # definitely refused (detail says why); retrying would not help
    DEFERRED = "deferred"  # refused for now (e.g. SMTP 4xx): nothing was accepted, try again later
    UNKNOWN = "unknown"  # the connection broke while handing it over: maybe delivered


class RecipientStatus(NamedTuple):
    outcome: Outcome
    detail: str | None = None


@dataclass
class SendResult:
    """Per-address outcome of one batch. Addresses left out were not attempted (try again later)."""

    statuses: dict[str, RecipientStatus] = field(default_factory=dict)
    message_id: str | None = None


class RetryLater(Exception):
    """Nothing in the batch was accepted (429, 5xx, connection refused): try again after a pause."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Ambiguous(Exception):
    """The request left but no answer came back (timeout, dropped connection): maybe delivered."""


class ProviderError(NewsletterError):
    """The provider refuses us as configured (bad key, no permission, a request it will never take).

    Raised only when nothing of the batch was accepted. Deliberately outside the RetryLater/Ambiguous
    family, so the send loop can never swallow it.
    """


class Provider(Protocol):
    name: str
    max_batch: int  # rows claimed at a time; a crash leaves at most this many `unknown`

    def send(self, batch: Batch) -> SendResult:
        """Hand the batch over. Raise RetryLater or ProviderError only if nothing was accepted."""
        ...

    def close(self) -> None: ...


def mime_message(config: Config, batch: Batch, letter: Letter) -> EmailMessage:
    """The complete message for one letter (outbox and SMTP): tokens filled, one-click unsubscribe headers.

    Raises ValueError when a value cannot go into a header (a line break in a name)."""
    values = letter.values
    # Fill the HTML part with escaped values first; compose() then fills the text part with plain ones.
    email = batch.email.model_copy(update={"html": personalize(batch.email.html, letter.html_values)})
    return compose(
        email,
        config,
        to=formataddr((letter.name, letter.email)) if letter.name else letter.email,
        values=values,
        headers=list_headers(config, letter.unsubscribe_url),
        subject=personalize(batch.subject, values),
    )


def one_by_one(batch: Batch, deliver) -> SendResult:
    """Deliver each letter in turn with `deliver(letter) -> RecipientStatus` (outbox and SMTP).

    A failure that proves nothing was taken (RetryLater, ProviderError) is raised as is when it
    happens on the first letter, so the whole batch is retried or the run stops. Later in the
    batch it ends the batch instead: the letters already delivered keep their outcome and the
    rest are left out (not attempted), so nobody is sent twice and nobody is lost.
    """
    result = SendResult()
    for index, letter in enumerate(batch.letters):
        try:
            status = deliver(letter)
        except (RetryLater, ProviderError):
            if index == 0:
                raise
            return result
        result.statuses[letter.email] = status
        if status.outcome == Outcome.UNKNOWN:
            return result  # the connection is gone; the rest waits for the next batch
    return result
