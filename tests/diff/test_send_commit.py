"""`send` records the git commit an issue file goes out from (and whether the file was as committed),
`status` shows it, and `[send] require_committed = true` refuses a file git does not hold as it is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.cli import run
from tests.helpers.git_repo import git, init_repository
from tests.helpers.outbox import delivered
from tests.helpers.workspace import ISSUE_NAME, SECRET, add_config, add_subscribers

ISSUE = f"issues/{ISSUE_NAME}"


@pytest.fixture(autouse=True)
def secret(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # git looks no higher than the test's folder


@pytest.fixture(params=BOTH)
def env(request, in_workspace: Path) -> Mapping[str, str]:
    return database_env(request)


def readers(workspace: Path, env: Mapping[str, str], count: int = 3) -> None:
    from newsletter.models import Subscriber

    with database(workspace, env) as db:
        db.subscribers.upsert(Subscriber(f"reader{n}@example.com", None, {}) for n in range(count))


def edit(issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text(encoding="utf-8").replace("See you next week.", "See you soon."), encoding="utf-8")


@pytest.mark.slow
def test_send_records_the_commit_and_status_shows_it(in_workspace: Path, env: Mapping[str, str]) -> None:
    readers(in_workspace, env)
    commit = init_repository(in_workspace)

    run("send", ISSUE, env=env, ok=True)

    with database(in_workspace, env) as db:
        record = db.ledger.issue_record("7")
    assert record is not None
    assert (record.git_commit, record.git_clean) == (commit, True)
    status = run("status", ISSUE, env=env, ok=True).output
    assert f"Sent from git commit {commit}: {ISSUE} as committed." in status
    assert f"Git commit: {commit}\n" in run("report", ISSUE, env=env, ok=True).output


@pytest.mark.slow
def test_a_file_with_changes_is_recorded_as_such(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    commit = init_repository(in_workspace)
    edit(issue_path)

    run("send", ISSUE, ok=True)

    status = run("status", ISSUE, ok=True).output
    assert f"Sent from git commit {commit}: {ISSUE} with changes that were not committed." in status
    assert f"Git commit: {commit} (the issue file had changes that were not committed)" in run("report", ISSUE, ok=True).output


@pytest.mark.slow
def test_outside_git_nothing_is_recorded(in_workspace: Path) -> None:
    add_subscribers(in_workspace, 2)
    run("send", ISSUE, ok=True)
    with database(in_workspace, {}) as db:
        record = db.ledger.issue_record("7")
    assert record is not None and (record.git_commit, record.git_clean) == (None, None)
    assert "git commit" not in run("status", ISSUE, ok=True).output
    assert "Git commit" not in run("report", ISSUE, ok=True).output


@pytest.mark.slow
def test_require_committed_refuses_a_changed_file_and_sends_a_committed_one(in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, "[send]\nrequire_committed = true\n")
    emails = add_subscribers(in_workspace, 3)
    init_repository(in_workspace)
    edit(issue_path)

    refused = run("send", ISSUE)

    assert refused.exit_code == 1
    assert f"{ISSUE}: has changes that are not committed, and [send] require_committed is on" in refused.output
    assert "Nothing was sent." in refused.output
    assert not delivered(in_workspace)
    assert "not sent yet" in run("status", ISSUE, ok=True).output

    git(in_workspace, "commit", "-q", "-am", "the issue, edited")
    assert "Ledger: 3 sent" in run("send", ISSUE, ok=True).output
    assert delivered(in_workspace) == dict.fromkeys(emails, 1)


@pytest.mark.slow
def test_require_committed_refuses_an_untracked_file_and_a_workspace_outside_git(in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, "[send]\nrequire_committed = true\n")
    add_subscribers(in_workspace, 2)

    outside = run("send", ISSUE)
    assert outside.exit_code == 1
    assert f"{ISSUE}: is not in a git repository, and [send] require_committed is on" in outside.output

    git(in_workspace, "init", "-q")
    git(in_workspace, "add", "newsletter.toml")
    git(in_workspace, "commit", "-q", "-m", "settings only")
    untracked = run("send", ISSUE)
    assert untracked.exit_code == 1
    assert f"{ISSUE}: is not committed (git does not track it, or ignores it)" in untracked.output
    assert "not sent yet" in run("status", ISSUE, ok=True).output
