"""Sending to the local outbox (the default): every active subscriber once, with a working unsubscribe."""

from __future__ import annotations

import email.policy
import mailbox
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.mail.links import Purpose, verify_token
from newsletter.models import State, Status
from newsletter.workspace.credentials import SigningKeys
from tests.helpers.cli import run
from tests.helpers.workspace import SECRET, add_subscribers


def outbox(workspace: Path, folder: str = "") -> list[email.message.EmailMessage]:
    box = mailbox.Maildir(workspace / "outbox" / folder, factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False)
    return list(box)


def recipients(messages) -> list[str]:
    return sorted(message["To"].addresses[0].addr_spec for message in messages)


@pytest.mark.slow
def test_each_active_subscriber_gets_one_complete_message(in_workspace: Path, issue_path: Path) -> None:
    active = add_subscribers(in_workspace, 30)
    add_subscribers(in_workspace, 2, Status.UNSUBSCRIBED, prefix="left")
    add_subscribers(in_workspace, 2, Status.BOUNCED, prefix="bounced")
    add_subscribers(in_workspace, 2, Status.COMPLAINED, prefix="complained")

    result = run("send", str(issue_path))

    assert result.exit_code == 0, result.output
    assert "Ledger: 30 sent" in result.output
    messages = outbox(in_workspace)
    assert recipients(messages) == active

    first = next(m for m in messages if m["To"].addresses[0].addr_spec == "reader00003@example.com")
    assert first["To"].addresses[0].display_name == "Reader 3"
    assert first["Subject"] == "Robots learn to fold laundry, and a quieter data centre"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = first["List-Unsubscribe"].strip("<>")
    token = url.split("token=")[1]
    assert "reader" not in token and "example" not in token  # the link reveals no address
    with Database(in_workspace / "subscribers.db") as db:
        public_id = db.subscribers.get("reader00003@example.com").public_id
    keys = SigningKeys(SECRET.encode())
    assert verify_token(token, Purpose.UNSUBSCRIBE, keys) == public_id
    assert verify_token(token, Purpose.CONFIRM, keys) is None  # scoped to its purpose
    text, html = (part.get_content() for part in first.iter_parts())
    assert f"Unsubscribe:\n{url}\n" in text
    assert f'href="{url}"' in html
    assert "%%" not in text + html
    # "Manage preferences" opens the reader's own preferences page: a token for that purpose only.
    preferences = text.split("Manage preferences:\n", 1)[1].split("\n", 1)[0]
    assert preferences.startswith("https://fixture.example.org/preferences?token=")
    assert f'href="{preferences}"' in html
    preferences_token = preferences.split("token=")[1]
    assert verify_token(preferences_token, Purpose.PREFERENCES, keys) == public_id
    assert verify_token(preferences_token, Purpose.UNSUBSCRIBE, keys) is None


@pytest.mark.slow
def test_running_again_sends_nothing_except_to_new_subscribers(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 5)
    assert run("send", str(issue_path)).exit_code == 0
    again = run("send", str(issue_path))
    assert "Nothing to send" in again.output
    assert len(outbox(in_workspace)) == 5

    run("subscribers", "add", "late@example.com")
    run("send", str(issue_path))
    assert recipients(outbox(in_workspace)).count("late@example.com") == 1
    assert len(outbox(in_workspace)) == 6


def test_someone_who_unsubscribes_before_their_turn_is_skipped(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    with Database(in_workspace / "subscribers.db") as db:
        db.ledger.prepare("7")  # rows exist, e.g. from an interrupted run
        db.subscribers.set_status(["reader00001@example.com"], Status.UNSUBSCRIBED)
    run("send", str(issue_path))
    assert recipients(outbox(in_workspace)) == ["reader00000@example.com", "reader00002@example.com"]
    with Database(in_workspace / "subscribers.db") as db:
        assert db.ledger.counts("7")[State.SKIPPED] == 1


def test_test_copy_and_dry_run_leave_the_ledger_alone(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    dry = run("send", str(issue_path), "--dry-run")
    assert "nothing will be sent" in dry.output and "active subscribers: 3" in dry.output
    assert not (in_workspace / "outbox").exists()

    test = run("send", str(issue_path), "--test", "Editor@Example.org")
    assert test.exit_code == 0 and "not recorded" in test.output
    messages = outbox(in_workspace, "test")  # test copies have a Maildir of their own
    assert recipients(messages) == ["editor@example.org"]
    assert outbox(in_workspace) == []  # never among the subscribers' copies
    assert messages[0]["Subject"].startswith("[TEST] ")
    with Database(in_workspace / "subscribers.db") as db:
        assert sum(db.ledger.counts("7").values()) == 0


def test_an_issue_that_fails_check_is_not_sent(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    issue_path.write_text(issue_path.read_text().replace("Robot Report", "TODO source"))
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "not ready to send" in result.output and "TODO" in result.output
    assert not (in_workspace / "outbox").exists()


def test_a_subject_with_a_line_break_is_refused_before_sending(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    text = issue_path.read_text().replace('subject: "Robots learn', 'subject: "Bcc: everyone@example.com\\nRobots learn')
    issue_path.write_text(text)
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "subject: must fit on one line" in result.output
    assert not (in_workspace / "outbox").exists()


def test_status_shows_counts_by_state(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 4)
    run("send", str(issue_path))
    status = run("status", str(issue_path))
    assert "Issue 7:" in status.output and "sent  4" in status.output and "pending  0" in status.output


def test_status_of_an_issue_never_sent_says_so(in_workspace: Path, issue_path: Path) -> None:
    """Seven rows of 0 left the editor to work out that nothing had happened yet."""
    add_subscribers(in_workspace, 2)
    status = run("status", str(issue_path))
    assert status.exit_code == 0
    assert status.output.startswith("Issue 7: not sent yet.")
    assert "pending" not in status.output and " 0\n" not in status.output
    run("send", str(issue_path))
    assert "not sent yet" not in run("status", str(issue_path)).output


@pytest.mark.slow
def test_real_providers_need_a_real_secret(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 1)
    monkeypatch.delenv("NEWSLETTER_SECRET")
    result = run("send", str(issue_path), "--provider", "smtp")
    assert result.exit_code == 1 and "NEWSLETTER_SECRET is not set" in result.output
    outbox_run = run("send", str(issue_path))  # the local outbox works without it, and says so
    assert outbox_run.exit_code == 0 and "development secret" in outbox_run.output


def test_a_finished_send_writes_issue_sent_once_and_a_rerun_none(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    assert run("send", str(issue_path)).exit_code == 0
    assert run("send", str(issue_path)).exit_code == 0  # nothing left: sends nothing, says nothing new
    with Database(in_workspace / "subscribers.db") as db:
        finished = db.event_outbox.recent(10, kind="issue.sent")
    assert len(finished) == 1
    assert finished[0].data["sent"] == 3 and finished[0].data["subject"] == "Robots learn to fold laundry, and a quieter data centre"
