"""`newsletter subscribers sunset`: who stopped reading, the dry run, the last-chance email sent once
(through the send loop and the ledger, across a kill and a re-run), and the later run that lets go
of those who did not click while keeping those who did, never touching an erased reader."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.db.clicks import Click
from newsletter.models import State, Status
from newsletter.sending.sunset import last_chance_email
from newsletter.subscribers.rules import erase
from newsletter.workspace.config import load_workspace
from tests.helpers.cli import run
from tests.helpers.exactly_once import ledger_states, reconcile
from tests.helpers.sendgrid_server import API_KEY
from tests.helpers.workspace import SECRET, add_config, add_subscribers
from tests.send.test_send_outbox import outbox, recipients

READER_CLICKS = '[tracking]\nclicks = "reader"\n'
TODAY = dt.datetime.now(dt.UTC).date().isoformat()
KEY = f"sunset-{TODAY}"


def ago(days: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")


def seed_issues(db: Database, emails: list[str], count: int) -> None:
    """`count` weekly issues sent to each of `emails`, the latest one 2 days ago."""
    rows = [(str(n), email, "sent", ago(2 + 7 * (count - n))) for email in emails for n in range(1, count + 1)]
    with db.transaction():
        db.connection.db.executemany("INSERT INTO deliveries (issue, email, state, updated_at) VALUES (?, ?, ?, ?)", rows)


def click(db: Database, email: str | None, days_ago: float, machine: str | None = None, issue: str = "6") -> None:
    db.clicks.record([Click(issue, "1", "https://example.org/story", ago(days_ago), email, machine=machine)])


@pytest.fixture
def readers(in_workspace: Path) -> dict[str, str]:
    """Six readers, each sent six weekly issues (the oldest 37 days ago) unless said otherwise:
    keen clicked 3 days ago; quiet never clicked; lapsed last clicked 100 days ago; scanned only
    had a mail scanner click; fresh had 3 issues; erased never clicked and was erased; and left
    (unsubscribed) never clicked."""
    add_config(in_workspace, READER_CLICKS)
    names = ["erased", "fresh", "keen", "lapsed", "quiet", "scanned"]
    emails = dict(zip(names, add_subscribers(in_workspace, len(names)), strict=True))
    left = add_subscribers(in_workspace, 1, Status.UNSUBSCRIBED, prefix="left")[0]
    with Database(in_workspace / "subscribers.db") as db:
        seed_issues(db, [emails[name] for name in names if name != "fresh"] + [left], 6)
        seed_issues(db, [emails["fresh"]], 3)
        click(db, emails["keen"], 3)
        click(db, emails["lapsed"], 100, issue="1")
        click(db, emails["scanned"], 1, machine="early")
        click(db, None, 1)  # an aggregate click: nobody's
        erase(db, emails["erased"], "command line")
    return emails


def snapshot(workspace: Path) -> tuple[object, ...]:
    with Database(workspace / "subscribers.db") as db:
        sql = db.connection.db
        return (
            sql.execute("SELECT issue, email, state FROM deliveries ORDER BY issue, email").fetchall(),
            sql.execute("SELECT email, status FROM subscribers ORDER BY email").fetchall(),
            sql.execute("SELECT count(*) FROM status_changes").fetchone(),
        )


def statuses(workspace: Path) -> dict[str, Status]:
    with Database(workspace / "subscribers.db") as db:
        return {s.email: s.status for s in db.subscribers.all()}


def age_the_round(workspace: Path, days: float) -> None:
    """The round's emails went out `days` ago."""
    with Database(workspace / "subscribers.db") as db, db.transaction():
        db.connection.db.execute("UPDATE deliveries SET updated_at = ? WHERE issue LIKE 'sunset-%'", (ago(days),))


def test_without_each_reader_s_clicks_it_refuses_saying_why_and_changes_nothing(readers: dict[str, str], in_workspace: Path) -> None:
    settings = in_workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace(READER_CLICKS, ""))
    before = snapshot(in_workspace)
    for extra in ([], ["--dry-run"]):
        result = run("subscribers", "sunset", "--inactive", "6", *extra)
        assert result.exit_code != 0
        assert 'sunsetting needs to know who clicks, and [tracking] clicks = "aggregate" records no one\'s clicks' in result.output
        assert "Nothing was changed." in result.output and "Traceback" not in result.output
    assert snapshot(in_workspace) == before
    assert not (in_workspace / "outbox").exists()


def test_the_dry_run_lists_the_readers_and_changes_nothing(readers: dict[str, str], in_workspace: Path) -> None:
    before = snapshot(in_workspace)
    result = run("subscribers", "sunset", "--inactive", "6", "--dry-run", ok=True)
    chosen = sorted(readers[name] for name in ("lapsed", "quiet", "scanned"))
    assert result.output.splitlines() == [
        "Dry run: nothing was sent or changed.",
        "0 reader(s) would be unsubscribed (channel sunset): no click within 14d of their last-chance email",
        f"3 reader(s) would be sent a last-chance email (round {KEY}): no click in their last 6 issues",
        *(f"  {email}" for email in chosen),
    ]
    assert snapshot(in_workspace) == before
    assert not (in_workspace / "outbox").exists()
    fewer = run("subscribers", "sunset", "--inactive", "3", "--dry-run", ok=True)  # fresh has had 3 issues, none clicked
    assert f"  {readers['fresh']}" in fewer.output


@pytest.mark.slow  # three runs of the command
def test_the_email_goes_once_and_a_later_run_lets_go_of_those_who_did_not_click(readers: dict[str, str], in_workspace: Path) -> None:
    result = run("subscribers", "sunset", "--inactive", "6", "--grace", "14d", ok=True)
    chosen = sorted(readers[name] for name in ("lapsed", "quiet", "scanned"))
    assert f"round {KEY}: 3 sent, 0 failed, 0 unknown, 0 pending" in result.output
    messages = outbox(in_workspace)
    assert recipients(messages) == chosen
    text = messages[0].get_body(("plain",)).get_content()
    assert "You have not clicked a link in your last 6 issues" in text and "in 14 days" in text
    keep = next(line for line in text.splitlines() if "/r/" in line)
    assert keep.startswith(f"https://fixture.example.org/r/{KEY}/0/") and "%%" not in keep  # a tracked click, the reader's part filled in

    run("subscribers", "sunset", "--inactive", "6", ok=True)  # again, within the grace period
    assert recipients(outbox(in_workspace)) == chosen  # nobody twice
    assert all(statuses(in_workspace)[email] == Status.ACTIVE for email in chosen)

    age_the_round(in_workspace, 15)
    with Database(in_workspace / "subscribers.db") as db:
        click(db, readers["quiet"], 10, issue=KEY)  # quiet kept himself subscribed, 5 days after the email
    result = run("subscribers", "sunset", "--inactive", "6", "--grace", "14d", ok=True)
    assert result.output.splitlines()[:3] == [
        "2 reader(s) unsubscribed (channel sunset): no click within 14d of their last-chance email",
        f"  {readers['lapsed']}",
        f"  {readers['scanned']}",
    ]
    now = statuses(in_workspace)
    assert {name: now[email] for name, email in readers.items() if name != "erased"} == {
        "fresh": Status.ACTIVE, "keen": Status.ACTIVE, "lapsed": Status.UNSUBSCRIBED, "quiet": Status.ACTIVE, "scanned": Status.UNSUBSCRIBED,
    }  # fmt: skip
    with Database(in_workspace / "subscribers.db") as db:
        status, channel, detail, _ = db.subscribers.changes(readers["lapsed"])[-1]
        assert (status, channel, detail) == (Status.UNSUBSCRIBED, "sunset", "no click within 14 days of the last-chance email")
        assert db.subscribers.changes(readers["quiet"]) == []
    assert recipients(outbox(in_workspace)) == chosen  # quiet clicked: no new email


def test_an_erased_reader_is_never_chosen_mailed_or_unsubscribed(readers: dict[str, str], in_workspace: Path) -> None:
    run("subscribers", "sunset", "--inactive", "6", ok=True)
    age_the_round(in_workspace, 30)
    run("subscribers", "sunset", "--inactive", "6", ok=True)
    assert readers["erased"] not in recipients(outbox(in_workspace))
    with Database(in_workspace / "subscribers.db") as db:
        rows = db.connection.db.execute("SELECT email FROM deliveries WHERE issue LIKE 'sunset-%'").fetchall()
        changed = db.connection.db.execute("SELECT email, channel FROM status_changes WHERE channel = 'sunset'").fetchall()
    assert not any(email.startswith("erased:") or email == readers["erased"] for (email,) in rows)
    assert not any(email.startswith("erased:") for email, _ in changed)


def test_a_round_is_not_counted_among_the_issues(readers: dict[str, str], in_workspace: Path) -> None:
    run("subscribers", "sunset", "--inactive", "6", ok=True)
    assert "Issues in the ledger: 6 (latest 6)" in run("db", "status", ok=True).output


def test_the_email_is_localised_and_a_workspace_template_replaces_the_default(workspace: Path) -> None:
    add_config(workspace, READER_CLICKS, language="de")
    email = last_chance_email(load_workspace(workspace), KEY, 6, dt.timedelta(days=14), SECRET.encode())
    assert email.subject == "Möchten Sie „Fixture Weekly“ weiterhin erhalten?"
    assert "Wenn Sie nichts tun, senden wir ihn in 14 Tagen nicht mehr." in email.text
    assert "Ich möchte ihn weiter erhalten" in email.html
    (workspace / "templates" / "sunset.txt.j2").write_text("Still there? {{ keep_url }}\n", encoding="utf-8")
    email = last_chance_email(load_workspace(workspace), KEY, 6, dt.timedelta(days=14), SECRET.encode())
    assert email.text.startswith(f"Still there? https://fixture.example.org/r/{KEY}/0/")


@pytest.mark.slow  # real `newsletter` processes, killed mid-run and run again
def test_killed_mid_round_and_run_again_nobody_gets_two_emails(sendgrid, workspace: Path) -> None:
    add_config(workspace, READER_CLICKS)
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace('provider = "sendgrid"', 'provider = "sendgrid"\nbatch_size = 10').replace("timeout = 0.5", "timeout = 10"))
    emails = add_subscribers(workspace, 200)
    with Database(workspace / "subscribers.db") as db:
        seed_issues(db, emails, 6)
        click(db, emails[0], 1)  # one reader still clicks
    sendgrid.behaviour.latency = 0.03
    env = dict(os.environ, SENDGRID_API_HOST=sendgrid.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET)
    command = [sys.executable, "-m", "newsletter", "subscribers", "sunset", "--inactive", "6"]
    kills = 0
    for _ in range(2):
        before = sum(sendgrid.delivered.values())
        process = subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while sum(sendgrid.delivered.values()) < before + 20 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    assert kills == 2, "the round finished before it could be killed"
    final = subprocess.run(command, env=env, cwd=workspace, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    rows = ledger_states(workspace, KEY)
    assert sorted(rows) == emails[1:]  # everyone but the reader who clicks
    unknown = reconcile(rows, Counter(sendgrid.delivered))  # nobody twice, nobody the ledger does not know
    assert len(unknown) <= kills * 10  # at most one batch in flight per kill
    assert sum(1 for state in rows.values() if state == State.SENT) >= len(rows) - kills * 10
