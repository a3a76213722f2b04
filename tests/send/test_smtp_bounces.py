"""Bounces of SMTP mail end to end, through Debian's real Postfix (tests/helpers/postfix_server.py):
an issue goes to a reader whose mailbox exists and one whose mailbox does not, each message from its
own VERP return path; Postfix takes both, delivers one and sends its delivery report for the other
back to the return path, into the bounce Maildir; `newsletter bounces fetch` marks that reader
bounced with Postfix's status code and words, and moves the report to .processed."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Status
from tests.helpers.cli import run
from tests.helpers.postfix_server import BOUNCE_ADDRESS
from tests.helpers.smtp_server import smtp_settings
from tests.helpers.workspace import add_config, add_subscribers

pytestmark = pytest.mark.slow  # a Postfix starts (about 2 s) and delivers


def test_a_missing_mailbox_comes_back_through_postfix_and_marks_its_reader_bounced(postfix, in_workspace: Path, issue_path: Path) -> None:
    present, missing = add_subscribers(in_workspace, 2)
    server = postfix([present])
    bounce_box = server.maildir(BOUNCE_ADDRESS)
    add_config(in_workspace, smtp_settings(server.port).replace("[smtp]\n", f'[smtp]\nbounce_address = "{BOUNCE_ADDRESS}"\n') + f'\n[bounces]\nmaildir = "{bounce_box}"\n')

    run("send", str(issue_path), ok=True)  # Postfix takes both: it looks a mailbox up only when delivering

    (delivered,) = server.wait_for_mail(present)
    message = email.message_from_bytes(delivered.read_bytes(), policy=email.policy.default)
    assert message["From"] == "Fixture Editor <editor@fixture.example.org>"
    assert message["Return-Path"].startswith("<bounces+7.") and present.partition("@")[0] not in message["Return-Path"]
    (report,) = server.wait_for_mail(BOUNCE_ADDRESS)

    fetched = run("bounces", "fetch", ok=True)
    assert "Read 1 message(s): applied 1 hard bounce(s), 0 soft, 0 delayed" in fetched.output
    with Database(in_workspace / "subscribers.db") as db:
        assert db.subscribers.get(present).status == Status.ACTIVE  # type: ignore[union-attr]
        assert db.subscribers.get(missing).status == Status.BOUNCED  # type: ignore[union-attr]
    history = run("subscribers", "show", missing, ok=True).output
    assert f'5.1.1 unknown user: "{missing}"' in history  # Postfix's status code and its words
    assert not report.exists() and len(os.listdir(bounce_box / ".processed" / "cur")) == 1

    # The report: SMTP's bounces are measured now, its deliveries still are not.
    figures = run("report", str(issue_path), ok=True).output
    assert re.search(r"^\s+bounced\s+1\s+hard 1, soft 0$", figures, re.MULTILINE), figures
    assert re.search(r"^\s+delivered\s+n/a\s+not measured with SMTP$", figures, re.MULTILINE)
    found = json.loads(run("report", str(issue_path), "--json", ok=True).output)
    assert (found["events_measured"], found["bounces_measured"], found["delivered"], found["bounced"]["hard"]) == (False, True, None, 1)

    again = run("bounces", "fetch", "--json", ok=True)
    assert '"read": 0' in again.output
    with Database(in_workspace / "subscribers.db") as db:
        assert db.connection.db.execute("SELECT count(*) FROM events WHERE provider = 'smtp'").fetchone()[0] == 1
