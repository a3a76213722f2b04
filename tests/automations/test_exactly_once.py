"""`automations run` SIGKILLed mid-send and run again, on SQLite and PostgreSQL: each reader gets each step exactly once
(or is reported unknown, never retried by itself), and moves on only once their copy is settled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.models import State
from tests.automations.conftest import confirm, open_db
from tests.helpers.exactly_once import kill_and_resume, reconcile
from tests.helpers.sendgrid_server import API_KEY, Behaviour, SendGridServer
from tests.helpers.workspace import SECRET, add_config

pytestmark = pytest.mark.slow  # 600 readers, the runner killed three times

READERS = 600
BATCH = 50
KILLS = 3


def test_killed_mid_send_each_reader_gets_each_step_once(welcome: Path, env: dict[str, str]) -> None:
    add_config(welcome, f'[send]\nprovider = "sendgrid"\nbatch_size = {BATCH}\n\n[sendgrid]\ntimeout = 0.5\n')
    emails = [f"reader{n:04d}@example.com" for n in range(READERS)]
    with open_db(welcome, env) as db:
        for email in emails:
            confirm(db, email)
    with SendGridServer(Behaviour(latency=0.08)) as sendgrid:
        command_env = dict(os.environ, SENDGRID_API_HOST=sendgrid.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET, **env)
        kill_and_resume(welcome, welcome, command_env, lambda: sendgrid.delivered, kills=KILLS, batch=BATCH, command=["automations", "run"], settle=False)
        delivered = sendgrid.delivered

    with open_db(welcome, env) as db:
        rows = {d.email: d.state for d in db.ledger.deliveries("auto-welcome-1", list(State))}
        at = db.automations.counts("welcome")
    assert sorted(rows) == emails  # everyone enrolled once, nobody missing
    unknown = reconcile(rows, delivered)
    assert len(unknown) <= KILLS * BATCH
    # Only a settled copy moves a reader on: the unknown ones wait at the send step for the editor's word.
    assert at.get(("active", "2"), 0) == READERS - len(unknown)
    assert at.get(("active", "1"), 0) == len(unknown)
