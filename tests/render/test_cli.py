"""The build, check and new commands as an editor uses them, and the errors they can meet."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import click
import pytest

from newsletter.cli.main import cli
from newsletter.issue.loading import load_issue
from newsletter.issue.prepare import prepare_issue
from tests.helpers.cli import run

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = ["email.html", "email.txt", "email.eml", "web.html"]


# --- build ---------------------------------------------------------------------------------------


def test_build_writes_four_files_to_the_default_folder(workspace: Path, issue_path: Path) -> None:
    result = run("build", str(issue_path))

    assert result.exit_code == 0, result.output
    out = workspace / "build" / "2026-12-01"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    for name in OUTPUTS:
        assert f"wrote {out / name}" in result.output
    # Each copy's HTML as delivered: the file plus what the tracked links add to it.
    size = (out / "email.html").stat().st_size + prepare_issue(issue_path).tracking_growth
    assert f"HTML size: {size / 1000:.1f} KB with the newsletter's own tracked links" in result.output


def test_build_out_option_chooses_the_folder(tmp_path: Path, issue_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert run("build", str(issue_path), "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)


def test_build_prints_what_check_finds(workspace: Path, issue_path: Path) -> None:
    """build goes through the same preparation as check: an issue still holding a TODO is built so
    the editor can look at it, and the same findings are printed, with a non-zero exit."""
    text = issue_path.read_text()
    issue_path.write_text(re.sub(r"(?m)^subject: .*$", "subject: TODO", text, count=1))
    checked = run("check", str(issue_path))
    built = run("build", str(issue_path))

    assert checked.exit_code == 1 and built.exit_code == 1
    findings = [line for line in checked.output.splitlines() if line.startswith(("error:", "warning:", "note:"))]
    assert any("TODO" in line for line in findings)
    for line in findings:
        assert line in built.output
    assert "the files were written, but the issue is not ready to send" in built.output
    assert sorted(p.name for p in (workspace / "build" / "2026-12-01").iterdir()) == sorted(OUTPUTS)


def test_a_workspace_template_overrides_the_default(workspace: Path, issue_path: Path) -> None:
    (workspace / "templates" / "email.txt.j2").write_text("Issue {{ issue.number }}: {{ issue.subject }}\n")
    assert run("build", str(issue_path)).exit_code == 0
    text = (workspace / "build" / "2026-12-01" / "email.txt").read_text()
    assert text == "Issue 7: Robots learn to fold laundry, and a quieter data centre\n"


def test_a_template_error_names_the_template_and_line(workspace: Path, issue_path: Path) -> None:
    (workspace / "templates" / "email.txt.j2").write_text("Hello\n{{ issue.number }\n")
    result = run("build", str(issue_path))
    assert result.exit_code == 1
    assert "email.txt.j2:2: template syntax error" in result.output
    assert "Traceback" not in result.output
    assert not (workspace / "build").exists()


def test_a_template_using_an_unknown_field_names_it(workspace: Path, issue_path: Path) -> None:
    (workspace / "templates" / "email.txt.j2").write_text("One\nTwo {{ issue.editor_name }}\n")
    result = run("build", str(issue_path))
    assert result.exit_code == 1
    assert "email.txt.j2:2" in result.output and "editor_name" in result.output


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{{ issue.number // 0 }}", "ZeroDivisionError"),  # Python's arithmetic
        ("{{ issue.number | join(',') }}", "TypeError"),  # a built-in filter given the wrong thing
        ("{{ '{x}'.format(y=1) }}", "KeyError"),  # a method the sandbox calls
    ],
)
def test_a_template_mistake_at_render_time_names_the_template_and_line(workspace: Path, issue_path: Path, line: str, error: str) -> None:
    (workspace / "templates" / "email.txt.j2").write_text(f"One\n{line}\n")
    result = run("build", str(issue_path))
    assert result.exit_code == 1
    assert f"email.txt.j2:2: {error}" in result.output
    assert "Traceback" not in result.output


def test_a_template_whose_mjml_cannot_be_compiled_says_so_in_a_sentence(workspace: Path, issue_path: Path) -> None:
    (workspace / "templates" / "email.mjml.j2").write_text("<mjml><mj-body><mj-section>{{ issue.number }}\n")  # never closed
    result = run("build", str(issue_path))
    assert result.exit_code == 1
    assert "email.mjml.j2 produced MJML that cannot be compiled: " in result.output
    assert "Traceback" not in result.output
    assert not (workspace / "build").exists()


def test_a_bug_in_a_filter_of_ours_is_not_reported_as_the_templates_mistake(workspace: Path, issue_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.render import markdown
    from newsletter.render.pipeline import Renderer
    from newsletter.workspace.config import load_workspace

    def broken(text: str, language: str = "en") -> str:
        raise RuntimeError("a bug in the typography")

    monkeypatch.setattr(markdown, "smart_quotes", broken)  # what the smart_quotes filter calls
    with pytest.raises(RuntimeError, match="a bug in the typography"):  # main() says "a bug in newsletter"
        Renderer(load_workspace(workspace)).render(load_issue(issue_path))


def test_build_of_a_missing_file_says_so(workspace: Path) -> None:
    result = run("build", str(workspace / "issues" / "nope.yaml"))
    assert result.exit_code == 1
    assert "no such issue file" in result.output


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, expected",
    [
        (('address = "editor@fixture.example.org"\n', ""), "sender.address: is required but missing"),
        (('address = "editor@fixture.example.org"', 'address = "editor at fixture"'), "sender.address: expected an email address"),
        (('accent_color = "#1d4ed8"', 'accent_color = "blue"'), "brand.accent_color: expected a colour as #rrggbb"),
        (('[brand]\n', '[brand]\nlogo = "x.png"\n'), "brand.logo: is not a known setting"),
        (('archive_url = "https://fixture.example.org/archive"', 'archive_url = "fixture.example.org"'), "newsletter.archive_url: expected an http(s) URL"),
        (('name = "Fixture Weekly"', 'name = "Fixture Weekly'), "not valid TOML"),
        (("[newsletter]\n", '[newsletter]\ntemplate_dir = "missing"\n'), "newsletter.template_dir: folder"),
    ],
)
def test_a_wrong_setting_names_the_key(workspace: Path, issue_path: Path, change, expected: str) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace(*change, 1))
    result = run("build", str(issue_path))
    assert result.exit_code == 1
    assert f"{config}" in result.output and expected in result.output
    assert not (workspace / "build").exists()


def test_a_missing_settings_file_is_explained(tmp_path: Path) -> None:
    issue = tmp_path / "issue.yaml"
    issue.write_text("number: 1\n")
    result = run("build", str(issue))
    assert result.exit_code == 1
    assert "no newsletter.toml found" in result.output


def test_a_too_light_accent_colour_is_darkened_for_contrast(workspace: Path, issue_path: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("#1d4ed8", "#ffcc00"))
    assert run("build", str(issue_path)).exit_code == 0
    html = (workspace / "build" / "2026-12-01" / "email.html").read_text()
    assert "#ffcc00" in html  # kept for dark mode, where it reads well
    assert "color:#806600" in html.replace(" ", "")  # darkened for light mode


# --- check ---------------------------------------------------------------------------------------


def test_check_passes_a_good_issue(issue_path: Path) -> None:
    result = run("check", str(issue_path))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


OLD_STORY_TEMPLATE = """{#- A workspace's story.mjml.j2 from before the card layout: one mj-text per story. -#}
<mj-text padding="18px 32px 4px"><div>
<h3><a href="{{ story.url | tagged(story) }}">{{ story.title }}</a></h3>
{{ story.summary | markdown }}
</div></mj-text>
"""


def test_check_names_a_story_template_written_for_the_older_layout(issue_path: Path) -> None:
    """MRML passes MJML inside raw HTML through unchanged: without this check the email would
    silently carry <mj-text> tags that no client shows as intended."""
    (issue_path.parent.parent / "templates" / "story.mjml.j2").write_text(OLD_STORY_TEMPLATE, encoding="utf-8")
    result = run("check", str(issue_path))
    assert result.exit_code == 1
    assert "the email still holds MJML tags (<mj-text>)" in result.output and "story.mjml.j2" in result.output
    assert "Traceback" not in result.output


def test_check_warns_about_a_long_subject_but_passes(issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text().replace("and a quieter data centre", "and a much quieter data centre in the north of Sweden"))
    result = run("check", str(issue_path))
    assert result.exit_code == 0
    assert "2026-12-01.yaml:4: subject: is" in result.output and "phones cut it" in result.output


def test_check_fails_on_validation_errors_with_file_line_and_field(issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text().replace("alt: Two robot arms", "alt: ''\n          #"))
    result = run("check", str(issue_path))
    assert result.exit_code == 1
    assert f"{issue_path}:28: sections[0].stories[0].image.alt" in result.output


@pytest.mark.parametrize(("present", "missing"), [("welcome.txt.j2", "welcome.mjml.j2"), ("confirm.mjml.j2", "confirm.txt.j2")])
def test_check_says_when_one_half_of_a_template_pair_is_missing(workspace: Path, issue_path: Path, present: str, missing: str) -> None:
    from newsletter.render.pipeline import default_template_dir

    (workspace / "templates" / present).write_bytes((default_template_dir() / present).read_bytes())
    result = run("check", str(issue_path))
    assert result.exit_code == 0, result.output  # the default half is used: worth knowing, not an error
    assert f"warning: templates/{present}: has no {missing} beside it" in result.output, result.output
    assert "0 error(s), 1 warning(s)" in result.output

    (workspace / "templates" / missing).write_bytes((default_template_dir() / missing).read_bytes())
    assert "0 error(s), 0 warning(s)" in run("check", str(issue_path)).output


def test_check_does_not_write_anything(workspace: Path, issue_path: Path) -> None:
    run("check", str(issue_path))
    assert not (workspace / "build").exists()


# --- new -----------------------------------------------------------------------------------------


def test_new_scaffolds_the_next_issue_which_check_then_flags(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = run("new", "2026-12-08")
    assert result.exit_code == 0, result.output
    created = workspace / "issues" / "2026-12-08.yaml"
    assert "created issues/2026-12-08.yaml" in result.output

    issue = load_issue(created)  # the scaffold is a valid issue...
    assert issue.number == 8 and issue.date == dt.date(2026, 12, 8)
    assert "# Preview while you write" in created.read_text()

    checked = run("check", str(created))  # ...whose placeholders check refuses to let through
    assert checked.exit_code == 1
    assert re.search(r"2026-12-08.yaml:\d+: sections\[0\].stories\[0\].title: still holds the TODO placeholder", checked.output), checked.output


def test_new_defaults_to_today_and_never_overwrites(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    today = workspace / "issues" / f"{dt.date.today().isoformat()}.yaml"
    assert run("new").exit_code == 0
    assert today.exists()
    before = today.read_bytes()
    again = run("new")
    assert again.exit_code == 1 and "already exists" in again.output
    assert today.read_bytes() == before


def test_new_suggests_the_next_free_date_when_todays_file_exists(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    today = dt.date.today()
    tomorrow, day_after = today + dt.timedelta(days=1), today + dt.timedelta(days=2)
    assert run("new").exit_code == 0
    assert run("new", tomorrow.isoformat()).exit_code == 0
    again = run("new")
    assert again.exit_code == 1
    assert f"newsletter new {day_after.isoformat()}" in again.output  # tomorrow is taken too
    assert run("new", day_after.isoformat()).exit_code == 0  # and the suggestion works


def test_new_in_an_empty_workspace_starts_at_one(workspace: Path, monkeypatch) -> None:
    for path in (workspace / "issues").iterdir():
        path.unlink()
    monkeypatch.chdir(workspace)
    assert run("new", "2027-01-05").exit_code == 0
    assert load_issue(workspace / "issues" / "2027-01-05.yaml").number == 1


def test_new_rejects_a_date_that_is_not_a_date(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = run("new", "next-monday")
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output or "%Y-%m-%d" in result.output


# --- documentation -------------------------------------------------------------------------------


def _documented_commands() -> list[tuple[str, click.Command]]:
    context = click.Context(cli)
    found = []

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            if command is None:
                continue
            found.append((f"{prefix}{name}", command))
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")

    walk(cli, "")
    return found


def test_every_command_and_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = []
    for name, command in _documented_commands():
        if f"newsletter {name}" not in readme:
            missing.append(f"newsletter {name}")
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--") and option not in readme:
                    missing.append(f"newsletter {name} {option}")
    assert missing == [], "document these in README.md"


def test_outputs_get_normal_permissions_and_replaced_files_keep_theirs(workspace: Path, issue_path: Path) -> None:
    import os

    umask = os.umask(0)
    os.umask(umask)
    assert run("build", str(issue_path)).exit_code == 0
    out = workspace / "build" / "2026-12-01"
    assert {(out / name).stat().st_mode & 0o777 for name in OUTPUTS} == {0o666 & ~umask}

    (out / "email.html").chmod(0o640)
    assert run("build", str(issue_path)).exit_code == 0
    assert (out / "email.html").stat().st_mode & 0o777 == 0o640


def test_a_workspace_without_templates_uses_the_defaults(workspace: Path, issue_path: Path) -> None:
    (workspace / "templates").rmdir()
    assert run("build", str(issue_path)).exit_code == 0
    assert "Fixture Weekly" in (workspace / "build" / "2026-12-01" / "email.html").read_text()


def test_a_bug_is_one_sentence_not_a_traceback(issue_path: Path, monkeypatch, capsys) -> None:
    import newsletter.issue.build
    from newsletter.cli.main import main

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the build")

    monkeypatch.setattr(newsletter.issue.build, "build_issue", broken)
    monkeypatch.setattr("sys.argv", ["newsletter", "build", str(issue_path)])
    monkeypatch.delenv("NEWSLETTER_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "unexpected error (RuntimeError: a bug in the build)" in err and "NEWSLETTER_DEBUG=1" in err
    assert "Traceback" not in err

    monkeypatch.setenv("NEWSLETTER_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main()


def test_a_loading_problem_and_a_checks_finding_name_their_place_alike(tmp_path: Path) -> None:
    """One location model (errors.Location): `file:line: field: message` whichever stage found it."""
    from newsletter.errors import Location, Problem
    from newsletter.issue.checks import Finding
    from newsletter.issue.prepare import problem_finding

    issue = tmp_path / "issues" / "7.yaml"
    problem = Problem(issue, 12, "sections[0].title", "is required")
    finding = Finding("error", "is required", where=Location(issue, 12, "sections[0].title"))
    assert str(problem) == f"{issue}:12: sections[0].title: is required"
    assert str(problem_finding(problem)) == str(finding) == f"error: {problem}"
    assert str(Location(issue)) == str(issue) and str(Location("newsletter.toml", field="web.base_url")) == "newsletter.toml: web.base_url"
