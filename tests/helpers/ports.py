"""A loopback port where every connection is refused, for as long as a test needs it.

A port found free and closed again may be taken by anything before the test connects; this one
stays bound (never listening) by the test itself, so nothing else can take it and the kernel refuses
every connection to it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections until the block ends."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: a connection gets RST at once
        yield held.getsockname()[1]


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses every connection during the test (refusing_port)."""
    with refusing_port() as port:
        yield port
