"""Exactly once, even when the sender is killed: SIGKILL at 20 random points, then resume."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import State
from tests.helpers.sendgrid_server import API_KEY
from tests.helpers.workspace import SECRET, add_subscribers

pytestmark = pytest.mark.slow  # 5,000 recipients, the sender killed at random and resumed

RECIPIENTS = 5000
BATCH = 50
KILLS = 20


def test_killed_twenty_times_everyone_gets_it_once_except_reported_unknowns(sendgrid, workspace: Path, issue_path: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "sendgrid"', f'provider = "sendgrid"\nbatch_size = {BATCH}'))
    emails = add_subscribers(workspace, RECIPIENTS)
    sendgrid.behaviour.latency = 0.08  # slow enough that the 20 kills land across the run, often mid-request
    env = dict(os.environ, SENDGRID_API_HOST=sendgrid.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET)
    command = [sys.executable, "-m", "newsletter", "send", str(issue_path)]
    chance = random.Random(20261125)

    kills = 0
    for _ in range(KILLS):
        process = subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chance.uniform(0.3, 0.8))  # start-up takes ~0.3 s; then it sends a few batches
        if process.poll() is not None:
            break  # it finished before we could kill it
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    final = subprocess.run(command, env=env, cwd=workspace, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert kills == KILLS, "the sends were too quick for all the kills to land"

    with Database(workspace / "subscribers.db") as db:
        rows = {d.email: d.state for d in db.ledger.deliveries("7", list(State))}
    assert sorted(rows) == emails  # nobody missing
    states = set(rows.values())
    assert states <= {State.SENT, State.UNKNOWN}
    unknown = [email for email, state in rows.items() if state == State.UNKNOWN]
    assert len(unknown) <= kills * BATCH  # at most one batch in flight per kill

    for email, state in rows.items():
        copies = sendgrid.delivered.get(email, 0)
        if state == State.SENT:
            assert copies == 1, f"{email}: marked sent but delivered {copies} times"
        else:
            assert copies <= 1, f"{email}: unknown but delivered {copies} times"
    sent = sum(1 for state in rows.values() if state == State.SENT)
    delivered_unknown = sum(sendgrid.delivered.get(email, 0) for email in unknown)
    assert sum(sendgrid.delivered.values()) == sent + delivered_unknown  # the counts reconcile
    assert set(sendgrid.delivered) <= set(emails)


def test_ctrl_c_finishes_the_batch_in_flight_and_the_next_run_resumes(sendgrid, workspace: Path, issue_path: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "sendgrid"', 'provider = "sendgrid"\nbatch_size = 100'))
    emails = add_subscribers(workspace, 3000)
    sendgrid.behaviour.latency = 0.1
    env = dict(os.environ, SENDGRID_API_HOST=sendgrid.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET)
    command = [sys.executable, "-m", "newsletter", "send", str(issue_path)]

    process = subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while sendgrid.accepted_requests < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)

    assert process.returncode == 1
    assert "Stopping after the batch in flight" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    with Database(workspace / "subscribers.db") as db:
        counts = db.ledger.counts("7")
    assert counts[State.UNKNOWN] == 0 and counts[State.SENDING] == 0  # the batch in flight was finished
    assert 0 < counts[State.SENT] < 3000 and counts[State.SENT] + counts[State.PENDING] == 3000

    subprocess.run(command, env=env, cwd=workspace, check=True, capture_output=True)
    assert sorted(sendgrid.delivered) == emails and set(sendgrid.delivered.values()) == {1}
