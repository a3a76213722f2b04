"""Item 9: template folders outside the workspace, and templates that reach for Python's internals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.hostile import run


def refused(workspace: Path, issue: Path) -> str:
    result = run("build", str(issue))
    assert result.exit_code == 1, result.output
    assert not (workspace / "build").exists()
    return result.output


@pytest.mark.parametrize("setting", ['"/etc"', '"../../../../../../../../../../../../tmp"', '"../"'])
def test_a_template_folder_outside_the_workspace_is_refused(setting: str, in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("[sender]", f"template_dir = {setting}\n\n[sender]", 1))
    assert "newsletter.template_dir:" in (output := refused(in_workspace, issue_path)) and "is outside the workspace" in output


def test_allow_outside_does_not_cover_a_relative_path(in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("[sender]", 'template_dir = "../../../../../../../../../../../../tmp"\nallow_outside = true\n\n[sender]', 1))
    assert "give its absolute path" in refused(in_workspace, issue_path)


def test_a_templates_symlink_leading_out_is_refused(in_workspace: Path, issue_path: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (in_workspace / "templates").rmdir()
    (in_workspace / "templates").symlink_to(elsewhere)
    assert "is outside the workspace" in refused(in_workspace, issue_path)


def test_an_absolute_folder_confirmed_with_allow_outside_is_used(in_workspace: Path, issue_path: Path, tmp_path: Path) -> None:
    theme = tmp_path / "shared-theme"
    theme.mkdir()
    (theme / "email.txt.j2").write_text("{{ issue.subject }} (from the shared theme)\n")
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("[sender]", f'template_dir = "{theme}"\nallow_outside = true\n\n[sender]', 1))
    result = run("build", str(issue_path))
    assert result.exit_code == 0, result.output
    assert "(from the shared theme)" in (in_workspace / "build" / "2026-12-01" / "email.txt").read_text()


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__[1].__subclasses__()",
        "issue.__class__.__init__.__globals__",
        "cycler.__init__.__globals__.os.popen('id').read()",
        "self._TemplateReference__context",
    ],
)
def test_templates_cannot_reach_python_internals(expression: str, in_workspace: Path, issue_path: Path) -> None:
    (in_workspace / "templates" / "email.txt.j2").write_text(f"{{{{ issue.subject }}}}\n{{{{ {expression} }}}}\n")
    output = refused(in_workspace, issue_path)
    assert "email.txt.j2" in output and ("unsafe" in output or "undefined" in output), output
    assert "uid=" not in output
