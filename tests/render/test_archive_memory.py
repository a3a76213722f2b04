"""`check` remembers the archive: a story whose link (in canonical form) or near-identical title ran
in an earlier issue of the workspace is flagged with that issue's number and date, and one link
twice in an issue is flagged too."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from newsletter.issue.archive import RAN_BEFORE, TITLE_RAN_BEFORE
from newsletter.issue.checks import LINK_TWICE
from newsletter.issue.prepare import prepare_issue
from tests.helpers.cli import run
from tests.helpers.workspace import SMALL_ISSUE

TOWELS = "https://example.org/robots/towels"
TOWELS_TITLE = "A home robot folds towels at human speed"


def earlier_issue(workspace: Path, number: int, date: str, url: str = "https://example.org/other/story", title: str = "Something else entirely happened") -> Path:
    """An issue file in the workspace, numbered and dated as given, whose first story has `url` and
    `title` (the small issue's other stories are made its own)."""
    text = SMALL_ISSUE.read_text(encoding="utf-8")
    text = text.replace("number: 7", f"number: {number}").replace("date: 2026-12-01", f"date: {date}")
    text = text.replace(f"url: {TOWELS}", f"url: {url}").replace(f"title: {TOWELS_TITLE}", f"title: {title}")
    text = text.replace("/robots/map-format", f"/robots/map-format-{number}").replace("/infra/quiet-cooling", f"/infra/quiet-cooling-{number}")
    text = text.replace("Warehouse robots get a shared map format", f"Warehouse story number {number}")
    text = text.replace("Liquid cooling cuts a data centre's noise in half", f"Cooling story number {number}")
    path = workspace / "issues" / f"{date}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def codes(issue_path: Path) -> dict[str, list[str]]:
    """Each finding's message by its code, for the codes of the archive's memory."""
    found: dict[str, list[str]] = {}
    for finding in prepare_issue(issue_path, partial=True).findings:
        if finding.code in (RAN_BEFORE, TITLE_RAN_BEFORE, LINK_TWICE):
            found.setdefault(finding.code, []).append(str(finding))
    return found


def test_a_story_that_ran_before_is_named_with_that_issues_number_and_date(workspace: Path, issue_path: Path) -> None:
    earlier_issue(workspace, 5, "2026-11-17", url="https://www.example.org/robots/towels/?utm_source=feed&utm_medium=rss#top")
    result = run("check", str(issue_path))

    assert result.exit_code == 0, result.output  # a repeat is a warning: the editor may mean it
    line = next(line for line in result.output.splitlines() if "ran before" in line)
    assert line.startswith("warning: ") and ":13: sections[0].stories[0].url:" in line  # the url's line in the file
    assert "issue 5 (2026-11-17)" in line


def test_the_earliest_issue_is_named_when_a_link_ran_several_times(workspace: Path, issue_path: Path) -> None:
    earlier_issue(workspace, 5, "2026-11-17", url=TOWELS)
    earlier_issue(workspace, 3, "2026-11-03", url=TOWELS + "?utm_campaign=x")
    found = codes(issue_path)
    assert len(found[RAN_BEFORE]) == 1 and "issue 3 (2026-11-03)" in found[RAN_BEFORE][0]


def test_a_later_issue_is_no_memory(workspace: Path, issue_path: Path) -> None:
    """Only an issue with a lower number or an earlier date counts: next week's draft, holding the
    same story, is not something that already ran."""
    earlier_issue(workspace, 8, "2026-12-08", url=TOWELS, title=TOWELS_TITLE)
    assert codes(issue_path) == {}


def test_an_issue_dated_earlier_counts_whatever_its_number(workspace: Path, issue_path: Path) -> None:
    earlier_issue(workspace, 9, "2026-11-24", url=TOWELS)
    assert "issue 9 (2026-11-24)" in codes(issue_path)[RAN_BEFORE][0]


@pytest.mark.parametrize("title", ["Home robots fold towels at human speed!", "A robot folds towels at human speed", "A HOME ROBOT FOLDS TOWEL AT HUMAN SPEED"])
def test_a_near_identical_title_with_another_link_is_flagged(workspace: Path, issue_path: Path, title: str) -> None:
    earlier_issue(workspace, 6, "2026-11-24", title=title)
    found = codes(issue_path)
    assert list(found) == [TITLE_RAN_BEFORE]
    assert "sections[0].stories[0].title" in found[TITLE_RAN_BEFORE][0] and "issue 6 (2026-11-24)" in found[TITLE_RAN_BEFORE][0]


@pytest.mark.parametrize("title", ["A home robot folds shirts at human speed", "A robot folds towels", "Towels"])
def test_a_merely_similar_title_is_not_flagged(workspace: Path, issue_path: Path, title: str) -> None:
    earlier_issue(workspace, 6, "2026-11-24", title=title)
    assert codes(issue_path) == {}


def test_a_link_ran_before_is_reported_once_not_also_as_a_title(workspace: Path, issue_path: Path) -> None:
    earlier_issue(workspace, 6, "2026-11-24", url=TOWELS, title=TOWELS_TITLE)
    assert list(codes(issue_path)) == [RAN_BEFORE]


def test_a_file_that_does_not_load_is_skipped(workspace: Path, issue_path: Path) -> None:
    (workspace / "issues" / "2026-01-01.yaml").write_text("number: [unclosed\n", encoding="utf-8")
    (workspace / "issues" / "2026-01-08.yaml").write_text("number: 2\ndate: 2026-01-08\n", encoding="utf-8")  # valid YAML, not an issue
    earlier_issue(workspace, 5, "2026-11-17", url=TOWELS)
    result = run("check", str(issue_path))
    assert result.exit_code == 0, result.output
    assert "issue 5 (2026-11-17)" in result.output


def test_an_edited_earlier_issue_is_read_again(workspace: Path, issue_path: Path) -> None:
    earlier = earlier_issue(workspace, 5, "2026-11-17", url=TOWELS)
    assert RAN_BEFORE in codes(issue_path)
    earlier.write_text(earlier.read_text(encoding="utf-8").replace(TOWELS, "https://example.org/robots/socks"), encoding="utf-8")
    os.utime(earlier, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a new mtime even on a coarse clock
    assert codes(issue_path) == {}


def test_the_same_link_twice_in_one_issue(issue_path: Path) -> None:
    text = issue_path.read_text(encoding="utf-8")
    issue_path.write_text(text.replace("https://example.org/robots/map-format", "https://www.example.org/robots/towels/?utm_source=x"), encoding="utf-8")
    found = codes(issue_path)
    assert list(found) == [LINK_TWICE]
    assert "sections[0].stories[1].url" in found[LINK_TWICE][0] and "sections[0].stories[0].url" in found[LINK_TWICE][0]


def test_other_query_parameters_name_another_page(issue_path: Path) -> None:
    text = issue_path.read_text(encoding="utf-8")
    issue_path.write_text(text.replace("https://example.org/robots/map-format", f"{TOWELS}?page=2"), encoding="utf-8")
    assert codes(issue_path) == {}


@pytest.mark.slow
def test_two_hundred_earlier_issues_are_scanned_quickly(workspace: Path, issue_path: Path) -> None:
    """Four years of weekly issues: read once (about 1.5 ms a file), then remembered until a file
    changes, so the preview, which checks on every save, pays for it once."""
    from newsletter.issue.archive import earlier_stories
    from newsletter.issue.loading import load_issue

    for n in range(1, 201):
        day = f"{2022 + n // 53}-{(n % 52) // 5 + 1:02d}-{(n % 5) * 5 + 1:02d}"
        if not (workspace / "issues" / f"{day}.yaml").exists():
            earlier_issue(workspace, 1000 + n, day, url=f"https://example.org/n/{n}")
    issue = load_issue(issue_path)
    start = time.perf_counter()
    first = earlier_stories(workspace / "issues", issue, issue_path)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    again = earlier_stories(workspace / "issues", issue, issue_path)
    warm = time.perf_counter() - start
    assert first == again and len(first) > 400
    assert cold < 3.0 and warm < 0.05, (cold, warm)
