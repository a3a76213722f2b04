"""Sending through SendGrid's v3 API, against the SendGrid-compatible server on loopback."""

from __future__ import annotations

import datetime as dt
import email as email_lib
import email.policy
import json
import logging
import re
from pathlib import Path

import orjson
import pytest

from newsletter.db import Database
from newsletter.mail.message import MessageTemplate
from newsletter.models import Email, Recipient, State, Status
from newsletter.providers.base import Batch, Edition
from newsletter.providers.sendgrid import build_payload
from newsletter.sending import letters_for
from newsletter.workspace.config import load_workspace
from tests.helpers.cli import run
from tests.helpers.sendgrid_server import render, validate
from tests.helpers.workspace import SECRET, add_config, add_subscribers


def ledger(workspace: Path) -> dict[State, int]:
    with Database(workspace / "subscribers.db") as db:
        return {state: count for state, count in db.ledger.counts("7").items() if count}


def test_payload_is_one_body_with_a_personalization_per_recipient(workspace: Path) -> None:
    config = load_workspace(workspace).config
    email = Email(subject="Hi %%name%%", preheader="p", html="<p>%%unsubscribe_url%%</p>", text="%%unsubscribe_url%%", web_html="")
    letters = letters_for([Recipient("a@example.com", "Ada", "id-of-ada"), Recipient("b@example.com", None, "id-of-bo")], config, SECRET.encode())
    payload = build_payload(config, Batch(Edition("7", email), "send-1", letters))

    url_a, url_b = (letter.unsubscribe_url for letter in letters)
    assert payload == {
        "personalizations": [
            {
                "to": [{"email": "a@example.com", "name": "Ada"}],
                # Only the placeholders the issue uses: the name is in the subject, not the HTML.
                "substitutions": {"%%unsubscribe_url%%": url_a, "%%name%%": "Ada", "%%unsubscribe_url:html%%": url_a},
                "headers": {"List-Unsubscribe": f"<{url_a}>"},
            },
            {
                "to": [{"email": "b@example.com"}],
                "substitutions": {"%%unsubscribe_url%%": url_b, "%%name%%": "", "%%unsubscribe_url:html%%": url_b},
                "headers": {"List-Unsubscribe": f"<{url_b}>"},
            },
        ],
        "from": {"email": "editor@fixture.example.org", "name": "Fixture Editor"},
        "reply_to": {"email": "replies@fixture.example.org"},
        "subject": "Hi %%name%%",
        "content": [{"type": "text/plain", "value": "%%unsubscribe_url%%"}, {"type": "text/html", "value": "<p>%%unsubscribe_url:html%%</p>"}],
        "headers": {
            "List-Id": "Fixture Weekly <fixture-weekly.fixture.example.org>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Feedback-ID": "7:all:fixture-weekly:fixture.example.org",  # issue:topic:newsletter:sender
        },
        "categories": ["Fixture Weekly"],
        "custom_args": {"issue": "7", "send_id": "send-1"},
        # Explicit, so that click tracking switched on for the account cannot rewrite the links unseen.
        "tracking_settings": {"click_tracking": {"enable": False, "enable_text": False}},
    }
    assert url_a.startswith("https://fixture.example.org/unsubscribe?token=")
    assert validate(payload) == []


def test_a_name_reads_the_same_in_every_part_and_never_becomes_markup(workspace: Path) -> None:
    """SendGrid fills the same substitutions everywhere, so the HTML part has its own escaped tokens;
    the outbox and SMTP escape the HTML part themselves. Checked on what the recipient would see."""
    config = load_workspace(workspace).config
    rendered = Email(subject="For %%name%%", preheader="p", html="<p>Hi %%name%%</p><a href=\"%%unsubscribe_url%%\">x</a>", text="Hi %%name%%", web_html="")
    letters = letters_for([Recipient("bo@example.com", "Bo <b>&</b> Co", "id-of-bo")], config, SECRET.encode())
    batch = Batch(Edition("7", rendered), "send-1", letters)

    seen = render(build_payload(config, batch), 0)
    message = email_lib.message_from_bytes(MessageTemplate(rendered, config).render(letters[0]), policy=email_lib.policy.default)
    text_part, html_part = (part.get_content() for part in message.iter_parts())
    outbox = {"subject": message["Subject"], "text": text_part, "html": html_part}
    for copy in (seen, outbox):
        assert copy["subject"] == "For Bo <b>&</b> Co"
        assert copy["text"].strip() == "Hi Bo <b>&</b> Co"
        assert "<p>Hi Bo &lt;b&gt;&amp;&lt;/b&gt; Co</p>" in copy["html"]
        assert f'href="{letters[0].unsubscribe_url}"' in copy["html"]


def test_options_reach_the_payload(workspace: Path) -> None:
    add_config(workspace, '[sendgrid]\ncategory = "weekly"\nasm_group_id = 42\nsandbox = true\n')
    config = load_workspace(workspace).config
    email = Email(subject="s", preheader="p", html="h", text="t", web_html="")
    when = dt.datetime.fromtimestamp(1_900_000_000, dt.UTC)
    payload = build_payload(config, Batch(Edition("7", email, test=True, send_at=when, schedule_id="b1"), "x", []))
    assert payload["categories"] == ["weekly"]
    assert payload["asm"] == {"group_id": 42}
    assert payload["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert payload["subject"] == "[TEST] s"
    assert (payload["send_at"], payload["batch_id"]) == (1_900_000_000, "b1")


@pytest.mark.slow
def test_2500_recipients_go_in_3_requests_once_each(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 2500)
    add_subscribers(in_workspace, 3, Status.UNSUBSCRIBED, prefix="gone")
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert sendgrid.requests == 3 and "3 batch(es) handed to sendgrid" in result.output
    assert sorted(sendgrid.delivered) == emails and set(sendgrid.delivered.values()) == {1}
    assert ledger(in_workspace) == {State.SENT: 2500}
    custom = {body["custom_args"]["issue"] for body in sendgrid.bodies}
    assert custom == {"7"} and len({body["custom_args"]["send_id"] for body in sendgrid.bodies}) == 3


@pytest.mark.slow
def test_the_clients_debug_log_gets_the_bodys_size_and_sendgrid_gets_all_of_it(sendgrid, in_workspace: Path, issue_path: Path, caplog) -> None:
    """speedups.QuietBody: python_http_client formats every request body into a debug message
    (costly, and it holds each reader's unsubscribe link); ours formats as its size alone."""
    emails = add_subscribers(in_workspace, 3)
    with caplog.at_level(logging.DEBUG, logger="python_http_client.client"):
        result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    logged = [record.getMessage() for record in caplog.records if record.name == "python_http_client.client"]
    payloads = [message for message in logged if message.startswith("PAYLOAD: ")]
    assert len(payloads) == 1, logged  # the client still logs its payload: else the trick saves nothing
    assert re.fullmatch(r"PAYLOAD: <[\d,]+ bytes>", payloads[0])
    assert not any(address in message or "token=" in message for message in logged for address in emails)
    assert sorted(sendgrid.delivered) == emails
    assert payloads[0] == f"PAYLOAD: <{len(orjson.dumps(sendgrid.bodies[0])):,} bytes>"  # the whole JSON went out


@pytest.mark.slow
def test_a_rejected_address_fails_with_sendgrids_words_and_the_rest_is_sent(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 10)
    sendgrid.behaviour.reject = {"reader00004@example.com"}
    result = run("send", str(issue_path))
    assert ledger(in_workspace) == {State.SENT: 9, State.FAILED: 1}
    assert "reader00004@example.com" not in sendgrid.delivered and len(sendgrid.delivered) == 9
    status = run("status", str(issue_path))
    assert "failed: reader00004@example.com: SendGrid: Does not contain a valid address." in status.output
    assert result.exit_code == 0


@pytest.mark.slow
def test_a_wrong_api_key_stops_the_run_and_changes_nothing(sendgrid, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 3)
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.not-the-right-key")
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "SendGrid refused the API key in SENDGRID_API_KEY (401): The provided authorization grant is invalid" in result.output
    assert "SG.not-the-right-key" not in result.output  # secrets never printed
    assert "Nothing was sent and nothing changed" in result.output
    assert ledger(in_workspace) == {} and sendgrid.requests == 0


@pytest.mark.slow
def test_a_missing_api_key_is_a_clear_error(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 1)
    monkeypatch.delenv("SENDGRID_API_KEY")
    result = run("send", str(issue_path), "--provider", "sendgrid")
    assert result.exit_code == 1 and "SENDGRID_API_KEY is not set" in result.output


@pytest.mark.slow
def test_429_and_5xx_are_retried_after_the_servers_reset_time(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1500)
    sendgrid.behaviour.forced = ["429", "503", "429"]
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 1500}
    assert set(sendgrid.delivered.values()) == {1} and len(sendgrid.delivered) == 1500
    assert sendgrid.requests == 5


@pytest.mark.slow
def test_a_429_storm_stops_the_run_with_everyone_still_pending(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_config(in_workspace, "")
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "sendgrid"', 'provider = "sendgrid"\nretries = 2'))
    add_subscribers(in_workspace, 20)
    sendgrid.behaviour.forced = ["429"] * 10
    sendgrid.behaviour.rate_limit_reset = 0
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "kept refusing the batch (429 rate limited" in result.output and "run again later to resume" in result.output
    assert ledger(in_workspace) == {State.PENDING: 20}
    assert sendgrid.delivered == {}


@pytest.mark.slow
def test_no_answer_in_time_leaves_the_batch_unknown_and_it_is_not_resent(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 30)
    sendgrid.behaviour.forced = ["slow_after"]  # accepted, but answered after the client gave up
    result = run("send", str(issue_path))
    assert ledger(in_workspace) == {State.UNKNOWN: 30}
    assert result.exit_code == 0

    again = run("send", str(issue_path))
    assert "Nothing new to send for issue 7, but not everyone has it: 30 have an unknown outcome" in again.output
    assert "--retry-unknown` sends them again" in again.output
    assert set(sendgrid.delivered.values()) == {1}
    status = run("status", str(issue_path))
    assert status.output.count("unknown: reader") == 30 and "may or may not have been delivered" in status.output

    settle = run("send", str(issue_path), "--retry-unknown")
    assert "30 recipient(s) with an unknown outcome will be sent again" in settle.output
    assert ledger(in_workspace) == {State.SENT: 30}
    assert set(sendgrid.delivered.values()) == {2}  # the editor chose to risk a second copy


@pytest.mark.slow
def test_the_error_budget_stops_the_run(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "sendgrid"', 'provider = "sendgrid"\nerror_budget = 1\nbatch_size = 2'))
    emails = add_subscribers(in_workspace, 10)
    sendgrid.behaviour.reject = set(emails[:4])
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "more than the error budget of 1" in result.output
    counts = ledger(in_workspace)
    assert counts[State.FAILED] == 2 and counts[State.PENDING] > 0


@pytest.mark.slow
def test_under_a_10_percent_fault_rate_nobody_gets_two_copies_and_nobody_is_lost(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "sendgrid"', 'provider = "sendgrid"\nbatch_size = 50\nretries = 10'))
    emails = add_subscribers(in_workspace, 3000)
    sendgrid.behaviour.fault_rate = 0.10
    sendgrid.behaviour.rate_limit_reset = 0
    sendgrid.behaviour.slow = 0.7
    sendgrid.behaviour.reject = set(emails[::500])

    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output

    with Database(in_workspace / "subscribers.db") as db:
        rows = {d.email: d for d in db.ledger.deliveries("7", list(State))}
    assert sorted(rows) == emails  # nobody missing from the ledger
    assert {d.state for d in rows.values()} <= {State.SENT, State.FAILED, State.UNKNOWN}
    for address, row in rows.items():
        copies = sendgrid.delivered.get(address, 0)
        assert copies <= 1, f"{address} got {copies} copies"
        if row.state == State.SENT:
            assert copies == 1
        if row.state == State.FAILED:
            assert copies == 0 and row.detail.startswith("SendGrid: ")
    assert {address for address, row in rows.items() if row.state == State.FAILED} == set(emails[::500])
    assert sendgrid.requests > 3000 // 50  # faults really happened


@pytest.mark.slow
def test_scheduled_send_and_cancel(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 5)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)).replace(microsecond=0)
    result = run("send", str(issue_path), "--at", when.isoformat())
    assert result.exit_code == 0, result.output
    (body,) = sendgrid.bodies
    assert body["send_at"] == int(when.timestamp()) and sendgrid.batches[body["batch_id"]] == "created"
    status = run("status", str(issue_path)).output
    assert "Scheduled through SendGrid" in status and "scheduled  5" in status and "sent  0" in status

    cancelled = run("cancel", str(issue_path))
    assert cancelled.exit_code == 0, cancelled.output
    assert sendgrid.batches[body["batch_id"]] == "cancel"
    assert "5 recipient(s) are pending again" in cancelled.output
    assert ledger(in_workspace) == {State.PENDING: 5}


@pytest.mark.slow
def test_beyond_sendgrids_72_hours_the_send_is_held_here(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=80)).replace(microsecond=0)
    result = run("send", str(issue_path), "--at", later.isoformat())
    assert result.exit_code == 0, result.output
    assert "held here until then" in result.output and "newsletter send --due" in result.output
    assert sendgrid.requests == 0 and sendgrid.batches == {}
    assert ledger(in_workspace) == {State.SCHEDULED: 1}


def test_sync_marks_sendgrids_suppressions(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 6)
    sendgrid.suppressions["unsubscribes"] = [emails[0], "stranger@example.com"]
    sendgrid.suppressions["bounces"] = [emails[1].upper()]
    sendgrid.suppressions["spam_reports"] = [emails[2]]
    result = run("subscribers", "sync")
    assert result.exit_code == 0, result.output
    with Database(in_workspace / "subscribers.db") as db:
        statuses = {s.email: s.status for s in db.subscribers.all()}
    assert [statuses[e] for e in emails[:4]] == [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED, Status.ACTIVE]
    run("send", str(issue_path))
    assert sorted(sendgrid.delivered) == emails[3:]


def test_dry_run_prints_the_first_request_and_sends_nothing(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    result = run("send", str(issue_path), "--dry-run")
    assert result.exit_code == 0
    body = json.loads(result.output[result.output.index("{") :])
    assert [p["to"][0]["email"] for p in body["personalizations"]] == [f"reader0000{n}@example.com" for n in range(3)]
    assert sendgrid.requests == 0 and ledger(in_workspace) == {}


@pytest.mark.slow
def test_someone_who_leaves_during_a_slow_send_is_skipped(sendgrid, in_workspace: Path, issue_path: Path) -> None:
    import threading
    import time

    config = in_workspace / "newsletter.toml"
    # Each request takes 0.3 s, so the reader leaves mid-send; the fixture's 0.5 s timeout is too close
    # to that on a loaded machine (a request past it is an unknown, not a sent), so this one waits 10 s.
    settings = config.read_text().replace('provider = "sendgrid"', 'provider = "sendgrid"\nbatch_size = 2')
    config.write_text(settings.replace("timeout = 0.5", "timeout = 10"))
    emails = add_subscribers(in_workspace, 10)
    sendgrid.behaviour.latency = 0.3

    def leave_once_sending_has_begun() -> None:
        while sendgrid.requests == 0:
            time.sleep(0.01)
        with Database(in_workspace / "subscribers.db") as db:
            db.subscribers.set_status([emails[8]], Status.UNSUBSCRIBED)
            db.subscribers.remove(emails[9])

    leaver = threading.Thread(target=leave_once_sending_has_begun)
    leaver.start()
    result = run("send", str(issue_path))
    leaver.join()
    assert result.exit_code == 0, result.output
    assert sorted(sendgrid.delivered) == emails[:8]
    with Database(in_workspace / "subscribers.db") as db:
        skipped = {d.email: d.detail for d in db.ledger.deliveries("7", [State.SKIPPED])}
    assert skipped == {emails[8]: "no longer an active subscriber", emails[9]: "removed from the list"}
    assert "Ledger: 8 sent, 2 skipped" in result.output


def test_each_recipient_gets_their_own_preferences_link(workspace: Path) -> None:
    config = load_workspace(workspace).config
    email = Email(subject="s", preheader="p", html='<a href="%%preferences_url%%">Manage</a>', text="%%preferences_url%%", web_html="")
    letters = letters_for([Recipient("a@example.com", "Ada", "id-of-ada"), Recipient("b@example.com", None, "id-of-bo")], config, SECRET.encode())
    payload = build_payload(config, Batch(Edition("7", email), "send-1", letters))

    links = [p["substitutions"]["%%preferences_url%%"] for p in payload["personalizations"]]
    assert links == [letter.preferences_url for letter in letters] and links[0] != links[1]
    assert all(link.startswith("https://fixture.example.org/preferences?token=") for link in links)
    assert [p["substitutions"]["%%preferences_url:html%%"] for p in payload["personalizations"]] == links
    assert "%%unsubscribe_url%%" not in payload["personalizations"][0]["substitutions"]  # only what the issue uses


def test_click_tracking_is_sent_as_newsletter_toml_says(workspace: Path) -> None:
    """SendGrid's account may have click tracking on; the request says what newsletter.toml says."""
    email = Email(subject="s", preheader="p", html='<a href="https://example.org/">x</a>', text="t", web_html="")
    config = load_workspace(workspace).config
    batch = Batch(Edition("7", email), "x", letters_for([Recipient("a@example.com", None, "id-of-ada")], config, SECRET.encode()))
    off = build_payload(config, batch)
    assert off["tracking_settings"] == {"click_tracking": {"enable": False, "enable_text": False}}
    add_config(workspace, "[sendgrid]\nclick_tracking = true\n")
    on = build_payload(load_workspace(workspace).config, batch)
    assert on["tracking_settings"] == {"click_tracking": {"enable": True, "enable_text": False}}  # the text part stays readable
    assert validate(off) == [] and validate(on) == []
    assert validate(on | {"tracking_settings": {"click_tracking": {"enable": "yes"}}}) != []  # the local server checks the shape


def test_the_mailto_unsubscribe_goes_second_in_each_recipients_header(workspace: Path) -> None:
    config_path = workspace / "newsletter.toml"
    config_path.write_text(config_path.read_text().replace("[newsletter]\n", '[newsletter]\nunsubscribe_mailto = "leave@fixture.example.org"\n', 1))
    config = load_workspace(workspace).config
    email = Email(subject="s", preheader="p", html="h", text="t", web_html="")
    (letter,) = letters_for([Recipient("a@example.com", None, "id-of-ada")], config, SECRET.encode())
    payload = build_payload(config, Batch(Edition("7", email), "x", [letter]))
    header = payload["personalizations"][0]["headers"]["List-Unsubscribe"]
    assert header == f"<{letter.unsubscribe_url}>, <mailto:leave@fixture.example.org?subject=unsubscribe>"
    assert validate(payload) == []
