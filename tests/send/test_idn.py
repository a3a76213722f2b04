"""Internationalized addresses, end to end through `newsletter send`: a domain in Unicode
(hana@例え.jp) travels everywhere, IDNA-encoded where ASCII is required; a non-ASCII local part
(用户@例え.jp) travels only where SMTPUTF8 is offered, and fails with a reason elsewhere without
stopping the run or costing anyone else their copy."""

from __future__ import annotations

import contextlib
import email
import email.policy
import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import State, Subscriber
from tests.helpers.cli import run
from tests.helpers.smtp_server import Mailbox, serving, smtp_settings
from tests.helpers.workspace import add_config

HANA = "hana@例え.jp"
HANA_ASCII = "hana@xn--r8jz45g.jp"
YONGHU = "用户@例え.jp"
ASCII = "ascii@example.com"


@pytest.fixture
def idn_subscribers(workspace: Path) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(HANA, "Hana"), Subscriber(YONGHU, None), Subscriber(ASCII, None)])


def ledger(workspace: Path) -> dict[State, int]:
    with Database(workspace / "subscribers.db") as db:
        return {state: count for state, count in db.ledger.counts("7").items() if count}


def failed(workspace: Path) -> dict[str, str]:
    with Database(workspace / "subscribers.db") as db:
        return {d.email: d.detail for d in db.ledger.deliveries("7", [State.FAILED])}


@contextlib.contextmanager
def smtp(workspace: Path, smtputf8: bool) -> Iterator[Mailbox]:
    box = Mailbox()
    with serving(box, enable_SMTPUTF8=smtputf8) as port:
        add_config(workspace, smtp_settings(port))
        yield box


@pytest.fixture
def smtputf8_server(workspace: Path):
    with smtp(workspace, smtputf8=True) as box:
        yield box


@pytest.fixture
def ascii_only_server(workspace: Path):
    with smtp(workspace, smtputf8=False) as box:  # aiosmtpd's default: no SMTPUTF8
        yield box


def text_message(data: bytes) -> email.message.EmailMessage:
    """Parsed as text: the stdlib's bytes parser leaves UTF-8 header bytes (RFC 6532) undecoded."""
    return email.message_from_string(data.decode("utf-8"), policy=email.policy.default)


def test_the_outbox_takes_every_address(idn_subscribers, in_workspace: Path, issue_path: Path) -> None:
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output

    files = sorted((in_workspace / "outbox" / "new").iterdir())
    assert len(files) == 3
    for path in files:  # each file is a message the email package reads without complaint
        assert email.message_from_bytes(path.read_bytes(), policy=email.policy.default).defects == []
    messages = [text_message(path.read_bytes()) for path in files]
    to = Counter(message["To"].addresses[0].addr_spec for message in messages)
    assert to == Counter({HANA: 1, YONGHU: 1, ASCII: 1}) or to == Counter({HANA_ASCII: 1, YONGHU: 1, ASCII: 1})
    hana = next(m for m in messages if m["To"].addresses[0].addr_spec in (HANA, HANA_ASCII))
    assert hana["To"].addresses[0].display_name == "Hana"
    assert [part.get_content_type() for part in hana.iter_parts()] == ["text/plain", "text/html"]
    assert len(mailbox.Maildir(in_workspace / "outbox", create=False)) == 3
    assert ledger(in_workspace) == {State.SENT: 3}


def test_smtp_with_smtputf8_delivers_to_all(idn_subscribers, smtputf8_server, in_workspace: Path, issue_path: Path) -> None:
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output

    rcpts = Counter(to for tos, _ in smtputf8_server.messages for to in tos)
    assert rcpts == Counter({HANA_ASCII: 1, YONGHU: 1, ASCII: 1})  # hana needs no SMTPUTF8
    by_rcpt = {tos[0]: text_message(data) for tos, data in smtputf8_server.messages}
    assert by_rcpt[YONGHU]["To"].addresses[0].addr_spec == YONGHU
    assert by_rcpt[HANA_ASCII]["To"].addresses[0].addr_spec == HANA_ASCII
    assert by_rcpt[HANA_ASCII]["To"].addresses[0].display_name == "Hana"
    assert ledger(in_workspace) == {State.SENT: 3}


@pytest.mark.slow
def test_smtp_without_smtputf8_fails_only_the_non_ascii_local_part(idn_subscribers, ascii_only_server, in_workspace: Path, issue_path: Path) -> None:
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert "Ledger: 2 sent, 1 failed" in result.output

    rcpts = Counter(to for tos, _ in ascii_only_server.messages for to in tos)
    assert rcpts == Counter({HANA_ASCII: 1, ASCII: 1})
    reasons = failed(in_workspace)
    assert list(reasons) == [YONGHU] and "SMTPUTF8" in reasons[YONGHU]

    status = run("status", str(issue_path))
    assert status.exit_code == 0
    assert f"failed: {YONGHU}:" in status.output and "SMTPUTF8" in status.output

    again = run("send", str(issue_path))  # a failed address is not retried: nobody gets a second copy
    assert again.exit_code == 0, again.output
    assert len(ascii_only_server.messages) == 2


def test_sendgrid_gets_idna_domains_and_fails_the_non_ascii_local_part(idn_subscribers, sendgrid, in_workspace: Path, issue_path: Path) -> None:
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output

    assert sendgrid.delivered == Counter({HANA_ASCII: 1, ASCII: 1})
    reasons = failed(in_workspace)
    assert list(reasons) == [YONGHU]
    assert "SendGrid" in reasons[YONGHU] and "non-ASCII" in reasons[YONGHU]
    assert ledger(in_workspace) == {State.SENT: 2, State.FAILED: 1}
