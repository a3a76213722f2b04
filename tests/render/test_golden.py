"""Golden tests: the fixture issue's rendered HTML and text, compared byte for byte.

When a template or the pipeline changes on purpose, regenerate the expected files and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/render/test_golden.py
    git diff tests/render/golden/
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.config import load_workspace
from newsletter.issue_file import load_issue
from newsletter.render import Renderer

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def rendered(workspace: Path, issue_path: Path):
    return Renderer(load_workspace(workspace)).render(load_issue(issue_path))


@pytest.mark.parametrize(
    "name, part",
    [("small-issue.html", "html"), ("small-issue.txt", "text"), ("small-issue.web.html", "web_html")],
)
def test_rendering_matches_golden_file(rendered, name: str, part: str) -> None:
    actual = getattr(rendered, part)
    expected_path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"missing {expected_path}; run with UPDATE_GOLDEN=1 to create it"
    expected = expected_path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} changed; if intended, regenerate with UPDATE_GOLDEN=1 and review the diff"
