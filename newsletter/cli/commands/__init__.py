"""Command modules loaded lazily by newsletter.cli.main (one module per command family)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...models import Issue
    from ...workspace.config import Workspace


def issue_and_workspace(issue_file: Path) -> tuple[Workspace, Issue]:
    """The issue in `issue_file` and its workspace; the ledger files it under str(issue.number)."""
    from ...issue.loading import load_issue
    from ...workspace.config import load_workspace

    return load_workspace(issue_file.parent), load_issue(issue_file)
