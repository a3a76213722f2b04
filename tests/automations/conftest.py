"""Automation fixtures: a workspace with the welcome sequence and its two emails, readers who confirm,
and a clock the tests move by hand (no sleeping)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from newsletter.automations.runner import RunReport, run_automations
from newsletter.db import Database
from newsletter.models import Subscriber
from newsletter.workspace.config import load_workspace
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.workspace import SECRET, SMALL_ISSUE

WELCOME = """\
trigger: subscriber.confirmed
steps:
  - send: emails/welcome-1.yaml
  - wait: 2d
  - if: not clicked
    then:
      - send: emails/welcome-2.yaml
  - tag: welcomed
"""

START = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)  # a Monday, 10:00 UTC


class Clock:
    """The time a run sees; tests move it."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **span: float) -> None:
        self.now += dt.timedelta(**span)


def write_email(workspace: Path, name: str, subject: str) -> Path:
    """An email written like an issue file (the small fixture issue with its own subject)."""
    path = workspace / "emails" / name
    path.parent.mkdir(exist_ok=True)
    shutil.copy(SMALL_ISSUE, path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('subject: "Robots learn to fold laundry, and a quieter data centre"', f'subject: "{subject}"'), encoding="utf-8")
    return path


def write_automation(workspace: Path, name: str, text: str) -> Path:
    path = workspace / "automations" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)


@pytest.fixture
def welcome(workspace: Path) -> Path:
    """The workspace with automations/welcome.yaml and its two emails."""
    write_email(workspace, "welcome-1.yaml", "Welcome aboard")
    write_email(workspace, "welcome-2.yaml", "Where to start reading")
    write_automation(workspace, "welcome", WELCOME)
    return workspace


@pytest.fixture(params=BOTH)
def env(request, monkeypatch):
    """Each test on SQLite and on PostgreSQL (DATABASE_URL set for the code under test)."""
    found = database_env(request)
    for key, value in found.items():
        monkeypatch.setenv(key, value)
    return found


@pytest.fixture
def clock() -> Clock:
    return Clock()


def open_db(workspace: Path, env) -> Database:
    return database(workspace, env)


def confirm(db: Database, email: str, attributes: dict[str, str] | None = None) -> None:
    """`email` signs up and confirms, as on the web: the confirmation is a subscriber.confirmed event."""
    subscriber = db.subscribers.sign_up(email, None)
    assert subscriber.public_id is not None
    result = db.subscribers.confirm(subscriber.public_id, "9999-12-31T00:00:00+00:00")
    assert result.result == "confirmed"
    if attributes:
        db.subscribers.upsert([Subscriber(email, None, attributes)])


def run(workspace: Path, clock: Clock) -> RunReport:
    return run_automations(load_workspace(workspace), clock=clock)
