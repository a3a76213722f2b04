"""Bad issue files: every mistake is reported with file, line and field, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli

GOOD_STORY = """\
      - title: A fine story
        url: https://example.org/fine
        source: Example News
        summary: A summary of the fine story.
"""


def issue_text(story: str = GOOD_STORY, head: str = "", sections_extra: str = "") -> str:
    return (
        "number: 3\n"
        "date: 2026-12-08\n"
        'subject: "A subject line"\n'
        'preheader: "A preheader that is long enough to be shown."\n'
        f"{head}"
        "sections:\n"
        "  - title: News\n"
        "    stories:\n"
        f"{story}"
        f"{sections_extra}"
    )


# (name, issue file text, expected line, expected field, words the message must contain)
CASES = [
    (
        "yaml syntax error",
        issue_text().replace("  - title: News\n", "  - title: [News\n"),
        7,
        None,
        "flow sequence that starts on line 6",
    ),
    (
        "misspelt key",
        issue_text(GOOD_STORY.replace("source:", "sorce:")),
        10,
        "sections[0].stories[0].sorce",
        "did you mean 'source'",
    ),
    (
        "javascript url",
        issue_text(GOOD_STORY.replace("https://example.org/fine", "javascript:alert(1)")),
        9,
        "sections[0].stories[0].url",
        "expected an http(s) URL",
    ),
    (
        "relative url",
        issue_text(GOOD_STORY.replace("https://example.org/fine", "/fine")),
        9,
        "sections[0].stories[0].url",
        "expected an http(s) URL",
    ),
    (
        "image without alt text",
        issue_text(GOOD_STORY + "        image:\n          src: https://example.org/a.png\n"),
        12,
        "sections[0].stories[0].image.alt",
        "alt text",
    ),
    (
        "story without summary",
        issue_text(GOOD_STORY.replace("        summary: A summary of the fine story.\n", "")),
        8,
        "sections[0].stories[0].summary",
        "needs a summary",
    ),
    (
        "story without title",
        issue_text(GOOD_STORY.replace("      - title: A fine story\n", "      - author: Someone\n")),
        8,
        "sections[0].stories[0].title",
        "needs a title",
    ),
    (
        "empty summary",
        issue_text(GOOD_STORY.replace("A summary of the fine story.", '""')),
        11,
        "sections[0].stories[0].summary",
        "must not be empty",
    ),
    (
        "key facts not a list",
        issue_text(GOOD_STORY + "        key_facts: one fact\n"),
        12,
        "sections[0].stories[0].key_facts",
        "expected a list",
    ),
    (
        "date in another format",
        issue_text().replace("date: 2026-12-08", "date: 08/12/2026"),
        2,
        "date",
        "YYYY-MM-DD",
    ),
    (
        "issue number not a number",
        issue_text().replace("number: 3", "number: three"),
        1,
        "number",
        "whole number",
    ),
    (
        "section without stories",
        issue_text(sections_extra="  - title: Empty\n    stories: []\n"),
        13,
        "sections[1].stories",
        "needs at least 1 item(s)",
    ),
    (
        "duplicate key",
        issue_text().replace("number: 3\n", "number: 3\nnumber: 4\n"),
        2,
        None,
        "duplicate key",
    ),
    (
        "image too wide",
        issue_text(GOOD_STORY + "        image:\n          src: https://example.org/a.png\n          alt: A chart\n          width: 1200\n"),
        15,
        "sections[0].stories[0].image.width",
        "must be at most 600",
    ),
    (
        "subject on two lines",
        issue_text().replace('subject: "A subject line"', 'subject: "A subject\\nline"'),
        3,
        "subject",
        "one line",
    ),
    ("not a mapping", "- just\n- a list\n", 1, None, "expected the issue's fields"),
]


@pytest.mark.parametrize("name, text, line, field, words", CASES, ids=[case[0] for case in CASES])
def test_bad_issue_file_is_reported_and_nothing_is_written(
    workspace: Path, name: str, text: str, line: int, field: str | None, words: str
) -> None:
    path = workspace / "issues" / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    out = workspace / "build" / "bad"

    result = CliRunner().invoke(cli, ["build", str(path)])

    assert result.exit_code == 1, result.output
    assert f"{path}:{line}" in result.output
    if field:
        assert f": {field}: " in result.output
    assert words in result.output
    assert result.output.rstrip().endswith("Nothing was written.")
    assert "Traceback" not in result.output
    assert not out.exists(), "a failed build must not create its output folder"


def test_many_problems_are_reported_together(workspace: Path) -> None:
    story = GOOD_STORY.replace("https://example.org/fine", "ftp://example.org/x").replace("source:", "sorce:")
    text = issue_text(story, head="intro: 42\n").replace("number: 3", "number: -1")
    path = workspace / "issues" / "bad.yaml"
    path.write_text(text, encoding="utf-8")

    result = CliRunner().invoke(cli, ["build", str(path)])

    assert result.exit_code == 1
    for expected in [f"{path}:1: number:", f"{path}:5: intro:", ".url:", ".sorce:", ".source: is required"]:
        assert expected in result.output
    assert "5 problems" in result.output


def test_failed_build_leaves_previous_outputs_untouched(workspace: Path, issue_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(issue_path)]).exit_code == 0
    out = workspace / "build" / issue_path.stem
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    issue_path.write_text(issue_path.read_text().replace("https://example.org/robots/towels", "towels"))
    result = runner.invoke(cli, ["build", str(issue_path)])

    assert result.exit_code == 1
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
