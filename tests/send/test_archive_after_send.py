"""`publish` and the send ledger: an issue goes into the web archive once at least one copy has gone
out, never while every copy is failed or still scheduled, and its page leaves the archive when the
send is cancelled before anyone got it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine

from tests.helpers.cli import run
from tests.helpers.workspace import add_subscribers

MONDAY_7 = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
MONDAY_9 = MONDAY_7 + dt.timedelta(hours=2)
PAGE = Path("site") / "archive" / "issue-7.html"
LINKING = [Path("site") / "archive" / name for name in ("index.html", "feed.xml", "sitemap.xml")]


def schedule_with_one_failure(sendgrid, workspace: Path, issue_path: Path) -> None:
    """The issue's scenario: SendGrid refuses one address of twelve and holds the rest for two hours."""
    emails = add_subscribers(workspace, 12)
    sendgrid.behaviour.reject = {emails[4]}
    scheduled = run("send", str(issue_path), "--at", MONDAY_9.isoformat())
    assert scheduled.exit_code == 0, scheduled.output
    assert "Ledger: 11 scheduled, 1 failed" in scheduled.output


def publish_the_page_anyway(workspace: Path, issue_path: Path) -> None:
    """The archive an earlier version left: it published issue 7 on its failed copy. (Published
    here through `publish: true`, then the issue file is put back as it was.)"""
    original = issue_path.read_bytes()
    issue_path.write_bytes(original + b"publish: true\n")
    assert run("publish").exit_code == 0
    issue_path.write_bytes(original)
    assert (workspace / PAGE).is_file() and "issue-7.html" in (workspace / LINKING[0]).read_text()


def test_an_issue_with_one_failed_copy_and_the_rest_scheduled_is_not_published(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    with time_machine.travel(MONDAY_7, tick=False):
        schedule_with_one_failure(sendgrid, in_workspace, issue_path)
        published = run("publish")
    assert published.exit_code == 0, published.output
    assert "issue 7: not published: no copy has gone out yet (1 failed, 11 scheduled for 2026-11-30 09:00+00:00)" in published.output
    assert not (in_workspace / PAGE).exists()
    for path in LINKING:
        assert "issue-7" not in (in_workspace / path).read_text(), path


@pytest.mark.slow
def test_once_sendgrid_has_delivered_at_the_scheduled_time_the_issue_is_published(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    with time_machine.travel(MONDAY_7, tick=False):
        schedule_with_one_failure(sendgrid, in_workspace, issue_path)
    with time_machine.travel(MONDAY_9 + dt.timedelta(minutes=1), tick=False):  # no other command ran meanwhile
        published = run("publish")
    assert published.exit_code == 0, published.output
    assert f"wrote {PAGE}" in published.output and "not published" not in published.output
    assert "issue-7.html" in (in_workspace / LINKING[0]).read_text()


@pytest.mark.slow
def test_cancelling_the_send_takes_the_page_out_of_the_archive_and_sending_puts_it_back(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    with time_machine.travel(MONDAY_7, tick=False):
        schedule_with_one_failure(sendgrid, in_workspace, issue_path)
        publish_the_page_anyway(in_workspace, issue_path)

        cancelled = run("cancel", str(issue_path))
        assert cancelled.exit_code == 0, cancelled.output
        assert f"{PAGE} is still in the web archive, though nobody has received issue 7: `newsletter publish` removes it." in cancelled.output

        removed = run("publish")
        assert removed.exit_code == 0, removed.output
        assert f"removed {PAGE}: issue 7 is no longer published: no copy has gone out yet (1 failed, 11 pending)" in removed.output
        assert not (in_workspace / PAGE).exists()
        for path in LINKING:
            assert "issue-7" not in (in_workspace / path).read_text(), path
        again = run("publish")  # exactly once: the next run has nothing to remove
        assert "removed" not in again.output and "nothing changed" in again.output

        sent = run("send", str(issue_path))  # now, to the eleven still waiting
        assert sent.exit_code == 0 and "Ledger: 11 sent, 1 failed" in sent.output
        back = run("publish")
    assert f"wrote {PAGE}" in back.output and "not published" not in back.output
    for path in LINKING:
        assert "issue-7.html" in (in_workspace / path).read_text(), path


@pytest.mark.slow
def test_a_cancel_that_leaves_no_page_behind_says_nothing_about_the_archive(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    with time_machine.travel(MONDAY_7, tick=False):
        schedule_with_one_failure(sendgrid, in_workspace, issue_path)
        assert run("publish").exit_code == 0
        cancelled = run("cancel", str(issue_path))
    assert cancelled.exit_code == 0 and "web archive" not in cancelled.output


def test_test_copies_do_not_publish_an_issue(in_workspace: Path, issue_path: Path) -> None:
    copies = run("send", str(issue_path), "--test", "editor@example.com")
    assert copies.exit_code == 0, copies.output
    assert run("publish").exit_code == 0
    assert not (in_workspace / PAGE).exists()
