"""Which links the workspace's issues already hold: each story's canonical URL and the issue it is in."""

from __future__ import annotations

from pathlib import Path

from ..errors import NewsletterError
from ..issue.loading import load_issue
from ..models.canonical import canonical_url


def links_that_ran(issues_dir: Path) -> dict[str, str]:
    """Each story link's canonical URL in the issue files of `issues_dir`, with where it ran
    ("issue 41 (2026-11-24)"); the earliest issue wins. A file that does not load is left out
    (`newsletter check` is where its problems are told)."""
    found: dict[str, tuple[int, str]] = {}
    for path in sorted(issues_dir.glob("*.yaml")) if issues_dir.is_dir() else []:
        try:
            issue = load_issue(path)
        except NewsletterError:
            continue
        where = f"issue {issue.number} ({issue.date.isoformat()})"
        for section in issue.sections:
            for story in section.stories:
                link = canonical_url(story.url)
                if link not in found or found[link][0] > issue.number:
                    found[link] = (issue.number, where)
    return {link: where for link, (_, where) in found.items()}
