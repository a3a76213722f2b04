"""Every command that talks to a provider, with the provider unreachable and refusing: a sentence
with the provider's words, exit 1, no traceback, and nothing created or changed."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.workspace import add_config, add_subscribers

TABLES = ("subscribers", "deliveries", "schedules", "issues")


def snapshot(workspace: Path) -> dict[str, list[tuple]] | None:
    """Everything in the database, or None when there is none."""
    path = workspace / "subscribers.db"
    if not path.exists():
        return None
    with sqlite3.connect(path) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in TABLES}


@pytest.fixture(params=["unreachable", "refusing"])
def broken_sendgrid(request, sendgrid, monkeypatch, refused_port: int):
    """SendGrid as the workspace uses it, either not answering at all or refusing our API key."""
    if request.param == "unreachable":
        monkeypatch.setenv("SENDGRID_API_HOST", f"http://127.0.0.1:{refused_port}")
        return "cannot reach SendGrid"
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.revoked-key")
    return "SendGrid refused the API key in SENDGRID_API_KEY (401)"


def assert_clean_failure(result, words: str) -> None:
    assert result.exit_code == 1, result.output
    assert words in result.output
    assert "Traceback" not in result.output and "SG.revoked-key" not in result.output


def test_send(broken_sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    before = snapshot(in_workspace)
    assert_clean_failure(run("send", str(issue_path)), broken_sendgrid)
    assert snapshot(in_workspace) == before


def test_send_at(broken_sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    before = snapshot(in_workspace)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    assert_clean_failure(run("send", str(issue_path), "--at", when), broken_sendgrid)
    assert snapshot(in_workspace) == before


def test_send_test_copy(broken_sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    before = snapshot(in_workspace)
    result = run("send", str(issue_path), "--test", "me@example.com")
    assert result.exit_code == 1 and "Traceback" not in result.output and "me@example.com" in result.output
    assert snapshot(in_workspace) == before


def test_cancel(sendgrid, in_workspace: Path, issue_path: Path, monkeypatch, refused_port: int) -> None:
    add_subscribers(in_workspace, 3)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    assert run("send", str(issue_path), "--at", when).exit_code == 0
    before = snapshot(in_workspace)
    monkeypatch.setenv("SENDGRID_API_HOST", f"http://127.0.0.1:{refused_port}")
    assert_clean_failure(run("cancel", str(issue_path)), "could not cancel the scheduled send at SendGrid: cannot reach SendGrid")
    monkeypatch.setenv("SENDGRID_API_HOST", sendgrid.url)
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.revoked-key")
    assert_clean_failure(run("cancel", str(issue_path)), "SendGrid refused the API key")
    assert snapshot(in_workspace) == before  # still scheduled, exactly as it was
    assert set(sendgrid.batches.values()) == {"created"}


def test_subscribers_sync_creates_no_database(broken_sendgrid, in_workspace: Path) -> None:
    assert_clean_failure(run("subscribers", "sync"), broken_sendgrid)
    assert not (in_workspace / "subscribers.db").exists()


def test_subscribers_sync_changes_nobody(broken_sendgrid, in_workspace: Path) -> None:
    add_subscribers(in_workspace, 3)
    before = snapshot(in_workspace)
    assert_clean_failure(run("subscribers", "sync"), broken_sendgrid)
    assert snapshot(in_workspace) == before


def test_status_needs_no_provider_and_creates_nothing(broken_sendgrid, in_workspace: Path, issue_path: Path) -> None:
    result = run("status", str(issue_path))
    assert result.exit_code == 0 and "Issue 7:" in result.output
    assert not (in_workspace / "subscribers.db").exists()
    add_subscribers(in_workspace, 2)
    before = snapshot(in_workspace)
    assert run("status", str(issue_path)).exit_code == 0
    assert snapshot(in_workspace) == before


@pytest.mark.parametrize("problem", ["unreachable", "refusing login"])
@pytest.mark.slow
def test_smtp_send(problem: str, in_workspace: Path, issue_path: Path, smtp_server, monkeypatch, refused_port: int) -> None:
    add_subscribers(in_workspace, 2)
    if problem == "unreachable":
        add_config(in_workspace, "")
        config = in_workspace / "newsletter.toml"
        config.write_text(config.read_text().replace("port = ", f"port = {refused_port}\n# was: port = ", 1))
        words = "cannot connect to SMTP server"
    else:
        config = in_workspace / "newsletter.toml"
        config.write_text(config.read_text().replace('security = "none"', 'security = "none"\nusername = "mara"'))
        monkeypatch.setenv("SMTP_PASSWORD", "not-the-password")
        words = "SMTP server 127.0.0.1"
    before = snapshot(in_workspace)
    assert_clean_failure(run("send", str(issue_path)), words)
    assert "not-the-password" not in run("send", str(issue_path)).output
    assert snapshot(in_workspace) == before
    assert smtp_server.messages == []
