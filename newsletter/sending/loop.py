"""The send loop: claim a batch, commit, hand it to the provider, record what happened. Resumable.

Ledger contract (DESIGN.md): rows are claimed and committed before any network call. Each
letter's outcome is recorded as the provider reported it; the letters it did not report are put
back to pending when the provider proved nothing of them was taken (RetryLater, ProviderRefused,
or simply not attempted), and become `unknown` when they may have left (Ambiguous, a crash).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from ..config import SendSettings
from ..db import Ledger, Settlement
from ..models import BatchResult, Letter, Outcome, Recipient, RecipientStatus, State
from ..providers.base import Ambiguous, Batch, Edition, Provider, ProviderRefused, RetryLater

BACKOFF = wait_exponential(multiplier=0.5, max=60) + wait_random(0, 0.5)  # 0.5 s, 1 s, 2 s ... plus jitter
LONGEST_WAIT = 300.0  # seconds; a server asking for more is asked again after this long
DEFERRAL_PAUSE = 1.0  # seconds before a deferred recipient's first retry; doubles each time
LEDGER_STATE = {Outcome.ACCEPTED: State.SENT, Outcome.REJECTED: State.FAILED, Outcome.UNKNOWN: State.UNKNOWN}


class Progress(Protocol):
    def start(self, total: int) -> None: ...

    def advance(self, handled: int) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, handled: int) -> None:
        pass


@dataclass
class LoopResult:
    batches: int
    stopped: str | None  # why the run ended early, if it did


class RetriesExhausted(Exception):
    def __init__(self, last: BaseException | None) -> None:
        super().__init__(str(last))


class SendLoop:
    """Sends one edition to everyone pending in the ledger, batch by batch."""

    def __init__(
        self,
        ledger: Ledger,
        provider: Provider,
        edition: Edition,
        letters: Callable[[list[Recipient]], list[Letter]],
        settings: SendSettings,
        stop: threading.Event,
        progress: Progress,
    ) -> None:
        self.ledger = ledger
        self.provider = provider
        self.edition = edition
        self.letters = letters
        self.settings = settings
        self.stop = stop
        self.progress = progress
        self.batches = 0
        self.errors = 0  # recipients reported failed or unknown in this run
        self._started = time.monotonic()
        self._letters_sent = 0
        self._deferred: Counter[str] = Counter()  # addresses a provider asked us to try again

    def run(self) -> LoopResult:
        """Send until nothing is pending, the error budget is spent, or `stop` is set (Ctrl-C)."""
        stopped = None
        while True:
            if self.stop.is_set():
                stopped = "stopped on request; run the same command again to resume"
                break
            try:
                handled = self._one_batch()
            except RetriesExhausted as exc:
                stopped = f"{self.provider.name} kept refusing the batch ({exc}); nothing in it was accepted, run again later to resume"
                break
            except ProviderRefused as exc:
                stopped = f"{exc}. The rest was not sent: fix that, then run the same command again to resume"
                break
            if handled is None:
                if self._wait_for_deferred():
                    continue
                break
            self.progress.advance(handled)
            if self.errors > self.settings.error_budget:
                stopped = (
                    f"stopped: {self.errors} recipients failed or have an unknown outcome, more than the error budget of "
                    f"{self.settings.error_budget} ([send] error_budget)"
                )
                break
        return LoopResult(self.batches, stopped)

    def _one_batch(self) -> int | None:
        """Send one batch, retrying refusals. Returns how many rows it settled, None when none are due."""
        retrying = Retrying(
            retry=retry_if_exception_type(RetryLater),
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=_server_hint_or_backoff,
            sleep=self.stop.wait,  # Ctrl-C during a pause ends the pause
            retry_error_callback=_exhausted,
        )
        for attempt in retrying:
            with attempt:
                if self.stop.is_set() and attempt.retry_state.attempt_number > 1:
                    return 0
                return self._attempt()
        return None  # not reached: Retrying either returns, raises, or calls retry_error_callback

    def _attempt(self) -> int | None:
        issue = self.edition.issue
        send_id = uuid.uuid4().hex
        limit = min(self.settings.batch_size, self.provider.max_batch)
        recipients = self.ledger.claim(issue, limit, send_id, time.time())  # committed before any network call
        if not recipients:
            return None
        result = BatchResult()
        rest, rest_detail = State.PENDING, None  # for rows the provider did not report
        handing_over = False
        try:
            self._respect_rate(len(recipients))
            batch = Batch(self.edition, send_id, self.letters(recipients))
            handing_over = True
            self.batches += 1
            self.provider.send(batch, result.report)
        except RetryLater as exc:  # proven: nothing unreported was taken; try again after a pause
            rest_detail = f"will retry: {exc}"
            raise
        except Ambiguous as exc:  # the request left and no answer came back
            rest, rest_detail = State.UNKNOWN, f"{exc}; it may or may not have been delivered"
        except BaseException as exc:
            # ProviderRefused proves nothing unreported was taken. Anything else while handing over
            # (a second Ctrl-C, a bug) may have let letters leave: they become unknown, never pending.
            if handing_over and not isinstance(exc, ProviderRefused):
                reason = "interrupted while the batch was being handed over" if isinstance(exc, KeyboardInterrupt) else repr(exc)
                rest, rest_detail = State.UNKNOWN, f"{reason}; it may or may not have been delivered"
            raise
        finally:
            settlements = {address: self._settlement(address, status) for address, status in result.statuses.items()}
            self.ledger.settle(issue, send_id, settlements, rest, rest_detail)
            # Letters the provider itself reported failed or unknown count against the error budget
            # (a bug that fails every letter stops the run); a batch-wide timeout does not.
            self.errors += sum(1 for s in settlements.values() if s.state in (State.FAILED, State.UNKNOWN))
        self._letters_sent += len(recipients)
        back = sum(1 for s in settlements.values() if s.state == State.PENDING)
        return len(settlements) - back

    def _settlement(self, address: str, status: RecipientStatus) -> Settlement:
        """The ledger's record of a provider's outcome. A deferred recipient (e.g. SMTP 4xx,
        greylisting) waits with a growing pause; deferred more than `retries` times, it has failed."""
        if status.outcome == Outcome.DEFERRED:
            self._deferred[address] += 1
            tries = self._deferred[address]
            if tries > self.settings.retries:
                return Settlement(State.FAILED, f"gave up after {tries} tries: {status.detail}")
            return Settlement(State.PENDING, status.detail, time.time() + min(DEFERRAL_PAUSE * 2 ** (tries - 1), LONGEST_WAIT))
        if status.outcome == Outcome.ACCEPTED and self.edition.send_at is not None:
            when = self.edition.send_at.isoformat()
            return Settlement(State.SCHEDULED, f"{self.provider.name} delivers it at {when} (batch {self.edition.schedule_id})", None, status.message_id)
        return Settlement(LEDGER_STATE[status.outcome], status.detail, None, status.message_id)

    def _wait_for_deferred(self) -> bool:
        """Nothing is due but deferred rows wait: pause until the first is due. False if none wait."""
        due = self.ledger.next_due(self.edition.issue)
        if due is None:
            return False
        self.stop.wait(max(due - time.time(), 0.0))
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
    return min(max(hint, 0.0), LONGEST_WAIT) if hint is not None else float(BACKOFF(state))


def _exhausted(state: RetryCallState) -> None:
    raise RetriesExhausted(state.outcome.exception() if state.outcome else None)
