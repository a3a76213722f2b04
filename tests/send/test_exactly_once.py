"""Exactly once, even when the sender is killed: SIGKILL at 20 random points, then resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import State
from tests.helpers.exactly_once import kill_and_resume
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
    rows = kill_and_resume(workspace, issue_path, env, lambda: sendgrid.delivered, kills=KILLS, batch=BATCH, seed=20261125)
    assert sorted(rows) == emails  # nobody missing


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
