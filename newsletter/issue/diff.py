"""`newsletter diff A B`: what changed between two versions of an issue, as a reviewer needs it.

A and B are issue files or git revisions of one (`HEAD~1:issues/2026-12-07.yaml`). Both go through
the same pipeline as `build` (prepare.py), rendered with the workspace's current settings and
templates, so what differs is the issue alone. diff_report.py prints the result; shots.py photographs it.
"""

from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ..errors import IssueFileError
from ..files.writing import write_files
from ..models import Story
from ..models.canonical import canonical_url
from ..render.pipeline import Renderer
from ..workspace.config import load_workspace
from ..workspace.git import read_at_revision
from .checks import delivered_bytes
from .loading import MAX_FILE_BYTES, parse_issue
from .prepare import PreparedIssue, prepare_issue


@dataclass(frozen=True)
class Version:
    """One side of a diff: how it was named (a file or REV:PATH) and the issue it holds, rendered."""

    label: str
    prepared: PreparedIssue

    @property
    def size(self) -> int:
        """The HTML's bytes as Gmail receives them (what `check` and `build` measure)."""
        prepared = self.prepared
        return delivered_bytes(prepared.email, prepared.workspace.config.sendgrid.click_tracking, prepared.tracking_growth)


@dataclass(frozen=True)
class PlacedStory:
    """A story and where it stands: its section's title and its place in the issue (from 1)."""

    story: Story
    section: str
    place: int

    @property
    def key(self) -> str:
        """What makes two versions of a story the same story: its link, canonical; else its title."""
        return canonical_url(self.story.url) if self.story.url else self.story.title.casefold()


@dataclass(frozen=True)
class Moved:
    before: PlacedStory
    after: PlacedStory


@dataclass(frozen=True)
class IssueDiff:
    a: Version
    b: Version
    text_diff: list[str]  # the plain-text part's unified diff, one line each (no line breaks)
    added: list[PlacedStory]
    removed: list[PlacedStory]
    moved: list[Moved]
    links_added: list[str]
    links_removed: list[str]

    @property
    def size_change(self) -> int:
        return self.b.size - self.a.size

    @property
    def unchanged(self) -> bool:
        """Nothing a reader would see differs (subject, preheader and both parts)."""
        return self.a.prepared.fingerprint == self.b.prepared.fingerprint


def compare(first: str, second: str) -> IssueDiff:
    """Load, render and compare two versions, each an issue file or REV:PATH (paths relative to
    the current folder). Raises NewsletterError for a version that cannot be read or rendered."""
    files = [Path(name) for name in (first, second) if not _revision(name)]
    renderer = Renderer(load_workspace(files[0].parent if files else Path.cwd()))
    a, b = (load_version(name, renderer) for name in (first, second))
    return diff_versions(a, b)


def _revision(name: str) -> tuple[str, str] | None:
    """REV and PATH when `name` is REV:PATH rather than a file that exists."""
    if Path(name).exists() or ":" not in name:
        return None
    revision, _, path = name.partition(":")
    return revision, path


def load_version(name: str, renderer: Renderer) -> Version:
    """An issue file, or REV:PATH read from git, loaded and rendered as `build` would."""
    revision = _revision(name)
    if revision is None:
        return Version(name, prepare_issue(Path(name), renderer))
    data = read_at_revision(*revision, Path.cwd(), MAX_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IssueFileError(f"{name}:{line}: is not UTF-8 text (byte {exc.start + 1})") from None
    parse_issue(text, Path(name))  # its mistakes, located in the revision rather than in a temporary file
    with tempfile.TemporaryDirectory(prefix="newsletter-diff-") as temporary:
        path = write_files(Path(temporary), {Path(revision[1]).name: data})[0]
        return Version(name, prepare_issue(path, renderer))


def diff_versions(a: Version, b: Version) -> IssueDiff:
    before, after = placed_stories(a), placed_stories(b)
    old = {story.key: story for story in before}
    new = {story.key: story for story in after}
    added = [story for story in after if story.key not in old]
    removed = [story for story in before if story.key not in new]
    links_a, links_b = links_of(a), links_of(b)
    return IssueDiff(
        a,
        b,
        text_diff(a, b),
        added,
        removed,
        moved_stories(before, after),
        [link for key, link in links_b.items() if key not in links_a],
        [link for key, link in links_a.items() if key not in links_b],
    )


def placed_stories(version: Version) -> list[PlacedStory]:
    issue = version.prepared.issue
    stories = [(story, section.title) for section in issue.sections for story in section.stories]
    return [PlacedStory(story, section, place) for place, (story, section) in enumerate(stories, start=1)]


def moved_stories(before: list[PlacedStory], after: list[PlacedStory]) -> list[Moved]:
    """Stories in both versions that changed section, or whose order among the stories both hold
    changed. The longest run kept in order stays put; a story moved from first to last is one
    move, not one for every story it passed."""
    old = {story.key: story for story in before}
    new = {story.key: story for story in after}
    kept_a = [story.key for story in before if story.key in new]
    kept_b = [story.key for story in after if story.key in old]
    matcher = difflib.SequenceMatcher(None, kept_a, kept_b, autojunk=False)
    in_order = {key for block in matcher.get_matching_blocks() for key in kept_a[block.a : block.a + block.size]}
    return [Moved(old[key], new[key]) for key in kept_b if key not in in_order or old[key].section != new[key].section]


def text_diff(a: Version, b: Version) -> list[str]:
    """The plain-text part, line by line, as `diff -u` shows it."""
    lines = difflib.unified_diff(a.prepared.email.text.splitlines(), b.prepared.email.text.splitlines(), a.label, b.label, lineterm="")
    return list(lines)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://")):
                self.found.append(href)


def links_of(version: Version) -> dict[str, str]:
    """The web links of the email's HTML as a reader gets it, by canonical form (the first as written)."""
    parser = _Links()
    parser.feed(version.prepared.email.html)
    parser.close()
    links: dict[str, str] = {}
    for href in parser.found:
        links.setdefault(canonical_url(href), href)
    return links
