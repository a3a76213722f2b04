"""The exactly-once checks every provider passes against its local server: the sender killed at
random and resumed, and the ledger reconciled with what the server actually accepted.

A provider's test gives its workspace (already sending through the provider's local server), the
environment the `newsletter send` processes need, and a callable that returns how many copies the
server accepted per address."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from newsletter.db import Database
from newsletter.models import State


def kill_and_resume(
    workspace: Path, issue_path: Path, env: dict[str, str], delivered: Callable[[], Counter[str]], *, kills: int, batch: int, seed: int = 20261207,
    pause: tuple[float, float] = (0.0, 0.3), args: tuple[str, ...] = (), settle: bool = True,
    command: list[str] | None = None, waiting: State | None = None,
) -> dict[str, State]:
    """`newsletter send` SIGKILLed `kills` times (each run started afresh), then run to the end;
    returns each reader's final state after checking reconcile(). Each kill lands once that run has
    got something accepted, plus a random `pause`: on a loaded machine start-up time varies tenfold,
    so a kill timed from the start would often land before sending or after the end.

    `args`: more options for every run (`--over 6s`). `command`: the whole command after
    `newsletter` instead (default: send ISSUE), e.g. a subject test's options or `send --due`.
    `waiting`: rows in this state are still to be sent (a subject test's held readers) and are left
    out of the reconciliation. Without `settle`, rows may be left pending (a canary's rest waits):
    the caller reconciles."""
    command = [sys.executable, "-m", "newsletter", *(command or ["send", str(issue_path)]), *args]
    chance = random.Random(seed)
    landed = 0
    for _ in range(kills):
        before = sum(delivered().values())
        process = subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum(delivered().values()) == before and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(chance.uniform(*pause))
        if process.poll() is not None:
            break  # it finished before we could kill it
        process.send_signal(signal.SIGKILL)
        process.wait()
        landed += 1
    final = subprocess.run(command, env=env, cwd=workspace, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stderr
    assert landed == kills, "the sends were too quick for all the kills to land"
    rows = ledger_states(workspace)
    if not settle:
        return rows
    unknown = reconcile({email: state for email, state in rows.items() if state != waiting}, delivered())
    assert len(unknown) <= kills * batch  # at most one batch in flight per kill
    return rows


def ledger_states(workspace: Path, issue: str = "7") -> dict[str, State]:
    with Database(workspace / "subscribers.db") as db:
        return {d.email: d.state for d in db.ledger.deliveries(issue, list(State))}


def reconcile(rows: dict[str, State], copies: Counter[str]) -> list[str]:
    """Nobody twice, nobody silently lost: a `sent` reader got exactly one copy, an `unknown` one at
    most one, a `failed` one none; the server accepted nobody the ledger does not know. Returns the
    unknown readers."""
    assert set(rows.values()) <= {State.SENT, State.UNKNOWN, State.FAILED}, set(rows.values())
    for email, state in rows.items():
        got = copies.get(email, 0)
        if state == State.SENT:
            assert got == 1, f"{email}: marked sent but accepted {got} times"
        elif state == State.UNKNOWN:
            assert got <= 1, f"{email}: unknown but accepted {got} times"
        else:
            assert got == 0, f"{email}: failed but accepted {got} times"
    assert set(copies) <= set(rows), "the server accepted addresses the ledger never had"
    return [email for email, state in rows.items() if state == State.UNKNOWN]
