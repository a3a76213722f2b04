"""Sending through Resend with its official SDK, against the Resend-compatible server on loopback
(tests/helpers/resend_server.py, which checks every email against Resend's published description)."""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from newsletter.db import Database
from newsletter.errors import NewsletterWarning
from newsletter.models import Email, Outcome, Recipient, RecipientStatus, State
from newsletter.providers.base import Ambiguous, Batch, Edition, ProviderRefused, RetryLater
from newsletter.providers.resend import ResendProvider, build_batch, build_scheduled, request_preview
from newsletter.providers.resend.send import batch_outcomes
from newsletter.sending import letters_for
from newsletter.workspace.config import Config, load_workspace
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume, ledger_states, reconcile
from tests.helpers.resend_server import API_KEY, SENDING_KEY, Behaviour, ResendServer, check_email
from tests.helpers.workspace import SECRET, add_config, add_subscribers

MONDAY = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
TUESDAY_8 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
EMAIL = Email(subject="Hi %%name|there%%", preheader="p", html='<p>Hi %%name%%</p><a href="%%unsubscribe_url%%">leave</a>', text="Hi %%name%%: %%unsubscribe_url%%", web_html="")


def resend_settings(server: ResendServer, rate: float = 500) -> str:
    return f'[send]\nprovider = "resend"\n\n[resend]\nhost = "{server.url}"\ntimeout = 0.5\nrequests_per_second = {rate}\n'


@pytest.fixture
def resend_api(workspace: Path, monkeypatch) -> Iterator[ResendServer]:
    """The local Resend; the workspace sends through it, with short timeouts and no pacing to speak of."""
    with ResendServer(Behaviour()) as server:
        monkeypatch.setenv("RESEND_API_KEY", API_KEY)
        add_config(workspace, resend_settings(server))
        yield server


@pytest.fixture
def provider(resend_api: ResendServer, workspace: Path) -> Iterator[ResendProvider]:
    with pytest.warns(NewsletterWarning, match="without TLS"):  # the local Resend is plain http
        made = ResendProvider(load_workspace(workspace).config)
    yield made
    made.close()


def config_of(workspace: Path) -> Config:
    return load_workspace(workspace).config


def batch_of(config: Config, count: int, edition: Edition | None = None, send_id: str = "send-1") -> Batch:
    recipients = [Recipient(f"reader{n:05d}@example.com", f"Reader {n}", f"id-{n}") for n in range(count)]
    return Batch(edition or Edition("7", EMAIL), send_id, letters_for(recipients, config, SECRET.encode(), "7"))


class Reports(dict[str, RecipientStatus]):
    def __call__(self, address: str, status: RecipientStatus) -> None:
        assert address not in self, f"{address} reported twice"
        self[address] = status


def ledger(workspace: Path) -> dict[State, int]:
    with Database(workspace / "subscribers.db") as db:
        return {state: count for state, count in db.ledger.counts("7").items() if count}


def rows(workspace: Path) -> dict[str, tuple[State, str | None]]:
    with Database(workspace / "subscribers.db") as db:
        found = db.ledger.db.execute("SELECT email, state, message_id FROM deliveries WHERE issue = '7'")
        return {email: (State(state), message_id) for email, state, message_id in found}


# --- the payload, without any network -----------------------------------------------------------


@pytest.mark.slow
def test_the_batch_is_one_email_per_reader_with_their_own_values_and_headers(workspace: Path) -> None:
    config = config_of(workspace)
    recipients = [Recipient("ada@example.com", "Ada", "id-a"), Recipient("bo@例え.jp", None, "id-b")]
    letters = letters_for(recipients, config, SECRET.encode(), "7")
    body = build_batch(config, Batch(Edition("7", EMAIL), "send-1", letters))

    url_a, url_b = (letter.unsubscribe_url for letter in letters)
    shared = {
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": "Fixture Weekly <fixture-weekly.fixture.example.org>",
        "Feedback-ID": "7:all:fixture-weekly:fixture.example.org",  # issue:topic:newsletter:sender
    }
    tags = [{"name": "issue", "value": "7"}, {"name": "send_id", "value": "send-1"}]
    assert body == [
        {
            "from": '"Fixture Editor" <editor@fixture.example.org>',
            "to": ['"Ada" <ada@example.com>'],
            "subject": "Hi Ada",
            "html": f'<p>Hi Ada</p><a href="{url_a}">leave</a>',
            "text": f"Hi Ada: {url_a}",
            "reply_to": "replies@fixture.example.org",
            "headers": {"List-Unsubscribe": f"<{url_a}>", **shared},
            "tags": tags,
        },
        {
            "from": '"Fixture Editor" <editor@fixture.example.org>',
            "to": ["bo@xn--r8jz45g.jp"],  # the domain IDNA-encoded; no name, no quotes
            "subject": "Hi there",  # the name's fallback
            "html": f'<p>Hi </p><a href="{url_b}">leave</a>',
            "text": f"Hi : {url_b}",
            "reply_to": "replies@fixture.example.org",
            "headers": {"List-Unsubscribe": f"<{url_b}>", **shared},
            "tags": tags,
        },
    ]
    assert [check_email(email, in_batch=True) for email in body] == [None, None]  # Resend's published description


def test_a_name_is_text_in_every_part_and_never_markup_and_tags_keep_to_resends_characters(workspace: Path) -> None:
    config = config_of(workspace)
    (letter,) = letters_for([Recipient("bo@example.com", 'Bo <b>&</b> "Co", Ltd', "id-b")], config, SECRET.encode(), "7")
    (email,) = build_batch(config, Batch(Edition("7.1", EMAIL), "worker a/1", [letter]))
    assert email["subject"] == 'Hi Bo <b>&</b> "Co", Ltd'
    assert email["text"].startswith('Hi Bo <b>&</b> "Co", Ltd: ')
    assert email["html"].startswith(f"<p>Hi {html.escape(letter.name or '')}</p>")
    assert email["to"] == ['"Bo <b>&</b> \\"Co\\", Ltd" <bo@example.com>']  # quoted: the comma stays in the name
    assert email["tags"] == [{"name": "issue", "value": "7_1"}, {"name": "send_id", "value": "worker_a_1"}]
    assert check_email(email, in_batch=True) is None


def test_a_scheduled_email_carries_its_time_and_a_batch_never_does(workspace: Path) -> None:
    config = config_of(workspace)
    batch = batch_of(config, 2, Edition("7", EMAIL, send_at=TUESDAY_8, schedule_id="resend-1"))
    single = build_scheduled(config, batch, batch.letters[1])
    assert single["scheduled_at"] == "2026-12-01T08:00:00+00:00" and single["to"] == ['"Reader 1" <reader00001@example.com>']
    with time_machine.travel(MONDAY, tick=False):
        assert check_email(single, in_batch=False) is None
        assert "not supported yet in batch" in (check_email(single, in_batch=True) or "")
        assert "at most 30 days" in (check_email({**single, "scheduled_at": "2027-01-02T08:00:00+00:00"}, in_batch=False) or "")


def test_the_dry_run_preview_is_the_first_request_shortened(workspace: Path) -> None:
    config = config_of(workspace)
    long = EMAIL.model_copy(update={"html": "<p>" + "x" * 500 + "</p>"})
    preview = request_preview(config, batch_of(config, 150, Edition("7", long)))
    assert preview.heading.startswith("First request body (POST /emails/batch, 100 email(s), one per reader")
    assert '"html": "<p>' + "x" * 197 + '..."' in preview.text and "reader00000@example.com" in preview.text


def test_per_email_errors_refuse_those_readers_and_ids_pair_with_the_others_in_order(workspace: Path) -> None:
    letters = batch_of(config_of(workspace), 4).letters
    answer = {"data": [{"id": "id-0"}, {"id": "id-2"}], "errors": [{"index": 1, "message": "Invalid `to` field."}, {"index": 3, "message": "Bad."}]}
    outcomes = batch_outcomes(letters, answer)
    assert [outcomes[letter.email] for letter in letters] == [
        RecipientStatus(Outcome.ACCEPTED, message_id="id-0"),
        RecipientStatus(Outcome.REJECTED, "Resend: Invalid `to` field."),
        RecipientStatus(Outcome.ACCEPTED, message_id="id-2"),
        RecipientStatus(Outcome.REJECTED, "Resend: Bad."),
    ]
    # Counts that do not tally: accepted all the same (Resend took them), never paired with a wrong id.
    unpaired = batch_outcomes(letters, {"data": [{"id": "id-0"}], "errors": [{"index": 1, "message": "x"}]})
    assert {unpaired[letter.email].message_id for letter in letters if unpaired[letter.email].outcome == Outcome.ACCEPTED} == {None}


# --- the provider against the local Resend ------------------------------------------------------


@pytest.mark.slow
def test_a_send_reaches_everyone_once_in_batches_of_100_with_each_readers_id(resend_api: ResendServer, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 150)
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert resend_api.requests == 2 and [len(body) for body in resend_api.bodies] == [100, 50]
    assert sorted(resend_api.delivered) == emails and set(resend_api.delivered.values()) == {1}
    assert ledger(in_workspace) == {State.SENT: 150}
    for address, (_, message_id) in rows(in_workspace).items():  # each row holds the id of its own email
        assert message_id is not None and resend_api.emails[message_id]["to"][0].endswith(f"<{address}>")
    for headers, body in zip(resend_api.headers, resend_api.bodies, strict=True):
        assert headers["x-batch-validation"] == "permissive"
        assert headers["Idempotency-Key"] == body[0]["tags"][1]["value"]  # the claim's send id


@pytest.mark.slow
def test_a_refused_address_fails_alone_with_resends_words(resend_api: ResendServer, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 10)
    resend_api.behaviour.reject = {"reader00004@example.com"}
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 9, State.FAILED: 1}
    assert "reader00004@example.com" not in resend_api.delivered and len(resend_api.delivered) == 9
    assert "failed: reader00004@example.com: Resend: Invalid `to` field. The email address is not valid." in run("status", str(issue_path)).output


@pytest.mark.slow
def test_a_429_is_waited_out_as_resend_says_then_each_reader_gets_one_copy(resend_api: ResendServer, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 150)
    resend_api.behaviour.forced = ["429"]
    resend_api.behaviour.rate_limit_reset = 1.0  # ratelimit-reset and retry-after: 1 second
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert sorted(resend_api.delivered) == emails and set(resend_api.delivered.values()) == {1}
    (limited, status_limited), (retried, _) = resend_api.times[:2]
    assert status_limited == 429 and retried - limited >= 0.95  # the pause Resend asked for, not less


@pytest.mark.slow
def test_5xx_is_retried_and_nothing_is_sent_twice(resend_api: ResendServer, in_workspace: Path, issue_path: Path, fast_retries) -> None:
    emails = add_subscribers(in_workspace, 120)
    resend_api.behaviour.forced = ["503", "500"]
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert sorted(resend_api.delivered) == emails and set(resend_api.delivered.values()) == {1}
    assert [status for _, status in resend_api.times] == [503, 500, 200, 200]


@pytest.mark.slow
def test_a_spent_daily_quota_stops_the_run_with_resends_words(resend_api: ResendServer, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 5)
    resend_api.behaviour.forced = ["quota"]
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "Resend refused to send more (429 daily_quota_exceeded: You have reached your daily email sending quota.)" in result.output
    assert ledger(in_workspace) == {State.PENDING: 5} and resend_api.delivered == {}


@pytest.mark.slow
def test_a_wrong_key_stops_before_anything_changes_and_is_never_printed(resend_api: ResendServer, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    add_subscribers(in_workspace, 3)
    monkeypatch.setenv("RESEND_API_KEY", "re_not_the_right_key")
    for command in (["send", str(issue_path)], ["send", str(issue_path), "--dry-run"]):
        result = run(*command)
        assert result.exit_code == 1
        assert "Resend refused the API key in RESEND_API_KEY (403 invalid_api_key: API key is invalid.)" in result.output
        assert "re_not_the_right_key" not in result.output and "Nothing was sent" in result.output
    assert ledger(in_workspace) == {} and resend_api.requests == 0


@pytest.mark.slow
def test_a_key_that_may_only_send_is_accepted(resend_api: ResendServer, in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    """Resend refuses GET /domains to a sending-only key (401 restricted_api_key): that proves the
    key exists and may send, which is all a send needs."""
    emails = add_subscribers(in_workspace, 3)
    monkeypatch.setenv("RESEND_API_KEY", SENDING_KEY)
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert sorted(resend_api.delivered) == emails


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["drop_after", "slow_after"])
def test_no_complete_answer_leaves_the_batch_unknown_and_it_is_not_resent(resend_api: ResendServer, in_workspace: Path, issue_path: Path, fault: str) -> None:
    add_subscribers(in_workspace, 20)
    resend_api.behaviour.forced = [fault]
    resend_api.behaviour.slow = 0.8  # past the 0.5 s timeout
    assert run("send", str(issue_path)).exit_code == 0
    assert ledger(in_workspace) == {State.UNKNOWN: 20}
    again = run("send", str(issue_path))
    assert "20 have an unknown outcome" in again.output
    assert set(resend_api.delivered.values()) == {1} and resend_api.requests == 1


@pytest.mark.slow
def test_a_refused_connection_is_retried_later_and_a_timeout_is_ambiguous(provider: ResendProvider, resend_api: ResendServer, workspace: Path) -> None:
    config = config_of(workspace)
    resend_api.behaviour.forced = ["slow_after"]
    resend_api.behaviour.slow = 0.8
    with pytest.raises(Ambiguous, match=r"no answer from Resend \(ReadTimeout"):
        provider.send(batch_of(config, 2), Reports())
    resend_api.__exit__()  # nothing listens any more: the request cannot have been taken
    with pytest.raises(RetryLater, match="cannot reach Resend at http://127.0.0.1"):
        provider.send(batch_of(config, 2), Reports())


@pytest.mark.slow
def test_calls_keep_to_the_configured_pace(workspace: Path, monkeypatch) -> None:
    """Resend allows 2 requests a second by default: paced a little under its limit (here 20 a
    second counted over a quarter of a second, to keep the test short), a send meets no 429."""
    with ResendServer(Behaviour(requests_per_second=20, rate_window=0.25)) as server:
        monkeypatch.setenv("RESEND_API_KEY", API_KEY)
        add_config(workspace, resend_settings(server, rate=16))
        with pytest.warns(NewsletterWarning, match="without TLS"):
            provider = ResendProvider(config_of(workspace))
        config = config_of(workspace)
        reports = Reports()
        for number in range(8):
            provider.send(Batch(Edition("7", EMAIL), f"s-{number}", batch_of(config, 8).letters[number : number + 1]), reports)
        provider.close()
    arrivals = [arrived for arrived, _ in server.times]
    assert [status for _, status in server.times] == [200] * 8
    # 8 calls at 16 a second span at least 7/16 s. Measured over the whole run, not call to call:
    # one request held up on a loaded machine arrives close to the next, though both left on time.
    assert arrivals[-1] - arrivals[0] >= 7 / 16 - 0.05


# --- scheduling: one request per reader, cancelled by id ----------------------------------------


def test_a_scheduled_batch_is_one_request_per_reader_and_a_refused_one_fails_alone(provider: ResendProvider, resend_api: ResendServer, workspace: Path) -> None:
    batch = batch_of(config_of(workspace), 3, Edition("7", EMAIL, send_at=TUESDAY_8, schedule_id=provider.new_schedule_id()))
    resend_api.behaviour.reject = {"reader00001@example.com"}
    reports = Reports()
    with time_machine.travel(MONDAY, tick=True):
        provider.send(batch, reports)
    assert reports["reader00001@example.com"].outcome == Outcome.REJECTED
    taken = {address: status.message_id for address, status in reports.items() if status.outcome == Outcome.ACCEPTED}
    assert {resend_api.scheduled[email_id].address for email_id in taken.values() if email_id} == {"reader00000@example.com", "reader00002@example.com"}
    assert [headers["Idempotency-Key"] for headers in resend_api.headers] == ["send-1-0", "send-1-2"]
    assert resend_api.delivered == {}  # held until its time


def test_no_answer_for_one_scheduled_reader_makes_it_unknown_and_leaves_the_rest(provider: ResendProvider, resend_api: ResendServer, workspace: Path) -> None:
    batch = batch_of(config_of(workspace), 3, Edition("7", EMAIL, send_at=TUESDAY_8, schedule_id="resend-x"))
    resend_api.behaviour.forced = [None, "drop_after"]  # type: ignore[list-item]
    reports = Reports()
    with time_machine.travel(MONDAY, tick=True), pytest.raises(RetryLater, match="the rest of the batch was not sent"):
        provider.send(batch, reports)
    assert [status.outcome for status in reports.values()] == [Outcome.ACCEPTED, Outcome.UNKNOWN]
    assert "reader00002@example.com" not in reports and len(resend_api.scheduled) == 2


def test_a_key_that_may_not_cancel_stops_at_the_first_refusal_and_says_none_were_cancelled(
    provider: ResendProvider, resend_api: ResendServer, workspace: Path, monkeypatch
) -> None:
    batch = batch_of(config_of(workspace), 3, Edition("7", EMAIL, send_at=TUESDAY_8, schedule_id="resend-x"))
    reports = Reports()
    with time_machine.travel(MONDAY, tick=True):
        provider.send(batch, reports)
    monkeypatch.setenv("RESEND_API_KEY", SENDING_KEY)
    with pytest.warns(NewsletterWarning):
        sending_only = ResendProvider(config_of(workspace))
    ids = [status.message_id or "" for status in reports.values()]
    with pytest.raises(ProviderRefused, match=r"Resend cancelled 0 of 3 scheduled emails; 3 were not cancelled .* 401 restricted_api_key"):
        sending_only.cancel("resend-x", ids)
    sending_only.close()
    assert [call for call in resend_api.calls if "/cancel" in call] == [f"POST /emails/{ids[0]}/cancel"]  # not once per email
    assert {email.state for email in resend_api.scheduled.values()} == {"scheduled"}


@pytest.mark.slow
def test_send_at_schedules_each_reader_at_resend_and_cancel_cancels_each(resend_api: ResendServer, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    with time_machine.travel(MONDAY, tick=False):
        result = run("send", str(issue_path), "--at", TUESDAY_8.isoformat())
        assert result.exit_code == 0, result.output
        assert "Scheduled: Resend delivers issue 7 at 2026-12-01T08:00:00+00:00" in result.output
        scheduled = rows(in_workspace)
        assert {state for state, _ in scheduled.values()} == {State.SCHEDULED}
        assert {message_id for _, message_id in scheduled.values()} == set(resend_api.scheduled)  # each row holds its email's id
        assert all(body["scheduled_at"] == "2026-12-01T08:00:00+00:00" for body in resend_api.bodies)

        cancelled = run("cancel", str(issue_path))
        assert cancelled.exit_code == 0, cancelled.output
        assert sorted(resend_api.cancels) == sorted(resend_api.scheduled)
        assert ledger(in_workspace) == {State.PENDING: 3}
    resend_api.deliver_due(TUESDAY_8 + dt.timedelta(minutes=1))
    assert resend_api.delivered == {}  # cancelled emails never go out


@pytest.mark.slow
def test_a_cancel_that_fails_part_way_says_how_many_and_running_it_again_finishes(resend_api: ResendServer, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    with time_machine.travel(MONDAY, tick=False):
        assert run("send", str(issue_path), "--at", TUESDAY_8.isoformat()).exit_code == 0
        resend_api.behaviour.rate_limit_reset = 0
        resend_api.behaviour.forced_cancel = ["429", "429", "429"]  # the first email, three times
        failed = run("cancel", str(issue_path))
        assert failed.exit_code == 1
        assert "Resend cancelled 2 of 3 scheduled emails; 1 were not cancelled and may still go out" in failed.output
        assert "429 rate_limit_exceeded" in failed.output
        assert ledger(in_workspace) == {State.SCHEDULED: 3}  # never claimed as cancelled
        again = run("cancel", str(issue_path))
        assert again.exit_code == 0, again.output
        assert ledger(in_workspace) == {State.PENDING: 3}
    assert {email.state for email in resend_api.scheduled.values()} == {"canceled"}


@pytest.mark.slow
def test_a_dry_run_checks_the_key_and_shows_the_first_batch_sending_nothing(resend_api: ResendServer, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    dry = run("send", str(issue_path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Resend: checked as the real send checks it (the API key is accepted and may send)" in dry.output
    assert "First request body (POST /emails/batch, 2 email(s), one per reader" in dry.output
    assert resend_api.requests == 0 and ledger(in_workspace) == {}


# --- exactly once, the sender killed ------------------------------------------------------------


@pytest.mark.slow
def test_killed_five_times_everyone_gets_it_once_except_reported_unknowns(resend_api: ResendServer, workspace: Path, issue_path: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "resend"', 'provider = "resend"\nbatch_size = 24').replace("timeout = 0.5", "timeout = 5"))
    emails = add_subscribers(workspace, 288)
    resend_api.behaviour.latency = 0.5  # requests fill the run, so a kill lands mid-request; 5 killed runs cannot finish the send
    env = dict(os.environ, RESEND_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET)
    found = kill_and_resume(workspace, issue_path, env, lambda: resend_api.delivered, kills=5, batch=24)
    assert sorted(found) == emails
    # Measured: 4 or 5 of the 5 kills land mid-request (96 to 120 readers unknown, each with at most one copy).


@pytest.mark.slow
def test_under_a_15_percent_fault_rate_nobody_gets_two_copies_and_nobody_is_lost(resend_api: ResendServer, in_workspace: Path, issue_path: Path, fast_retries) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('provider = "resend"', 'provider = "resend"\nbatch_size = 50\nretries = 10'))
    emails = add_subscribers(in_workspace, 800)
    resend_api.behaviour.fault_rate = 0.15
    resend_api.behaviour.rate_limit_reset = 0
    resend_api.behaviour.slow = 0.7
    resend_api.behaviour.reject = set(emails[::200])
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    states = ledger_states(in_workspace)
    assert sorted(states) == emails
    reconcile(states, resend_api.delivered)  # sent: one copy; unknown: at most one; failed: none
    assert {email for email, state in states.items() if state == State.FAILED} == set(emails[::200])
    assert any(status != 200 for _, status in resend_api.times)  # faults did happen
