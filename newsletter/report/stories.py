"""The reports by story, computed from the database (read only) through db.story_reports.

Per issue (Engagement): clicks per story (title, source, section, position, as the issue went out)
and per link, the mail scanners' clicks apart, and with [tracking] clicks = "reader" the readers
who clicked. A story's click rate is the readers who clicked it over delivered (or sent, where the
provider reported no delivery); with "aggregate" nobody is recorded, so it is its clicks over the
same base, and says so. Where nothing measured the clicks (the redirect was off and the provider
tracks none) the report says "not measured", never 0.

Across the archive (Archive): click-through, people's clicks over the copies of their issues, by
source, by section, by position in the issue and by format (image, quote, key facts), each with the
number of stories behind it. Only issues whose clicks something measured count.

The note `story add` prints (source_note): when a source's earlier stories were clicked far above
or below the newsletter's median story.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..db.story_reports import DIMENSIONS, TRACKED, Group, Tracking

if TYPE_CHECKING:
    from ..db import Database

READER, AGGREGATE = "reader", "aggregate"
OTHER_SLOT, SPONSOR_SLOT = "0", "sponsor"
REDIRECT = "the tool's redirect"
FORMATS = {"image": "with image", "quote": "with quote", "facts": "with key facts"}
NOTE_MIN_STORIES = 3  # a source's earlier stories needed before `story add` compares it
FAR_ABOVE, FAR_BELOW = 2.0, 0.5  # times the median story's click-through


@dataclass(frozen=True)
class StoryClicks:
    slot: str
    position: int | None  # None: the sponsor
    title: str
    source: str | None
    section: str | None
    url: str
    clicks: int  # by people
    machine: int  # by mail scanners, counted apart
    clickers: int | None  # distinct readers who clicked it (None: nobody is recorded, "aggregate")
    rate: float | None  # clickers (or clicks, in aggregate) over the base; None without a base

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class LinkClicks:
    url: str
    slot: str
    clicks: int
    machine: int
    clickers: int | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Engagement:
    """One issue's clicks by story. `measured_by` empty: nothing measured them, and every figure
    is "not measured"."""

    measured_by: tuple[str, ...]  # REDIRECT and/or the provider's name
    mode: str  # READER (a rate counts readers who clicked) or AGGREGATE (it counts clicks)
    unmeasured: str = ""  # why nothing measured them, as a sentence's end
    stories: list[StoryClicks] = field(default_factory=list)
    links: list[LinkClicks] = field(default_factory=list)  # through the redirect
    other_clicks: int = 0  # on links outside any story (the intro, the outro)
    machine: int = 0  # mail scanners' clicks, every link
    readers: list[str] | None = None  # READER: every address that clicked
    rate_base: str = "sent"  # delivered, or sent when the provider reported no deliveries

    @property
    def measured(self) -> bool:
        return bool(self.measured_by)

    @property
    def clicks(self) -> int:
        return sum(story.clicks for story in self.stories) + self.other_clicks

    @property
    def counted(self) -> str:
        """What a story's rate counts."""
        return "readers who clicked" if self.mode == READER else "clicks (nobody is recorded: [tracking] clicks = \"aggregate\")"

    def to_dict(self) -> dict[str, Any]:
        if not self.measured:
            return {"measured": False, "not_measured": self.unmeasured, "stories": None, "links": None, "readers": None}
        return {
            "measured": True,
            "measured_by": list(self.measured_by),
            "mode": self.mode,
            "rate": f"{'readers who clicked' if self.mode == READER else 'clicks'} / {self.rate_base}",
            "clicks": self.clicks,
            "machine_clicks": self.machine,
            "other_clicks": self.other_clicks,
            "stories": [story.to_dict() for story in self.stories],
            "links": [link.to_dict() for link in self.links],
            "readers": None if self.readers is None else {"count": len(self.readers), "addresses": self.readers},
        }


def _measures(db: Database, issue: str) -> tuple[bool, bool, str]:
    """(the redirect measured the issue's clicks, the provider did, the mode)."""
    tracking: Tracking = db.story_reports.tracking(issue)
    any_click, any_address, provider_click = db.story_reports.stored(issue)
    # A click stored is measured whatever was recorded (a send resumed after [tracking] changed)
    redirect = tracking.clicks in TRACKED or any_click
    by_provider = bool(tracking.provider_clicks) or provider_click
    tool_reader = tracking.clicks == READER or any_address
    mode = READER if tool_reader or (by_provider and not redirect) else AGGREGATE  # a provider's click events name the reader
    return redirect, by_provider, mode


def engagement(db: Database, issue: str, provider: str | None, base: int, rate_base: str) -> Engagement | None:
    """The issue's clicks by story; None for an issue sent before its stories were recorded (and
    with no click through the redirect): the per-link figures are all there is."""
    stories = db.clicks.stories(issue)
    redirect, by_provider, mode = _measures(db, issue)
    if not stories and not db.story_reports.stored(issue)[0]:
        return None
    if not (redirect or by_provider):
        return Engagement((), mode, unmeasured=_why_unmeasured(provider))
    measured_by = tuple(name for name, on in ((REDIRECT, redirect), (provider or "the provider", by_provider)) if on)
    tool = db.story_reports.slot_clicks(issue)
    from_provider = db.story_reports.provider_story_clicks(issue)
    clickers = db.story_reports.story_clickers(issue) if mode == READER else {}
    found = []
    for story in stories:
        own = tool.get(story.slot)
        clicks = (own.clicks if own else 0) + from_provider.get(story.slot, 0)
        readers = clickers.get(story.slot, 0) if mode == READER else None
        counted = readers if readers is not None else clicks
        found.append(
            StoryClicks(
                story.slot, story.position, story.title, story.source, story.section, story.url,
                clicks, own.machine if own else 0, readers, counted / base if base else None,
            )
        )  # fmt: skip
    links = [LinkClicks(link.url, link.slot, link.clicks, link.machine, link.clickers if mode == READER else None) for link in db.story_reports.link_clicks(issue)]
    other = tool.get(OTHER_SLOT)
    return Engagement(
        measured_by,
        mode,
        stories=found,
        links=links,
        other_clicks=other.clicks if other else 0,
        machine=sum(slot.machine for slot in tool.values()),
        readers=db.story_reports.readers(issue) if mode == READER else None,
        rate_base=rate_base,
    )


def _why_unmeasured(provider: str | None) -> str:
    shown = {"outbox": "the outbox", "smtp": "SMTP", "sendgrid": "SendGrid without [sendgrid] click_tracking"}.get(provider or "", provider or "this provider")
    return f'not measured: [tracking] clicks was "off" and {shown} reports no clicks'


# --- across the archive ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str  # the source, section, "1st"..., or "with image" / "without image"
    stories: int
    clicks: int
    copies: int

    @property
    def click_through(self) -> float | None:
        return self.clicks / self.copies if self.copies else None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "stories": self.stories, "clicks": self.clicks, "copies": self.copies, "click_through": self.click_through}


@dataclass(frozen=True)
class Archive:
    by: dict[str, list[Figure]]  # dimension -> figures; "format" holds image, quote and facts
    stories: int  # stories of measured issues, all together

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "stories",
            "click_through": "clicks by people / copies delivered (or sent, where the provider reported no delivery)",
            "stories": self.stories,
            **{dimension: [figure.to_dict() for figure in figures] for dimension, figures in self.by.items()},
        }


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def archive(db: Database) -> Archive:
    """Click-through across every issue whose clicks were measured."""
    groups: dict[str, list[Group]] = {dimension: [] for dimension in DIMENSIONS}
    for group in db.story_reports.archive():
        groups[group.dimension].append(group)
    by: dict[str, list[Figure]] = {}
    for dimension in ("source", "section"):
        figures = [Figure(group.key or "(none)", group.stories, group.clicks, group.copies) for group in groups[dimension]]
        by[dimension] = sorted(figures, key=lambda f: (-(f.click_through or 0), -f.stories, f.key))
    by["position"] = [Figure(ordinal(int(g.key or 0)), g.stories, g.clicks, g.copies) for g in sorted(groups["position"], key=lambda g: int(g.key or 0))]
    by["format"] = [
        Figure(("with " if group.key == "1" else "without ") + FORMATS[dimension].removeprefix("with "), group.stories, group.clicks, group.copies)
        for dimension in FORMATS
        for group in sorted(groups[dimension], key=lambda g: g.key or "", reverse=True)
    ]  # fmt: skip
    return Archive(by, sum(group.stories for group in groups["position"]))


def source_note(db: Database, source: str | None) -> str | None:
    """One line for `story add` when `source`'s earlier stories (at least NOTE_MIN_STORIES) were
    clicked at least twice, or at most half, the newsletter's median story; None otherwise."""
    if not source:
        return None
    rates = [(story.source, story.clicks / story.copies) for story in db.story_reports.story_rates() if story.copies]
    own = [rate for name, rate in rates if name == source]
    if len(own) < NOTE_MIN_STORIES:
        return None
    median = statistics.median(rate for _, rate in rates)
    if median <= 0:
        return None
    ratio = statistics.fmean(own) / median
    if FAR_BELOW < ratio < FAR_ABOVE:
        return None
    where = "above" if ratio >= FAR_ABOVE else "below"
    return (
        f"note: {source}'s {len(own)} earlier stories were clicked {ratio:.1f}x the newsletter's median story "
        f"({statistics.fmean(own) * 100:.2f}% against {median * 100:.2f}%): far {where} it"
    )
