"""The archive's memory: which stories ran in earlier issues of the workspace, for `check`.

A story repeats an earlier one when its link has the same canonical form (models/canonical.py:
tracking parameters, `www.` and a trailing slash make no difference), or when its title is
near-identical: difflib's ratio of the two normalized titles (lower case, punctuation dropped,
spaces collapsed) is more than TITLE_SIMILARITY. At 0.9, "A home robot folds towels at human speed"
matches "Home robots fold towels at human speed!" (0.95) and "A robot folds towels at human speed"
(0.93), not "A home robot folds shirts at human speed" (0.90) nor "Robots fold shirts" (0.78).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import NewsletterError
from ..models import Issue
from ..models.canonical import canonical_url
from .checks import Finding
from .loading import Field, load_issue

TITLE_SIMILARITY = 0.9  # difflib ratio of two normalized titles above which they are one story
RAN_BEFORE = "ran-before"  # a story's link ran in an earlier issue
TITLE_RAN_BEFORE = "title-ran-before"  # a near-identical title ran in an earlier issue
NOT_A_WORD = re.compile(r"[^\w\s]+")


@dataclass(frozen=True)
class PastStory:
    """A story of an earlier issue, as the memory compares it."""

    number: int
    date: dt.date
    title: str
    link: str  # the story's url, canonical
    words: str  # the title, normalized

    @property
    def issue(self) -> str:
        return f"issue {self.number} ({self.date.isoformat()})"


@dataclass(frozen=True)
class _Remembered:
    path: Path
    number: int
    date: dt.date
    stories: tuple[PastStory, ...]


# Each issue file's stories, until the file changes (mtime, size): the preview asks on every save.
_cache: dict[Path, tuple[tuple[int, int], _Remembered | None]] = {}


def normalized_title(title: str) -> str:
    return " ".join(NOT_A_WORD.sub(" ", title.casefold()).split())


def earlier_stories(issues_dir: Path, issue: Issue, issue_file: Path) -> list[PastStory]:
    """The stories of every issue file in `issues_dir` with a lower number or an earlier date than
    `issue`, but `issue_file` itself. A file that does not load is left out: `check` of that file
    reports it, and one broken file must not stop the check of another."""
    here = issue_file.resolve()
    found: list[PastStory] = []
    for remembered in _issues(issues_dir):
        if remembered.path != here and (remembered.number < issue.number or remembered.date < issue.date):
            found.extend(remembered.stories)
    return found


def stories_that_ran(issues_dir: Path) -> list[PastStory]:
    """The stories of every issue file in `issues_dir` that loads, oldest issue first (the inbox
    marks a feed's item that one of them already has)."""
    return [story for remembered in sorted(_issues(issues_dir), key=lambda r: (r.number, r.date)) for story in remembered.stories]


def _issues(issues_dir: Path) -> list[_Remembered]:
    found = (_remembered(path) for path in sorted(issues_dir.glob("*.yaml"))) if issues_dir.is_dir() else ()
    return [remembered for remembered in found if remembered is not None]


def _remembered(path: Path) -> _Remembered | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        issue = load_issue(path)
    except NewsletterError:
        remembered = None
    else:
        stories = tuple(
            PastStory(issue.number, issue.date, story.title, canonical_url(story.url), normalized_title(story.title)) for story in issue.stories
        )
        remembered = _Remembered(path.resolve(), issue.number, issue.date, stories)
    _cache[path] = (stamp, remembered)
    return remembered


def memory_findings(issue: Issue, past: list[PastStory]) -> list[Finding]:
    """A warning for each story of `issue` whose link, or else a near-identical title, ran in one
    of the `past` stories, naming that issue's number and date (the earliest, when several)."""
    by_link: dict[str, PastStory] = {}
    for remembered in sorted(past, key=lambda p: (p.date, p.number)):
        by_link.setdefault(remembered.link, remembered)
    found: list[Finding] = []
    matcher = difflib.SequenceMatcher(autojunk=False)
    for s, section in enumerate(issue.sections):
        for n, story in enumerate(section.stories):
            here: Field = ("sections", s, "stories", n)
            earlier = by_link.get(canonical_url(story.url))
            if earlier is not None:
                found.append(Finding("warning", f"ran before, in {earlier.issue}: {earlier.title!r}", (*here, "url"), code=RAN_BEFORE))
                continue
            similar = _similar_title(matcher, normalized_title(story.title), past)
            if similar is not None:
                message = f"is nearly the title of a story in {similar.issue}: {similar.title!r} (a different link); is it the same story?"
                found.append(Finding("warning", message, (*here, "title"), code=TITLE_RAN_BEFORE))
    return found


def _similar_title(matcher: difflib.SequenceMatcher[str], words: str, past: list[PastStory]) -> PastStory | None:
    """The earliest past story whose normalized title is more than TITLE_SIMILARITY like `words`.
    The quick upper bounds rule out almost every title before the full ratio is computed."""
    if not words:
        return None
    matcher.set_seq2(words)  # difflib keeps what it learns of the second sequence between comparisons
    best: PastStory | None = None
    for story in past:
        matcher.set_seq1(story.words)
        if matcher.real_quick_ratio() <= TITLE_SIMILARITY or matcher.quick_ratio() <= TITLE_SIMILARITY or matcher.ratio() <= TITLE_SIMILARITY:
            continue
        if best is None or (story.date, story.number) < (best.date, best.number):
            best = story
    return best
