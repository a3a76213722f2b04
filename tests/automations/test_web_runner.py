"""A served workspace runs its automations itself: the web app's background thread runs them every
minute (here, every fraction of a second), with no cron."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.web import create_app, periodic
from newsletter.web.server import start
from tests.automations.conftest import confirm
from tests.helpers.outbox import delivered


@pytest.mark.slow
def test_the_web_app_welcomes_a_confirmed_reader_with_no_cron(welcome: Path, monkeypatch) -> None:
    monkeypatch.setattr(periodic, "AUTOMATION_SECONDS", 0.2)
    with Database(welcome / "subscribers.db") as db:
        confirm(db, "ada@example.com")
    running = start(create_app(welcome), "127.0.0.1", 0)
    try:
        # No request comes: the app's background threads start with the server.
        deadline = time.monotonic() + 20
        while not delivered(welcome) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # several more runs: still one copy
    finally:
        running.stop()
    assert delivered(welcome) == {"ada@example.com": 1}


def test_a_workspace_without_automations_starts_no_runner(workspace: Path) -> None:
    from newsletter.workspace.config import load_workspace

    assert periodic.automation_runner(load_workspace(workspace)) is None
