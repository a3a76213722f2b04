"""The send loop: claim a batch, commit, hand it to the provider, record what happened. Resumable.

Ledger contract (DESIGN.md): rows are claimed and committed before any network call; a refusal
that proves nothing was accepted puts them back to pending and the batch is retried after a
backoff that honours the server's reset time; an ambiguous failure leaves them `unknown`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from .config import Config
from .errors import NewsletterError
from .models import Email
from .providers.base import Ambiguous, Batch, Letter, Outcome, Provider, ProviderError, RecipientStatus, RetryLater
from .store import Recipient, Settlement, State, Store, scheduled_detail
from .unsubscribe import make_token

BACKOFF = wait_exponential(multiplier=0.5, max=60) + wait_random(0, 0.5)  # 0.5 s, 1 s, 2 s ... plus jitter
LONGEST_WAIT = 300.0  # seconds; a server asking for more is asked again after this long
CANCEL_MARGIN = dt.timedelta(minutes=10)  # SendGrid does not guarantee a later cancellation
DEFERRAL_PAUSE = 1.0  # seconds before a deferred recipient's first retry; doubles each time
LEDGER_STATE = {Outcome.ACCEPTED: State.SENT, Outcome.REJECTED: State.FAILED, Outcome.UNKNOWN: State.UNKNOWN, Outcome.DEFERRED: State.PENDING}


@dataclass
class SendSettings:
    batch_size: int
    rate_per_second: float | None
    error_budget: int
    retries: int


@dataclass
class SendReport:
    counts: dict[State, int]
    requests: int
    stopped: str | None  # why the run ended early, if it did


class RetriesExhausted(Exception):
    def __init__(self, last: RetryLater) -> None:
        super().__init__(str(last))
        self.last = last


def letters_for(recipients: list[Recipient], config: Config, secret: bytes) -> list[Letter]:
    """Each recipient's letter, with their own signed unsubscribe link."""
    return [Letter(r.email, r.name, config.unsubscribe_url_for(make_token(r.email, secret))) for r in recipients]


class Sender:
    """Sends one rendered issue to everyone pending in the ledger, batch by batch."""

    def __init__(self, store: Store, provider: Provider, config: Config, secret: bytes, settings: SendSettings, scheduled_batch: str | None = None) -> None:
        self.store = store
        self.provider = provider
        self.config = config
        self.secret = secret
        self.settings = settings
        self.requests = 0
        self.failed = 0
        self._started = time.monotonic()
        self._letters_sent = 0
        self._deferred: Counter[str] = Counter()  # addresses a provider asked us to try again
        # Rows accepted for a scheduled delivery say so, which is how `cancel` finds them again.
        self._accepted_detail = scheduled_detail(scheduled_batch) if scheduled_batch else None

    def run(
        self,
        issue: str,
        email: Email,
        stop: threading.Event,
        progress: Callable[[int], None] = lambda handled: None,
    ) -> SendReport:
        """Send until nothing is pending, the error budget is spent, or `stop` is set (Ctrl-C)."""
        stopped = None
        while True:
            if stop.is_set():
                stopped = "stopped on request; run the same command again to resume"
                break
            try:
                handled = self._one_batch(issue, email, stop)
            except RetriesExhausted as exc:
                stopped = f"{self.provider.name} kept refusing the batch ({exc}); nothing in it was accepted, run again later to resume"
                break
            if handled is None:
                if self._wait_for_deferred(issue, stop):
                    continue
                break
            progress(handled)
            if self.failed > self.settings.error_budget:
                stopped = f"stopped: {self.failed} recipients failed, more than the error budget of {self.settings.error_budget}"
                break
        return SendReport(self.store.ledger_counts(issue), self.requests, stopped)

    def _one_batch(self, issue: str, email: Email, stop: threading.Event) -> int | None:
        """Send one batch, retrying refusals. Returns how many rows it settled, None when none are pending."""
        retrying = Retrying(
            retry=retry_if_exception_type(RetryLater),
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=_server_hint_or_backoff,
            sleep=stop.wait,  # Ctrl-C during a pause ends the pause
            retry_error_callback=_exhausted,
        )
        for attempt in retrying:
            with attempt:
                if stop.is_set() and attempt.retry_state.attempt_number > 1:
                    return 0
                return self._attempt(issue, email)
        return None  # not reached: Retrying either returns, raises, or calls retry_error_callback

    def _attempt(self, issue: str, email: Email) -> int | None:
        send_id = uuid.uuid4().hex
        limit = min(self.settings.batch_size, self.provider.max_batch)
        recipients = self.store.claim(issue, limit, send_id)  # committed before the network call
        if not recipients:
            return None
        try:
            self._respect_rate(len(recipients))
            batch = Batch(issue, send_id, email, letters_for(recipients, self.config, self.secret))
        except BaseException:  # e.g. a second Ctrl-C during the rate-limit pause: nothing has left
            self.store.settle_batch(issue, send_id, State.PENDING)
            raise
        self.requests += 1
        try:
            result = self.provider.send(batch)
        except RetryLater as exc:  # proven: nothing was accepted
            self.store.settle_batch(issue, send_id, State.PENDING, f"will retry: {exc}")
            raise
        except ProviderError:  # nothing was accepted, and trying again would not help: the run stops
            self.store.settle_batch(issue, send_id, State.PENDING)
            raise
        except Ambiguous as exc:  # the request left and no answer came back
            self.store.settle_batch(issue, send_id, State.UNKNOWN, f"{exc}; it may or may not have been delivered")
            return len(recipients)
        except BaseException as exc:  # a second Ctrl-C or a bug while handing over: maybe delivered
            reason = "interrupted while the batch was being handed over" if isinstance(exc, KeyboardInterrupt) else repr(exc)
            self.store.settle_batch(issue, send_id, State.UNKNOWN, f"{reason}; it may or may not have been delivered")
            raise
        outcomes = {address: self._settlement(address, status) for address, status in result.statuses.items()}
        self.store.settle(issue, send_id, outcomes, result.message_id)
        self.store.settle_batch(issue, send_id, State.PENDING)  # not attempted: back in the queue
        self.failed += sum(1 for s in outcomes.values() if s.state == State.FAILED)
        self._letters_sent += len(recipients)
        return sum(1 for s in outcomes.values() if s.state != State.PENDING)

    def _settlement(self, address: str, status: RecipientStatus) -> Settlement:
        """The ledger's record of a provider's outcome. A deferred recipient (e.g. SMTP 4xx,
        greylisting) waits with a growing pause; deferred more than `retries` times, it has failed."""
        if status.outcome == Outcome.DEFERRED:
            self._deferred[address] += 1
            tries = self._deferred[address]
            if tries > self.settings.retries:
                return Settlement(State.FAILED, f"gave up after {tries} tries: {status.detail}")
            return Settlement(State.PENDING, status.detail, time.time() + min(DEFERRAL_PAUSE * 2 ** (tries - 1), LONGEST_WAIT))
        if status.outcome == Outcome.ACCEPTED:
            return Settlement(State.SENT, status.detail or self._accepted_detail)
        return Settlement(LEDGER_STATE[status.outcome], status.detail)

    def _wait_for_deferred(self, issue: str, stop: threading.Event) -> bool:
        """Nothing is due but deferred rows wait: pause until the first is due. False if none wait."""
        due = self.store.next_due(issue)
        if due is None:
            return False
        stop.wait(max(due - time.time(), 0.0))
        return True

    def _respect_rate(self, count: int) -> None:
        """Keep the average at or below rate_per_second messages."""
        rate = self.settings.rate_per_second
        if rate:
            due = self._started + self._letters_sent / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)


def _server_hint_or_backoff(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    hint = getattr(exc, "retry_after", None)
    return min(max(hint, 0.0), LONGEST_WAIT) if hint is not None else BACKOFF(state)


def _exhausted(state: RetryCallState):
    raise RetriesExhausted(state.outcome.exception())


class SendError(NewsletterError):
    """A send cannot go ahead as asked (a clash with a scheduled delivery, a test copy refused)."""


def send_test_copy(provider: Provider, config: Config, issue: str, email: Email, address: str, secret: bytes) -> None:
    """One copy to `address`, subject marked as a test; the ledger is not touched. Raises SendError
    with the address and the provider's words if it was not accepted."""
    batch = Batch(issue, "test", email, letters_for([Recipient(address, None)], config, secret), test=True)
    try:
        result = provider.send(batch)
    except (RetryLater, Ambiguous) as exc:
        raise SendError(f"{address}: the test copy was not confirmed by {provider.name}: {exc}") from None
    status = result.statuses.get(address, RecipientStatus(Outcome.DEFERRED, "not attempted"))
    if status.outcome != Outcome.ACCEPTED:
        raise SendError(f"{address}: {provider.name} did not take the test copy ({status.outcome}): {status.detail}")


def use_schedule(store: Store, provider: Provider, issue: str, when: dt.datetime | None) -> tuple[dt.datetime, str] | None:
    """Set the provider up for a scheduled delivery, if there is one: (its time, batch id), or None to send now.

    `when` starts a new schedule (a SendGrid batch id, saved in the store before anything is sent).
    Without it, a saved schedule still in the future is continued, so resuming an interrupted
    scheduled run keeps its time and batch id (and `cancel` still covers every request)."""
    saved = store.schedule(issue)
    if saved:
        batch_id, at = saved
        if when is not None and when != at:
            raise SendError(f"issue {issue} is already scheduled for {at.isoformat()}; run `newsletter cancel` first to choose another time")
        if at <= dt.datetime.now(dt.UTC):
            return None  # that delivery has gone out; anyone added since is sent to now
        when = at
    elif when is None:
        return None
    schedule = getattr(provider, "schedule", None)
    if schedule is None:
        raise SendError(f"issue {issue} is scheduled through SendGrid for {when.isoformat()}; send it with --provider sendgrid, or cancel the schedule first")
    if not saved:
        batch_id = provider.new_batch_id()
        store.save_schedule(issue, batch_id, when)
    schedule(when, batch_id)
    return when, batch_id


def cancel_schedule(store: Store, provider: Provider, issue: str) -> tuple[dt.datetime, int, State]:
    """Cancel the issue's scheduled delivery at SendGrid: (its time, rows changed, their new state).

    SendGrid guarantees a cancellation only up to 10 minutes before the time: later than that the
    recipients become `unknown` rather than pending, so nobody can get a second copy by accident."""
    saved = store.schedule(issue)
    if not saved:
        raise SendError(f"issue {issue} has no scheduled delivery to cancel")
    batch_id, at = saved
    left = at - dt.datetime.now(dt.UTC)
    if left <= dt.timedelta(0):
        raise SendError(f"issue {issue} was scheduled for {at.isoformat()}, which has passed: it has been delivered, there is nothing to cancel")
    provider.cancel(batch_id)
    if left < CANCEL_MARGIN:
        detail = "scheduled send cancelled less than 10 minutes before its time, when SendGrid does not guarantee it; it may or may not have been delivered"
        return at, store.unschedule(issue, State.UNKNOWN, detail), State.UNKNOWN
    return at, store.unschedule(issue, State.PENDING, "scheduled send cancelled"), State.PENDING
