"""Bad issue files: every mistake is reported with file, line and field, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli

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


def test_check_reports_fields_that_do_not_validate_together_with_every_other_finding(workspace: Path, issue_path: Path) -> None:
    """An empty alt (a field that does not validate) used to hide every other finding until it was
    fixed. Now the broken parts are left out and the rest of the issue is checked in the same run;
    findings after a left-out story still point at their own lines."""
    text = issue_path.read_text()
    edits = {
        "alt: Two robot arms holding a folded white towel above a table": "alt: ''",  # does not validate
        "  - title: Infrastructure\n    stories:\n": (  # a story that does not validate, left out; the one after it is still checked
            "  - title: Infrastructure\n    stories:\n      - title: ''\n        url: https://example.org/infra/first\n"
            "        source: Server Weekly\n        summary: A story whose title went missing.\n"
        ),
        "and a quieter data centre": "and a much quieter data centre in the north of Sweden",  # a long subject
        "          - Noise fell from 85 dB to 70 dB": "          - Noise fell from 85 dB to 70 dB, " + "which the staff noticed at once " * 4,  # a long fact
        "          - Cooling power down about 12%": "          - Cooling power down about 12% for most",  # cut short
        "source: Data Centre News": "source: TODO the publication",  # a placeholder
        "A sentence about the sponsor.": "A sentence about [the sponsor](/relative).",  # a link markdown drops
    }
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    issue_path.write_text(text)
    lines = text.splitlines()

    def line_of(words: str) -> int:
        return next(number for number, line in enumerate(lines, start=1) if words in line)

    alt_line, title_line = line_of("alt: ''"), line_of("- title: ''")
    result = CliRunner().invoke(cli, ["check", str(issue_path)])

    assert result.exit_code == 1
    expected = [
        f"error: {issue_path}:{alt_line}: sections[0].stories[0].image.alt: must not be empty",
        f"error: {issue_path}:{title_line}: sections[1].stories[0].title: must not be empty",
        f"warning: {issue_path}:4: subject: is 83 characters; phones cut it",
        f"warning: {issue_path}:{line_of('Noise fell')}: sections[1].stories[1].key_facts[0]: is ",
        f"warning: {issue_path}:{line_of('for most')}: sections[1].stories[1].key_facts[1]: seems cut short",
        f"error: {issue_path}:{line_of('TODO the publication')}: sections[1].stories[1].source: still holds the TODO placeholder",
        f"error: {issue_path}:{line_of('[the sponsor]')}: sponsor.text: link [the sponsor] points to '/relative'",
    ]
    for finding in expected:
        assert finding in result.output, f"{finding!r} missing from:\n{result.output}"
    assert "5 error(s), 3 warning(s)" in result.output  # and the sponsor's link once more, as the rendered email has it
    assert "Traceback" not in result.output

    # build writes nothing, and lists the same findings
    built = CliRunner().invoke(cli, ["build", str(issue_path)])
    assert built.exit_code == 1
    for finding in expected:
        assert finding.removeprefix("error: ").removeprefix("warning: ").split(": must")[0] in built.output, built.output
    assert built.output.rstrip().endswith("Nothing was written.")
    assert not (workspace / "build").exists()


def test_a_broken_field_every_issue_needs_is_reported_alone(issue_path: Path) -> None:
    """Without a subject there is no issue left to check: the problems are said as before."""
    text = issue_path.read_text().replace('subject: "Robots learn to fold laundry, and a quieter data centre"\n', "")
    issue_path.write_text(text.replace("alt: Two robot arms", "alt: ''\n          #"))
    result = CliRunner().invoke(cli, ["check", str(issue_path)])
    assert result.exit_code == 1
    assert "subject: is required" in result.output and "image.alt: must not be empty" in result.output
    assert "Traceback" not in result.output
