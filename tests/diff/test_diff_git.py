"""`newsletter diff` on git revisions of an issue file (REV:PATH, read with git, never written to the
workspace), and the clear errors for a revision that does not exist or a workspace outside git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.git_repo import commit_all, edit_issue, git, init_repository
from tests.helpers.workspace import ISSUE_NAME

ISSUE = f"issues/{ISSUE_NAME}"


def towels_moved_last(data) -> None:
    robotics, infrastructure = data["sections"]
    infrastructure["stories"].append(robotics["stories"].pop(0))


@pytest.fixture(autouse=True)
def no_repository_above(tmp_path: Path, monkeypatch) -> None:
    """git looks no higher than the test's folder, whatever holds it."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture
def repository(in_workspace: Path, issue_path: Path) -> Path:
    """The workspace in git: the small issue committed, then a commit that moves its first story last."""
    init_repository(in_workspace)
    edit_issue(issue_path, towels_moved_last)
    commit_all(in_workspace, "move the towels story")
    return in_workspace


def listing(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if ".git" not in path.parts)


def test_two_revisions_of_an_issue_file(repository: Path) -> None:
    files = listing(repository)

    output = run("diff", f"HEAD~1:{ISSUE}", f"HEAD:{ISSUE}", ok=True).output

    assert f"Issue 7: HEAD~1:{ISSUE} -> HEAD:{ISSUE}" in output
    assert "Stories: 0 added, 0 removed, 1 moved" in output
    assert "  ~ A home robot folds towels at human speed: Robotics, story 1 -> Infrastructure, story 3" in output
    assert f"--- HEAD~1:{ISSUE}\n+++ HEAD:{ISSUE}\n" in output
    assert listing(repository) == files  # the revisions were read, not written into the workspace
    assert git(repository, "status", "--porcelain") == ""


def test_a_revision_against_the_file_being_edited(repository: Path, issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text(encoding="utf-8").replace("See you next week.", "See you in two weeks."), encoding="utf-8")

    output = run("diff", f"HEAD:{ISSUE}", ISSUE, ok=True).output
    assert "Stories: 0 added, 0 removed, 0 moved" in output
    assert "-See you next week.\n+See you in two weeks.\n" in output

    # From inside issues/, the path after the colon is relative to the current folder, as a file's is.
    inside = run("diff", f"HEAD~1:{ISSUE_NAME}", ISSUE_NAME, cwd=repository / "issues", ok=True).output
    assert "1 moved" in inside and "+See you in two weeks." in inside


def test_a_branch_name_works_as_the_ci_job_uses_it(repository: Path, issue_path: Path) -> None:
    git(repository, "branch", "reviewed", "HEAD~1")
    output = run("diff", f"reviewed:{ISSUE}", ISSUE, "--markdown", ok=True).output
    assert output.startswith(f"### Issue 7: `reviewed:{ISSUE}` → `{ISSUE}`")
    assert "| moved | [A home robot folds towels at human speed](https://example.org/robots/towels) | Robotics, story 1 → Infrastructure, story 3 |" in output


def test_a_revision_that_does_not_exist(repository: Path) -> None:
    result = run("diff", f"HEAD~5:{ISSUE}", ISSUE)
    assert result.exit_code == 1
    assert f"HEAD~5:{ISSUE}: there is no revision 'HEAD~5' in the git repository" in result.output
    assert "Traceback" not in result.output

    result = run("diff", "HEAD:issues/2030-01-01.yaml", ISSUE)
    assert result.exit_code == 1
    assert "HEAD:issues/2030-01-01.yaml: revision HEAD holds no file issues/2030-01-01.yaml" in result.output


def test_a_revision_that_looks_like_an_option_is_refused(repository: Path, tmp_path: Path) -> None:
    result = run("diff", "--", f"--output={tmp_path}/written:{ISSUE}", ISSUE)
    assert result.exit_code == 1
    assert "is not a revision and path git can read" in result.output
    assert not list(tmp_path.glob("written*"))


def test_a_revision_that_does_not_validate_is_named_with_its_line(repository: Path, issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text(encoding="utf-8").replace("number: 7", "number: seven"), encoding="utf-8")
    commit_all(repository, "a broken number")
    result = run("diff", f"HEAD~1:{ISSUE}", f"HEAD:{ISSUE}")
    assert result.exit_code == 1
    assert f"HEAD:{ISSUE}:2: number: expected a whole number" in result.output


def test_a_workspace_that_is_not_a_git_repository(in_workspace: Path) -> None:
    result = run("diff", f"HEAD~1:{ISSUE}", ISSUE)
    assert result.exit_code == 1
    assert f"HEAD~1:{ISSUE}: {in_workspace} is not in a git repository, so no revision of it can be read; give issue files instead" in result.output
    assert "Traceback" not in result.output
