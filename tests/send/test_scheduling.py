"""Scheduled sends with every provider: held here until `send --due` (cron) at a clock the test
controls, or held by SendGrid within its 72 hours; cancel; never twice."""

from __future__ import annotations

import datetime as dt
import mailbox
from pathlib import Path

import pytest
import time_machine

from newsletter.db import Database
from newsletter.models import State, Status
from newsletter.workspace.config import load_workspace
from tests.helpers.cli import run
from tests.helpers.workspace import add_subscribers

MONDAY = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
TUESDAY_8 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def ledger(workspace: Path) -> dict[State, int]:
    with Database(workspace / "subscribers.db") as db:
        return {state: count for state, count in db.ledger.counts("7").items() if count}


def outbox(workspace: Path) -> list[str]:
    folder = workspace / "outbox"
    if not folder.exists():
        return []
    return sorted(message["To"] for message in mailbox.Maildir(folder, create=False))


@pytest.mark.slow
def test_the_outbox_holds_a_scheduled_send_until_due_then_sends_it_once(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 4)
    with time_machine.travel(MONDAY, tick=False):
        result = run("send", str(issue_path), "--at", TUESDAY_8.isoformat())
        assert result.exit_code == 0, result.output
        assert "held here until then" in result.output and "newsletter send --due" in result.output
        assert ledger(in_workspace) == {State.SCHEDULED: 4}
        assert outbox(in_workspace) == []  # nothing counted as sent before its time
        status = run("status", str(issue_path)).output
        assert "scheduled  4" in status and "held here" in status and "2026-12-01T08:00:00+00:00" in status

        early = run("send", "--due")
        assert early.exit_code == 0 and "No scheduled send is due" in early.output
        refused = run("send", str(issue_path))  # a plain send would jump the schedule
        assert refused.exit_code == 1 and "is scheduled for 2026-12-01T08:00:00+00:00" in refused.output and "newsletter cancel" in refused.output

        add_subscribers(in_workspace, 1, prefix="joined")  # joins before the time: gets it too
        with Database(in_workspace / "subscribers.db") as db:
            db.subscribers.set_status(["reader00003@example.com"], Status.UNSUBSCRIBED)  # leaves: does not
    assert outbox(in_workspace) == []

    with time_machine.travel(TUESDAY_8 + dt.timedelta(seconds=30), tick=False):
        due = run("send", "--due")
        assert due.exit_code == 0, due.output
        assert "Issue 7 (due 2026-12-01T08:00:00+00:00, issues/2026-12-01.yaml):" in due.output
        assert ledger(in_workspace) == {State.SENT: 4, State.SKIPPED: 1}
        again = run("send", "--due")  # cron, a minute later
        assert again.exit_code == 0 and "No scheduled send is due" in again.output
    delivered = outbox(in_workspace)
    assert len(delivered) == 4 and len(set(delivered)) == 4
    assert not any("reader00003" in to for to in delivered) and any("joined00000" in to for to in delivered)
    assert "Scheduled" not in run("status", str(issue_path)).output


@pytest.mark.slow
def test_smtp_sends_can_be_scheduled_too(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    with time_machine.travel(MONDAY, tick=False):
        assert run("send", str(issue_path), "--at", "2026-12-01T08:00:00+00:00").exit_code == 0
    assert smtp_server.messages == []
    with time_machine.travel(TUESDAY_8, tick=False):
        assert run("send", "--due").exit_code == 0
    assert sorted(to for tos, _ in smtp_server.messages for to in tos) == [f"reader0000{n}@example.com" for n in range(3)]


def test_a_schedule_held_here_can_be_cancelled(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    with time_machine.travel(MONDAY, tick=False):
        run("send", str(issue_path), "--at", TUESDAY_8.isoformat())
        cancelled = run("cancel", str(issue_path))
        assert cancelled.exit_code == 0, cancelled.output
        assert "2 recipient(s) are pending again" in cancelled.output
        assert ledger(in_workspace) == {State.PENDING: 2}
    with time_machine.travel(TUESDAY_8, tick=False):
        assert "No scheduled send is due" in run("send", "--due").output
    assert outbox(in_workspace) == []


def test_a_second_due_run_while_one_is_sending_does_nothing(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    with time_machine.travel(MONDAY, tick=False):
        run("send", str(issue_path), "--at", TUESDAY_8.isoformat())
    workspace = load_workspace(in_workspace)
    with time_machine.travel(TUESDAY_8, tick=False), Database(workspace.database) as db, db.connection.lock("due", "held by the test"):
        busy = run("send", "--due")
        assert busy.exit_code == 0 and "another `newsletter send --due` is still running; this run does nothing" in busy.output
    assert outbox(in_workspace) == []


def test_a_due_issue_that_changed_its_number_stays_scheduled_and_is_reported(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    with time_machine.travel(MONDAY, tick=False):
        run("send", str(issue_path), "--at", TUESDAY_8.isoformat())
    issue_path.write_text(issue_path.read_text().replace("number: 7", "number: 70"))
    with time_machine.travel(TUESDAY_8, tick=False):
        due = run("send", "--due")
    assert due.exit_code == 1
    assert "was scheduled as issue 7 but now says `number: 70`" in due.output and "Traceback" not in due.output
    assert ledger(in_workspace) == {State.SCHEDULED: 1}


def test_a_time_in_the_past_or_unreadable_is_refused(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    with time_machine.travel(TUESDAY_8, tick=False):
        past = run("send", str(issue_path), "--at", MONDAY.isoformat())
        assert past.exit_code == 1 and "has passed" in past.output
        nonsense = run("send", str(issue_path), "--at", "next tuesday")
        assert nonsense.exit_code == 1 and "expected a date and time" in nonsense.output
    assert ledger(in_workspace) == {}


@pytest.mark.slow
def test_sendgrid_holds_a_send_within_72_hours_and_it_counts_as_sent_after_its_time(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    with time_machine.travel(MONDAY, tick=False):
        result = run("send", str(issue_path), "--at", TUESDAY_8.isoformat())
        assert result.exit_code == 0, result.output
        assert "Scheduled: SendGrid delivers issue 7 at 2026-12-01T08:00:00+00:00" in result.output
        (body,) = sendgrid.bodies
        assert body["send_at"] == int(TUESDAY_8.timestamp())
        assert ledger(in_workspace) == {State.SCHEDULED: 3}
    with time_machine.travel(TUESDAY_8 + dt.timedelta(minutes=1), tick=False):
        status = run("status", str(issue_path)).output
        assert "sent  3" in status and "Scheduled" not in status
        assert run("send", str(issue_path)).exit_code == 0  # nothing more to send
    assert sendgrid.requests == 1


def test_sendgrid_beyond_72_hours_is_held_here_and_handed_over_when_due(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    friday = MONDAY + dt.timedelta(days=4)
    with time_machine.travel(MONDAY, tick=False):
        result = run("send", str(issue_path), "--at", friday.isoformat())
        assert result.exit_code == 0 and "held here until then" in result.output
    assert sendgrid.requests == 0
    with time_machine.travel(friday, tick=False):
        due = run("send", "--due")
        assert due.exit_code == 0, due.output
    assert sorted(sendgrid.delivered) == ["reader00000@example.com", "reader00001@example.com"]
    assert "send_at" not in sendgrid.bodies[0]
