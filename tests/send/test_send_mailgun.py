"""Sending through Mailgun with its official SDK, against the Mailgun-compatible server on loopback
(tests/helpers/mailgun_server.py, which checks each request against Mailgun's OpenAPI description)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.errors import ConfigError
from newsletter.models import Email, Outcome, Recipient, RecipientStatus, State
from newsletter.providers.base import Ambiguous, Batch, Edition, RetryLater
from newsletter.providers.mailgun import MailgunProvider, build_fields
from newsletter.providers.mailgun.payload import option_bytes, request_preview
from newsletter.providers.mailgun.send import base_url
from newsletter.sending import letters_for
from newsletter.workspace.config import Config, load_workspace
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume, ledger_states, reconcile
from tests.helpers.mailgun_server import API_KEY, DOMAIN, Behaviour, MailgunServer, Message, bench_settings, fill, validate
from tests.helpers.workspace import ISSUE_NAME, SECRET, add_config, add_subscribers

PLAIN = Email(
    subject="For %%name%%", preheader="p", web_html="",
    html='<p>Hi %%name|there%%</p><a href="%%unsubscribe_url%%">leave</a> <a href="%%preferences_url%%">manage</a>',
    text="Hi %%name|there%%, leave: %%unsubscribe_url%%",
)


@pytest.fixture
def mailgun(workspace: Path, monkeypatch):
    """The local Mailgun; the workspace sends through it with a 2 s deadline per request."""
    monkeypatch.setenv("MAILGUN_API_KEY", API_KEY)
    with MailgunServer(Behaviour()) as server:
        add_config(workspace, bench_settings(server) + "timeout = 2\n")
        yield server


def settings(workspace: Path, **send: object) -> None:
    """Set [send] options (batch_size, retries...) under the fixture's provider line."""
    config = workspace / "newsletter.toml"
    lines = "".join(f"\n{key} = {value}" for key, value in send.items())
    config.write_text(config.read_text().replace('provider = "mailgun"', 'provider = "mailgun"' + lines))


def ledger(workspace: Path, issue: str = "7") -> dict[State, int]:
    with Database(workspace / "subscribers.db") as db:
        return {state: count for state, count in db.ledger.counts(issue).items() if count}


def batch_of(config: Config, readers: list[Recipient], rendered: Email = PLAIN, **edition: object) -> Batch:
    return Batch(Edition("7", rendered, **edition), "send-1", letters_for(readers, config, SECRET.encode(), "7"))  # type: ignore[arg-type]


def as_delivered(fields: dict[str, str | list[str]]) -> Message:
    """The fields as the local Mailgun keeps an accepted request (every value a list)."""
    return Message("<id>", [], {key: value if isinstance(value, list) else [value] for key, value in fields.items()})


# --- the request, built without network ---------------------------------------------------------


def test_each_reader_gets_their_own_links_through_recipient_variables(mailgun, workspace: Path) -> None:
    config = load_workspace(workspace).config
    batch = batch_of(config, [Recipient("a@example.com", "Ada", "id-of-ada"), Recipient("b@example.com", None, "id-of-bo")])
    fields = build_fields(config, batch)
    ada, bo = batch.letters

    assert fields["to"] == ["a@example.com", "b@example.com"]
    assert fields["subject"] == "For %recipient.name%"
    assert fields["text"] == "Hi %recipient.name_or_1%, leave: %recipient.unsubscribe%"
    assert fields["html"] == '<p>Hi %recipient.name_or_1_html%</p><a href="%recipient.unsubscribe_html%">leave</a> <a href="%recipient.preferences_html%">manage</a>'
    assert json.loads(str(fields["recipient-variables"])) == {
        "a@example.com": {
            "unsubscribe": ada.unsubscribe_url, "name": "Ada", "name_or_1": "Ada",
            "name_or_1_html": "Ada", "unsubscribe_html": ada.unsubscribe_url, "preferences_html": ada.preferences_url,
        },
        "b@example.com": {
            "unsubscribe": bo.unsubscribe_url, "name": "", "name_or_1": "there",
            "name_or_1_html": "there", "unsubscribe_html": bo.unsubscribe_url, "preferences_html": bo.preferences_url,
        },
    }
    assert ada.unsubscribe_url != bo.unsubscribe_url and ada.unsubscribe_url.startswith("https://fixture.example.org/unsubscribe?token=")
    assert {key: value for key, value in fields.items() if key[:2] in ("h:", "v:", "o:")} == {
        "h:List-Unsubscribe": "<%recipient.unsubscribe%>",
        "h:List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "h:List-Id": "Fixture Weekly <fixture-weekly.fixture.example.org>",
        "h:Feedback-ID": "7:all:fixture-weekly:fixture.example.org",
        "h:Reply-To": "replies@fixture.example.org",
        "v:issue": "7",
        "v:send_id": "send-1",
        "o:tag": ["fixture-weekly"],
        "o:tracking-clicks": "no",  # links stay as the issue wrote them
    }
    assert fields["from"] == "Fixture Editor <editor@fixture.example.org>"
    assert validate(as_delivered(fields).fields) == []  # as Mailgun's description and rules say
    # What each reader gets once Mailgun fills the variables: their own link, in the header too.
    seen = fill(as_delivered(fields), "b@example.com")
    assert seen["subject"] == "For " and seen["text"] == f"Hi there, leave: {bo.unsubscribe_url}"
    assert seen["List-Unsubscribe"] == f"<{bo.unsubscribe_url}>"


def test_a_name_reads_the_same_in_every_part_and_never_becomes_markup(mailgun, workspace: Path) -> None:
    config = load_workspace(workspace).config
    fields = build_fields(config, batch_of(config, [Recipient("bo@example.com", "Bo <b>&</b> Co", "id-of-bo")]))
    seen = fill(as_delivered(fields), "bo@example.com")
    assert seen["subject"] == "For Bo <b>&</b> Co"
    assert seen["text"].startswith("Hi Bo <b>&</b> Co, leave: https://")
    assert seen["html"].startswith("<p>Hi Bo &lt;b&gt;&amp;&lt;/b&gt; Co</p>")


def test_a_scheduled_batch_carries_its_time_and_its_schedule(mailgun, workspace: Path) -> None:
    config_path = workspace / "newsletter.toml"
    config_path.write_text(config_path.read_text().replace("[newsletter]\n", '[newsletter]\nunsubscribe_mailto = "leave@fixture.example.org"\n', 1))
    config = load_workspace(workspace).config
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)).replace(microsecond=0)
    fields = build_fields(config, batch_of(config, [Recipient("a@example.com", None, "id-of-ada")], test=True, send_at=when, schedule_id="f00d"))
    assert email.utils.parsedate_to_datetime(str(fields["o:deliverytime"])) == when
    assert fields["v:schedule"] == "f00d" and fields["o:tag"] == ["fixture-weekly", "schedule-f00d"]
    assert fields["subject"] == "[TEST] For %recipient.name%"
    assert fields["h:List-Unsubscribe"] == "<%recipient.unsubscribe%>, <mailto:leave@fixture.example.org?subject=unsubscribe>"
    assert validate(as_delivered(fields).fields) == []
    assert option_bytes(fields) < 1000  # per-reader values are not options: 16 KB is far away


def test_a_batch_of_1000_fits_mailguns_limits_and_one_more_does_not(mailgun, workspace: Path) -> None:
    config = load_workspace(workspace).config
    readers = [Recipient(f"r{n}@example.com", f"Reader {n}", f"id-{n}") for n in range(1001)]
    fields = as_delivered(build_fields(config, batch_of(config, readers[:1000]))).fields
    assert validate(fields) == [] and MailgunProvider.max_batch == 1000
    too_many = as_delivered(build_fields(config, batch_of(config, readers))).fields
    assert validate(too_many) == ["Too many recipients: 1001, at most 1000 per batch."]


def test_the_api_host_follows_the_region_and_refuses_clear_text(mailgun, workspace: Path) -> None:
    config = load_workspace(workspace).config
    assert base_url(config.mailgun.model_copy(update={"host": None})) == "https://api.mailgun.net"
    assert base_url(config.mailgun.model_copy(update={"host": None, "region": "eu"})) == "https://api.eu.mailgun.net"
    with pytest.raises(ConfigError, match=r"\[mailgun\] host"):
        base_url(config.mailgun.model_copy(update={"host": "http://mailgun.example.org"}))
    # Cancelling must reach the storage hosts that hold scheduled mail, not the API host.
    eu = MailgunProvider(config.model_copy(update={"mailgun": config.mailgun.model_copy(update={"host": None, "region": "eu"})}))
    eu.close()
    assert eu.host == "https://api.eu.mailgun.net" and eu.storage_hosts == ("https://storage-europe-west1.api.mailgun.net",)


# --- sending ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_2500_readers_go_in_3_requests_once_each(mailgun, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 2500)
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert mailgun.requests == 3 and "3 batch(es) handed to mailgun" in result.output
    assert sorted(mailgun.delivered) == emails and set(mailgun.delivered.values()) == {1}
    assert ledger(in_workspace) == {State.SENT: 2500}
    assert {message.one("v:issue") for message in mailgun.messages} == {"7"}
    with Database(in_workspace / "subscribers.db") as db:
        ids = {row[0] for row in db.ledger.db.execute("SELECT DISTINCT message_id FROM deliveries WHERE issue = '7'")}
    assert ids == {message.id for message in mailgun.messages}  # each row keeps its request's id


def test_the_sdk_does_not_retry_by_itself(mailgun, workspace: Path) -> None:
    """The SDK would try a 5xx or a dropped connection three more times: a POST sent twice can deliver twice."""
    config = load_workspace(workspace).config
    provider = MailgunProvider(config)
    batch = batch_of(config, [Recipient("a@example.com", None, "id-of-ada")])
    try:
        mailgun.behaviour.forced = ["503"]
        with pytest.raises(RetryLater, match="503 server error: Internal Server Error"):
            provider.send(batch, lambda *_: None)
        mailgun.behaviour.forced = ["drop_after"]
        with pytest.raises(Ambiguous):
            provider.send(batch, lambda *_: None)
    finally:
        provider.close()
    assert mailgun.requests == 2 and mailgun.delivered == {"a@example.com": 1}


def test_a_send_works_from_a_thread_that_already_runs_an_event_loop(mailgun, workspace: Path) -> None:
    """The SDK's client is asynchronous; its loop runs in a thread of its own, so a caller inside a
    running loop (a test harness, an async web server) is not refused with "another loop is running"."""
    config = load_workspace(workspace).config
    outcomes: dict[str, RecipientStatus] = {}

    async def inside_a_loop() -> None:
        provider = MailgunProvider(config)
        try:
            provider.send(batch_of(config, [Recipient("a@example.com", None, "id-of-ada")]), outcomes.__setitem__)
        finally:
            provider.close()

    # In a thread of its own: the suite's browser tests may leave a loop marked running in this one.
    runner = threading.Thread(target=asyncio.run, args=(inside_a_loop(),))
    runner.start()
    runner.join()
    assert outcomes["a@example.com"].outcome == Outcome.ACCEPTED and mailgun.delivered == {"a@example.com": 1}


def test_a_429_says_how_long_to_wait(mailgun, workspace: Path) -> None:
    config = load_workspace(workspace).config
    mailgun.behaviour.forced = ["429"]
    mailgun.behaviour.rate_limit_reset = 120
    provider = MailgunProvider(config)
    try:
        with pytest.raises(RetryLater) as raised:
            provider.send(batch_of(config, [Recipient("a@example.com", None, "id-of-ada")]), lambda *_: None)
    finally:
        provider.close()
    assert raised.value.retry_after == 120 and raised.value.status == 429
    assert "try again after 120 seconds" in str(raised.value) and mailgun.delivered == {}


@pytest.mark.slow
def test_429_and_5xx_are_retried_and_everyone_gets_one_copy(mailgun, in_workspace: Path, issue_path: Path, fast_retries) -> None:
    settings(in_workspace, batch_size=100)
    add_subscribers(in_workspace, 300)
    mailgun.behaviour.forced = ["429", "500", "503", "429"]
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 300}
    assert len(mailgun.delivered) == 300 and set(mailgun.delivered.values()) == {1}
    assert mailgun.requests == 7


@pytest.mark.slow
def test_a_400_naming_a_reader_fails_only_that_reader(mailgun, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 10)
    mailgun.behaviour.reject_naming = {emails[4]}
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 9, State.FAILED: 1}
    assert emails[4] not in mailgun.delivered and sorted(mailgun.delivered) == emails[:4] + emails[5:]
    status = run("status", str(issue_path)).output
    assert f"failed: {emails[4]}: Mailgun: to parameter is not a valid address: {emails[4]}. please check documentation." in status


@pytest.mark.slow
def test_a_400_naming_nobody_stops_the_run_with_mailguns_words(mailgun, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 10)
    mailgun.behaviour.reject = {emails[4]}
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "Mailgun refused the request (400): to parameter is not a valid address. please check documentation." in result.output
    assert ledger(in_workspace) == {State.PENDING: 10} and mailgun.delivered == {}


@pytest.mark.slow
def test_a_wrong_api_key_stops_the_run_and_changes_nothing(mailgun, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 3)
    monkeypatch.setenv("MAILGUN_API_KEY", "key-not-the-right-one-at-all")
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "Mailgun refused the API key in MAILGUN_API_KEY (401): Forbidden" in result.output
    assert "key-not-the-right-one-at-all" not in result.output  # secrets never printed
    assert "Nothing was sent and nothing changed" in result.output
    assert ledger(in_workspace) == {} and mailgun.requests == 0


@pytest.mark.slow
def test_an_unknown_domain_names_the_setting(mailgun, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace(f'domain = "{DOMAIN}"', 'domain = "mg.elsewhere.example.org"'))
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "Mailgun does not know the domain mg.elsewhere.example.org (404: Domain not found); check [mailgun] domain and [mailgun] region" in result.output
    assert ledger(in_workspace) == {} and mailgun.requests == 0


def test_a_missing_domain_setting_is_a_clear_error(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MAILGUN_API_KEY", API_KEY)
    add_subscribers(in_workspace, 1)
    add_config(in_workspace, '[send]\nprovider = "mailgun"\n')
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "[mailgun] domain is not set in newsletter.toml" in result.output and "Traceback" not in result.output
    assert ledger(in_workspace) == {}


@pytest.mark.slow
def test_a_dropped_answer_leaves_the_batch_unknown_and_it_is_not_resent(mailgun, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 30)
    mailgun.behaviour.forced = ["drop_after"]  # accepted, then the connection closed without an answer
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.UNKNOWN: 30}
    again = run("send", str(issue_path))
    assert "30 have an unknown outcome" in again.output
    assert mailgun.requests == 1 and set(mailgun.delivered.values()) == {1}


@pytest.mark.slow
def test_an_answer_dripping_in_meets_one_deadline_for_the_whole_request(mailgun, in_workspace: Path, issue_path: Path) -> None:
    """Each byte comes well within the timeout, the whole answer would take ~15 s: per-read timeouts
    (the SDK's sync client) would wait it out; the deadline gives up after [mailgun] timeout."""
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("timeout = 2", "timeout = 1"))
    add_subscribers(in_workspace, 5)
    mailgun.behaviour.forced = ["drip_after"]
    mailgun.behaviour.drip = 0.1
    started = time.monotonic()
    result = run("send", str(issue_path))
    assert time.monotonic() - started < 6, "the deadline did not cut the answer short"
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.UNKNOWN: 5}  # taken by Mailgun, but we cannot know it


@pytest.mark.slow
def test_killed_five_times_everyone_gets_it_once_except_reported_unknowns(mailgun, workspace: Path, issue_path: Path) -> None:
    settings(workspace, batch_size=40)
    emails = add_subscribers(workspace, 800)
    mailgun.behaviour.latency = 0.08  # slow enough that kills land mid-request, and that 5 kills land before the end
    env = dict(os.environ, MAILGUN_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET)
    rows = kill_and_resume(workspace, issue_path, env, lambda: mailgun.delivered, kills=5, batch=40)
    assert sorted(rows) == emails


@pytest.mark.slow
def test_under_a_15_percent_fault_rate_nobody_gets_two_copies_and_nobody_is_lost(mailgun, in_workspace: Path, issue_path: Path, fast_retries) -> None:
    settings(in_workspace, batch_size=25, retries=10)
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("timeout = 2", "timeout = 0.6"))
    emails = add_subscribers(in_workspace, 600)
    mailgun.behaviour.fault_rate = 0.15
    mailgun.behaviour.slow = 1.0
    mailgun.behaviour.reject_naming = set(emails[::150])
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    rows = ledger_states(in_workspace)
    assert sorted(rows) == emails
    reconcile(rows, mailgun.delivered)
    assert {email for email, state in rows.items() if state == State.FAILED} == set(emails[::150])
    assert mailgun.requests > 600 // 25  # faults really happened


# --- scheduling ------------------------------------------------------------------------------------


def second_issue(workspace: Path) -> Path:
    """Issue 8: the fixture issue under another number and file."""
    path = workspace / "issues" / "2026-12-08.yaml"
    shutil.copy(workspace / "issues" / ISSUE_NAME, path)
    path.write_text(path.read_text().replace("number: 7", "number: 8", 1))
    return path


@pytest.mark.slow
def test_send_at_within_3_days_is_held_by_mailgun_and_cancel_drops_every_scheduled_issue(mailgun, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 5)
    other = second_issue(in_workspace)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    for path in (issue_path, other):
        result = run("send", str(path), "--at", when.isoformat())
        assert result.exit_code == 0, result.output
    assert len(mailgun.scheduled) == 2 and {m.one("v:issue") for m in mailgun.scheduled.values()} == {"7", "8"}
    (first, _) = mailgun.messages
    assert email.utils.parsedate_to_datetime(first.one("o:deliverytime") or "") == when
    assert first.one("v:schedule") and f"schedule-{first.one('v:schedule')}" in first.fields["o:tag"]
    status = run("status", str(issue_path)).output
    assert "Scheduled through Mailgun" in status and "scheduled  5" in status and "sent  0" in status

    cancelled = run("cancel", str(issue_path))
    assert cancelled.exit_code == 0, cancelled.output
    assert mailgun.scheduled == {} and len(mailgun.dropped) == 2
    assert ("DELETE", f"/v3/{DOMAIN}/envelopes") in mailgun.calls
    assert "issue 7 scheduled for" in cancelled.output and "issue 8 scheduled for" in cancelled.output
    assert "Mailgun cannot cancel one delivery alone: this dropped every message scheduled for mg.fixture.example.org" in cancelled.output
    assert ledger(in_workspace, "7") == {State.PENDING: 5} and ledger(in_workspace, "8") == {State.PENDING: 5}
    assert "Scheduled" not in run("status", str(other)).output


@pytest.mark.slow
def test_cancel_drops_nothing_while_another_issue_it_would_drop_is_being_sent(mailgun, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    other = second_issue(in_workspace)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    for path in (issue_path, other):
        assert run("send", str(path), "--at", when.isoformat()).exit_code == 0
    with Database(in_workspace / "subscribers.db") as db, db.connection.lock("issue-8", "held by the test"):
        busy = run("cancel", str(issue_path))
    assert busy.exit_code == 1 and "issue 8, whose delivery Mailgun would drop too, is being sent right now" in busy.output
    assert len(mailgun.scheduled) == 2 and ("DELETE", f"/v3/{DOMAIN}/envelopes") not in mailgun.calls
    assert ledger(in_workspace, "7") == {State.SCHEDULED: 2} and ledger(in_workspace, "8") == {State.SCHEDULED: 2}


@pytest.mark.slow
def test_beyond_3_days_the_send_is_held_here(mailgun, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=4)).replace(microsecond=0)
    result = run("send", str(issue_path), "--at", later.isoformat())
    assert result.exit_code == 0, result.output
    assert "held here until then" in result.output
    assert mailgun.requests == 0 and ledger(in_workspace) == {State.SCHEDULED: 1}


# --- the dry run -----------------------------------------------------------------------------------


def test_dry_run_shows_the_first_request_and_sends_nothing(mailgun, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 5)
    result = run("send", str(issue_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"First request (POST /v3/{DOMAIN}/messages, form fields), parts shortened, recipient-variables of 2 more readers left out:" in result.output
    shown = json.loads(result.output[result.output.index("{") : result.output.rindex("}") + 1])
    assert shown["to"] == emails and list(shown["recipient-variables"]) == emails[:3]
    assert shown["h:List-Unsubscribe"] == "<%recipient.unsubscribe%>" and shown["v:issue"] == "7"
    assert ("GET", f"/v3/domains/{DOMAIN}") in mailgun.calls and mailgun.requests == 0
    assert ledger(in_workspace) == {}


def test_request_preview_needs_no_network(workspace: Path) -> None:
    add_config(workspace, '[mailgun]\ndomain = "mg.example.org"\n')
    config = load_workspace(workspace).config
    preview = request_preview(config, batch_of(config, [Recipient("a@example.com", "Ada", "id-of-ada")]))
    assert preview.heading == "First request (POST /v3/mg.example.org/messages, form fields), parts shortened:"
    assert json.loads(preview.text)["recipient-variables"]["a@example.com"]["name"] == "Ada"


def test_the_form_body_carries_every_field_and_value_as_it_is() -> None:
    """Multipart, written by hand for speed: a mail parser reads back the same fields, repeated
    ones in order, whatever bytes a value holds (line breaks, quotes, non-ASCII, a fake boundary)."""
    import email.parser
    import email.policy

    from newsletter.providers.mailgun.payload import form_body

    odd = 'line\r\nbreak "quoted" --boundary-- é 例え <p>&amp;</p>'
    fields = {"to": ["a@example.com", "b@example.com"], "html": odd, "h:List-Id": "Fixture <f.example.org>", "recipient-variables": '{"a@example.com": {}}'}
    body, content_type = form_body(fields)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    read = [(part.get_param("name", header="content-disposition"), part.get_payload(decode=True).decode()) for part in message.iter_parts()]
    assert read == [("to", "a@example.com"), ("to", "b@example.com"), ("html", odd), ("h:List-Id", "Fixture <f.example.org>"), ("recipient-variables", '{"a@example.com": {}}')]
