"""Command modules loaded lazily by newsletter.cli (one module per command family)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Workspace
    from ..models import Issue


def issue_and_workspace(issue_file: Path) -> tuple[Workspace, Issue]:
    """The issue in `issue_file` and its workspace; the ledger files it under str(issue.number)."""
    from ..config import load_workspace
    from ..issue_file import load_issue

    return load_workspace(issue_file.parent), load_issue(issue_file)
