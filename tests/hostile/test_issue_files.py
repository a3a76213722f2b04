"""Items 10, 15, 20, 21: issue files that are too big, too deep, full of aliases or control
characters, or not files at all. Each gives a located error, exits 1 and writes nothing, quickly."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers.hostile import run

FAST = 30.0  # seconds: every refusal here takes 0.1 to 3 s alone (10 s with two other test processes on 2 cores); a hang or a blow-up takes minutes


def build(issue: Path, workspace: Path):
    """`build` the issue; assert it failed cleanly and wrote nothing."""
    started = time.monotonic()
    result = run("build", str(issue))
    assert time.monotonic() - started < FAST
    assert result.exit_code == 1, result.output
    assert "Nothing was written" in result.output
    assert not (workspace / "build").exists()
    return result


def replace_line(issue_path: Path, start: str, new: str) -> None:
    lines = issue_path.read_text().splitlines()
    index = next(n for n, line in enumerate(lines) if line.startswith(start))
    lines[index] = new
    issue_path.write_text("\n".join(lines) + "\n")


def test_an_alias_bomb_is_refused_at_its_first_anchor(in_workspace: Path, issue_path: Path) -> None:
    # Nine levels of ten aliases each: a few hundred bytes that expand to a billion stories.
    story = '{title: T, url: "https://example.org/a", source: S, summary: S}'
    levels = [f"a0: &a0 [{story}]"] + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    issue_path.write_text(issue_path.read_text() + "\n".join(levels) + "\n")
    result = build(issue_path, in_workspace)
    line = len(issue_path.read_text().splitlines()) - 9
    assert f"2026-12-01.yaml:{line}: YAML anchors and aliases" in result.output
    assert len(result.output) < 1_000


@pytest.mark.slow
def test_thousands_of_problems_print_the_first_fifty(in_workspace: Path, issue_path: Path) -> None:
    stories = "".join(f"      - title: Story {n}\n        url: https://example.org/{n}\n" for n in range(3_000))  # no source, no summary
    issue_path.write_text(issue_path.read_text().replace("sponsor:", "  - title: Many\n    stories:\n" + stories + "sponsor:"))
    result = build(issue_path, in_workspace)
    assert "6,000 problems" in result.output
    assert result.output.count("is required") == 50
    assert "... and 5,950 more" in result.output


def test_a_file_of_megabytes_is_refused_before_parsing(in_workspace: Path, issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text() + "# padding\n" * 300_000)
    result = build(issue_path, in_workspace)
    assert "2026-12-01.yaml: is 3.0 MB; issue files are at most 2.0 MB" in result.output


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("  Hello again.", "  Hello again. " + "Twelve words of a long introduction keep going on and on. " * 400, "intro: is 23,"),
        ("        summary: Five vendors", "        summary: " + "Vendors agreed. " * 400, "summary: is 6,"),
        ("subject:", "subject: " + "Long subject " * 30, "subject: is 389 characters long; at most 300"),
        ("      - title: A home robot", "      - title: A home robot" + " folds" * 60, "title: is"),
    ],
)
def test_a_field_over_its_cap_is_a_located_error(field: str, value: str, message: str, in_workspace: Path, issue_path: Path) -> None:
    replace_line(issue_path, field, value)
    result = build(issue_path, in_workspace)
    assert message in result.output and "2026-12-01.yaml:" in result.output


def test_a_ten_megabyte_field_cannot_silently_truncate_the_email(in_workspace: Path, issue_path: Path) -> None:
    replace_line(issue_path, "  Hello again.", "  " + "x" * 10_500_000)
    assert "at most 2.0 MB" in build(issue_path, in_workspace).output


def test_an_integer_too_long_for_python_is_a_located_error(in_workspace: Path, issue_path: Path) -> None:
    replace_line(issue_path, "number:", "number: " + "9" * 5_000)
    result = build(issue_path, in_workspace)
    assert "2026-12-01.yaml:2: a number with 5,000 digits" in result.output


@pytest.mark.parametrize("depth", [300, 50_000])
def test_deep_flow_nesting_is_refused(depth: int, in_workspace: Path, issue_path: Path) -> None:
    replace_line(issue_path, "intro:", "tags: " + "[" * depth + "]" * depth + "\nintro: |")
    assert "nested more than 12 levels deep" in build(issue_path, in_workspace).output


def test_deep_block_nesting_is_refused(in_workspace: Path, issue_path: Path) -> None:
    nested = "".join(" " * n + f"k{n}:\n" for n in range(1_500)) + " " * 1_500 + "end: 1\n"
    issue_path.write_text(issue_path.read_text() + nested)
    assert "nested more than 12 levels deep" in build(issue_path, in_workspace).output


@pytest.mark.parametrize("character", ["\u0085", "\u2028", "\u2029", "\x00", "\x0b", "\x0c", "\x1b"])
@pytest.mark.parametrize(("start", "field"), [("subject:", "subject"), ("      - title: A home robot", "sections[0].stories[0].title")])
def test_line_breaks_and_controls_in_one_line_fields_are_located(character: str, start: str, field: str, in_workspace: Path, issue_path: Path) -> None:
    # Escaped in double quotes, as YAML allows, so the character reaches the field itself.
    key = start.split(":")[0]
    replace_line(issue_path, start, f'{key}: "Robots\\u{ord(character):04x}fold laundry"')
    result = build(issue_path, in_workspace)
    assert f"{field}: must fit on one line" in result.output


@pytest.mark.parametrize("character", ["\x00", "\x0b", "\x0c", "\x7f", "\x9b"])
def test_control_characters_in_text_are_located(character: str, in_workspace: Path, issue_path: Path) -> None:
    replace_line(issue_path, "        summary: Five vendors", f'        summary: "Five vendors\\u{ord(character):04x}agreed."')
    result = build(issue_path, in_workspace)
    assert f"summary: contains the control character U+{ord(character):04X}" in result.output


def test_a_fifo_as_the_issue_file_is_refused_without_waiting(in_workspace: Path) -> None:
    fifo = in_workspace / "issues" / "2026-12-08.yaml"
    os.mkfifo(fifo)
    result = build(fifo, in_workspace)
    assert "is not a regular file" in result.output
    # The other commands that read every issue file skip it rather than wait on it.
    assert run("check", str(in_workspace / "issues" / "2026-12-01.yaml")).exit_code == 0


def test_a_device_as_the_issue_file_is_refused(in_workspace: Path) -> None:
    link = in_workspace / "issues" / "2026-12-08.yaml"
    link.symlink_to("/dev/zero")
    assert "2026-12-08.yaml: is not a regular file" in build(link, in_workspace).output


def test_story_add_refuses_a_fifo_as_the_issue(in_workspace: Path, tmp_path: Path) -> None:
    fifo = in_workspace / "issues" / "2026-12-08.yaml"
    os.mkfifo(fifo)
    article = tmp_path / "article.txt"
    article.write_text("A ferry line opens in June 2026 and carries 300 people an hour across the harbour.\n")
    started = time.monotonic()
    result = run("story", "add", str(fifo), str(article), "--url", "https://news.example.com/ferry", "--site", "News")
    assert time.monotonic() - started < FAST
    assert result.exit_code == 1 and "is not a regular file" in result.output


# Item 23: the Unicode noncharacters (U+FDD0..U+FDEF and the last two code points of every plane)
# are for a program's internal use, never for interchange; U+FFFE and U+FFFF break MJML's parser.
NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"]


def _escaped(character: str) -> str:
    """The character as a YAML double-quoted escape (the file itself stays plain text)."""
    return f"\\u{ord(character):04x}" if ord(character) <= 0xFFFF else f"\\U{ord(character):08x}"


@pytest.mark.parametrize("character", NONCHARACTERS)
def test_a_noncharacter_in_the_subject_is_located(character: str, in_workspace: Path, issue_path: Path) -> None:
    replace_line(issue_path, "subject:", f'subject: "Robots{_escaped(character)}fold laundry"')
    result = build(issue_path, in_workspace)
    assert f"2026-12-01.yaml:4: subject: contains U+{ord(character):04X}, a Unicode noncharacter" in result.output
    assert "MJML" not in result.output


@pytest.mark.parametrize(
    ("start", "key", "line", "field"),
    [
        ("preheader:", "preheader", 5, "preheader"),
        ("  - title: Robotics", "  - title", 10, "sections[0].title"),
        ("      - title: A home robot", "      - title", 12, "sections[0].stories[0].title"),
        ("        source: Robot Report", "        source", 14, "sections[0].stories[0].source"),
        ("        summary: Five vendors", "        summary", 33, "sections[0].stories[1].summary"),
        ("          - Five vendors", "          -", 35, "sections[0].stories[1].key_facts[0]"),
        ("          text: \"Cloth", "          text", 24, "sections[0].stories[0].quote.text"),
        ("          alt: Two robot arms", "          alt", 28, "sections[0].stories[0].image.alt"),
        ("        url: https://example.org/robots/towels", "        url", 13, "sections[0].stories[0].url"),
        ("  name: Example Sponsor", "  name", 49, "sponsor.name"),
        ("outro:", "outro", 52, "outro"),
    ],
)
def test_a_noncharacter_in_any_text_field_is_located(start: str, key: str, line: int, field: str, in_workspace: Path, issue_path: Path) -> None:
    value = "https://example.org/robots/towels" if key.strip() == "url" else "Words"
    separator = " " if key.strip() == "-" else ": "
    replace_line(issue_path, start, f'{key}{separator}"{value}{_escaped(chr(0xFFFE))}"')
    result = build(issue_path, in_workspace)
    assert f"2026-12-01.yaml:{line}: {field}: contains U+FFFE, a Unicode noncharacter" in result.output


@pytest.mark.parametrize("character", ["\uffff", "\ufffe", "\x01", "\x1b"])
def test_a_raw_character_yaml_refuses_is_located_not_a_bug(character: str, in_workspace: Path, issue_path: Path) -> None:
    # Written into the file as it is, not escaped: the YAML reader itself refuses it.
    replace_line(issue_path, "      - title: A home robot", f"      - title: A home robot{character} folds towels")
    result = build(issue_path, in_workspace)
    located = [line for line in result.output.splitlines() if "2026-12-01.yaml:12: sections[0].stories[0].title: contains" in line]
    assert located and f"U+{ord(character):04X}" in located[0] and "column 28" in located[0]
    assert "bug in newsletter" not in result.output
