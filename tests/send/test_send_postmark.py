"""Sending through Postmark's batch API, against the Postmark-compatible server on loopback
(tests/helpers/postmark_server.py, its checks written from Postmark's documentation)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import orjson
import pytest
import time_machine

from newsletter.db import Database
from newsletter.models import Email, Recipient, State, Status
from newsletter.models.placeholders import personalize
from newsletter.providers.base import Batch, Edition, ProviderRefused
from newsletter.providers.postmark import PostmarkProvider, build_payload
from newsletter.providers.postmark.payload import Filled, Messages
from newsletter.sending import letters_for
from newsletter.workspace.config import load_workspace
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume, ledger_states, reconcile
from tests.helpers.postmark_server import TOKEN, WHOLE_BATCH_INACTIVE, Behaviour, PostmarkServer, check_message, check_types, stream
from tests.helpers.workspace import SECRET, add_config, add_subscribers

pytestmark = pytest.mark.filterwarnings("ignore:.*travels without TLS")  # the local server is plain http


@pytest.fixture
def postmark(workspace: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """The local Postmark; the workspace sends through it, with short timeouts."""
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", TOKEN)
    with PostmarkServer(Behaviour()) as server:
        add_config(workspace, f'[send]\nprovider = "postmark"\n\n[postmark]\nhost = "{server.url}"\ntimeout = 0.5\n')
        yield server


def ledger(workspace: Path, issue: str = "7") -> dict[State, int]:
    with Database(workspace / "subscribers.db") as db:
        return {state: count for state, count in db.ledger.counts(issue).items() if count}


def set_send(workspace: Path, line: str) -> None:
    """A line under [send] (the fixture's table)."""
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "postmark"', f'provider = "postmark"\n{line}'))


def set_timeout(workspace: Path, seconds: float) -> None:
    """[postmark] timeout (the fixture's 0.5 s makes a lost answer quick to test; a loaded machine
    can take longer than that over 500 whole messages, which would make them unknowns)."""
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("timeout = 0.5", f"timeout = {seconds}"))


def batch_of(workspace: Path, email: Email, *recipients: Recipient) -> Batch:
    config = load_workspace(workspace).config
    return Batch(Edition("7", email), "send-1", letters_for(list(recipients), config, SECRET.encode()))


# --- the request body ----------------------------------------------------------------------------


def test_each_reader_gets_a_whole_message_of_their_own(workspace: Path) -> None:
    config = load_workspace(workspace).config
    email = Email(subject="For %%name%%", preheader="p", html='<p>Hi %%name%%</p><a href="%%unsubscribe_url%%">leave</a>', text="Hi %%name%%: %%unsubscribe_url%%", web_html="")
    batch = batch_of(workspace, email, Recipient("a@example.com", "Bo <b>&</b> Co", "id-of-bo"), Recipient("b@例え.jp", None, "id-of-hana"))
    url_a, url_b = (letter.unsubscribe_url for letter in batch.letters)
    first, second = build_payload(config, batch)

    assert first == {
        "From": '"Fixture Editor" <editor@fixture.example.org>',
        "To": '"Bo <b>&</b> Co" <a@example.com>',
        "ReplyTo": "replies@fixture.example.org",
        "Subject": "For Bo <b>&</b> Co",
        "HtmlBody": f'<p>Hi Bo &lt;b&gt;&amp;&lt;/b&gt; Co</p><a href="{url_a}">leave</a>',  # the name shown, never obeyed
        "TextBody": f"Hi Bo <b>&</b> Co: {url_a}",
        "MessageStream": "broadcast",  # [postmark] message_stream
        "Tag": "7",
        "Headers": [
            {"Name": "List-Unsubscribe", "Value": f"<{url_a}>"},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
            {"Name": "List-Id", "Value": "Fixture Weekly <fixture-weekly.fixture.example.org>"},
            {"Name": "Feedback-ID", "Value": "7:all:fixture-weekly:fixture.example.org"},
        ],
        "Metadata": {"issue": "7", "send_id": "send-1"},
        "TrackOpens": False,
        "TrackLinks": "None",
    }
    assert second["To"] == "b@xn--r8jz45g.jp"  # Postmark takes ASCII domains only
    assert second["Subject"] == "For " and url_b in second["HtmlBody"] and url_b in second["TextBody"] and url_a not in second["TextBody"]
    assert second["Headers"][0] == {"Name": "List-Unsubscribe", "Value": f"<{url_b}>"}
    assert check_types([first, second], {"broadcast": {}}) and check_message(first) is None and check_message(second) is None


def test_an_escaped_url_in_the_html_part(workspace: Path) -> None:
    """A URL with `&` reads as itself in the text and as &amp; in the HTML attribute, as in the outbox."""
    config_path = workspace / "newsletter.toml"
    config_path.write_text(config_path.read_text().replace("unsubscribe?token={token}", "unsubscribe?list=weekly&token={token}"))
    email = Email(subject="s", preheader="p", html='<a href="%%unsubscribe_url%%">x</a>', text="%%unsubscribe_url%%", web_html="")
    batch = batch_of(workspace, email, Recipient("a@example.com", None, "id-of-ada"))
    (message,) = build_payload(load_workspace(workspace).config, batch)
    url = batch.letters[0].unsubscribe_url
    assert "&token=" in url
    assert message["TextBody"] == url and message["HtmlBody"] == f'<a href="{url.replace("&", "&amp;")}">x</a>'
    assert message["Headers"][0]["Value"] == f"<{url}>"


@pytest.mark.parametrize(
    "text",
    ["no placeholder", "%%name%%", "Hi %%name|there%%, %%unsubscribe_url%% and %%preferences_url%%%%name%%", "%% not one %%name|x%% %%unknown%%"],
)
@pytest.mark.parametrize("values", [{"%%name%%": "Ada", "%%unsubscribe_url%%": "u", "%%preferences_url%%": "p"}, {"%%name%%": ""}])
def test_filling_the_split_text_is_personalize(text: str, values: dict[str, str]) -> None:
    assert Filled(text).fill(values) == personalize(text, values)


@pytest.mark.parametrize("name", ["Fixture Editor", "Fixture \ue0003\ue000 Editor"], ids=["plain", "a sender holding the cut mark"])
def test_the_request_body_is_the_payload_encoded(workspace: Path, name: str) -> None:
    """The body is joined from pieces encoded once (Messages.encode), for speed: it must be exactly
    the JSON of build_payload(), whatever the names, values and text hold."""
    config_path = workspace / "newsletter.toml"
    settings = config_path.read_text().replace('name = "Fixture Editor"', f'name = "{name}"')
    config_path.write_text(settings.replace("[newsletter]\n", '[newsletter]\nunsubscribe_mailto = "leave@fixture.example.org"\n', 1))
    html = '<p title="q">Hi %%name%% \\ %%name|there%% é 🙂</p><a href="%%unsubscribe_url%%">x</a><a href="%%preferences_url%%">p</a>%%name%%'
    email = Email(subject='"%%name%%" \u2028 ✓', preheader="p", html=html, text="%%name|friend%%\t%%unsubscribe_url%%\n", web_html="")
    names = ['Bo "the" <b>&</b> \\Co', None, "Zoë \u2028 🙂", "\x07bell", ""]
    batch = batch_of(workspace, email, *(Recipient(f"r{n}@例え.jp" if n == 1 else f"r{n}@example.com", who, f"id-{n}") for n, who in enumerate(names)))
    config = load_workspace(workspace).config
    messages = Messages(config, batch.edition)
    assert (messages.skeleton is None) == ("\ue000" in name)  # the rare name falls back to encoding each message whole
    assert messages.encode(batch.letters, batch.send_id) == orjson.dumps(build_payload(config, batch))
    assert messages.encode([], "x") == b"[]"


# --- sending --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_send_reaches_everyone_once_in_requests_of_500(postmark, in_workspace: Path, issue_path: Path) -> None:
    set_timeout(in_workspace, 10)
    emails = add_subscribers(in_workspace, 700)
    add_subscribers(in_workspace, 2, Status.UNSUBSCRIBED, prefix="gone")
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert postmark.requests == 2 and [len(body) for body in postmark.bodies] == [500, 200]
    assert sorted(postmark.delivered) == emails and set(postmark.delivered.values()) == {1}
    assert ledger(in_workspace) == {State.SENT: 700}
    messages = [message for body in postmark.bodies for message in body]
    assert {m["MessageStream"] for m in messages} == {"broadcast"} and {m["Metadata"]["issue"] for m in messages} == {"7"}
    unsubscribe_links = {m["Headers"][0]["Value"] for m in messages}
    assert len(unsubscribe_links) == 700  # each reader's own
    with Database(in_workspace / "subscribers.db") as db:
        ids = {row[0] for row in db.ledger.db.execute("SELECT message_id FROM deliveries WHERE issue = '7' AND state = 'sent'")}
    assert len(ids) == 700 and None not in ids  # Postmark's MessageID for each, kept in the ledger


@pytest.mark.slow
def test_an_inactive_recipient_fails_and_bounces_after_bounce_after_sends(postmark, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 10)
    gone = emails[4]
    postmark.behaviour.inactive = {gone}
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 9, State.FAILED: 1}
    assert sorted(postmark.delivered) == sorted(set(emails) - {gone})
    status = run("status", str(issue_path)).output
    assert f"failed: {gone}: Postmark (inactive recipient): You tried to send to recipient(s) that have been marked as inactive" in status
    with Database(in_workspace / "subscribers.db") as db:
        assert db.subscribers.get(gone).status == Status.ACTIVE  # once may be a mistake ([send] bounce_after = 2)

    second = issue_path.with_name("2026-12-08.yaml")
    second.write_text(issue_path.read_text(encoding="utf-8").replace("number: 7", "number: 8"), encoding="utf-8")
    assert run("send", str(second)).exit_code == 0
    with Database(in_workspace / "subscribers.db") as db:
        assert db.subscribers.get(gone).status == Status.BOUNCED


@pytest.mark.slow
def test_an_address_postmark_calls_invalid_is_refused_not_bounced(postmark, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    with Database(in_workspace / "subscribers.db") as db:
        from newsletter.models import Subscriber

        db.subscribers.upsert([Subscriber("what?@example.com")])  # valid by RFC 5322, not by Postmark's rules
    set_send(in_workspace, "bounce_after = 1")
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 3, State.FAILED: 1}
    assert "what?@example.com: Postmark (ErrorCode 300): Error parsing 'To': Illegal email address" in run("status", str(issue_path)).output
    with Database(in_workspace / "subscribers.db") as db:
        assert db.subscribers.get("what?@example.com").status == Status.ACTIVE  # about the message, not a bounce


@pytest.mark.slow
def test_a_429_is_waited_out_as_postmark_asks_then_each_is_delivered_once(postmark, in_workspace: Path, issue_path: Path, fast_retries) -> None:
    emails = add_subscribers(in_workspace, 20)
    postmark.behaviour.forced = ["429"]
    postmark.behaviour.retry_after = 0.4
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert sorted(postmark.delivered) == emails and set(postmark.delivered.values()) == {1}
    (refused, _), (taken, status) = postmark.times
    assert taken - refused >= 0.4 and status == 200  # the back-off alone waits nothing here (fast_retries)


@pytest.mark.slow
def test_5xx_answers_are_retried(postmark, in_workspace: Path, issue_path: Path, fast_retries) -> None:
    emails = add_subscribers(in_workspace, 20)
    postmark.behaviour.forced = ["503", "500"]
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert sorted(postmark.delivered) == emails and set(postmark.delivered.values()) == {1}
    assert [status for _, status in postmark.times] == [503, 500, 200]


@pytest.mark.slow
def test_a_wrong_token_stops_the_run_and_changes_nothing(postmark, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 3)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "not-the-right-token")
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "Postmark refused the server token in POSTMARK_SERVER_TOKEN (401): The Server Token you provided" in result.output
    assert "not-the-right-token" not in result.output
    assert "Nothing was sent and nothing changed" in result.output
    assert ledger(in_workspace) == {} and postmark.requests == 0


@pytest.mark.parametrize(
    "streams, words",
    [
        ({"broadcast": stream("broadcast", "Transactional")}, "[postmark] message_stream 'broadcast' is a Transactional stream at Postmark"),
        ({"outbound": stream("outbound", "Transactional")}, "Postmark has no message stream 'broadcast' on this server (404"),
    ],
    ids=["transactional", "missing"],
)
@pytest.mark.slow
def test_a_stream_that_is_not_a_broadcast_stream_stops_the_run(postmark, in_workspace: Path, issue_path: Path, streams, words: str) -> None:
    add_subscribers(in_workspace, 3)
    postmark.streams = streams
    result = run("send", str(issue_path))
    assert result.exit_code == 1 and words in result.output, result.output
    assert ledger(in_workspace) == {} and postmark.requests == 0


@pytest.mark.slow
def test_a_stream_where_postmark_manages_unsubscribes_is_said(postmark, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    postmark.streams["broadcast"] = stream("broadcast", "Broadcasts", unsubscribes="Postmark")
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert "Postmark manages unsubscribes on stream 'broadcast'" in result.output


def test_a_missing_token_is_a_clear_error(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 1)
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN", raising=False)
    result = run("send", str(issue_path), "--provider", "postmark")
    assert result.exit_code == 1 and "POSTMARK_SERVER_TOKEN is not set" in result.output


def test_an_unreachable_postmark_changes_nothing(in_workspace: Path, issue_path: Path, monkeypatch, refused_port: int) -> None:
    add_subscribers(in_workspace, 1)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", TOKEN)
    add_config(in_workspace, f'[send]\nprovider = "postmark"\n\n[postmark]\nhost = "http://127.0.0.1:{refused_port}"\n')
    result = run("send", str(issue_path))
    assert result.exit_code == 1 and f"cannot reach Postmark at http://127.0.0.1:{refused_port}" in result.output
    assert "Traceback" not in result.output and ledger(in_workspace) == {}


@pytest.mark.parametrize("fault", ["drop_after", "slow_after", "drop_before"])
@pytest.mark.slow
def test_no_whole_answer_leaves_the_batch_unknown_and_it_is_not_resent(postmark, in_workspace: Path, issue_path: Path, fault: str) -> None:
    add_subscribers(in_workspace, 12)
    postmark.behaviour.forced = [fault]  # the request left; no answer (or none in time) came back
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.UNKNOWN: 12}
    again = run("send", str(issue_path))
    assert "12 have an unknown outcome" in again.output
    assert postmark.requests == 1 and set(postmark.delivered.values()) <= {1}


def test_a_422_for_the_batch_fails_only_the_address_it_names(postmark, workspace: Path) -> None:
    email = Email(subject="s", preheader="p", html="<p>h</p>", text="t", web_html="")
    batch = batch_of(workspace, email, Recipient("a@example.com", None, "id-a"), Recipient("b@example.com", None, "id-b"))
    postmark.behaviour.forced = [WHOLE_BATCH_INACTIVE]
    reported: dict[str, object] = {}
    provider = PostmarkProvider(load_workspace(workspace).config)
    provider.send(batch, lambda address, status: reported.__setitem__(address, status))
    provider.close()
    (status,) = reported.values()
    assert list(reported) == ["a@example.com"] and status.outcome == "bounced"  # b was not taken: it goes in a later batch
    assert postmark.delivered == {}


def test_a_422_for_the_whole_batch_stops_the_run_with_postmarks_words(postmark, workspace: Path) -> None:
    email = Email(subject="s", preheader="p", html="<p>h</p>", text="t", web_html="")
    batch = batch_of(workspace, email, Recipient("a@example.com", None, "id-a"))
    provider = PostmarkProvider(load_workspace(workspace).config)
    del postmark.streams["broadcast"]  # gone after the check
    with pytest.raises(ProviderRefused, match=r"Postmark refused the batch \(422, ErrorCode 1235\): The message stream 'broadcast' does not exist"):
        provider.send(batch, lambda address, status: pytest.fail("nothing was taken"))
    provider.close()


def test_an_address_postmark_cannot_take_is_refused_before_any_request(postmark, workspace: Path) -> None:
    email = Email(subject="s", preheader="p", html="<p>h</p>", text="t", web_html="")
    batch = batch_of(workspace, email, Recipient("hanä@example.com", None, "id-h"))
    reported: dict[str, object] = {}
    provider = PostmarkProvider(load_workspace(workspace).config)
    provider.send(batch, lambda address, status: reported.__setitem__(address, status))
    provider.close()
    assert reported["hanä@example.com"].outcome == "rejected" and postmark.requests == 0  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_batch_above_postmarks_size_limit_goes_in_smaller_requests(postmark, workspace: Path, monkeypatch) -> None:
    import newsletter.providers.postmark.send as postmark_send

    monkeypatch.setattr(postmark_send, "MAX_BATCH_BYTES", 6_000)  # as 50 MB is to 500 copies of a 150 KB issue
    email = Email(subject="s", preheader="p", html="<p>" + "h" * 1_000 + "</p>", text="t" * 500, web_html="")
    batch = batch_of(workspace, email, *(Recipient(f"r{n}@example.com", None, f"id-{n}") for n in range(10)))
    reported: dict[str, object] = {}
    provider = PostmarkProvider(load_workspace(workspace).config)
    provider.send(batch, lambda address, status: reported.__setitem__(address, status))
    provider.close()
    assert postmark.requests > 2 and all(len(orjson.dumps(body)) <= 6_000 for body in postmark.bodies)  # halved until each fits
    assert sorted(postmark.delivered) == sorted(reported) == sorted(f"r{n}@example.com" for n in range(10))


@pytest.mark.slow
def test_killed_and_resumed_nobody_gets_two_copies(postmark, workspace: Path, issue_path: Path) -> None:
    set_send(workspace, "batch_size = 40")
    set_timeout(workspace, 10)
    emails = add_subscribers(workspace, 600)
    postmark.behaviour.latency = 0.05  # so that the kills land mid-request too
    env = dict(os.environ, POSTMARK_SERVER_TOKEN=TOKEN, NEWSLETTER_SECRET=SECRET)
    rows = kill_and_resume(workspace, issue_path, env, lambda: postmark.delivered, kills=5, batch=40, seed=26)
    assert sorted(rows) == emails


@pytest.mark.slow
def test_under_a_15_percent_fault_rate_nobody_gets_two_copies_and_nobody_is_lost(postmark, in_workspace: Path, issue_path: Path, fast_retries) -> None:
    set_send(in_workspace, "batch_size = 20\nretries = 10")
    emails = add_subscribers(in_workspace, 400)
    postmark.behaviour.fault_rate = 0.15
    postmark.behaviour.slow = 0.7  # past the fixture's 0.5 s timeout
    postmark.behaviour.inactive = set(emails[::100])
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    rows = ledger_states(in_workspace)
    assert sorted(rows) == emails
    reconcile(rows, postmark.delivered)
    failed = {email for email, state in rows.items() if state == State.FAILED}
    assert failed and failed <= set(emails[::100])  # only the inactive (one may be unknown, its batch's answer lost)
    assert postmark.requests > 400 // 20  # faults really happened


# --- scheduling and the dry run -------------------------------------------------------------------


@pytest.mark.slow
def test_send_at_is_held_here_and_handed_over_when_due(postmark, in_workspace: Path, issue_path: Path) -> None:
    """Postmark cannot hold a delivery: `send --at` keeps it here, `send --due` hands it over."""
    add_subscribers(in_workspace, 2)
    monday = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    with time_machine.travel(monday, tick=False):
        result = run("send", str(issue_path), "--at", (monday + dt.timedelta(hours=2)).isoformat())
        assert result.exit_code == 0 and "held here until then" in result.output
        assert ledger(in_workspace) == {State.SCHEDULED: 2}
    assert postmark.requests == 0
    with time_machine.travel(monday + dt.timedelta(hours=2, minutes=1), tick=False):
        due = run("send", "--due")
        assert due.exit_code == 0, due.output
    assert sorted(postmark.delivered) == ["reader00000@example.com", "reader00001@example.com"]
    assert ledger(in_workspace) == {State.SENT: 2}


def test_dry_run_prints_the_first_request_and_sends_nothing(postmark, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 5)
    result = run("send", str(issue_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "POST /email/batch: 5 message(s), one per reader; the first 3 shown" in result.output
    start = result.output.index("[\n")
    body = json.loads(result.output[start : result.output.index("\n]", start) + 2])
    assert [m["To"] for m in body] == [f'"Reader {n}" <reader0000{n}@example.com>' for n in range(3)]
    assert all(m["HtmlBody"].endswith("...") and len(m["HtmlBody"]) == 203 for m in body)
    assert postmark.requests == 0 and ledger(in_workspace) == {}


def test_dry_run_says_when_the_stream_is_transactional(postmark, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 1)
    postmark.streams["broadcast"]["MessageStreamType"] = "Transactional"
    result = run("send", str(issue_path), "--dry-run")
    assert "is a Transactional stream at Postmark" in result.output and postmark.requests == 0
