"""Send windows as an editor writes them ("09:00-17:00") and the time zones they are read in.

An automation's send step waits until the window opens in the reader's own zone (a subscriber
attribute such as `timezone`, an IANA name), else in the newsletter's ([automations] time_zone).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]|24):([0-5]\d)")
ZONE_ATTRIBUTES = ("timezone", "time_zone", "tz")  # the subscriber attributes that may name a reader's zone


class Window(NamedTuple):
    """From `start` to `end`, local time; `end` before `start` runs past midnight."""

    start: dt.time
    end: dt.time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_window(text: str) -> Window:
    """"09:00-17:00" (24-hour clock); ValueError with the sentence to show after the setting's name."""
    found = _WINDOW.fullmatch(text.strip())
    if not found:
        raise ValueError(f'expected a window of the day such as "09:00-17:00" (24-hour clock), got {text!r}')
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in found.groups())
    end = dt.time(0, 0) if end_hour == 24 else dt.time(end_hour, end_minute)
    if (end_hour, end_minute) == (start_hour, start_minute) or end_hour == 24 and end_minute:
        raise ValueError(f"{text!r} is not a window: it must start and end at different times, at 24:00 at the latest")
    return Window(dt.time(start_hour, start_minute), end)


def zone_named(name: object) -> ZoneInfo | None:
    """The IANA zone `name` names ("Europe/Berlin"); None when it names none."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def reader_zone(attributes: dict[str, str] | None, fallback: dt.tzinfo) -> dt.tzinfo:
    """The zone a reader's attributes name, else `fallback` (the newsletter's)."""
    for key in ZONE_ATTRIBUTES:
        zone = zone_named((attributes or {}).get(key))
        if zone is not None:
            return zone
    return fallback


def _inside(window: Window, local: dt.time) -> bool:
    if window.start < window.end or window.end == dt.time(0, 0):
        return window.start <= local and (local < window.end or window.end == dt.time(0, 0))
    return local >= window.start or local < window.end  # past midnight


def next_opening(window: Window, now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """`now` when it is inside the window in `zone`, else the window's next start there (aware)."""
    local = now.astimezone(zone)
    if _inside(window, local.time().replace(tzinfo=None)):
        return now
    opening = dt.datetime.combine(local.date(), window.start, tzinfo=zone)
    if opening <= local:
        opening = dt.datetime.combine(local.date() + dt.timedelta(days=1), window.start, tzinfo=zone)
    return opening
