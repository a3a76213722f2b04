"""Golden tests: the fixture issue's rendered HTML and text, in both layouts, compared byte for
byte (the dark-mode rules are part of the HTML).

When a template or the pipeline changes on purpose, regenerate the expected files and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/render/test_golden.py
    git diff tests/render/golden/
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from newsletter.render.pipeline import Renderer
from newsletter.workspace.config import load_workspace

GOLDEN = Path(__file__).parent / "golden"


def render(workspace: Path, issue_path: Path, layout: str):
    issue = load_issue(issue_path).model_copy(update={"layout": layout})
    return Renderer(load_workspace(workspace)).render(issue)


@pytest.mark.parametrize(
    "name, part, layout",
    [
        ("small-issue.html", "html", "standard"),
        ("small-issue.txt", "text", "standard"),
        ("small-issue.web.html", "web_html", "standard"),
        ("small-issue.digest.html", "html", "digest"),
        ("small-issue.digest.txt", "text", "digest"),
    ],
)
def test_rendering_matches_golden_file(workspace: Path, issue_path: Path, name: str, part: str, layout: str) -> None:
    actual = getattr(render(workspace, issue_path, layout), part)
    expected_path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"missing {expected_path}; run with UPDATE_GOLDEN=1 to create it"
    expected = expected_path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} changed; if intended, regenerate with UPDATE_GOLDEN=1 and review the diff"
