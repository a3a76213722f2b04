"""The queued confirmation and welcome emails keep the send ledger's rules: a sender killed while
sending neither repeats nor loses anyone silently (what may have left is reported `unknown`), two
senders never send one notice twice, and a clean stop leaves the rest queued for the next start."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from newsletter.db import Database
from newsletter.render.pipeline import Renderer
from newsletter.sending.notices import Notices
from newsletter.web import create_app
from newsletter.web.server import start
from newsletter.workspace.config import load_workspace
from newsletter.workspace.credentials import signing_keys
from tests.helpers.hostile import NEWSLETTER_SECRET, run
from tests.helpers.probes import SlowMailbox, slow_smtp
from tests.helpers.smtp_server import smtp_settings
from tests.helpers.web import Client
from tests.helpers.workspace import add_config

pytestmark = pytest.mark.slow  # senders started, killed and raced as processes

PER_MESSAGE = 0.15


@pytest.fixture
def smtp(workspace: Path) -> Iterator[SlowMailbox]:
    with slow_smtp(PER_MESSAGE) as (port, mailbox):
        add_config(workspace, smtp_settings(port))
        yield mailbox


def queue_signups(workspace: Path, count: int) -> list[str]:
    addresses = [f"reader{n:02d}@example.com" for n in range(count)]
    with Database(workspace / "subscribers.db") as db:
        for address in addresses:
            with db.transaction():
                db.subscribers.sign_up(address, None)
                db.notice_queue.add("confirm", address)
    return addresses


def states(workspace: Path) -> Counter[str]:
    with Database(workspace / "subscribers.db") as db:
        return Counter(state for (state,) in db.connection.db.execute("SELECT state FROM notice_queue"))


def sender(workspace: Path) -> Notices:
    loaded = load_workspace(workspace)
    return Notices(loaded, Renderer(loaded), signing_keys(loaded.config.send.provider))


def test_a_sender_killed_mid_queue_neither_repeats_nor_loses_anyone(workspace: Path, smtp: SlowMailbox) -> None:
    addresses = queue_signups(workspace, 20)
    env = dict(os.environ, NEWSLETTER_SECRET=NEWSLETTER_SECRET)
    command = [sys.executable, "-m", "newsletter", "notices", "send"]
    process = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(smtp.received) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    time.sleep(2 * PER_MESSAGE)  # a message the server was still taking in lands now
    after_kill = list(smtp.received)
    assert 5 <= len(after_kill) < 20

    rerun = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr and NEWSLETTER_SECRET not in rerun.stdout + rerun.stderr
    received = Counter(smtp.received)
    assert max(received.values()) == 1, received  # nobody twice
    left = states(workspace)
    assert left["sending"] <= 1 and left["sent"] + left["sending"] == 20  # the killed one is the only one unsettled
    assert left["sent"] <= len(received) <= left["sent"] + left["sending"]  # it may or may not have left

    # Ten minutes on, that one is settled `unknown` (it may have left): reported, never sent again.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)), Database(workspace / "subscribers.db") as db:
        handled = sender(workspace).send_due(db)
    assert handled["unknown"] == left["sending"]
    final = states(workspace)
    assert final["sent"] + final["unknown"] == 20 and final["sending"] == final["queued"] == 0
    assert Counter(smtp.received) == received and set(received) <= set(addresses)


def test_two_senders_at_once_send_each_notice_once(workspace: Path, smtp: SlowMailbox) -> None:
    queue_signups(workspace, 16)
    env = dict(os.environ, NEWSLETTER_SECRET=NEWSLETTER_SECRET)
    command = [sys.executable, "-m", "newsletter", "notices", "send"]
    runs = [subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for process in runs:
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    assert sorted(smtp.received) == [f"reader{n:02d}@example.com" for n in range(16)]
    assert states(workspace) == Counter({"sent": 16})


def test_a_clean_stop_leaves_the_rest_queued_for_the_next_start(workspace: Path, smtp: SlowMailbox, monkeypatch) -> None:
    add_config(workspace, '[web]\nsubscribe_rate = "100000/minute"')
    running = start(create_app(workspace), "127.0.0.1", 0)
    client = Client(running.url)
    try:
        for n in range(10):
            assert client.request("POST", "/subscribe", f'{{"email": "web{n}@example.com"}}'.encode(), {"Content-Type": "application/json"}).status == 202
    finally:
        running.stop()  # while the slow server is still taking the first ones
    stopped = states(workspace)
    assert stopped["queued"] > 0 and stopped["sending"] == 0  # the one being sent was finished, the rest wait
    monkeypatch.chdir(workspace)
    result = run("notices", "send")
    assert result.exit_code == 0, result.output
    assert f"{stopped['queued']} sent" in result.output
    assert sorted(smtp.received) == sorted(f"web{n}@example.com" for n in range(10))
