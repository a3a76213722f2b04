"""A served workspace delivers its webhooks itself: the web app's background sender fans out and
sends the events every few seconds, with no cron."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.web import create_app
from newsletter.web.server import start
from tests.helpers.webhook_receiver import Receiver
from tests.helpers.workspace import add_config


@pytest.mark.slow
def test_the_web_app_delivers_the_events_with_no_cron(workspace: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_SECRET", "webhooks-suite-secret-Qz8Lm3Vx7Tb2Rk9Nc4Jw")
    with Receiver() as receiver:
        add_config(workspace, f'[[webhooks]]\nurl = "{receiver.url}"\nevents = ["subscriber.created"]\nsecret_env = "HOOK_SECRET"\n')
        with Database(workspace / "subscribers.db") as db:
            db.subscribers.sign_up("ada@example.com", "Ada")  # as `subscribers add` would, outside the app
            [event] = db.event_outbox.recent(1)
        running = start(create_app(workspace), "127.0.0.1", 0)
        try:
            # No request comes: the app's senders start with the server.
            deadline = time.monotonic() + 15
            while not receiver.accepted and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            running.stop()
        assert receiver.ids() == [event.event_id]
        assert receiver.accepted[0][1]["data"]["email"] == "ada@example.com"


@pytest.mark.slow
def test_gunicorn_workers_deliver_with_no_request_at_all(workspace: Path) -> None:
    """`serve --production`: each worker starts its senders as it boots, so an idle site delivers."""
    with Receiver() as receiver:
        add_config(workspace, f'[[webhooks]]\nurl = "{receiver.url}"\nevents = ["*"]\nsecret_env = "HOOK_SECRET"\n')
        with Database(workspace / "subscribers.db") as db:
            db.subscribers.sign_up("ada@example.com", "Ada")
        env = {**os.environ, "NEWSLETTER_SECRET": "webhooks-suite-secret-Qz8Lm3Vx7Tb2Rk9Nc4Jw", "XDG_RUNTIME_DIR": str(workspace)}
        command = [str(Path(sys.executable).with_name("newsletter")), "serve", "--production", "--workers", "1", "--port", "0"]
        process = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not receiver.accepted and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        assert [body["type"] for _, body in receiver.accepted] == ["subscriber.created"]
