"""Fixtures of the web archive tests (helpers the tests import are in publishtools.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # publishtools, the helpers the tests import

from publishtools import PAGES, add_issue, run


@pytest.fixture
def published(workspace: Path, issue_path: Path) -> Path:
    """The fixture workspace with issue 7 marked `publish: true` and issue 8 added, published to
    site/; the archive's folder, site/archive/ (robots.txt is in site/)."""
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    add_issue(workspace, 8, "2026-12-08", subject="Issue eight & <friends>")
    run(workspace)
    return workspace / PAGES
