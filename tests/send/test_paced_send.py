"""`newsletter send ISSUE --over 3h`: the readers spread evenly over the window through the outbox,
at a clock the test controls (the waits jump it forward); the plan saved, so a stopped or killed
send goes on at its pace and finishes by the end; `status` shows the plan and progress."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest
import time_machine

import newsletter.sending.pacing as pacing
from newsletter.db import Database
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume
from tests.helpers.outbox import delivered
from tests.helpers.workspace import SECRET, add_config, add_subscribers

START = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=3)
READERS = 30  # one every 6 minutes over 3 hours: each batch is one reader


def sent_times(workspace: Path) -> list[dt.datetime]:
    """When each sent row was settled, in order (the ledger stamps every row it changes)."""
    with sqlite3.connect(workspace / "subscribers.db") as db:
        rows = db.execute("SELECT updated_at FROM deliveries WHERE issue = '7' AND state = 'sent' ORDER BY updated_at").fetchall()
    return [dt.datetime.fromisoformat(at) for (at,) in rows]


@pytest.fixture
def clock(in_workspace: Path, monkeypatch):
    """The test's clock, frozen at START; a paced send's waits move it on instead of sleeping.
    `clock.stop_at` (if set): the run is stopped (as by Ctrl-C) in its first wait once the outbox
    holds that many copies."""
    with time_machine.travel(START, tick=False) as traveller:

        def jump(stop, seconds: float) -> None:
            traveller.shift(dt.timedelta(seconds=seconds))
            if traveller.stop_at is not None and sum(delivered(in_workspace).values()) >= traveller.stop_at:
                stop.set()

        traveller.stop_at = None
        monkeypatch.setattr(pacing, "pause", jump)
        yield traveller


@pytest.mark.slow  # real sends through the outbox, several runs
def test_a_paced_send_spreads_the_readers_evenly_over_the_window_and_finishes_by_its_end(in_workspace: Path, issue_path: Path, clock) -> None:
    add_subscribers(in_workspace, READERS)
    result = run("send", str(issue_path), "--over", "3h")
    assert result.exit_code == 0, result.output
    assert "30 sent" in result.output
    times = sent_times(in_workspace)
    assert len(times) == READERS and len(delivered(in_workspace)) == READERS
    assert times[0] == START and times[-1] <= START + WINDOW
    step = WINDOW / READERS
    for n, at in enumerate(times):  # never ahead of the plan, never more than one step behind
        assert START + n * step <= at < START + (n + 1) * step + dt.timedelta(seconds=1), (n, at)
    status = run("status", str(issue_path)).output
    assert "Paced over 3h: 30 of 30 sent, finished (the window ends 15:00 UTC)." in status


@pytest.mark.slow  # real sends through the outbox, several runs
def test_a_stopped_paced_send_shows_its_progress_and_a_rerun_sends_only_what_is_due_then_keeps_the_pace(in_workspace: Path, issue_path: Path, clock) -> None:
    add_subscribers(in_workspace, READERS)
    clock.stop_at = 10  # Ctrl-C once ten readers have it
    stopped = run("send", str(issue_path), "--over", "3h")
    assert stopped.exit_code == 1 and "run the same command again to resume" in stopped.output
    assert len(delivered(in_workspace)) == 10
    assert "Paced over 3h: 10 of 30 sent, on plan, ends 15:00 UTC." in run("status", str(issue_path)).output

    clock.shift(dt.timedelta(hours=1))  # nothing runs for an hour (it stopped at 0:54:30): 19 are due by now
    assert "10 of 30 sent, behind plan (19 due by now;" in run("status", str(issue_path)).output
    clock.stop_at = 0  # stop at the rerun's first wait: it has sent what was due by now, no more
    run("send", str(issue_path))  # no --over: the saved plan goes on
    assert len(delivered(in_workspace)) == 20  # the 19 due, plus the reader of the current step

    clock.stop_at = None
    again = run("send", "--due")  # cron carries a paced send on, at its pace
    assert again.exit_code == 0, again.output
    times = sent_times(in_workspace)
    assert len(times) == READERS and sorted(delivered(in_workspace).values()) == [1] * READERS
    assert times[-1] <= START + WINDOW and times[-1] - times[-2] >= WINDOW / READERS - dt.timedelta(seconds=1)  # paced to the end, not rushed


@pytest.mark.slow  # real sends through the outbox, several runs
def test_over_is_read_strictly_and_a_plan_is_not_changed_midway(in_workspace: Path, issue_path: Path, clock) -> None:
    add_subscribers(in_workspace, 3)
    for bad, words in (("3 hours", """--over: expected a span of time such as "30m", "3h" or "1h30m" (s, m, h, d), got '3 hours'"""), ("8d", "--over: '8d' is outside 1s to 7d")):
        refused = run("send", str(issue_path), "--over", bad)
        assert refused.exit_code == 2 and words in refused.output and "Traceback" not in refused.output
    tested = run("send", str(issue_path), "--over", "3h", "--test", "me@example.com")
    assert tested.exit_code == 2 and "--over and --resume steer the real send: they take no --test, --test-list or --dry-run" in tested.output
    clock.stop_at = 1
    run("send", str(issue_path), "--over", "3h")
    other = run("send", str(issue_path), "--over", "1h")
    assert other.exit_code == 1 and "issue 7 is already paced over 3h; --over 1h would change its plan" in other.output
    assert len(delivered(in_workspace)) == 1


@pytest.mark.slow
def test_a_paced_send_killed_and_rerun_sends_everyone_once_and_never_ahead_of_its_plan(workspace: Path, issue_path: Path) -> None:
    """Real time: 40 readers over 4 s, the sender SIGKILLed and run again with the same --over."""
    emails = add_subscribers(workspace, 40)
    add_config(workspace, "[send]\nbatch_size = 4\n")
    env = dict(os.environ, NEWSLETTER_SECRET=SECRET)
    rows = kill_and_resume(workspace, issue_path, env, lambda: delivered(workspace), kills=1, batch=4, args=("--over", "4s"))
    assert sorted(rows) == emails and set(delivered(workspace).values()) == {1}
    with Database(workspace / "subscribers.db") as db:
        starts_at, ends_at, total = db.connection.db.execute("SELECT starts_at, ends_at, total FROM send_plans WHERE issue = '7'").fetchone()
    starts = dt.datetime.fromisoformat(starts_at)  # stamped to the second, as every time in the ledger
    assert total == 40 and dt.datetime.fromisoformat(ends_at) - starts == dt.timedelta(seconds=4)
    chunk = 2  # readers per step: 40 over 4 s in steps of 0.2 s
    for n, at in enumerate(sent_times(workspace)):  # the n+1-th copy went when the plan allowed it, within a second's rounding
        allowed = 40 * ((at - starts).total_seconds() + 2) / 4 + chunk
        assert n + 1 <= allowed, (n, at, starts)


@pytest.mark.slow  # real sends through the outbox, several runs
def test_a_scheduled_canary_send_keeps_its_canary_and_pace_for_the_runs_that_deliver_it(in_workspace: Path, issue_path: Path, clock) -> None:
    add_subscribers(in_workspace, 40)
    add_config(in_workspace, '[send]\ncanary = "10%"\ncanary_wait = "30m"\n')
    later = START + dt.timedelta(hours=2)
    held = run("send", str(issue_path), "--at", later.isoformat(), "--over", "1h", ok=True)
    assert "held here until then" in held.output and delivered(in_workspace) == {}
    status = run("status", str(issue_path), ok=True).output
    assert "Canary: 10% of the readers (the most engaged) get it first, when it goes out." in status and "Paced over 1h, from when the canary is cleared." in status

    clock.move_to(later)
    canary = run("send", "--due", ok=True)
    assert "Canary: 4 reader(s) (10%, the most engaged first) have issue 7. The rest (36) goes after 14:30 UTC" in canary.output
    assert len(delivered(in_workspace)) == 4
    clock.move_to(later + dt.timedelta(minutes=30))
    run("send", "--due", ok=True)  # the canary is clean: the rest goes over the hour
    times = sent_times(in_workspace)
    assert len(times) == 40 and len(delivered(in_workspace)) == 40
    rest = times[4:]
    assert rest[0] == later + dt.timedelta(minutes=30) and later + dt.timedelta(minutes=85) <= rest[-1] <= later + dt.timedelta(minutes=90)
