"""Send fixtures: the send tests' secrets, a SendGrid-compatible server and an SMTP server on loopback
that the workspace sends through, and retries without their waits."""

from __future__ import annotations

from pathlib import Path

import pytest
from tenacity import wait_none

import newsletter.sending.loop as loop
from tests.helpers.sendgrid_server import API_KEY, Behaviour, SendGridServer
from tests.helpers.smtp_server import Mailbox, serving, smtp_settings
from tests.helpers.workspace import SECRET, add_config


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
        add_config(workspace, '[send]\nprovider = "sendgrid"\n\n[sendgrid]\ntimeout = 0.5\n')
        yield server


@pytest.fixture
def smtp_server(workspace: Path):
    """An SMTP server on loopback keeping what it gets (a Mailbox); the workspace sends through it."""
    mailbox = Mailbox()
    with serving(mailbox) as port:
        add_config(workspace, smtp_settings(port))
        yield mailbox
