"""`[send] canary = "5%"`: the most engaged readers get the issue first through the outbox, the
rest waits `canary_wait`; hard bounces or complaints over the limits pause the send (the canary's,
or any send's so far), until the editor's `send --resume` or `cancel`; cron never resumes it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
import time_machine

import newsletter.sending.pacing as pacing
from newsletter.db import Database, Event, Location, Server, Settlement
from newsletter.db.clicks import Click
from newsletter.db.send_plans import SendPlan, SendPlans
from newsletter.issue.prepare import prepare_issue
from newsletter.models import State, Status
from newsletter.sending import send_issue
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume, reconcile
from tests.helpers.outbox import delivered
from tests.helpers.workspace import SECRET, add_config, add_subscribers

START = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
WAITED = START + dt.timedelta(minutes=31)
READERS = 200  # 5%: a canary of 10


@pytest.fixture(params=BOTH)
def env(request, in_workspace: Path) -> Mapping[str, str]:
    """The environment each command runs in: the workspace's SQLite file, or a fresh PostgreSQL database."""
    add_config(in_workspace, '[send]\ncanary = "5%"\ncanary_wait = "30m"\n')
    return database_env(request)


def readers(workspace: Path, env: Mapping[str, str], count: int = READERS) -> list[str]:
    emails = [f"reader{n:05d}@example.com" for n in range(count)]
    with database(workspace, env) as db:
        from newsletter.models import Subscriber

        db.subscribers.upsert(Subscriber(email, None, {}) for email in emails)
    return emails


def report(workspace: Path, env: Mapping[str, str], *events: tuple[str, str, str | None]) -> None:
    """Provider events for issue 7: (event, address, detail)."""
    with database(workspace, env) as db:
        happened = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        status = {"bounce": Status.BOUNCED, "spamreport": Status.COMPLAINED}
        db.events.record([Event(f"e{n}-{email}", event, email, "7", None, happened, detail, status.get(event)) for n, (event, email, detail) in enumerate(events)], "sendgrid")


def canary(workspace: Path, env: Mapping[str, str]) -> list[str]:
    with database(workspace, env) as db:
        return SendPlans(db.connection).canary_order("7")


def counts(workspace: Path, env: Mapping[str, str]) -> dict[State, int]:
    with database(workspace, env) as db:
        return {state: count for state, count in db.ledger.counts("7").items() if count}


@pytest.mark.slow  # real sends through the outbox, several runs
def test_the_canary_goes_to_recent_clickers_first_and_the_rest_after_the_wait(in_workspace: Path, issue_path: Path, env: Mapping[str, str]) -> None:
    emails = readers(in_workspace, env)
    old, recent, newest, scanner, long_ago = emails[150], emails[40], emails[99], emails[7], emails[3]
    with database(in_workspace, env) as db:
        db.clicks.record([
            Click("5", "1", "https://a.example/", "2026-11-20T10:00:00+00:00", email=old),
            Click("6", "2", "https://b.example/", "2026-11-28T10:00:00+00:00", email=recent),
            Click("6", "1", "https://a.example/", "2026-11-30T09:00:00+00:00", email=scanner, machine="early"),  # a mail scanner's: no one
            Click("1", "1", "https://a.example/", "2026-06-01T10:00:00+00:00", email=long_ago),  # over 90 days ago: no longer first
        ])  # fmt: skip
        db.events.record([Event("sg-click-1", "click", newest, "6", None, "2026-11-30T08:00:00+00:00", "https://c.example/")], "sendgrid")  # a provider's click
    with time_machine.travel(START, tick=False):
        first = run("send", str(issue_path), env=env, ok=True)
        assert "Canary: 10 reader(s) (5%, the most engaged first) have issue 7. The rest (190) goes after 12:30 UTC" in first.output
        assert "run `newsletter send issues/2026-12-01.yaml` or `newsletter send --due` then" in first.output
        order = canary(in_workspace, env)
        assert order[:3] == [newest, recent, old] and len(order) == 10
        assert sorted(delivered(in_workspace)) == sorted(order) and counts(in_workspace, env) == {State.SENT: 10, State.PENDING: 190}
        status = run("status", str(issue_path), env=env, ok=True).output
        assert "the rest goes after 12:30 UTC unless it passes the limits (0 hard bounces and 0 complaints reported so far)" in status

        early = run("send", str(issue_path), env=env, ok=True)  # before the wait: says when, sends nothing
        assert "goes after 12:30 UTC" in early.output and "Nothing to send" not in early.output
        assert "No scheduled send is due." in run("send", "--due", env=env, ok=True).output
        assert len(delivered(in_workspace)) == 10
    with time_machine.travel(WAITED, tick=False):
        due = run("send", "--due", env=env, ok=True)
        assert "Issue 7 (due 2026-12-01T12:30:00+00:00, issues/2026-12-01.yaml):" in due.output and "Ledger: 200 sent" in due.output
        assert counts(in_workspace, env) == {State.SENT: 200}
        assert sorted(delivered(in_workspace)) == emails and set(delivered(in_workspace).values()) == {1}
        assert "cleared 12:31 UTC (0 hard bounces and 0 complaints reported)" in run("status", str(issue_path), env=env, ok=True).output
        assert "No scheduled send is due." in run("send", "--due", env=env, ok=True).output


@pytest.mark.slow  # real sends through the outbox, several runs
def test_hard_bounces_in_the_canary_pause_the_send_until_the_editor_resumes_it(in_workspace: Path, issue_path: Path, env: Mapping[str, str]) -> None:
    readers(in_workspace, env)
    with time_machine.travel(START, tick=False):
        run("send", str(issue_path), env=env, ok=True)
    first = canary(in_workspace, env)
    report(in_workspace, env, ("bounce", first[2], "hard: 550 5.1.1 no such user"), ("bounce", first[5], "soft: 452 mailbox full"))
    with time_machine.travel(WAITED, tick=False):
        paused = run("send", "--due", env=env)
        assert paused.exit_code == 1
        assert "paused: 1 hard bounce in 10 canary copies (10.0%, over 5%). Nothing more goes out until you decide:" in paused.output
        assert "`newsletter send issues/2026-12-01.yaml --resume` sends the rest; `newsletter cancel issues/2026-12-01.yaml` ends the send." in paused.output
        assert counts(in_workspace, env) == {State.SENT: 10, State.PENDING: 190}
    with time_machine.travel(WAITED + dt.timedelta(hours=2), tick=False):
        assert "No scheduled send is due." in run("send", "--due", env=env, ok=True).output  # cron never resumes it
        refused = run("send", str(issue_path), env=env)
        assert refused.exit_code == 1 and "issue 7 is paused: 1 hard bounce in 10 canary copies (10.0%, over 5%). Nothing was sent." in refused.output
        assert "Paused at 12:31 UTC: 1 hard bounce in 10 canary copies" in run("status", str(issue_path), env=env, ok=True).output
        assert len(delivered(in_workspace)) == 10
        resumed = run("send", str(issue_path), "--resume", env=env, ok=True)
        assert "Ledger: 200 sent" in resumed.output
    assert counts(in_workspace, env) == {State.SENT: 200} and set(delivered(in_workspace).values()) == {1}
    assert len(delivered(in_workspace)) == READERS


@pytest.mark.slow  # real sends through the outbox, several runs
def test_a_complaint_in_the_canary_pauses_it_and_cancel_ends_the_send(in_workspace: Path, issue_path: Path) -> None:
    env: dict[str, str] = {}
    add_config(in_workspace, '[send]\ncanary = "5%"\n')
    readers(in_workspace, env)
    with time_machine.travel(START, tick=False):
        run("send", str(issue_path), ok=True)
    report(in_workspace, env, ("spamreport", canary(in_workspace, env)[0], None))
    with time_machine.travel(WAITED, tick=False):
        paused = run("send", str(issue_path))
        assert paused.exit_code == 1 and "paused: 1 complaint in 10 canary copies (10.0%, over 0.1%)" in paused.output
        cancelled = run("cancel", str(issue_path), ok=True)
        assert "Cancelled the send of issue 7: 190 reader(s) who had not got it yet will not." in cancelled.output
        assert counts(in_workspace, env) == {State.SENT: 10, State.SKIPPED: 190}
        with database(in_workspace, env) as db:
            [ended] = db.event_outbox.recent(1, kind="issue.cancelled")
        assert ended.data == {"issue": "7", "send_at": None, "readers": 190, "now": "skipped"}
        again = run("send", str(issue_path), "--resume")
        assert again.exit_code == 1 and "issue 7's send was cancelled at 12:31 UTC: 190 reader(s) did not get it" in again.output
        assert "Cancelled at 12:31 UTC: 190 reader(s) did not get it." in run("status", str(issue_path), ok=True).output
        assert "No scheduled send is due." in run("send", "--due", ok=True).output
    assert len(delivered(in_workspace)) == 10


@pytest.mark.slow  # real sends through the outbox, several runs
def test_the_admin_and_the_api_end_a_paused_send_as_cancel_does(in_workspace: Path, issue_path: Path) -> None:
    from newsletter.admin.actions import cancel as admin_cancel
    from newsletter.integrations.api_issues import cancel as api_cancel
    from newsletter.workspace.config import load_workspace

    add_config(in_workspace, '[send]\ncanary = "5%"\n')
    readers(in_workspace, {})
    with time_machine.travel(START, tick=False):
        run("send", str(issue_path), ok=True)
    report(in_workspace, {}, ("spamreport", canary(in_workspace, {})[0], None))
    with time_machine.travel(WAITED, tick=False):
        assert run("send", str(issue_path)).exit_code == 1  # paused
        answer = api_cancel(load_workspace(in_workspace), "7")
        assert (answer.state, answer.recipients, answer.send_at) == ("skipped", 190, None)
        assert answer.detail == "Cancelled the send of issue 7: 190 reader(s) who had not got it yet will not."
        assert counts(in_workspace, {}) == {State.SENT: 10, State.SKIPPED: 190}
        # The admin's cancel goes the same way: nothing is left to end, and no schedule: a sentence, not a crash.
        with pytest.raises(Exception, match="no scheduled delivery"):
            admin_cancel(load_workspace(in_workspace), "ana@example.com", "2026-12-01.yaml")


@pytest.mark.slow  # real sends through the outbox, several runs
def test_the_random_part_of_the_canary_is_keyed_and_stable(tmp_path: Path, monkeypatch) -> None:
    """Two lists alike: the same secret picks the same readers, another secret others."""
    from tests.helpers.workspace import ISSUE_NAME, make_workspace

    picked = []
    for name, secret in (("a", SECRET), ("b", SECRET), ("c", "Zq8x-3Lm9Tv2Rw7Kp4Yh6Nc1Bf5Gd0Js-aX")):
        workspace = make_workspace(tmp_path / name)
        add_config(workspace, '[send]\ncanary = "5%"\n')
        add_subscribers(workspace, READERS)
        monkeypatch.setenv("NEWSLETTER_SECRET", secret)
        send_issue(prepare_issue(workspace / "issues" / ISSUE_NAME))
        picked.append(canary(workspace, {}))
    assert picked[0] == picked[1] and len(set(picked[0]) & set(picked[2])) < 5


class EventsArrive:
    """A send's progress bar that, once `after` copies have gone, has the provider report `events`
    (as its webhook would, between two batches)."""

    def __init__(self, workspace: Path, after: int, events: list[tuple[str, str, str | None]]) -> None:
        self.workspace, self.after, self.events, self.done = workspace, after, events, 0

    def start(self, total: int) -> None:
        pass

    def advance(self, handled: int) -> None:
        before, self.done = self.done, self.done + handled
        if before < self.after <= self.done:
            report(self.workspace, {}, *self.events)


@pytest.mark.slow  # real sends through the outbox, several runs
def test_hard_bounces_during_a_long_send_pause_it_and_a_resume_counts_only_what_comes_after(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pacing, "CHECK_EVERY", 0.0)  # look at the events before every batch
    emails = add_subscribers(in_workspace, 400)
    add_config(in_workspace, "[send]\nbatch_size = 50\n")
    bounced = [("bounce", email, "hard: 550 no such user") for email in emails[:12]]
    sent = send_issue(prepare_issue(issue_path), progress=EventsArrive(in_workspace, 150, bounced))
    assert sent.stopped is not None and sent.stopped.startswith("paused: 12 hard bounces in 150 copies so far (8.0%, over 5%).")
    assert counts(in_workspace, {}) == {State.SENT: 200, State.PENDING: 200}  # the batch in flight as the events came finished; no more went

    refused = run("send", str(issue_path))
    assert refused.exit_code == 1 and "issue 7 is paused: 12 hard bounces in 150 copies so far" in refused.output
    resumed = send_issue(prepare_issue(issue_path), resume=True)  # the 12 are accepted: only new ones count
    assert resumed.stopped is None and counts(in_workspace, {}) == {State.SENT: 400}
    assert sorted(delivered(in_workspace)) == emails


@pytest.mark.slow
def test_a_send_is_not_paused_on_fewer_than_a_hundred_copies(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pacing, "CHECK_EVERY", 0.0)
    emails = add_subscribers(in_workspace, 99)
    add_config(in_workspace, "[send]\nbatch_size = 10\n")
    sent = send_issue(prepare_issue(issue_path), progress=EventsArrive(in_workspace, 20, [("spamreport", emails[0], None)]))
    assert sent.stopped is None and counts(in_workspace, {}) == {State.SENT: 99}


@pytest.mark.parametrize(
    ("setting", "words"),
    [('canary = "60%"', "send.canary: '60%' is outside 1% to 50%"), ('canary = "five"', 'send.canary: expected a share of the list such as "5%"'),
     ('canary_wait = "2m"', "send.canary_wait: '2m' is outside 5m to 1d")],
)  # fmt: skip
def test_canary_settings_are_checked_by_file_line_and_field(in_workspace: Path, issue_path: Path, setting: str, words: str) -> None:
    add_config(in_workspace, f"[send]\n{setting}\n")
    add_subscribers(in_workspace, 2)
    refused = run("send", str(issue_path))
    assert refused.exit_code == 1 and "newsletter.toml:" in refused.output and words in refused.output and "Traceback" not in refused.output
    assert delivered(in_workspace) == {}


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path: Path) -> Location:
    if request.param == "sqlite":
        return tmp_path / "subscribers.db"
    return Server(request.getfixturevalue("pg_url"))


@pytest.mark.slow  # a fresh database on each
def test_the_plan_and_the_canary_claim_keep_the_ledger_contract_on_both_databases(location: Location) -> None:
    from newsletter.models import Subscriber

    emails = [f"r{n}@example.com" for n in range(6)]
    with Database(location) as db:
        db.subscribers.upsert(Subscriber(email, None, {}) for email in emails)
        db.ledger.prepare("7")
        plans = SendPlans(db.connection)
        plan = SendPlan("7", "issues/a.yaml", "outbox", window=dt.timedelta(hours=3), starts_at=START, ends_at=START + dt.timedelta(hours=3), total=6,
                        canary_share=50.0, canary_wait=dt.timedelta(minutes=30))  # fmt: skip
        plans.save(plan)
        assert plans.get("7") == plan
        assert plans.choose_canary("7", 3, b"k" * 32, START) == 3 and plans.choose_canary("7", 5, b"other", START) == 3  # chosen once
        order = plans.canary_order("7")
        db.subscribers.set_status([order[0]], Status.UNSUBSCRIBED)  # leaves before their turn
        claim = plans.claim_canary("7", 10, "batch-1", 0.0)
        assert [r.email for r in claim.recipients] == sorted(order[1:])  # in address order, the leaver skipped
        assert plans.claim_canary("7", 10, "batch-2", 0.0).recipients == []  # claimed rows are never claimed twice
        db.ledger.mark_handed_over(claim)
        db.ledger.settle(claim, {}, Settlement(State.SENT))
        assert db.ledger.counts("7")[State.SENT] == 2 and db.ledger.counts("7")[State.PENDING] == 3 and db.ledger.counts("7")[State.SKIPPED] == 1
        assert plans.canary_pending("7") == 0 and plans.canary_figures("7").copies == 2
        plans.save(plans.get("7").but(paused_at=START, paused_reason="seen"))  # type: ignore[union-attr]
        assert plans.get("7").paused_reason == "seen"  # type: ignore[union-attr]
        assert plans.skip_rest("7") == 3 and plans.cancelled_rows("7") == 3


@pytest.mark.slow
def test_a_canary_send_killed_and_rerun_sends_everyone_once(workspace: Path, issue_path: Path) -> None:
    """Real processes, SIGKILLed while the canary goes (rate-limited so the kill lands), run again; then the rest."""
    emails = add_subscribers(workspace, 200)
    add_config(workspace, '[send]\ncanary = "50%"\nbatch_size = 5\nrate_per_second = 150\n')
    env = dict(os.environ, NEWSLETTER_SECRET=SECRET)
    states = kill_and_resume(workspace, issue_path, env, lambda: delivered(workspace), kills=1, batch=5, settle=False)
    chosen = set(canary(workspace, {}))
    assert len(chosen) == 100 and set(delivered(workspace)) <= chosen  # nobody outside the canary before the wait
    reconcile({email: state for email, state in states.items() if email in chosen}, delivered(workspace))
    with Database(workspace / "subscribers.db") as db:  # the wait is over (the clock moved on)
        plans = SendPlans(db.connection)
        plan = plans.get("7")
        assert plan is not None and plan.canary_sent_at is not None
        plans.save(plan.but(canary_sent_at=plan.canary_sent_at - dt.timedelta(minutes=31)))
    rest = send_issue(prepare_issue(issue_path))  # the rest: a send like any other (tests/send/test_exactly_once.py kills those)
    assert rest.stopped is None and rest.note is None
    with Database(workspace / "subscribers.db") as db:
        rows = {d.email: d.state for d in db.ledger.deliveries("7", list(State))}
    assert sorted(rows) == emails
    assert len(reconcile(rows, delivered(workspace))) <= 5  # at most the batch in flight at the kill


@pytest.mark.slow  # real sends through the outbox, several runs
def test_the_editor_may_send_the_rest_before_the_canary_wait_ends(in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, '[send]\ncanary = "5%"\ncanary_wait = "2h"\n')
    add_subscribers(in_workspace, 40)
    with time_machine.travel(START, tick=False):
        assert "The rest (38) goes after 14:00 UTC" in run("send", str(issue_path), ok=True).output
        assert len(delivered(in_workspace)) == 2
        run("send", str(issue_path), "--resume", ok=True)
        assert len(delivered(in_workspace)) == 40
        assert "cleared 12:00 UTC" in run("status", str(issue_path), ok=True).output


class CancelledMidway:
    """A send's progress bar that runs `newsletter cancel` (as from another terminal) after the first batch."""

    def __init__(self, workspace: Path) -> None:
        self.workspace, self.said = workspace, ""

    def start(self, total: int) -> None:
        pass

    def advance(self, handled: int) -> None:
        from newsletter.sending.core import utc_now
        from newsletter.sending.pacing import end_send
        from newsletter.workspace.config import load_workspace

        if not self.said:
            self.said = end_send(load_workspace(self.workspace), "7", utc_now) or ""


@pytest.mark.slow  # real sends through the outbox, several runs
def test_cancel_while_a_paced_send_runs_stops_it_and_skips_the_rest(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pacing, "CHECK_EVERY", 0.0)
    add_subscribers(in_workspace, 100)
    add_config(in_workspace, "[send]\nbatch_size = 10\n")
    cancelling = CancelledMidway(in_workspace)
    sent = send_issue(prepare_issue(issue_path), over=dt.timedelta(seconds=2), progress=cancelling)
    assert cancelling.said == "Cancelled: issue 7 is being sent right now; that run stops within about 30 seconds (the batch in flight finishes), and nobody else gets it."
    assert sent.stopped == "cancelled: `newsletter cancel` ended the send of issue 7; nobody else gets it"
    handed = len(delivered(in_workspace))
    assert 5 <= handed <= 10 and counts(in_workspace, {}) == {State.SENT: handed, State.SKIPPED: 100 - handed}
    again = run("send", str(issue_path))
    assert again.exit_code == 1 and f"{100 - handed} reader(s) did not get it" in again.output
