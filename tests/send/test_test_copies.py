"""`send --test`: several addresses and a list file, one copy each in a Maildir of their own
(outbox/test/), the ledger untouched; a draft whose only errors are TODOs goes out marked [DRAFT]."""

from __future__ import annotations

import email.policy
import mailbox
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.workspace import add_subscribers

TODO_SUMMARY = "TODO: write the summary"


def messages(folder: Path) -> list[email.message.EmailMessage]:
    box = mailbox.Maildir(folder, factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False)
    return list(box)


def recipients(found) -> list[str]:
    return sorted(message["To"].addresses[0].addr_spec for message in found)


def subscribers_outbox(workspace: Path) -> list[str]:
    """What landed among the subscribers' messages (outbox/new and outbox/cur)."""
    return [entry.name for sub in ("new", "cur") if (workspace / "outbox" / sub).is_dir() for entry in (workspace / "outbox" / sub).iterdir()]


def assert_ledger_untouched(issue_path: Path) -> None:
    status = run("status", str(issue_path))
    assert status.exit_code == 0, status.output
    assert "not sent yet" in status.output  # a test copy leaves no row in the ledger


def make_draft(issue_path: Path) -> None:
    text = issue_path.read_text()
    old = "summary: Five vendors agreed on one file format for warehouse floor maps."
    assert old in text
    issue_path.write_text(text.replace(old, f'summary: "{TODO_SUMMARY}"'))


def test_several_addresses_each_get_one_copy_in_the_test_folder(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    result = run("send", str(issue_path), "--test", "Editor@Example.org", "--test", "copy@example.com", "--test", "editor@example.org")
    assert result.exit_code == 0, result.output
    assert "not recorded" in result.output
    assert "editor@example.org: sent" in result.output and "copy@example.com: sent" in result.output
    found = messages(in_workspace / "outbox" / "test")
    assert recipients(found) == ["copy@example.com", "editor@example.org"]  # once each, the repeat too
    assert all(message["Subject"] == "[TEST] Robots learn to fold laundry, and a quieter data centre" for message in found)
    assert len(list((in_workspace / "outbox" / "test" / "new").iterdir())) == 2
    assert subscribers_outbox(in_workspace) == []
    assert_ledger_untouched(issue_path)


def test_the_real_send_afterwards_goes_to_the_outbox_and_leaves_the_test_copies_alone(in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 3)
    assert run("send", str(issue_path), "--test", "editor@example.org").exit_code == 0
    real = run("send", str(issue_path))
    assert real.exit_code == 0, real.output
    assert "Ledger: 3 sent" in real.output
    assert recipients(messages(in_workspace / "outbox")) == emails
    assert recipients(messages(in_workspace / "outbox" / "test")) == ["editor@example.org"]


def test_a_test_list_with_comments_and_blank_lines(in_workspace: Path, issue_path: Path) -> None:
    listing = in_workspace / "testers.txt"
    listing.write_text("# the editors\nEditor@Example.org\n\n   \n  # and a friend\n  friend@example.com  \n")
    result = run("send", str(issue_path), "--test-list", str(listing), "--test", "me@example.net")
    assert result.exit_code == 0, result.output
    assert recipients(messages(in_workspace / "outbox" / "test")) == ["editor@example.org", "friend@example.com", "me@example.net"]
    for address in ("editor@example.org", "friend@example.com", "me@example.net"):
        assert f"{address}: sent" in result.output
    assert subscribers_outbox(in_workspace) == []


def test_a_bad_line_in_the_list_is_refused_by_file_and_line_and_nothing_is_sent(in_workspace: Path, issue_path: Path) -> None:
    listing = in_workspace / "testers.txt"
    listing.write_text("# the editors\neditor@example.org\n\nnot an address\nfriend@example.com\n")
    result = run("send", str(issue_path), "--test-list", str(listing))
    assert result.exit_code != 0
    assert "testers.txt:4" in result.output and "not an address" in result.output
    assert "Traceback" not in result.output
    assert not (in_workspace / "outbox").exists()


def test_a_bad_test_address_sends_nothing(in_workspace: Path, issue_path: Path) -> None:
    result = run("send", str(issue_path), "--test", "editor@example.org", "--test", "nobody")
    assert result.exit_code == 1
    assert "'nobody'" in result.output and "Nothing was sent" in result.output
    assert not (in_workspace / "outbox").exists()


@pytest.mark.slow
def test_a_draft_with_a_todo_goes_out_as_a_draft_but_the_real_send_refuses_it(in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    make_draft(issue_path)
    test = run("send", str(issue_path), "--test", "editor@example.org")
    assert test.exit_code == 0, test.output
    assert "[DRAFT]" in test.output
    (copy,) = messages(in_workspace / "outbox" / "test")
    assert copy["Subject"] == "[DRAFT] Robots learn to fold laundry, and a quieter data centre"
    text, html = (part.get_content() for part in copy.iter_parts())
    assert TODO_SUMMARY in text and TODO_SUMMARY in html

    real = run("send", str(issue_path))
    assert real.exit_code == 1
    assert "not ready to send" in real.output and "TODO" in real.output
    assert subscribers_outbox(in_workspace) == []
    assert_ledger_untouched(issue_path)


@pytest.mark.slow
def test_other_errors_still_refuse_a_test_copy_with_the_findings(in_workspace: Path, issue_path: Path) -> None:
    make_draft(issue_path)
    filler = " ".join(["Lorem ipsum dolor sit amet, consectetur adipiscing elit."] * 80)  # about 4,600 characters
    stories = "".join(
        f'      - title: Long story {n}\n        url: https://example.org/long/{n}\n        source: Long Reads\n        summary: "{filler}"\n' for n in range(30)
    )  # well over Gmail's clip size
    text = issue_path.read_text().replace("sponsor:\n", f"  - title: Long reads\n    stories:\n{stories}sponsor:\n")
    issue_path.write_text(text)
    result = run("send", str(issue_path), "--test", "editor@example.org")
    assert result.exit_code == 1
    assert "Gmail clips" in result.output and "TODO" in result.output  # every error is listed
    assert "Traceback" not in result.output
    assert not (in_workspace / "outbox").exists()


@pytest.mark.slow
def test_two_test_addresses_arrive_over_smtp(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    result = run("send", str(issue_path), "--test", "editor@example.org", "--test", "copy@example.com")
    assert result.exit_code == 0, result.output
    delivered = sorted(to for tos, _ in smtp_server.messages for to in tos)
    assert delivered == ["copy@example.com", "editor@example.org"]
    for _, data in smtp_server.messages:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert message["Subject"].startswith("[TEST] ")
    assert not (in_workspace / "outbox").exists()
    assert_ledger_untouched(issue_path)


def test_a_copy_the_server_refuses_is_listed_with_its_words_and_the_exit_is_non_zero(smtp_server, in_workspace: Path, issue_path: Path) -> None:
    smtp_server.refuse["gone@example.com"] = "550 5.1.1 No such mailbox here"
    result = run("send", str(issue_path), "--test", "gone@example.com", "--test", "editor@example.org")
    assert result.exit_code == 1
    assert "editor@example.org: sent" in result.output
    assert "gone@example.com:" in result.output and "550 5.1.1 No such mailbox here" in result.output
    assert "1 of 2 test copies were not sent" in result.output
    assert [tos for tos, _ in smtp_server.messages] == [["editor@example.org"]]


def test_the_draft_gate_goes_by_what_a_finding_is_not_by_its_words(in_workspace: Path, issue_path: Path) -> None:
    import dataclasses

    from newsletter.issue.checks import TODO_LEFT, Finding
    from newsletter.issue.prepare import prepare_issue
    from newsletter.sending.core import SendRefused, send_test_copy

    make_draft(issue_path)
    prepared = prepare_issue(issue_path)
    assert [finding.code for finding in prepared.errors] == [TODO_LEFT]
    # An error that only reads like a TODO (a message may quote the editor's words) refuses the copy.
    lookalike = Finding("error", "link text “still holds the TODO placeholder” is not descriptive")
    with pytest.raises(SendRefused, match="not ready even for a test copy"):
        send_test_copy(dataclasses.replace(prepared, findings=[*prepared.findings, lookalike]), "outbox", ["editor@example.org"])
    assert not (in_workspace / "outbox" / "test").exists()
