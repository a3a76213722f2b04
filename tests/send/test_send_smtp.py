"""Sending through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import State
from tests.helpers.cli import run
from tests.helpers.smtp_server import smtp_settings
from tests.helpers.workspace import add_config, add_subscribers


@pytest.mark.slow
def test_every_subscriber_gets_one_message_over_one_connection(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 120)
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    delivered = sorted(to for tos, _ in smtp_server.messages for to in tos)
    assert delivered == emails
    assert smtp_server.sessions == 1  # one connection reused for all 120 messages
    message = email.message_from_bytes(smtp_server.messages[0][1], policy=email.policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"


@pytest.mark.slow
def test_a_refused_recipient_fails_with_the_servers_words(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 5)
    smtp_server.refuse["reader00002@example.com"] = "550 5.1.1 No such mailbox here"
    result = run("send", str(issue_path))
    assert "Ledger: 4 sent, 1 failed" in result.output
    with Database(in_workspace / "subscribers.db") as db:
        failed = db.ledger.deliveries("7", [State.FAILED])
    assert [(d.email, d.detail) for d in failed] == [("reader00002@example.com", "SMTP 550 5.1.1 No such mailbox here")]
    status = run("status", str(issue_path))
    assert "failed: reader00002@example.com: SMTP 550 5.1.1 No such mailbox here" in status.output


@pytest.mark.slow
def test_a_recipient_deferred_again_and_again_is_given_up(smtp_server, fast_retries, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    smtp_server.refuse["reader00001@example.com"] = "451 4.7.1 Greylisted, try later"
    result = run("send", str(issue_path))
    assert "Ledger: 2 sent, 1 failed" in result.output
    with Database(in_workspace / "subscribers.db") as db:
        (failed,) = db.ledger.deliveries("7", [State.FAILED])
    assert failed.detail.startswith("gave up after 7 tries: SMTP 451 4.7.1 Greylisted")


def test_an_unreachable_server_is_reported_and_nothing_changes(in_workspace: Path, issue_path: Path, refused_port: int) -> None:
    port = refused_port  # nothing listens here
    add_config(in_workspace, smtp_settings(port, timeout=None, retries=1))
    add_subscribers(in_workspace, 2)
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in result.output
    assert "Nothing was sent and nothing changed; run the same command again later" in result.output
    with Database(in_workspace / "subscribers.db") as db:
        assert sum(db.ledger.counts("7").values()) == 0  # nothing lost, nothing marked
