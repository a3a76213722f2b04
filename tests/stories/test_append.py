"""`story add` edits the issue file as the editor wrote it: only the new story is added, the rest stays
byte for byte; a bad issue file or a failed draft changes nothing."""

from __future__ import annotations

import difflib
import re
import shutil
import stat
import textwrap
from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from tests.helpers.articles import FIXTURES, REPO_ROOT
from tests.helpers.cli import run

QUIRKY = Path(__file__).resolve().parent / "issues" / "quirky.yaml"
SAMPLE = REPO_ROOT / "issues" / "2026-11-24.yaml"
FERRY = str(FIXTURES / "ferry-key-facts.txt")
SOLAR = str(FIXTURES / "solar-coop.html")


def inserted_text(before: str, after: str) -> str:
    """The one block of lines added to `before`; fails if anything else changed. (Where a blank line
    separates the new story, it may be reported before or after the block: both are the same edit.)"""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    changes = [op for op in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes() if op[0] != "equal"]
    assert len(changes) == 1 and changes[0][0] == "insert", changes
    _, _, _, j1, j2 = changes[0]
    return "".join(new[j1:j2])


def shown(source: str, *options: str) -> str:
    result = run("story", "show", source, *options)
    assert result.exit_code == 0, result.output
    return result.stdout


def as_block(inserted: str) -> str:
    """The inserted lines without the separating blank line and the indentation: what `show` prints."""
    return textwrap.dedent(inserted.strip("\n")) + "\n"


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines()) if fragment in line)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "2026-11-24.yaml"
    shutil.copy(SAMPLE, path)
    return path


@pytest.fixture
def quirky(tmp_path: Path) -> Path:
    path = tmp_path / "quirky.yaml"
    shutil.copy(QUIRKY, path)
    return path


@pytest.mark.slow
def test_add_to_a_named_section_changes_nothing_else(sample: Path) -> None:
    before = sample.read_text(encoding="utf-8")
    result = run("story", "add", str(sample), FERRY, "--section", "Research")
    assert result.exit_code == 0, result.output

    after = sample.read_text(encoding="utf-8")
    assert as_block(inserted_text(before, after)) == shown(FERRY)
    lines, draft = after.splitlines(), line_of(after, "# DRAFT from")
    assert lines[draft].startswith("      # DRAFT") and lines[draft - 1] == ""  # stories' indentation and spacing
    assert line_of(after, "Passages under 100 words") < draft < line_of(after, "- title: Policy")
    research = load_issue(sample).sections[1]
    assert [s.title for s in research.stories][-1] == "Harbour city moves its busiest ferry route to battery power"
    line = int(result.stdout.split(f"{sample}:")[1].split(":")[0])
    assert after.splitlines()[line - 1].strip().startswith("- title: Harbour city moves")


@pytest.mark.slow
def test_the_default_section_is_the_last_and_titles_match_case_insensitively(sample: Path) -> None:
    assert run("story", "add", str(sample), FERRY).exit_code == 0
    assert run("story", "add", str(sample), SOLAR, "--section", "people AND labs").exit_code == 0
    issue = load_issue(sample)
    assert issue.sections[-1].stories[-1].title.startswith("Harbour city")
    assert issue.sections[0].stories[-1].title.startswith("Village co-op")
    assert len(issue.sections) == 3


def test_a_missing_section_is_created_at_the_end_of_the_sections(sample: Path) -> None:
    before = sample.read_text(encoding="utf-8")
    result = run("story", "add", str(sample), SOLAR, "--section", "Energy: what's new")
    assert result.exit_code == 0, result.output
    assert "new section \"Energy: what's new\"" in result.stdout

    after = sample.read_text(encoding="utf-8")
    inserted = inserted_text(before, after)
    assert inserted.strip("\n").startswith("  - title: \"Energy: what's new\"\n    stories:\n      # DRAFT from ")
    assert line_of(after, "41 defined fields") < line_of(after, "Energy: what's new") < line_of(after, "sponsor:")
    issue = load_issue(sample)
    assert issue.sections[-1].title == "Energy: what's new"
    assert [s.title for s in issue.sections[-1].stories] == ["Village co-op finishes the county's largest community solar roof"]
    assert issue.sponsor is not None and issue.outro is not None


@pytest.mark.slow
def test_an_unusually_styled_file_keeps_its_comments_and_style(quirky: Path) -> None:
    before = quirky.read_text(encoding="utf-8")
    assert run("story", "add", str(quirky), FERRY, "--section", "City").exit_code == 0
    after = quirky.read_text(encoding="utf-8")
    inserted = inserted_text(before, after)
    assert as_block(inserted) == shown(FERRY)
    assert inserted.startswith("  # DRAFT from ")  # dashes at column 2, like the other City stories
    # After the last City story, before the blank lines and the "---- Port" comment that open the next section.
    assert line_of(after, "A protected cycle lane") < line_of(after, "# DRAFT") < line_of(after, "# ---- Port")
    city = load_issue(quirky).sections[0]
    assert len(city.stories) == 3 and city.stories[0].key_facts == ["Six routes", "Every 30 minutes"]


def test_a_story_ending_in_a_comment_keeps_it(quirky: Path) -> None:
    before = quirky.read_text(encoding="utf-8")
    assert run("story", "add", str(quirky), FERRY, "--section", "Port").exit_code == 0
    after = quirky.read_text(encoding="utf-8")
    inserted_text(before, after)
    assert line_of(after, "# key_facts: to be added") < line_of(after, "# DRAFT") < line_of(after, "# The sponsor slot")


def test_a_new_section_in_an_unindented_file(quirky: Path) -> None:
    before = quirky.read_text(encoding="utf-8")
    assert run("story", "add", str(quirky), SOLAR, "--section", "Energy").exit_code == 0
    after = quirky.read_text(encoding="utf-8")
    inserted = inserted_text(before, after)
    assert inserted.strip("\n").startswith("- title: Energy\n  stories:\n  # DRAFT from ")
    assert line_of(after, "# key_facts: to be added") < line_of(after, "- title: Energy") < line_of(after, "# The sponsor slot")
    assert load_issue(quirky).sections[-1].title == "Energy"


def test_windows_line_endings_are_kept(quirky: Path) -> None:
    quirky.write_bytes(QUIRKY.read_bytes().replace(b"\n", b"\r\n"))
    before = quirky.read_bytes()
    assert run("story", "add", str(quirky), FERRY).exit_code == 0
    after = quirky.read_bytes()
    assert after.count(b"\n") == after.count(b"\r\n")
    inserted_text(before.decode(), after.decode())


def test_a_file_without_a_final_line_break(quirky: Path) -> None:
    text = QUIRKY.read_text(encoding="utf-8").replace("    # key_facts: to be added\n\n# The sponsor slot is sold until March.\n", "")
    text = text[: text.index("sponsor:")].rstrip("\n")
    quirky.write_text(text, encoding="utf-8")
    assert run("story", "add", str(quirky), FERRY).exit_code == 0
    after = quirky.read_text(encoding="utf-8")
    assert after.startswith(text + "\n")
    assert as_block(after[len(text) + 1 :]) == shown(FERRY)
    assert load_issue(quirky).sections[-1].stories[-1].title.startswith("Harbour city")


@pytest.mark.slow
def test_file_permissions_are_kept(sample: Path) -> None:
    sample.chmod(0o644)
    assert run("story", "add", str(sample), FERRY).exit_code == 0
    assert stat.S_IMODE(sample.stat().st_mode) == 0o644


def test_an_invalid_issue_file_is_reported_and_left_alone(sample: Path) -> None:
    broken = sample.read_text(encoding="utf-8").replace("source: Paper Digest\n        author: Tomás Ibarra", "sourse: Paper Digest\n        author: Tomás Ibarra")
    sample.write_text(broken, encoding="utf-8")
    result = run("story", "add", str(sample), FERRY)
    assert result.exit_code == 1
    assert "sections[1].stories[0].sourse: unknown key (did you mean 'source'?" in result.output
    assert "Traceback" not in result.output
    assert sample.read_text(encoding="utf-8") == broken
    assert [p.name for p in sample.parent.iterdir()] == [sample.name]  # no temporary file left behind


@pytest.mark.slow
def test_an_article_that_cannot_be_read_changes_nothing(sample: Path, tmp_path: Path) -> None:
    before = sample.read_bytes()
    result = run("story", "add", str(sample), str(tmp_path / "missing.txt"))
    assert result.exit_code == 1
    assert "missing.txt: no such file" in result.output
    assert "Traceback" not in result.output
    assert sample.read_bytes() == before


def test_an_inline_stories_list_is_refused_with_a_clear_message(quirky: Path) -> None:
    text = QUIRKY.read_text(encoding="utf-8")
    start = text.index("- title: Port\n  stories:\n")
    text = text[:start] + "- title: Port\n  stories: [{title: Cranes, url: 'https://port.example.org/c', source: PW, summary: Cranes.}]\n\n" + text[text.index("# The sponsor"):]
    quirky.write_text(text, encoding="utf-8")
    result = run("story", "add", str(quirky), FERRY, "--section", "Port")
    assert result.exit_code == 1
    assert "sections[1].stories is written inline" in result.output
    assert quirky.read_text(encoding="utf-8") == text


def test_check_flags_the_url_placeholder_of_a_local_article(workspace: Path, issue_path: Path) -> None:
    assert run("story", "add", str(issue_path), str(FIXTURES / "trees-brief.txt")).exit_code == 0
    result = run("check", str(issue_path))
    assert result.exit_code == 1
    assert re.search(r"2026-12-01.yaml:\d+: sections\[1\].stories\[1\].url: still holds the TODO placeholder", result.output), result.output
    assert "stories[1].source: still holds the TODO placeholder" in result.output


def test_with_url_and_site_the_draft_passes_check(workspace: Path, issue_path: Path) -> None:
    result = run("story", "add", str(issue_path), FERRY, "--url", "https://harbour.example.org/ferries", "--site", "Harbour Daily")
    assert result.exit_code == 0, result.output
    checked = run("check", str(issue_path))
    assert checked.exit_code == 0, checked.output
