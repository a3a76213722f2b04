"""Send fixtures: a workspace with subscribers, a SendGrid-compatible server and an SMTP server on loopback."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from tenacity import wait_none

sys.path.insert(0, str(Path(__file__).parent))  # the test servers live beside the tests

from sendgrid_server import API_KEY, Behaviour, SendGridServer

import newsletter.sending.loop as loop
from newsletter.cli.main import cli
from newsletter.db import Database
from newsletter.models import Status, Subscriber

SECRET = "a-long-secret-used-only-by-the-tests"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def add_subscribers(workspace: Path, count: int, status: Status = Status.ACTIVE, prefix: str = "reader") -> list[str]:
    emails = [f"{prefix}{n:05d}@example.com" for n in range(count)]
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert(Subscriber(email, f"Reader {n}", {}, status) for n, email in enumerate(emails))
    return emails


def set_config(workspace: Path, text: str) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text() + "\n" + text)


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)


@pytest.fixture
def fast_retries(monkeypatch):
    """Retries and deferrals without the real waits (0.5 s, 1 s, 2 s ... up to a minute): the same
    tries in the same order, in milliseconds."""
    monkeypatch.setattr(loop, "BACKOFF", wait_none())
    monkeypatch.setattr(loop, "DEFERRAL_PAUSE", 0.001)


@pytest.fixture
def sendgrid(workspace: Path, monkeypatch):
    """The local SendGrid; the workspace sends through it with fast retries and short timeouts."""
    with SendGridServer(Behaviour()) as server:
        monkeypatch.setenv("SENDGRID_API_HOST", server.url)
        set_config(workspace, '[send]\nprovider = "sendgrid"\n\n[sendgrid]\ntimeout = 0.5\n')
        yield server


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.sessions = 0
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(workspace: Path):
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    set_config(workspace, f'[send]\nprovider = "smtp"\n\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 5\n')
    yield mailbox
    controller.stop()
