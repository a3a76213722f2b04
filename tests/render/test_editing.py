"""The editing loop's messages: each names the file, the line and the field, and says the likely fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.workspace import add_config


def edit(issue_path: Path, old: str, new: str) -> None:
    text = issue_path.read_text()
    assert old in text, old
    issue_path.write_text(text.replace(old, new, 1))


def line_of(issue_path: Path, text: str) -> int:
    return next(number for number, line in enumerate(issue_path.read_text().splitlines(), start=1) if text in line)


def test_key_facts_that_fold_into_one_are_an_error_with_the_fix(issue_path: Path) -> None:
    # The second fact's dash is indented under the first: YAML reads both as one long fact.
    edit(issue_path, "          - Folds a towel in about 9 seconds", "            - Folds a towel in about 9 seconds\n            - Costs about 40,000 dollars")
    result = run("check", str(issue_path))
    line = line_of(issue_path, "Folds a towel")
    assert result.exit_code == 1
    assert f"2026-12-01.yaml:{line}: this '- ' line is indented more than the item on line {line - 1}" in result.output
    assert "line up its dash" in result.output


def test_a_colon_in_an_unquoted_title_says_to_quote_it(issue_path: Path) -> None:
    edit(issue_path, "      - title: A home robot folds towels at human speed", "      - title: Robots: a home robot folds towels")
    result = run("check", str(issue_path))
    line = line_of(issue_path, "title: Robots:")
    assert f"2026-12-01.yaml:{line}: YAML syntax error" in result.output
    assert 'put the title in quotes, e.g. title: "' in result.output


def test_an_unclosed_quote_is_reported_where_it_opens(issue_path: Path) -> None:
    edit(issue_path, 'subject: "Robots learn to fold laundry, and a quieter data centre"', 'subject: "Robots learn to fold laundry, and a quieter data centre')
    result = run("check", str(issue_path))
    assert "2026-12-01.yaml:4: YAML syntax error" in result.output and "the quote opened on line 4 is not closed on that line" in result.output, result.output


def test_a_tab_in_the_indentation_says_so(issue_path: Path) -> None:
    edit(issue_path, "          - Five vendors signed up", "\t  - Five vendors signed up")
    assert "not tabs" in run("check", str(issue_path)).output


def test_check_findings_name_the_file_line_and_field(issue_path: Path) -> None:
    edit(issue_path, "        summary: Five vendors agreed on one file format for warehouse floor maps.", "        summary: TODO write the summary")
    result = run("check", str(issue_path))
    line = line_of(issue_path, "summary: TODO")
    assert f"error: {issue_path}:{line}: sections[0].stories[1].summary: still holds the TODO placeholder" in result.output


@pytest.mark.parametrize(
    ("target", "shown"),
    [("ftp://files.example.org/spec.pdf", "'ftp://files.example.org/spec.pdf'"), ("javascript:alert(1)", "'javascript:alert(1'"), ("", "nothing"), ("spec.pdf", "'spec.pdf'")],
)
def test_a_markdown_link_that_would_show_as_text_is_named(target: str, shown: str, issue_path: Path) -> None:
    edit(issue_path, "one file format for warehouse floor maps.", f"one file format ([the spec]({target})) for warehouse floor maps.")
    result = run("check", str(issue_path))
    line = line_of(issue_path, "[the spec]")
    assert result.exit_code == 1
    assert f"{issue_path}:{line}: sections[0].stories[1].summary: link [the spec] points to {shown}" in result.output


def test_leftovers_of_drafting_are_flagged(issue_path: Path) -> None:
    title = "      - title: Warehouse robots get a shared map format"
    edit(issue_path, title, "      # DRAFT from notes.txt (newsletter story add): check it\n" + title)
    edit(issue_path, "          - Five vendors signed up", "          - Five vendors signed up to the\n          - Costs fall by a third...")
    edit(issue_path, "        url: https://example.org/robots/map-format", "        url: https://example.org/robots/towels")
    result = run("check", str(issue_path))
    assert result.exit_code == 0  # warnings: the editor decides
    assert f"warning: {issue_path}:{line_of(issue_path, '# DRAFT')}: a story added by `story add` is still marked as a draft" in result.output
    assert re.search(r"key_facts\[0\]: seems cut short \(it ends with 'the'\)", result.output)
    assert re.search(r"key_facts\[1\]: seems cut short \(it ends with 'third\.\.\.'\)", result.output)
    assert "sections[0].stories[1].url: links to the same article as sections[0].stories[0].url" in result.output


def test_a_typo_in_the_settings_names_the_line_and_the_setting_meant(workspace: Path, issue_path: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("postal_address =", "postal_adress ="))
    result = run("check", str(issue_path))
    line = line_of(config, "postal_adress")
    assert f"newsletter.toml:{line}: newsletter.postal_adress: is not a known setting; did you mean `postal_address`?" in result.output
    assert "newsletter.toml:1: newsletter.postal_address: is required but missing" in result.output


def test_a_wrong_choice_in_the_settings_lists_the_choices(workspace: Path, issue_path: Path) -> None:
    config = add_config(workspace, '[send]\nprovider = "pigeon"\n')
    result = run("check", str(issue_path))
    choices = "'outbox', 'smtp', 'sendgrid', 'ses', 'mailgun', 'postmark' or 'resend'"
    assert f"newsletter.toml:{line_of(config, 'pigeon')}: send.provider: expected {choices}, got 'pigeon'" in result.output


def test_an_adjusted_brand_colour_is_a_note_with_both_colours(workspace: Path, issue_path: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('accent_color = "#1d4ed8"', 'accent_color = "#ffd400"'))
    result = run("check", str(issue_path))
    assert result.exit_code == 0
    note = re.search(r"note: newsletter.toml: brand.accent_color: #ffd400 is adjusted to (#[0-9a-f]{6}) in light mode, so text in it reaches 4.5:1", result.output)
    assert note and note.group(1) != "#ffd400", result.output
    assert result.output.count("accent_color") == 1


def test_new_calls_its_argument_date(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    assert "[DATE]" in run("new", "--help").output
    result = run("new", "2026-02-30")
    assert result.exit_code == 2 and "'2026-02-30' is not a date in the calendar written YYYY-MM-DD" in result.output and "%Y" not in result.output
