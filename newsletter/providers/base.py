"""What every provider does: take a batch of letters for one rendered issue and say, letter by
letter, what happened. Providers know nothing about the ledger (docs/architecture.md): they report an Outcome
per address, and the send loop (newsletter.sending) turns outcomes into ledger states.

The contract of `send(batch, report)`:
- `report(address, status)` is called once for each letter whose outcome the provider knows, as
  soon as it knows it. A letter that was not reported was not attempted, unless `send` raised
  Ambiguous (or anything unexpected), which means it may have left.
- RetryLater: the unreported letters were not taken; try them again after a pause.
- ProviderRefused: the unreported letters were not taken, and trying again will not help until
  the editor changes something (a key, a full disk); the run stops with the provider's words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from ..errors import NewsletterError
from ..mail.message import MessageTemplate, feedback_id
from ..models import Email, Letter, Outcome, RecipientStatus
from ..workspace.config import Config

TEST_SUBJECT_PREFIX = "[TEST] "
DRAFT_SUBJECT_PREFIX = "[DRAFT] "  # a test copy of an issue that still holds TODO placeholders

Report = Callable[[str, RecipientStatus], None]


@dataclass(frozen=True)
class Edition:
    """What is being sent: one rendered issue under the ledger's key for it, now or at a set time."""

    issue: str  # the ledger's key for the issue (its number)
    email: Email
    test: bool = False  # a --test copy: not recorded anywhere
    draft: bool = False  # a --test copy of an issue still holding TODO placeholders: marked [DRAFT]
    send_at: dt.datetime | None = None  # delivered later by the provider (SendGrid's send_at)
    schedule_id: str | None = None  # the provider's id for cancelling that scheduled delivery
    topic: str | None = None  # the issue's topic, if the workspace has [topics] (its Feedback-ID names it)

    @property
    def mark(self) -> str:
        """What the subject starts with: [DRAFT] or [TEST] on a test copy, nothing on the real send."""
        return DRAFT_SUBJECT_PREFIX if self.draft else TEST_SUBJECT_PREFIX if self.test else ""

    @cached_property
    def subject(self) -> str:
        return self.mark + self.email.subject


@dataclass(frozen=True)
class Batch:
    edition: Edition
    send_id: str
    letters: list[Letter]


@dataclass(frozen=True)
class RequestPreview:
    """What `send --dry-run` shows of the first request a provider would make: a heading, and
    the text under it."""

    heading: str
    text: str


def message_preview(config: Config, batch: Batch) -> RequestPreview:
    """The headers of the first message of `batch`, as a provider that sends MIME messages (the
    outbox, SMTP) would hand it over."""
    from email import message_from_bytes
    from email.policy import default

    letter = batch.letters[0]
    edition = batch.edition
    template = MessageTemplate(edition.email, config, edition.mark, feedback_id(config, edition.issue, edition.topic))
    message = message_from_bytes(template.render(letter, utf8=True), policy=default)
    return RequestPreview(f"First message ({letter.email}), headers:", "\n".join(f"  {header}: {value}" for header, value in message.items()))


class ProviderError(NewsletterError):
    """Every failure a provider reports: which provider, its HTTP or SMTP status, its own words."""

    def __init__(self, message: str, provider: str, status: int | None = None, words: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.words = words


class RetryLater(ProviderError):
    """Nothing unreported was taken (429, 5xx, connection refused): try again after a pause."""

    def __init__(self, message: str, provider: str, status: int | None = None, words: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, provider, status, words)
        self.retry_after = retry_after


class Ambiguous(ProviderError):
    """The request left but no answer came back (timeout, dropped connection): maybe delivered."""


class ProviderRefused(ProviderError):
    """The provider refuses us as configured (bad key, no permission, a full outbox disk). Nothing
    unreported was taken; the run stops, since retrying would not help."""


class Provider(Protocol):
    name: str
    max_batch: int  # rows claimed at a time; a crash leaves at most this many `unknown`

    def check(self) -> None:
        """Make sure the provider will take mail (reachable, our credentials accepted) before a
        run changes anything. Raises ProviderError with the provider's words."""
        ...

    def send(self, batch: Batch, report: Report) -> None: ...

    def close(self) -> None: ...


class Scheduling(Provider, Protocol):
    """A provider that can hold a delivery until a set time itself (SendGrid, Mailgun, Resend). Which
    providers can, and how far ahead, is their entry in providers.REGISTRY (providers.can_schedule)."""

    # None: cancel() drops this delivery alone. Otherwise what it drops besides, as `newsletter
    # cancel` says it (Mailgun drops every scheduled message of the domain at once).
    cancel_scope: str | None

    def new_schedule_id(self) -> str: ...

    def cancel(self, schedule_id: str, message_ids: list[str]) -> None:
        """Cancel the scheduled delivery: by the id new_schedule_id gave (SendGrid's batch), or
        message by message (the provider's ids the ledger recorded, as Resend needs)."""
        ...


class OneByOne:
    """Base for providers that hand messages over one at a time (the outbox, SMTP).

    Each letter's outcome is reported as soon as it is known. An unexpected exception on one
    letter affects that letter only: it may have left, so it is reported `unknown` with the
    error, and the run goes on (the error budget stops a run where every letter fails)."""

    name: str
    config: Config
    _template: tuple[Edition, MessageTemplate] | None = None

    def template(self, edition: Edition) -> MessageTemplate:
        """The edition's message, composed once and reused for every letter of the run."""
        if self._template is None or self._template[0] is not edition:
            self._template = (edition, MessageTemplate(edition.email, self.config, edition.mark, feedback_id(self.config, edition.issue, edition.topic)))
        return self._template[1]

    def send(self, batch: Batch, report: Report) -> None:
        for letter in batch.letters:
            try:
                status = self.deliver(batch, letter)
            except (RetryLater, ProviderRefused):
                raise  # this letter was not taken, and the provider cannot go on now
            except Exception as exc:  # noqa: BLE001 (whatever went wrong mid-hand-over, the letter may have left: UNKNOWN, never lost, never resent)
                status = RecipientStatus(Outcome.UNKNOWN, f"unexpected error while handing it to {self.name}: {exc!r}; it may or may not have been delivered")
            report(letter.email, status)

    def deliver(self, batch: Batch, letter: Letter) -> RecipientStatus:
        raise NotImplementedError
