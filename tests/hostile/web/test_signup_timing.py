"""The signup form's answer time must not tell who is subscribed: a confirmation email used to be
sent inside the request, so a new address waited for the mail server and a subscribed one did not.
Now every address takes the same steps and the email is sent by the background sender."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from probes import classifier_accuracy, probe_signups
from webtools import add_config, outbox

from newsletter.db import Database
from newsletter.models import Status, Subscriber

SMTP_SECONDS = 0.3  # what the slow mail server takes per message (the report measured 297 ms)


class SlowMailbox:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(SMTP_SECONDS)
        self.received.extend(envelope.rcpt_tos)
        return "250 Message accepted"


@pytest.fixture
def slow_smtp(workspace: Path):
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = SlowMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    add_config(workspace, f'[send]\nprovider = "smtp"\n\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 5\n')
    yield mailbox
    controller.stop()


def subscribed(workspace: Path, count: int) -> list[str]:
    addresses = [f"known{n:03d}@example.com" for n in range(count)]
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert(Subscriber(address, None, {}, Status.ACTIVE) for address in addresses)
    return addresses


def test_a_new_address_is_answered_before_its_confirmation_is_sent(workspace: Path, slow_smtp: SlowMailbox, serve) -> None:
    client = serve()
    started = time.perf_counter()
    answer = client.request("POST", "/subscribe", b'{"email": "new@example.com"}', {"Content-Type": "application/json"})
    took = time.perf_counter() - started
    assert answer.status == 202
    assert took < SMTP_SECONDS, f"the answer waited {took:.3f} s: the email was sent inside the request"
    deadline = time.monotonic() + 10
    while slow_smtp.received != ["new@example.com"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow_smtp.received == ["new@example.com"]  # the background sender sent it, once


def test_signup_time_does_not_tell_new_from_subscribed(workspace: Path, slow_smtp: SlowMailbox, serve) -> None:
    """Alternating probes; a threshold trained on half of them may guess the other half no better
    than 60% (a coin toss is 50%). The bench runs the issue's 200 probes; this runs 600, so that
    chance alone passes 60% once in thousands of runs, not once in fifty."""
    known = subscribed(workspace, 300)
    client = serve('[web]\nsubscribe_rate = "100000/minute"')
    probes = probe_signups(client.base, [f"fresh{n:03d}@example.com" for n in range(300)], known)
    assert classifier_accuracy(probes) <= 0.60


def test_the_outbox_still_gets_every_confirmation_once(workspace: Path, serve) -> None:
    client = serve('[web]\nsubscribe_rate = "100000/minute"')
    known = subscribed(workspace, 20)
    probe_signups(client.base, [f"fresh{n:03d}@example.com" for n in range(20)], known)
    recipients = sorted(m["To"].addresses[0].addr_spec for m in outbox(workspace))
    assert recipients == [f"fresh{n:03d}@example.com" for n in range(20)]  # the subscribed ones got nothing
