"""Spans of time and shares of a list as an editor writes them: "3h", "90m", "1h30m", "5%".

`send --over 3h` and `[send] canary = "5%"`, `canary_wait = "30m"` read them; each parser raises
ValueError with the sentence to show after the option or setting's name.
"""

from __future__ import annotations

import datetime as dt
import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+)\s*([smhd])")
_SPAN = re.compile(r"(?:\d+\s*[smhd]\s*)+")
_SHARE = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def parse_span(text: str, shortest: dt.timedelta, longest: dt.timedelta) -> dt.timedelta:
    """A span such as "3h", "90m", "45s", "2d" or "1h30m", between `shortest` and `longest`."""
    written = text.strip().lower()
    if not _SPAN.fullmatch(written):
        raise ValueError(f'expected a span of time such as "30m", "3h" or "1h30m" (s, m, h, d), got {text!r}')
    span = dt.timedelta(seconds=sum(int(number) * UNITS[unit] for number, unit in _PART.findall(written)))
    if not shortest <= span <= longest:
        raise ValueError(f"{text!r} is outside {show_span(shortest)} to {show_span(longest)}")
    return span


def parse_share(text: str, lowest: float, highest: float) -> float:
    """A share of the list in percent, such as "5%", between `lowest` and `highest` (percent)."""
    found = _SHARE.fullmatch(text.strip())
    if not found:
        raise ValueError(f'expected a share of the list such as "5%", got {text!r}')
    share = float(found.group(1))
    if not lowest <= share <= highest:
        raise ValueError(f"{text!r} is outside {lowest:g}% to {highest:g}%")
    return share


def show_span(span: dt.timedelta) -> str:
    """A span the way it is written: 3h, 1h30m, 45s."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
