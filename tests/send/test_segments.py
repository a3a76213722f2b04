"""`newsletter send` to a topic and to a segment: who gets the issue, widening and narrowing,
the dry run, status, and the errors of a bad expression or an unknown topic."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.db.clicks import Click
from newsletter.models import State
from tests.helpers.cli import run
from tests.helpers.sendgrid_server import API_KEY
from tests.helpers.workspace import SECRET, add_config, add_subscribers
from tests.send.test_send_outbox import outbox, recipients

TOPICS = """\
[topics.ai]
name = "AI weekly"

[topics.deals]
name = "Deals"
default = false
sender_name = "Fixture Deals Desk"

[segments]
vips = 'tag:vip and not tag:paused'
"""


@pytest.fixture
def readers(in_workspace: Path) -> list[str]:
    """Six active readers: 0 and 1 tagged vip, 2 tagged vip and paused; 3 left topic ai; 4 chose deals."""
    emails = add_subscribers(in_workspace, 6)
    with Database(in_workspace / "subscribers.db") as db:
        db.audience.tag(emails[:3], add=["vip"])
        db.audience.tag(emails[2:3], add=["paused"])
        db.audience.choose_topics(emails[3], {"ai": False})
        db.audience.choose_topics(emails[4], {"deals": True})
    return emails


def set_issue_field(issue_path: Path, line: str) -> None:
    text = issue_path.read_text(encoding="utf-8")
    issue_path.write_text(text.replace("number: 7\n", f"number: 7\n{line}\n", 1), encoding="utf-8")


def states(workspace: Path) -> dict[str, State]:
    with Database(workspace / "subscribers.db") as db:
        return {d.email: d.state for d in db.ledger.deliveries("7", list(State))}


@pytest.mark.slow
def test_without_topics_a_segment_narrows_the_whole_list(readers: list[str], issue_path: Path) -> None:
    result = run("send", issue_path, "--segment", "tag:vip", ok=True)
    assert "To the active subscribers in segment tag:vip." in result.output
    assert recipients(outbox(issue_path.parents[1])) == readers[:3]


def test_an_issue_goes_to_its_topic_only_and_remembers_it(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    add_config(workspace, TOPICS)
    result = run("send", issue_path, ok=True)  # no `topic:`: the default topic, ai
    assert "To the readers of topic ai." in result.output
    assert recipients(outbox(workspace)) == [e for e in readers if e != readers[3]]
    with Database(workspace / "subscribers.db") as db:
        assert db.ledger.issue_topic("7") == "ai"


def test_an_opt_in_topic_goes_to_those_who_chose_it_from_its_own_sender_name(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    add_config(workspace, TOPICS)
    set_issue_field(issue_path, "topic: deals")
    run("send", issue_path, ok=True)
    messages = outbox(workspace)
    assert recipients(messages) == [readers[4]]
    assert messages[0]["From"].addresses[0].display_name == "Fixture Deals Desk"


def test_a_workspace_topic_without_sender_name_keeps_the_sender(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    add_config(workspace, TOPICS)
    run("send", issue_path, ok=True)
    assert {m["From"].addresses[0].display_name for m in outbox(workspace)} == {"Fixture Editor"}


def test_the_issue_files_segment_and_the_option_that_replaces_it(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    add_config(workspace, TOPICS)
    set_issue_field(issue_path, "segment: vips")
    run("send", issue_path, ok=True)
    assert recipients(outbox(workspace)) == readers[:2]
    result = run("send", issue_path, "--segment", "tag:vip", ok=True)  # the option wins: reader 2 (paused) is added
    assert "To the readers of topic ai in segment tag:vip." in result.output
    assert recipients(outbox(workspace)) == readers[:3]


@pytest.mark.slow
def test_widening_mails_only_the_new_readers_and_narrowing_unsends_nobody(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    run("send", issue_path, "--segment", "tag:paused", ok=True)
    assert recipients(outbox(workspace)) == readers[2:3]
    run("send", issue_path, "--segment", "tag:vip", ok=True)  # wider
    assert recipients(outbox(workspace)) == readers[:3]  # 2 got one copy, 0 and 1 theirs
    result = run("send", issue_path, "--segment", "tag:paused", ok=True)  # narrower: nothing new, nothing undone
    assert "Nothing to send" in result.output
    assert len(outbox(workspace)) == 3
    run("send", issue_path, ok=True)  # everyone
    assert recipients(outbox(workspace)) == readers
    assert set(states(workspace).values()) == {State.SENT}


def test_status_counts_recipients_by_segment(readers: list[str], issue_path: Path) -> None:
    run("send", issue_path, "--segment", "tag:paused", ok=True)
    run("send", issue_path, "--segment", "tag:vip", ok=True)
    result = run("status", issue_path, ok=True)
    assert "By segment:" in result.output
    assert "  tag:paused: 1 sent" in result.output
    assert "  tag:vip: 2 sent" in result.output


def test_dry_run_shows_the_count_a_sample_and_who_is_left_out(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    add_config(workspace, TOPICS)
    result = run("send", issue_path, "--dry-run", "--segment", "tag:vip", ok=True)
    assert "to: the readers of topic ai in segment tag:vip" in result.output
    assert "would be sent now: 3" in result.output
    assert f"for example: {', '.join(readers[:3])}" in result.output
    assert "1 active but not reading topic ai" in result.output
    assert "2 active readers of the topic outside the segment" in result.output  # readers 4 and 5
    assert not (workspace / "outbox").exists() or outbox(workspace) == []
    assert states(workspace) == {}


def test_a_bad_expression_is_shown_with_a_caret_and_nothing_is_sent(readers: list[str], issue_path: Path) -> None:
    result = run("send", issue_path, "--segment", 'tag:vip and (attr.country = "DE"')
    assert result.exit_code != 0
    assert "expected ')'" in result.output
    assert '  tag:vip and (attr.country = "DE"\n' + " " * 34 + "^" in result.output
    assert "lark" not in result.output.lower() and "Traceback" not in result.output
    assert states(issue_path.parents[1]) == {}


def test_clicked_is_refused_where_no_one_s_clicks_are_recorded(readers: list[str], issue_path: Path) -> None:
    result = run("send", issue_path, "--segment", "clicked < 90d")
    assert result.exit_code != 0
    assert "clicked cannot select anyone here: [tracking] clicks = \"aggregate\" records no one's clicks" in result.output
    assert states(issue_path.parents[1]) == {}


def test_with_clicks_recorded_per_reader_a_send_goes_to_those_who_clicked(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    add_config(workspace, '[tracking]\nclicks = "reader"\n')
    with Database(workspace / "subscribers.db") as db:
        yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="seconds")
        db.clicks.record([Click("6", "1", "https://example.org/", yesterday, readers[1])])
    run("send", issue_path, "--segment", "clicked < 90d and received = 0", ok=True)
    assert recipients(outbox(workspace)) == [readers[1]]


def test_an_unknown_named_segment_suggests_the_close_one(readers: list[str], issue_path: Path) -> None:
    add_config(issue_path.parents[1], TOPICS)
    result = run("send", issue_path, "--segment", "vip")
    assert result.exit_code != 0
    assert "no segment named 'vip' in [segments]; did you mean vips?" in result.output


@pytest.mark.slow
def test_an_unknown_topic_in_an_issue_file_is_located_by_check_send_and_build(readers: list[str], issue_path: Path) -> None:
    workspace = issue_path.parents[1]
    add_config(workspace, TOPICS)
    set_issue_field(issue_path, "topic: robots")
    for command in ("check", "send", "build"):
        result = run(command, issue_path)
        assert result.exit_code != 0, command
        assert "2026-12-01.yaml:3: topic: no topic 'robots' in [topics]; the topics are ai, deals" in result.output, command
    assert states(workspace) == {}


def test_a_bad_segment_in_an_issue_file_is_located(readers: list[str], issue_path: Path) -> None:
    set_issue_field(issue_path, "segment: tag:vip or")
    result = run("check", issue_path)
    assert result.exit_code != 0
    assert "2026-12-01.yaml:3: segment: segment 'tag:vip or': expected a condition" in result.output


def test_a_segment_cannot_be_scheduled_from_the_command_line(readers: list[str], issue_path: Path) -> None:
    result = run("send", issue_path, "--segment", "tag:vip", "--at", "2099-01-01T08:00+00:00")
    assert result.exit_code != 0
    assert "put `segment:` in the issue file" in result.output


@pytest.mark.slow  # a real sender process, killed mid-run and run again wider
def test_a_segmented_send_killed_mid_run_then_widened_mails_nobody_twice(sendgrid, workspace: Path, issue_path: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "sendgrid"', 'provider = "sendgrid"\nbatch_size = 25'))
    config.write_text(config.read_text().replace("timeout = 0.5", "timeout = 10"))  # a slow answer is not an unknown
    emails = add_subscribers(workspace, 1200)
    early = emails[::2]
    with Database(workspace / "subscribers.db") as db:
        db.audience.tag(early, add=["early"])
    sendgrid.behaviour.latency = 0.05
    env = dict(os.environ, SENDGRID_API_HOST=sendgrid.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET)
    command = [sys.executable, "-m", "newsletter", "send", str(issue_path)]
    kills = 0
    for _ in range(3):  # the narrow run, killed while it sends
        process = subprocess.Popen([*command, "--segment", "tag:early"], env=env, cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = sum(sendgrid.delivered.values())
        deadline = time.monotonic() + 30
        while sum(sendgrid.delivered.values()) < before + 50 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # killed once it is a couple of batches in, mid-request as often as not
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    assert kills, "the narrow run finished before it could be killed"
    assert 0 < sum(sendgrid.delivered.values()) < len(early)  # killed part-way
    final = subprocess.run(command, env=env, cwd=workspace, capture_output=True, text=True)  # everyone
    assert final.returncode == 0, final.stderr

    rows = states(workspace)
    assert sorted(rows) == emails
    unknown = [email for email, state in rows.items() if state == State.UNKNOWN]
    assert set(rows.values()) <= {State.SENT, State.UNKNOWN}
    assert len(unknown) <= kills * 25  # at most one batch in flight per kill
    assert all(sendgrid.delivered.get(email, 0) == 1 for email, state in rows.items() if state == State.SENT)
    assert max(sendgrid.delivered.values()) == 1  # nobody twice
    assert set(unknown) <= set(early)  # only the killed narrow run left doubt
