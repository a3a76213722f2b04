"""Exactly once under any sequence of failures, for a provider that sends message by message.

A fault-injecting provider delivers each letter by appending its address to a file (the truth of
what left), and at letter k of a run it raises, refuses, defers, asks to retry later, stops the
run, or is SIGKILLed before or after handing the letter over. Each schedule is a few faulty runs,
each in a forked process, then one clean run. After it, for every schedule:
- nobody received two copies;
- nobody is silently lost: each subscriber is `sent` (and received it once), `failed` with a
  reason (and received nothing), or `unknown` (received it at most once) — and the counts reconcile.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.context
import os
import random
import signal
from collections import Counter
from pathlib import Path

import pytest

import newsletter.sending.core as core
from newsletter.db import Database
from newsletter.issue.prepare import PreparedIssue, prepare_issue
from newsletter.models import Letter, Outcome, RecipientStatus, State, Subscriber
from newsletter.providers.base import Batch, OneByOne, ProviderRefused, RetryLater
from newsletter.sending import send_issue
from newsletter.workspace.config import Config, Workspace

pytestmark = pytest.mark.slow  # 220 schedules of faults, each in forked processes

SCHEDULES = 220
SUBSCRIBERS = 20
FAULTS = ("raise_before", "raise_after", "reject", "defer", "retry_later", "refused", "kill_before", "kill_after", "interrupt_after")


class FaultyProvider(OneByOne):
    """Delivers by appending the address to `truth`; at letter `fault[0]` of this run, does `fault[1]`."""

    name = "faulty"
    max_batch = 7

    def __init__(self, config: Config, truth: Path, fault: tuple[int, str] | None) -> None:
        self.config = config
        self.truth = truth
        self.fault = fault
        self.count = 0

    def check(self) -> None:
        pass

    def deliver(self, batch: Batch, letter: Letter) -> RecipientStatus:
        index, self.count = self.count, self.count + 1
        kind = self.fault[1] if self.fault and self.fault[0] == index else "ok"
        if kind == "kill_before":
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == "raise_before":
            raise RuntimeError("the provider's library failed before sending")
        if kind == "retry_later":
            raise RetryLater("busy, try later", self.name)
        if kind == "refused":
            raise ProviderRefused("the provider refuses us as configured", self.name)
        if kind == "reject":
            return RecipientStatus(Outcome.REJECTED, "550 no such mailbox")
        if kind == "defer":
            return RecipientStatus(Outcome.DEFERRED, "451 greylisted")
        fd = os.open(self.truth, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{letter.email}\n".encode())  # it has left: one atomic append
        finally:
            os.close(fd)
        if kind == "kill_after":
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == "raise_after":
            raise RuntimeError("the provider's library failed after sending")
        if kind == "interrupt_after":
            raise KeyboardInterrupt  # Ctrl-C twice, while the letter was being handed over
        return RecipientStatus(Outcome.ACCEPTED)

    def close(self) -> None:
        pass


def send_with_faults(prepared: PreparedIssue, truth: Path, fault: tuple[int, str] | None) -> None:
    """The child's whole life: one `send` through the faulty provider, retries without their waits
    (as the fast_retries fixture has them), then out without running any exit handler."""
    from tenacity import wait_none

    from newsletter.sending import loop

    core.open_provider = lambda name, workspace: FaultyProvider(workspace.config, truth, fault)
    loop.BACKOFF, loop.DEFERRAL_PAUSE = wait_none(), 0.001
    code = 0
    try:
        send_issue(prepared, "outbox")
    except BaseException:  # noqa: BLE001 (the child reports any failure as its exit status)
        code = 1
    os._exit(code)


def run_forked(processes: multiprocessing.context.ForkServerContext, prepared: PreparedIssue, truth: Path, fault: tuple[int, str] | None) -> int:
    """One `send` in a child process (so SIGKILL kills only it); its exit code (-9: killed).
    The children fork from a small server process, not from pytest's: forking the test runner,
    with every test module loaded, cost 20 ms of page copying each, 700 times over."""
    child = processes.Process(target=send_with_faults, args=(prepared, truth, fault))
    child.start()
    child.join()
    assert child.exitcode is not None
    return child.exitcode


@pytest.fixture(scope="module")
def processes() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # the server loads this module (and the tool) once
    return context


def test_no_sequence_of_faults_sends_twice_or_loses_anyone(issue_path: Path, tmp_path: Path, processes: multiprocessing.context.ForkServerContext) -> None:
    prepared = prepare_issue(issue_path)
    settings = prepared.workspace.config.send.model_copy(update={"batch_size": 7, "retries": 2, "error_budget": 10_000})
    config = prepared.workspace.config.model_copy(update={"send": settings})
    chance = random.Random(20261125)
    seen_faults: Counter[str] = Counter()
    seen_states: Counter[State] = Counter()

    for number in range(SCHEDULES):
        folder = tmp_path / f"schedule-{number}"
        folder.mkdir()
        here = dataclasses.replace(prepared, workspace=Workspace(folder, config))
        emails = [f"reader{n:03d}@example.com" for n in range(SUBSCRIBERS)]
        with Database(here.workspace.database) as db:
            db.subscribers.upsert(Subscriber(email) for email in emails)
        truth = folder / "delivered.txt"
        schedule = [(chance.randrange(SUBSCRIBERS + 3), chance.choice(FAULTS)) for _ in range(chance.randint(1, 4))]
        for fault in schedule:
            run_forked(processes, here, truth, fault)
            seen_faults[fault[1]] += 1
        final = run_forked(processes, here, truth, None)
        assert final == 0, f"schedule {number} {schedule}: the clean run failed"

        delivered = Counter(truth.read_text().split()) if truth.exists() else Counter()
        with Database(here.workspace.database) as db:
            rows = {d.email: d for d in db.ledger.deliveries("7", list(State))}
        where = f"schedule {number}: faults {schedule}"
        assert sorted(rows) == emails, where  # everyone has a row
        twice = [email for email, copies in delivered.items() if copies > 1]
        assert twice == [], f"{where}: delivered twice to {twice}"
        for email, row in rows.items():
            copies = delivered[email]
            if row.state == State.SENT:
                assert copies == 1, f"{where}: {email} is sent but received {copies}"
            elif row.state == State.FAILED:
                assert copies == 0 and row.detail, f"{where}: {email} failed ({row.detail}) but received {copies}"
            elif row.state == State.UNKNOWN:
                assert copies <= 1 and row.detail, where
            else:
                pytest.fail(f"{where}: {email} ended {row.state} after a clean run")
        states = Counter(row.state for row in rows.values())
        seen_states.update(states)
        assert sum(delivered.values()) == states[State.SENT] + sum(delivered[e] for e, r in rows.items() if r.state == State.UNKNOWN), where

    assert set(seen_faults) == set(FAULTS)  # every kind of fault really happened
    assert seen_states[State.FAILED] and seen_states[State.UNKNOWN] and seen_states[State.SENT]
