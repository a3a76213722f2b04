"""Fixtures of the web archive tests (helpers the tests import are in tests/helpers/publishing.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.publishing import PAGES, add_issue, publish_workspace


@pytest.fixture
def published(workspace: Path, issue_path: Path) -> Path:
    """The fixture workspace with issue 7 marked `publish: true` and issue 8 added, published to
    site/; the archive's folder, site/archive/ (robots.txt is in site/)."""
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    add_issue(workspace, 8, "2026-12-08", subject="Issue eight & <friends>")
    publish_workspace(workspace)
    return workspace / PAGES
