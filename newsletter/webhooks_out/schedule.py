"""When a delivery that failed is tried again: Standard Webhooks' (Svix's) schedule, then every
10 hours, until 3 days after the delivery was created."""

from __future__ import annotations

import datetime as dt

BACKOFF = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
)  # after the 1st, 2nd... failed attempt; the last repeats
GIVE_UP_AFTER = dt.timedelta(days=3)


def next_attempt(failed_attempts: int, created_at: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """When to try again after `failed_attempts` failures (the latest at `now`), or None: give up,
    the next try would come more than GIVE_UP_AFTER after the delivery was created."""
    wait = BACKOFF[min(failed_attempts, len(BACKOFF)) - 1]
    later = now + wait
    return later if later <= created_at + GIVE_UP_AFTER else None
