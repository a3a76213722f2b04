"""`newsletter diff A B` on two issue files: the stories added, removed and moved (the same link
however it is written is the same story), the links, the HTML size as `build` measures it, the plain
text's diff, and the same as a pull request's comment (--markdown)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run
from tests.helpers.git_repo import edit_issue

CHIPS = {"title": "Chips | cooler *now*", "url": "https://example.org/chips", "source": "Chip Weekly", "summary": "A new chip runs cooler than the last one."}


def rewritten(data: dict[str, Any]) -> None:
    """Map format out, a chips story in, and the towels link written another way (the same page)."""
    robotics, infrastructure = data["sections"]
    robotics["stories"] = [story for story in robotics["stories"] if not story["url"].endswith("map-format")]
    robotics["stories"][0]["url"] = "https://www.example.org/robots/towels/?utm_source=feed"
    infrastructure["stories"].append(CHIPS)


def towels_moved_last(data: dict[str, Any]) -> None:
    robotics, infrastructure = data["sections"]
    infrastructure["stories"].append(robotics["stories"].pop(0))


@pytest.fixture
def pair(in_workspace: Path, issue_path: Path) -> tuple[Path, Path]:
    """The small issue (A) and a copy of it (B) in the workspace's issues/."""
    after = issue_path.with_name("2026-12-01-edited.yaml")
    shutil.copy(issue_path, after)
    return issue_path, after


def built_size(issue: Path) -> str:
    """What `newsletter build` says of the HTML's size, in KB."""
    found = re.search(r"HTML size: ([\d.]+) KB", run("build", issue, ok=True).output)
    assert found
    return found.group(1)


@pytest.mark.slow  # three commands, two of them builds
def test_stories_added_and_removed_links_and_the_size_build_measures(pair: tuple[Path, Path]) -> None:
    before, after = pair
    edit_issue(after, rewritten)

    output = run("diff", "issues/2026-12-01.yaml", "issues/2026-12-01-edited.yaml", ok=True).output

    assert "Issue 7: issues/2026-12-01.yaml -> issues/2026-12-01-edited.yaml" in output
    assert "Stories: 1 added, 1 removed, 0 moved" in output
    assert "  + Chips | cooler *now* (Infrastructure, story 3) https://example.org/chips" in output
    assert "  - Warehouse robots get a shared map format (Robotics, story 2) https://example.org/robots/map-format" in output
    # The towels link with www., a trailing slash and utm_source is the same page: no story or link changes.
    assert "towels" not in output.split("Plain text:")[0].split("Links:")[1]
    assert "Links: 1 added, 1 removed\n  + https://example.org/chips\n  - https://example.org/robots/map-format\n" in output
    assert f"HTML size: {built_size(before)} KB -> {built_size(after)} KB (" in output
    assert "KB under Gmail's ~102 KB clip" in output
    assert "--- issues/2026-12-01.yaml\n+++ issues/2026-12-01-edited.yaml\n" in output
    assert "\n-Warehouse robots get a shared map format\n" in output
    assert "\n+Chips | cooler *now*\n" in output


def test_a_story_moved_is_one_move_not_one_for_each_story_it_passed(pair: tuple[Path, Path]) -> None:
    _, after = pair
    edit_issue(after, towels_moved_last)

    output = run("diff", "issues/2026-12-01.yaml", after, ok=True).output

    assert "Stories: 0 added, 0 removed, 1 moved" in output
    assert "  ~ A home robot folds towels at human speed: Robotics, story 1 -> Infrastructure, story 3" in output
    assert "Links: 0 added, 0 removed" in output


def test_the_same_issue_twice_changes_nothing(pair: tuple[Path, Path]) -> None:
    before, after = pair
    output = run("diff", before, after, ok=True).output
    assert "Stories: 0 added, 0 removed, 0 moved" in output
    assert "Links: 0 added, 0 removed" in output
    assert "(±0.0 KB)" in output
    assert output.rstrip().endswith("Plain text: no change")
    markdown = run("diff", before, after, "--markdown", ok=True).output
    assert "Nothing a reader sees changes" in markdown


def test_markdown_is_a_pull_request_comment(pair: tuple[Path, Path]) -> None:
    _, after = pair
    edit_issue(after, rewritten)
    fenced = after.read_text(encoding="utf-8").replace("A new chip runs cooler", "Type ```` ``` ```` to fence code; a new chip runs cooler")
    after.write_text(fenced, encoding="utf-8")

    result = run("diff", "issues/2026-12-01.yaml", "issues/2026-12-01-edited.yaml", "--markdown", ok=True)
    body = result.output

    assert body.startswith("### Issue 7: `issues/2026-12-01.yaml` → `issues/2026-12-01-edited.yaml`\n")
    assert "- **Stories:** 1 added, 1 removed, 0 moved\n" in body
    assert "- **Links:** 1 added, 1 removed\n" in body
    assert "- **HTML size:** " in body and "under Gmail's ~102 KB clip" in body
    # A title is shown as itself: its | does not split the table's cell, its * make no emphasis.
    assert "| added | [Chips \\| cooler \\*now\\*](https://example.org/chips) | Infrastructure |" in body
    assert "| removed | [Warehouse robots get a shared map format](https://example.org/robots/map-format) | Robotics |" in body
    assert "- added <https://example.org/chips>" in body
    # The diff sits in a fence no line of it can close: the new summary holds three backticks.
    assert "\n````diff\n" in body and body.count("\n````\n") == 1
    assert "<details><summary>Plain text: " in body
    assert body.endswith("</details>\n")


def test_a_file_that_does_not_validate_is_named_with_its_line(pair: tuple[Path, Path]) -> None:
    _, after = pair
    after.write_text(after.read_text(encoding="utf-8").replace("number: 7", "number: seven"), encoding="utf-8")
    result = run("diff", "issues/2026-12-01.yaml", "issues/2026-12-01-edited.yaml")
    assert result.exit_code == 1
    assert "issues/2026-12-01-edited.yaml:2: number: expected a whole number" in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_is_named(in_workspace: Path) -> None:
    result = run("diff", "issues/2026-12-01.yaml", "issues/nope.yaml")
    assert result.exit_code == 1
    assert "issues/nope.yaml: no such issue file" in result.output
