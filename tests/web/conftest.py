"""Web app fixtures: the app for the fixture workspace under a real HTTP server on loopback, and a
plain HTTP client on it (the helpers tests import are in tests/helpers/web.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.web.server import start
from tests.helpers.web import Client

SECRET = "web-suite-secret-Hx7Qm2Lp9Vz4Rk8Nc3Jw6Tb5"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)


@pytest.fixture
def web(workspace: Path):
    """The app for `workspace`, served on 127.0.0.1 (a free port). Rate-limit counters start at zero."""
    app = create_app(workspace)
    limiter.reset()
    running = start(app, "127.0.0.1", 0)
    yield running
    running.stop()


@pytest.fixture
def client(web) -> Client:
    return Client(web.url)




@pytest.fixture
def flask_app():
    """Makes the web app of a workspace (for Flask's test client), rate-limit counters at zero;
    each one's background notice sender is stopped at the end."""
    apps = []

    def make(workspace: Path):
        apps.append(create_app(workspace))
        limiter.reset()
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["newsletter"].sender.stop()
