"""The signup form's answer time must not tell who is subscribed: a confirmation email used to be
sent inside the request, so a new address waited for the mail server and a subscribed one did not.
Now every address takes the same steps and the email is sent by the background sender."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Status, Subscriber
from tests.helpers.probes import SlowMailbox, classifier_accuracy, probe_signups, slow_smtp
from tests.helpers.smtp_server import smtp_settings
from tests.helpers.web import outbox
from tests.helpers.workspace import add_config

pytestmark = pytest.mark.slow  # timings and sends of many signups through a real server

SMTP_SECONDS = 0.3  # what the slow mail server takes per message (the report measured 297 ms)


@pytest.fixture
def slow_smtp_server(workspace: Path) -> Iterator[SlowMailbox]:
    with slow_smtp(SMTP_SECONDS) as (port, mailbox):
        add_config(workspace, smtp_settings(port))
        yield mailbox


def subscribed(workspace: Path, count: int) -> list[str]:
    addresses = [f"known{n:03d}@example.com" for n in range(count)]
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert(Subscriber(address, None, {}, Status.ACTIVE) for address in addresses)
    return addresses


def test_a_new_address_is_answered_before_its_confirmation_is_sent(workspace: Path, slow_smtp_server: SlowMailbox, serve) -> None:
    client = serve()
    # The mail server takes no message until the answer is in: an email sent inside the request
    # would hold the answer past the client's 10-s timeout. (It used to be timed against the mail
    # server's 0.3 s, which a loaded machine could miss without any email in the request.)
    with slow_smtp_server.holding():
        answer = client.request("POST", "/subscribe", b'{"email": "new@example.com"}', {"Content-Type": "application/json"})
        assert answer.status == 202
        assert slow_smtp_server.received == [], "the answer waited for the mail server: the email was sent inside the request"
    deadline = time.monotonic() + 10
    while slow_smtp_server.received != ["new@example.com"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow_smtp_server.received == ["new@example.com"]  # the background sender sent it, once


def test_signup_time_does_not_tell_new_from_subscribed(workspace: Path, slow_smtp_server: SlowMailbox, serve) -> None:
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
