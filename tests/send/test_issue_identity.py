"""One number, one issue: a copied file that keeps last week's number is refused, an edit mid-send
is allowed and reported, `check` warns about shared numbers, `new` numbers after the highest."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import State
from tests.helpers.cli import run
from tests.helpers.workspace import add_subscribers


@pytest.mark.slow
def test_a_different_file_under_a_number_that_went_out_is_refused(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 4)
    assert run("send", str(issue_path)).exit_code == 0
    copy = in_workspace / "issues" / "2026-12-08.yaml"
    shutil.copy(issue_path, copy)
    copy.write_text(copy.read_text().replace("date: 2026-12-01", "date: 2026-12-08").replace("Robots learn", "Next week: robots learn"))

    result = run("send", str(copy))
    assert result.exit_code == 1
    assert "issue 7 already went out from issues/2026-12-01.yaml, and issues/2026-12-08.yaml has the same number" in result.output
    assert "change `number: 7`" in result.output and "the next free number is 8" in result.output
    assert "Nothing was sent" in result.output
    with Database(in_workspace / "subscribers.db") as db:
        assert db.ledger.counts("7")[State.SENT] == 4
    assert len(list((in_workspace / "outbox" / "new").iterdir())) == 4

    copy.write_text(copy.read_text().replace("number: 7", "number: 8"))
    renumbered = run("send", str(copy))
    assert renumbered.exit_code == 0 and "Ledger: 4 sent" in renumbered.output


@pytest.mark.slow
def test_an_edit_mid_send_is_allowed_and_status_says_so(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    assert run("send", str(issue_path)).exit_code == 0
    add_subscribers(in_workspace, 2, prefix="late")
    issue_path.write_text(issue_path.read_text().replace("Robots learn to fold laundry", "Robots learn to fold the laundry"))
    again = run("send", str(issue_path))
    assert again.exit_code == 0, again.output
    status = run("status", str(issue_path))
    assert "The content of issue 7 changed mid-send" in status.output
    assert "3 recipient(s) had been handed the earlier version" in status.output


def test_an_unchanged_rerun_says_nothing_about_changes(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    run("send", str(issue_path))
    run("send", str(issue_path))
    assert "changed mid-send" not in run("status", str(issue_path)).output


def test_check_warns_when_two_issue_files_share_a_number(in_workspace: Path, issue_path: Path) -> None:
    copy = in_workspace / "issues" / "2026-12-08.yaml"
    shutil.copy(issue_path, copy)
    result = run("check", str(copy))
    line = next(n for n, text in enumerate(copy.read_text().splitlines(), 1) if text.startswith("number:"))
    assert f"issues/2026-12-08.yaml:{line}: number: 7 is also the number of" in result.output
    assert "2026-12-01.yaml" in result.output


def test_new_numbers_after_every_number_used_even_by_deleted_files(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    old = in_workspace / "issues" / "2026-11-24.yaml"
    shutil.copy(issue_path, old)
    old.write_text(old.read_text().replace("number: 7", "number: 12"))
    assert run("send", str(old)).exit_code == 0
    old.unlink()  # the file of issue 12 is gone; the ledger remembers it went out

    result = run("new", "2026-12-15")
    assert result.exit_code == 0, result.output
    assert "number: 13" in (in_workspace / "issues" / "2026-12-15.yaml").read_text()


def test_new_notes_a_later_issue_with_a_lower_number(in_workspace: Path, issue_path: Path) -> None:
    result = run("new", "2026-11-30")  # the 2026-12-01 issue is number 7
    assert result.exit_code == 0
    assert "number: 8" in (in_workspace / "issues" / "2026-11-30.yaml").read_text()
    assert "2026-12-01.yaml is dated after this issue but has a lower number" in result.output


def test_new_creates_no_database(in_workspace: Path) -> None:
    assert run("new", dt.date(2026, 12, 20).isoformat()).exit_code == 0
    assert not (in_workspace / "subscribers.db").exists()
