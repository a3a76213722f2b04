"""The send loop: claim a batch, commit, hand it to the provider, record what happened. Resumable.

Ledger contract (docs/architecture.md): rows are claimed and committed before any network call, and a batch
is marked as handed over (committed) just before the provider gets it. Each letter's outcome is
recorded as the provider reported it; the letters it did not report go back to pending when the
provider proved nothing of them was taken (RetryLater, ProviderRefused, or simply not attempted),
and become `unknown` when they may have left (Ambiguous, a crash while handing over).

Two stages overlap: while the provider works on one batch (in a worker thread, mostly waiting on
the network), the loop settles nothing yet but claims the next batch. A crash then leaves at most
one batch handed over (`unknown` on the next run) and one claimed but never handed over, which the
next run puts back to pending because its hand-over was never marked.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Protocol

from tenacity import wait_exponential, wait_random

from ..db import Bouncing, Claim, Ledger, Settlement
from ..db.segments import EVERYONE, Condition
from ..models import BatchResult, Letter, Outcome, Recipient, RecipientStatus, State
from ..providers.base import Ambiguous, Batch, Edition, Provider, ProviderRefused, RetryLater
from ..workspace.config import SendSettings

BACKOFF = wait_exponential(multiplier=0.5, max=60) + wait_random(0, 0.5)  # 0.5 s, 1 s, 2 s ... plus jitter
LONGEST_WAIT = 300.0  # seconds; a server asking for more is asked again after this long
DEFERRAL_PAUSE = 1.0  # seconds before a deferred recipient's first retry; doubles each time
LEDGER_STATE = {Outcome.ACCEPTED: State.SENT, Outcome.REJECTED: State.FAILED, Outcome.BOUNCED: State.FAILED, Outcome.UNKNOWN: State.UNKNOWN}


class Progress(Protocol):
    def start(self, total: int) -> None: ...

    def advance(self, handled: int) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, handled: int) -> None:
        pass


class Gate(Protocol):
    """What a paced, canary or pausing send (pacing.Steering) decides for the loop."""

    def admit(self, limit: int, wait: bool) -> int:
        """How many rows the next batch may hold (0: none now); with `wait`, after waiting until some may go."""
        ...

    def halted(self) -> str | None:
        """Why the run ends now (a pause), when admit gave 0 for it."""
        ...


class Unpaced:
    def admit(self, limit: int, wait: bool) -> int:  # noqa: ARG002 (the Gate's signature)
        return limit

    def halted(self) -> str | None:
        return None


@dataclass
class LoopResult:
    batches: int
    stopped: str | None  # why the run ended early, if it did


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
        self.bounced: dict[str, str] = {}  # addresses this run made `bounced`, with the refusal that did it
        self._bouncing = Bouncing(settings.bounce_after, provider.name)
        self.new_send_id: Callable[[], str] = lambda: uuid.uuid4().hex  # a send worker's ids name the worker
        self.member: Condition = EVERYONE  # a reader still gets the issue's topic (checked again at each claim)
        self.gate: Gate = Unpaced()
        self.claim_rows: Callable[[str, int, str, float, Condition], Claim] = ledger.claim  # a canary claims its own rows

    def run(self) -> LoopResult:
        """Send until nothing is pending, the error budget is spent, or `stop` is set (Ctrl-C)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hand-over") as worker:
            return self._run(worker)

    def _run(self, worker: ThreadPoolExecutor) -> LoopResult:
        refusals = 0  # refusals in a row (429, 5xx, connection refused)
        claim = self._claim()
        while True:
            if self.stop.is_set():
                self._release(claim)
                return LoopResult(self.batches, "stopped on request; run the same command again to resume")
            if claim is None:
                if not self.gate.halted() and self._wait_for_deferred():
                    claim = self._claim()
                    continue
                return LoopResult(self.batches, self.gate.halted())  # done, or paused by the gate
            self._respect_rate()
            result = BatchResult()
            future = self._hand_over(worker, claim, result)
            try:
                upcoming = None if self.stop.is_set() else self._claim(wait=False)  # while the provider works
            except BaseException:
                self._finish(claim, future, result)
                raise
            try:
                handled, refused = self._finish(claim, future, result)
            except BaseException:
                self._release(upcoming)
                raise
            self.progress.advance(handled)
            stopped = None
            if isinstance(refused, RetryLater):
                refusals += 1
                if refusals > self.settings.retries:
                    stopped = f"{self.provider.name} kept refusing the batch ({refused}); nothing in it was accepted, run again later to resume"
                else:
                    self.stop.wait(_pause(refused, refusals))  # Ctrl-C during the pause ends it
            elif isinstance(refused, ProviderRefused):
                stopped = f"{refused}. The rest was not sent: fix that, then run the same command again to resume"
            else:
                refusals = 0
            if stopped is None and self.errors > self.settings.error_budget:
                stopped = (
                    f"stopped: {self.errors} recipients failed or have an unknown outcome, more than the error budget of "
                    f"{self.settings.error_budget} ([send] error_budget)"
                )
            if stopped:
                self._release(upcoming)
                return LoopResult(self.batches, stopped)
            claim = upcoming if upcoming is not None or self.stop.is_set() else self._claim()

    def _claim(self, wait: bool = True) -> Claim | None:
        """The next batch, claimed and committed; None when no row is due. A paced send waits here
        for its next batch, never while a batch is in flight (its rows would wait in `sending`)."""
        limit = self.gate.admit(min(self.settings.batch_size, self.provider.max_batch), wait)
        if not limit:
            return None
        claim = self.claim_rows(self.edition.issue, limit, self.new_send_id(), time.time(), self.member)
        return claim if claim.recipients else None

    def _release(self, claim: Claim | None) -> None:
        """A claimed batch that will not be handed over after all: back to pending."""
        if claim is not None:
            self.ledger.settle(claim, {}, Settlement(State.PENDING))

    def _hand_over(self, worker: ThreadPoolExecutor, claim: Claim, result: BatchResult) -> Future[None]:
        """Mark the batch as handed over (committed), then give it to the provider in the worker."""
        batch = Batch(self.edition, claim.send_id, self.letters(claim.recipients))
        self.ledger.mark_handed_over(claim)
        self.batches += 1
        self._letters_sent += len(claim.recipients)
        return worker.submit(self.provider.send, batch, result.report)

    def _finish(self, claim: Claim, future: Future[None], result: BatchResult) -> tuple[int, Exception | None]:
        """Wait for the provider and record the batch. Returns how many rows left pending, and the
        refusal (RetryLater or ProviderRefused) that ended the batch early, if any."""
        rest, rest_detail = State.PENDING, None  # for rows the provider did not report
        refused: Exception | None = None
        try:
            future.result()
        except RetryLater as exc:  # proven: nothing unreported was taken; try again after a pause
            rest_detail, refused = f"will retry: {exc}", exc
        except ProviderRefused as exc:  # nothing unreported was taken, and retrying would not help
            refused = exc
        except Ambiguous as exc:  # the request left and no answer came back
            rest, rest_detail = State.UNKNOWN, f"{exc}; it may or may not have been delivered"
        except BaseException as exc:
            # Anything else while handing over (a second Ctrl-C while waiting, a bug in the
            # provider) may have let letters leave: they become unknown, never pending.
            reason = "interrupted while the batch was being handed over" if isinstance(exc, KeyboardInterrupt) else repr(exc)
            self._record(claim, dict(result.statuses), State.UNKNOWN, f"{reason}; it may or may not have been delivered")
            raise
        return self._record(claim, dict(result.statuses), rest, rest_detail), refused

    def _record(self, claim: Claim, statuses: dict[str, RecipientStatus], rest_state: State, rest_detail: str | None) -> int:
        """Write the batch's outcomes to the ledger; returns how many rows are settled (not pending)."""
        rest = Settlement(rest_state, rest_detail)
        if len(statuses) == len(claim.recipients):
            # Everyone answered: the usual "accepted" (one message id for the batch) is written for
            # the whole range at once, and only the exceptions row by row.
            usual = RecipientStatus(Outcome.ACCEPTED, None, next(iter(statuses.values())).message_id)
            statuses = {address: status for address, status in statuses.items() if status != usual}
            rest = self._settlement("", usual)
            accepted = len(claim.recipients) - len(statuses)
        else:
            accepted = 0
        settlements = {address: self._settlement(address, status) for address, status in statuses.items()}
        self.bounced.update(self.ledger.settle(claim, settlements, rest, self._bouncing))
        # Letters the provider itself reported failed or unknown count against the error budget
        # (a bug that fails every letter stops the run); a batch-wide timeout does not.
        self.errors += sum(1 for s in settlements.values() if s.state in (State.FAILED, State.UNKNOWN))
        settled = accepted + sum(1 for s in settlements.values() if s.state != State.PENDING)
        if rest.state != State.PENDING and not accepted:
            settled += len(claim.recipients) - len(settlements)
        return settled

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
        return Settlement(LEDGER_STATE[status.outcome], status.detail, None, status.message_id, bounced=status.outcome == Outcome.BOUNCED)

    def _wait_for_deferred(self) -> bool:
        """Nothing is due but deferred rows wait: pause until the first is due. False if none wait."""
        due = self.ledger.next_due(self.edition.issue)
        if due is None:
            return False
        self.stop.wait(max(due - time.time(), 0.0))
        return True

    def _respect_rate(self) -> None:
        """Keep the average at or below rate_per_second messages."""
        rate = self.settings.rate_per_second
        if rate:
            due = self._started + self._letters_sent / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)


def _pause(refused: RetryLater, refusals: int) -> float:
    """How long to wait after a refusal: what the server asked for (capped), else exponential backoff."""
    if refused.retry_after is not None:
        return min(max(refused.retry_after, 0.0), LONGEST_WAIT)
    return float(BACKOFF(SimpleNamespace(attempt_number=refusals)))  # type: ignore[arg-type]
