"""The signup-timing attack, as an attacker would run it (used by tests/hostile/web and by
bench/web_abuse_bench.py): time signups of addresses known to be new and known to be subscribed,
alternating, then see how well a threshold on the time tells them apart. And the slow mail server
that made the difference."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.helpers.smtp_server import serving

HOLD_AT_MOST = 30.0  # seconds a held message waits at most (longer than any client's timeout here)


@dataclass
class SlowMailbox:
    """An SMTP server's handler that takes `seconds` to accept each message, and keeps the recipients.
    Within `holding()`, it takes no message at all until the block ends."""

    seconds: float
    received: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: threading.Event = field(default_factory=threading.Event)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        self.held.set()
        try:
            yield
        finally:
            self.held.clear()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.seconds)
        held_since = time.monotonic()
        while self.held.is_set() and time.monotonic() - held_since < HOLD_AT_MOST:
            await asyncio.sleep(0.01)
        with self.lock:
            self.received.extend(envelope.rcpt_tos)
        return "250 Message accepted"


@contextlib.contextmanager
def slow_smtp(seconds: float) -> Iterator[tuple[int, SlowMailbox]]:
    """An aiosmtpd server on loopback taking `seconds` a message: (its port, its mailbox)."""
    mailbox = SlowMailbox(seconds)
    with serving(mailbox) as port:
        yield port, mailbox


@dataclass(frozen=True)
class Probe:
    subscribed: bool
    seconds: float


def probe_signups(base: str, new: list[str], subscribed: list[str]) -> list[Probe]:
    """One JSON signup per address, alternating new and subscribed, each timed from the request
    to the whole answer, on one kept-alive connection (as an attacker would, to cut noise)."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    probes = []
    try:
        for fresh, known in zip(new, subscribed, strict=True):
            for address, is_subscribed in ((fresh, False), (known, True)):
                body = json.dumps({"email": address}).encode()
                started = time.perf_counter()
                connection.request("POST", "/subscribe", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                probes.append(Probe(is_subscribed, time.perf_counter() - started))
                assert response.status == 202, response.status
    finally:
        connection.close()
    return probes


def best_threshold(probes: list[Probe]) -> tuple[float, bool]:
    """The time threshold, and which side is 'subscribed', that classifies `probes` best."""
    ordered = sorted(probes, key=lambda probe: probe.seconds)
    total_subscribed = sum(probe.subscribed for probe in ordered)
    best = (0.0, ordered[0].seconds, True)
    below_subscribed = 0
    for index, probe in enumerate(ordered):
        below_subscribed += probe.subscribed
        below = index + 1
        # subscribed answer faster: below the threshold means subscribed
        fast = below_subscribed + (len(ordered) - below - (total_subscribed - below_subscribed))
        slow = len(ordered) - fast
        for correct, subscribed_fast in ((fast, True), (slow, False)):
            if correct / len(ordered) > best[0]:
                best = (correct / len(ordered), probe.seconds, subscribed_fast)
    return best[1], best[2]


def accuracy(probes: list[Probe], threshold: float, subscribed_fast: bool) -> float:
    correct = sum((probe.seconds <= threshold) == (probe.subscribed == subscribed_fast) for probe in probes)
    return correct / len(probes)


def classifier_accuracy(probes: list[Probe]) -> float:
    """How often a threshold trained on the first half of the probes classifies the second half
    right: 0.5 is a coin toss, 1.0 tells every address."""
    half = len(probes) // 2
    threshold, subscribed_fast = best_threshold(probes[:half])
    return accuracy(probes[half:], threshold, subscribed_fast)
