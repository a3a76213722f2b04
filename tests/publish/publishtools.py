"""Helpers of the web archive tests: issues to publish, a publish run, the files it left."""

from __future__ import annotations

import re
from pathlib import Path

from newsletter.config import load_workspace
from newsletter.publish import Outcome, publish

SMALL_ISSUE = Path(__file__).resolve().parent.parent / "fixtures" / "small-issue.yaml"


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


def run(workspace: Path, folder: Path | None = None) -> Outcome:
    return publish(load_workspace(workspace), folder)


def names(outcome: Outcome) -> set[str]:
    return {path.name for path in outcome.written}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())} if folder.is_dir() else {}
