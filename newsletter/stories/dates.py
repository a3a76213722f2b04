"""Dates as articles write them ("March 3, 2026", "3 March 2026", "2026-03-03"), for bylines and datelines."""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?,?\s+"
DATE = (
    rf"(?:{WEEKDAY})?(?:"
    r"(?P<iso>\d{4}-\d{2}-\d{2})"
    rf"|(?P<mdy_m>{MONTH})\s+(?P<mdy_d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<mdy_y>\d{{4}})"
    rf"|(?P<dmy_d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dmy_m>{MONTH}),?\s+(?P<dmy_y>\d{{4}})"
    r")"
)
DATE_PATTERN = re.compile(DATE, re.IGNORECASE)
TIME_AND_NOISE = re.compile(
    r"(?:[\s,·|•–—-]|\bat\b|\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?|(?-i:\b[A-Z]{2,5}\b)|\bGMT[+-]?\d*|\bUTC[+-]?\d*|\d+\s*min(?:ute)?s?\s+read)*",
    re.IGNORECASE,
)
DATE_LINE = re.compile(
    rf"^(?:(?:first\s+|last\s+)?(?:published|updated|posted|modified|date)(?:\s+on)?\s*:?\s*)?{DATE}", re.IGNORECASE
)
# "LONDON, March 3, 2026 — The city..." or "March 3, 2026: The city..."
DATE_PREFIX = re.compile(rf"^(?:[A-Z][A-Za-z .'-]{{1,30}},\s+)?{DATE}\s*(?:[—–:|]|--?)\s*(?=\S)", re.IGNORECASE)


def to_date(match: re.Match[str]) -> dt.date | None:
    """The date a DATE_PATTERN match names, or None if it is not a real calendar date."""
    try:
        if match["iso"]:
            return dt.date.fromisoformat(match["iso"])
        if match["mdy_m"]:
            return dt.date(int(match["mdy_y"]), MONTHS[match["mdy_m"][:3].lower()], int(match["mdy_d"]))
        return dt.date(int(match["dmy_y"]), MONTHS[match["dmy_m"][:3].lower()], int(match["dmy_d"]))
    except (ValueError, KeyError):
        return None


def date_line(line: str) -> dt.date | None:
    """The date of a line that is only a date ("Published 12 May 2026, 08:15 BST"), else None."""
    match = DATE_LINE.match(line.strip())
    if not match:
        return None
    rest = line.strip()[match.end() :]
    # "Published 3 May 2026, updated 4 May 2026" is still a date line.
    leftover = DATE_PATTERN.sub("", re.sub(r"\b(?:updated|modified|posted)(?:\s+on)?\b:?", "", rest, flags=re.IGNORECASE))
    if TIME_AND_NOISE.fullmatch(leftover):
        return to_date(match)
    return None


def strip_date_prefix(text: str) -> tuple[str, dt.date | None]:
    """("March 3, 2026 — The city...") -> ("The city...", 2026-03-03); text without a prefix is unchanged."""
    match = DATE_PREFIX.match(text)
    if not match:
        return text, None
    found = to_date(match)
    return (text[match.end() :], found) if found else (text, None)


def first_date(text: str) -> dt.date | None:
    for match in DATE_PATTERN.finditer(text):
        found = to_date(match)
        if found:
            return found
    return None
