"""Which links the workspace's issues already hold: each story's canonical URL and the issue it
is in, from the archive's memory (issue/archive.py), which `check` reads too."""

from __future__ import annotations

from pathlib import Path

from ..issue.archive import stories_that_ran


def links_that_ran(issues_dir: Path) -> dict[str, str]:
    """Each story link's canonical URL in the issue files of `issues_dir`, with where it ran
    ("issue 41 (2026-11-24)"); the earliest issue wins. A file that does not load is left out
    (`newsletter check` is where its problems are told)."""
    found: dict[str, str] = {}
    for story in stories_that_ran(issues_dir):
        found.setdefault(story.link, story.issue)
    return found
