"""The hostile suite's web section: the app for the fixture workspace under a real HTTP server on
loopback (as tests/web does), with the settings a test asks for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from webtools import Client, add_config  # on the path through tests/hostile/conftest.py

from newsletter.web import create_app
from newsletter.web.extensions import limiter
from newsletter.web.server import Running, start


@pytest.fixture
def serve(workspace: Path) -> Iterator[Callable[..., Client]]:
    """serve(settings) starts the app for `workspace` after appending `settings` to its
    newsletter.toml, with rate-limit counters at zero; returns a client for it."""
    running: list[Running] = []

    def serve_with(settings: str = "") -> Client:
        if settings:
            add_config(workspace, settings)
        app = create_app(workspace)
        limiter.reset()
        running.append(start(app, "127.0.0.1", 0))
        return Client(running[-1].url)

    yield serve_with
    for server in running:
        server.stop()


@pytest.fixture
def client(serve) -> Client:
    """A client of the app with the fixture workspace's settings."""
    return serve()
