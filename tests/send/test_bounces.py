"""An address the SMTP server refuses for good (`550 5.1.1 No such user`) in `[send] bounce_after`
sends in a row becomes `bounced`, with the server's words in its history, and is not mailed again.
A temporary refusal (4xx) never counts, nor one about us or the message, and a letter taken in
between starts the count again."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Status
from newsletter.providers.smtp import refuses_the_address
from tests.helpers.cli import run
from tests.helpers.workspace import add_subscribers

pytestmark = pytest.mark.slow  # several sends in a row through a real SMTP server

GONE = "reader00001@example.com"


def issue(workspace: Path, number: int) -> Path:
    """The fixture issue under another number (and file): each send is a new issue."""
    first = workspace / "issues" / "2026-12-01.yaml"
    if number == 7:
        return first
    path = workspace / "issues" / f"2026-12-{number:02d}.yaml"
    path.write_text(first.read_text(encoding="utf-8").replace("number: 7", f"number: {number}"), encoding="utf-8")
    return path


def standing(workspace: Path, email: str = GONE) -> tuple[Status, list[tuple[str, str, str | None]]]:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        assert found is not None
        return found.status, [(status, channel, detail) for status, channel, detail, _ in db.subscribers.changes(email)]


def mailed(smtp_server) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(to for tos, _ in smtp_server.messages for to in tos)


def test_two_permanent_refusals_in_a_row_make_an_address_bounced(smtp_server, in_workspace: Path) -> None:
    emails = add_subscribers(in_workspace, 3)
    smtp_server.refuse[GONE] = "550 5.1.1 No such user"

    first = run("send", str(issue(in_workspace, 7)))
    assert "Ledger: 2 sent, 1 failed" in first.output
    assert standing(in_workspace) == (Status.ACTIVE, [])  # once may be a mistake of the server's

    second = run("send", str(issue(in_workspace, 8)))
    assert "Ledger: 2 sent, 1 failed" in second.output
    assert f"{GONE}: SMTP 550 5.1.1 No such user" in second.output  # the run says whom it marked, and why
    status, history = standing(in_workspace)
    assert status == Status.BOUNCED
    assert history == [("bounced", "smtp", "SMTP 550 5.1.1 No such user (issue 8: 2 permanent refusals in a row)")]

    smtp_server.messages.clear()
    third = run("send", str(issue(in_workspace, 9)))
    assert third.exit_code == 0, third.output
    assert mailed(smtp_server) == [emails[0], emails[2]]  # not mailed again
    assert "Ledger: 2 sent" in third.output


def test_the_number_of_refusals_is_a_setting(smtp_server, in_workspace: Path) -> None:
    add_subscribers(in_workspace, 2)
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "smtp"', 'provider = "smtp"\nbounce_after = 1'))
    smtp_server.refuse[GONE] = "550 5.1.1 No such user"
    run("send", str(issue(in_workspace, 7)))
    assert standing(in_workspace)[0] == Status.BOUNCED


def test_a_temporary_refusal_never_counts(smtp_server, in_workspace: Path) -> None:
    add_subscribers(in_workspace, 2)
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "smtp"', 'provider = "smtp"\nretries = 0'))  # give up at once
    smtp_server.refuse[GONE] = "452 4.2.2 Mailbox full, try later"
    for number in (7, 8, 9):
        result = run("send", str(issue(in_workspace, number)))
        assert "1 failed" in result.output  # given up for this issue...
    assert standing(in_workspace) == (Status.ACTIVE, [])  # ...but never bounced


def test_a_letter_taken_in_between_starts_the_count_again(smtp_server, in_workspace: Path) -> None:
    add_subscribers(in_workspace, 2)
    smtp_server.refuse[GONE] = "550 5.1.1 No such user"
    run("send", str(issue(in_workspace, 7)))
    del smtp_server.refuse[GONE]  # the mailbox is back
    run("send", str(issue(in_workspace, 8)))
    smtp_server.refuse[GONE] = "550 5.1.1 No such user"
    run("send", str(issue(in_workspace, 9)))
    assert standing(in_workspace)[0] == Status.ACTIVE  # two refusals, but not in a row
    run("send", str(issue(in_workspace, 10)))
    assert standing(in_workspace)[0] == Status.BOUNCED


def test_someone_made_active_again_starts_with_no_refusals(smtp_server, in_workspace: Path) -> None:
    add_subscribers(in_workspace, 2)
    smtp_server.refuse[GONE] = "550 5.1.1 No such user"
    run("send", str(issue(in_workspace, 7)))
    run("send", str(issue(in_workspace, 8)))
    assert standing(in_workspace)[0] == Status.BOUNCED
    assert run("subscribers", "add", GONE, "--resubscribe").exit_code == 0  # the reader fixed their mailbox
    run("send", str(issue(in_workspace, 9)))  # refused once more: one, not three
    assert standing(in_workspace)[0] == Status.ACTIVE


@pytest.mark.parametrize(
    ("code", "words", "phase", "bounce"),
    [
        (550, "5.1.1 No such user", "rcpt", True),
        (550, "5.1.1 <a@example.com>: Recipient address rejected", "data", True),  # checked after DATA: still the address
        (552, "5.2.2 Mailbox full", "rcpt", True),
        (550, "5.1.10 Recipient address has null MX", "rcpt", True),
        (550, "No such user here", "rcpt", True),  # no enhanced code: 550 to RCPT TO
        (554, "5.7.1 Relay access denied", "rcpt", False),  # about us, not the address
        (550, "Relaying denied", "rcpt", False),
        (550, "5.7.1 Message content rejected as spam", "data", False),  # about the message
        (552, "5.3.4 Message too big", "data", False),
        (550, "5.1.8 Sender address rejected: domain not found", "rcpt", False),  # about our sender
        (550, "5.1.1 No such user", "mail", False),  # MAIL FROM refused: never the recipient's fault
        (550, "Not today", "data", False),
        (450, "4.2.0 Mailbox busy", "rcpt", False),  # temporary
    ],
)
def test_which_refusals_are_about_the_address(code: int, words: str, phase: str, bounce: bool) -> None:
    assert refuses_the_address(code, words, phase) is bounce  # type: ignore[arg-type]
