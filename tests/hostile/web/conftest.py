"""The hostile suite's web section: the app for the fixture workspace under a real HTTP server on
loopback (as tests/web does), with the settings a test asks for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.web import Apps, Client


@pytest.fixture
def serve(workspace: Path) -> Iterator[Callable[..., Client]]:
    """serve(settings) starts the app for `workspace` with `settings` added; a client for it."""
    apps = Apps(workspace)
    yield apps.serve
    apps.stop()


@pytest.fixture
def client(serve) -> Client:
    """A client of the app with the fixture workspace's settings."""
    return serve()
