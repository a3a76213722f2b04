"""Several `newsletter send --worker` runs sharing one PostgreSQL ledger, killed at random:
nobody gets two copies, and anyone missing is reported `unknown`."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsletter.db import Database, Server
from newsletter.models import State, Status, Subscriber
from tests.helpers.sendgrid_server import API_KEY
from tests.helpers.workspace import SECRET

RECIPIENTS = 5000
BATCH = 50
WORKERS = 3
KILLS = 12


def test_three_workers_killed_at_random_send_everyone_once_except_reported_unknowns(sendgrid, workspace: Path, issue_path: Path, pg_url: str) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "sendgrid"', f'provider = "sendgrid"\nbatch_size = {BATCH}'))
    emails = [f"reader{n:05d}@example.com" for n in range(RECIPIENTS)]
    with Database(Server(pg_url)) as db:
        db.subscribers.upsert(Subscriber(email, f"Reader {n}", {}, Status.ACTIVE) for n, email in enumerate(emails))
    sendgrid.behaviour.latency = 0.08  # slow enough that kills land mid-run, often mid-request
    env = dict(os.environ, SENDGRID_API_HOST=sendgrid.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET, DATABASE_URL=pg_url)
    command = [sys.executable, "-m", "newsletter", "send", str(issue_path), "--worker"]
    start = lambda: subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: E731
    chance = random.Random(20261126)

    running = [start() for _ in range(WORKERS)]
    deadline = time.monotonic() + 60
    while sendgrid.requests == 0 and time.monotonic() < deadline:  # start-up done: batches are going out
        time.sleep(0.05)
    kills = 0
    while kills < KILLS:
        time.sleep(chance.uniform(0.2, 0.6))
        alive = [p for p in running if p.poll() is None]
        if not alive:
            break
        victim = alive[0]  # the longest running: past its start-up, most likely mid-batch
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills += 1
        running = [p for p in running if p is not victim] + [start()]
    for process in running:
        _, errors = process.communicate(timeout=120)
        assert process.returncode in (0, -signal.SIGKILL), errors.decode()
    assert kills == KILLS, "the workers were too quick for all the kills to land"
    # Every worker that finished saw the others' batches in flight; the last ones sweep up.
    finals = [start() for _ in range(WORKERS)]
    for process in finals:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors.decode()

    with Database(Server(pg_url)) as db:
        rows = {d.email: d for d in db.ledger.deliveries("7", list(State))}
        workers = db.connection.db.execute("SELECT count(DISTINCT split_part(send_id, '-', 1)) FROM deliveries WHERE issue = '7'").fetchone()[0]
    assert workers > WORKERS  # the batches were shared among many runs, killed ones included
    assert sorted(rows) == emails  # nobody missing from the ledger
    assert {d.state for d in rows.values()} <= {State.SENT, State.UNKNOWN}
    unknown = [email for email, d in rows.items() if d.state == State.UNKNOWN]
    assert len(unknown) <= kills * 2 * BATCH  # at most the batch handed over and the next claimed, per kill

    duplicates = {email: copies for email, copies in sendgrid.delivered.items() if copies > 1}
    assert duplicates == {}
    missing = [email for email in emails if sendgrid.delivered.get(email, 0) == 0]
    assert set(missing) <= set(unknown)  # anyone without it is reported unknown
    for email, d in rows.items():
        if d.state == State.SENT:
            assert sendgrid.delivered.get(email, 0) == 1, email

    status = subprocess.run([sys.executable, "-m", "newsletter", "status", str(issue_path)], env=env, cwd=workspace, capture_output=True, text=True)
    assert status.returncode == 0, status.stderr
    if unknown:
        assert unknown[0] in status.stdout
