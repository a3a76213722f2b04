"""When an issue goes out: now, at a time the provider holds it for (SendGrid's send_at, up to 72
hours ahead), or at a time we hold it for here until `newsletter send --due` runs (any provider,
any time ahead). The rules are pure functions of the saved schedule, the request and the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from ..db import Schedule
from ..errors import NewsletterError


class ScheduleError(NewsletterError):
    """A scheduling request that clashes with the issue's schedule, or a time that cannot be used."""


@dataclass(frozen=True)
class Plan:
    """How this run delivers: `now`; `provider` (the provider holds it until send_at); or `hold`
    (held here until send_at). `release`: a schedule held here is due, so its rows go out now."""

    kind: Literal["now", "provider", "hold"]
    send_at: dt.datetime | None = None
    schedule_id: str | None = None  # continue the provider's existing scheduled batch
    release: bool = False


def plan_delivery(issue: str, saved: Schedule | None, at: dt.datetime | None, provider: str, ahead: dt.timedelta | None, now: dt.datetime) -> Plan:
    """Decide how a run delivers `issue`, given its saved schedule (whose provider-held time has not
    passed), the requested time `at` (or None for now) and how far ahead the provider can hold mail."""
    if saved is None:
        if at is None:
            return Plan("now")
        if at <= now:
            raise ScheduleError(f"--at {at.isoformat()} has passed; give a time in the future, or leave out --at to send now")
        if ahead is not None and at - now <= ahead:
            return Plan("provider", at)
        return Plan("hold", at)
    when = saved.send_at.isoformat()
    if at is not None and at != saved.send_at:
        raise ScheduleError(f"issue {issue} is already scheduled for {when}; run `newsletter cancel` first to choose another time")
    if saved.held_by == "here":
        if at is not None:
            return Plan("hold", saved.send_at)  # the same request again: new subscribers are held too
        if saved.send_at <= now:
            return Plan("now", release=True)
        raise ScheduleError(
            f"issue {issue} is scheduled for {when}, held here until `newsletter send --due` delivers it; "
            "to send it now instead, run `newsletter cancel` first"
        )
    if provider != saved.provider:
        raise ScheduleError(f"issue {issue} is scheduled through {saved.provider} for {when}; send it with --provider {saved.provider}, or cancel the schedule first")
    # Resuming an interrupted scheduled run, or new subscribers: they join the same delivery.
    return Plan("provider", saved.send_at, saved.batch_id)


def parse_time(text: str, local_zone: dt.tzinfo | None = None) -> dt.datetime:
    """An ISO 8601 date and time; without a zone it is local time. Whole seconds (SendGrid's unit)."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ScheduleError(f"--at {text!r}: expected a date and time such as 2026-11-26T08:00+00:00 (or 2026-11-26 08:00 in local time)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=local_zone) if local_zone else when.astimezone()
    return when.replace(microsecond=0)
