"""At most [web] address_rate confirmation and welcome emails reach one inbox, whichever route asks
for them (the signup form, a resend, the preferences page): one counter per inbox, kept where the
app's other rate limits are (memory, or Redis shared by every worker).

An inbox is the address without its `+tag`, case-folded: `Victim+1@…` and `victim+2@…` fill the
same counter. Text that is not an address is counted per client instead, so one person's typos
never hold back another's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from limits import parse_many
from limits.strategies import RateLimiter

from ..models.addresses import normalize
from .extensions import client_key, limiter

NAMESPACE = "inbox"
T = TypeVar("T")


def inbox_key(raw: str) -> str:
    """The counter an email to `raw` counts against."""
    try:
        address = normalize(raw[:320])
    except ValueError:
        return f"invalid:{client_key()}"
    local, _, domain = address.rpartition("@")
    return f"address:{local.split('+', 1)[0].casefold()}@{domain.casefold()}"


def take(raw: str, rate: str) -> int | None:
    """Count one email to `raw`'s inbox if the limit allows it: None when it does, else the
    seconds until it will (nothing counted)."""
    key, items = inbox_key(raw), parse_many(rate)

    def counted(strategy: RateLimiter) -> int | None:
        for item in items:
            if not strategy.test(item, NAMESPACE, key):
                reset = strategy.get_window_stats(item, NAMESPACE, key).reset_time
                return max(1, int(reset - time.time()) + 1)
        for item in items:
            strategy.hit(item, NAMESPACE, key)
        return None

    return _on_storage(counted)


def count(raw: str, rate: str) -> None:
    """Count an email the reader is owed whatever the limit (the welcome after confirming)."""
    key = inbox_key(raw)

    def counted(strategy: RateLimiter) -> None:
        for item in parse_many(rate):
            strategy.hit(item, NAMESPACE, key)

    _on_storage(counted)


def _on_storage(work: Callable[[RateLimiter], T]) -> T:
    """`work` on the limiter's storage; when a shared storage (Redis) is away, on this process's
    own counters, as Flask-Limiter counts its own limits meanwhile (rate_storage.py)."""
    try:
        return work(limiter.limiter)
    except Exception:
        fallback: RateLimiter | None = getattr(limiter, "_fallback_limiter", None)  # Flask-Limiter keeps it there; no public name
        if fallback is None:
            raise
        return work(fallback)
