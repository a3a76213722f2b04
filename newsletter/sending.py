"""The send loop: claim a batch, commit, hand it to the provider, record what happened. Resumable.

Ledger contract (DESIGN.md): rows are claimed and committed before any network call; a refusal
that proves nothing was accepted puts them back to pending and the batch is retried after a
backoff that honours the server's reset time; an ambiguous failure leaves them `unknown`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from .config import Config
from .models import Email
from .providers.base import Ambiguous, Batch, Letter, Provider, RetryLater
from .store import Recipient, State, Store
from .unsubscribe import make_token

BACKOFF = wait_exponential(multiplier=0.5, max=60) + wait_random(0, 0.5)  # 0.5 s, 1 s, 2 s ... plus jitter


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
    return [Letter(r, config.unsubscribe_url_for(make_token(r.email, secret))) for r in recipients]


class Sender:
    """Sends one rendered issue to everyone pending in the ledger, batch by batch."""

    def __init__(self, store: Store, provider: Provider, config: Config, secret: bytes, settings: SendSettings) -> None:
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
        self._respect_rate(len(recipients))
        batch = Batch(issue, send_id, email, letters_for(recipients, self.config, self.secret))
        self.requests += 1
        try:
            result = self.provider.send(batch)
        except RetryLater as exc:
            self.store.settle_batch(issue, send_id, State.PENDING, f"will retry: {exc}")
            raise
        except Ambiguous as exc:
            self.store.settle_batch(issue, send_id, State.UNKNOWN, f"{exc}; it may or may not have been delivered")
            return len(recipients)
        except KeyboardInterrupt:
            self.store.settle_batch(issue, send_id, State.UNKNOWN, "interrupted while the request was in flight")
            raise
        except BaseException:
            # Setup errors (a rejected API key) mean nothing was accepted.
            self.store.settle_batch(issue, send_id, State.PENDING)
            raise
        states = self._give_up_on_repeated_deferrals(result.states)
        self.store.settle(issue, send_id, states, result.message_id)
        self.store.settle_batch(issue, send_id, State.PENDING)  # anything the provider did not settle
        self.failed += sum(1 for state, _ in states.values() if state == State.FAILED)
        self._letters_sent += len(recipients)
        return sum(1 for state, _ in states.values() if state != State.PENDING)

    def _give_up_on_repeated_deferrals(self, states: dict[str, tuple[State, str | None]]) -> dict[str, tuple[State, str | None]]:
        """A recipient deferred (e.g. SMTP 4xx) more than `retries` times in this run has failed."""
        settled = dict(states)
        for address, (state, detail) in states.items():
            if state == State.PENDING and detail:
                self._deferred[address] += 1
                if self._deferred[address] > self.settings.retries:
                    settled[address] = (State.FAILED, f"gave up after {self._deferred[address]} tries: {detail}")
        return settled

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
    return max(hint, 0.0) if hint is not None else BACKOFF(state)


def _exhausted(state: RetryCallState):
    raise RetriesExhausted(state.outcome.exception())
