"""Helpers of the web archive tests: issues to publish, a publish run, the files it left."""

from __future__ import annotations

import re
from pathlib import Path

from newsletter.publish import Outcome, publish
from newsletter.workspace.config import load_workspace
from tests.helpers.workspace import SMALL_ISSUE

# The fixture's archive_url is https://fixture.example.org/archive: its pages go to site/archive/,
# robots.txt to site/ (the host's root).
PAGES = Path("site") / "archive"


def workspace_of(archive: Path) -> Path:
    """The workspace of an archive folder (<workspace>/site/archive)."""
    return archive.parents[1]


def add_issue(workspace: Path, number: int, date: str, publish_flag: bool = True, subject: str | None = None) -> Path:
    """The small fixture issue as `number` on `date`, in issues/<date>.yaml."""
    source = SMALL_ISSUE.read_text(encoding="utf-8")
    source = re.sub(r"(?m)^number: .*$", f"number: {number}", source)
    source = re.sub(r"(?m)^date: .*$", f"date: {date}", source)
    if subject:
        source = re.sub(r"(?m)^subject: .*$", f'subject: "{subject}"', source)
    path = workspace / "issues" / f"{date}.yaml"
    path.write_text(source + ("publish: true\n" if publish_flag else ""), encoding="utf-8")
    return path


def publish_workspace(workspace: Path, folder: Path | None = None) -> Outcome:
    """Publish the workspace's issues (to `folder`, else where its settings say), as `newsletter publish` does."""
    return publish(load_workspace(workspace), folder)


def names(outcome: Outcome) -> set[str]:
    """The files written, by path in the site folder ("archive/index.html", "robots.txt")."""
    return {path.relative_to(outcome.folder).as_posix() for path in outcome.written}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by its path there."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()} if folder.is_dir() else {}
