"""Webhooks out on both databases: `location` is a fresh SQLite file, then a fresh PostgreSQL
database; `clock` is the "now" the deliverer sees, moved by the tests instead of sleeping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsletter.db import Location, Server
from newsletter.workspace.config import WebhookSettings
from tests.helpers.webhook_receiver import SECRET


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path: Path) -> Location:
    if request.param == "sqlite":
        return tmp_path / "subscribers.db"
    return Server(request.getfixturevalue("pg_url"))


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **how_long: float) -> None:
        self.now += dt.timedelta(**how_long)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch) -> str:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    return SECRET


def hook(url: str, events: list[str] | None = None, name: str | None = None) -> WebhookSettings:
    return WebhookSettings(url=url, events=events or ["*"], secret_env="HOOK_SECRET", name=name)
