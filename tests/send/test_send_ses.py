"""Sending through Amazon SES (API v2) with boto3, against moto's SES on loopback behind the proxy
that adds what moto lacks (tests/helpers/ses_server.py): GetAccount, signatures, faults."""

from __future__ import annotations

import email as email_lib
import email.policy
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import State
from newsletter.providers.ses import answers
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume, reconcile
from tests.helpers.ses_server import CONFIGURATION_SET, REGION, SECRET_KEY, Behaviour, SesServer, bench_environment, start_moto
from tests.helpers.workspace import SECRET, add_config, add_subscribers

pytestmark = pytest.mark.slow  # each test starts moto's server (about 0.3 s) and sends through it


@pytest.fixture
def aws_keys(monkeypatch):
    """The test keys in the environment and nothing else of boto3's chain (no profile, no instance role)."""
    for name, value in bench_environment(None).items():  # type: ignore[arg-type]
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def moto_server():
    """One moto server for the module (stopping one takes half a second); each test resets it."""
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture
def ses(workspace: Path, aws_keys, fast_retries, moto_server, monkeypatch):
    """The local SES; the workspace sends through it with short timeouts and short throttling pauses."""
    monkeypatch.setattr(answers, "THROTTLE_PAUSE", 0.01)  # SES's second, in a hundredth
    with SesServer(Behaviour(), moto=moto_server) as server:
        add_config(workspace, ses_settings(server))
        yield server


def ses_settings(server: SesServer, timeout: float = 3.0, extra: str = "") -> str:
    return (
        f'[send]\nprovider = "ses"\n{extra}\n[ses]\nhost = "{server.url}"\nregion = "{REGION}"\n'
        f'configuration_set = "{CONFIGURATION_SET}"\ntimeout = {timeout}\n'
    )


def set_send(workspace: Path, extra: str) -> None:
    """Add settings to the [send] table (batch_size, retries...)."""
    path = workspace / "newsletter.toml"
    path.write_text(path.read_text().replace('provider = "ses"', f'provider = "ses"\n{extra}'))


def set_timeout(workspace: Path, seconds: float) -> None:
    path = workspace / "newsletter.toml"
    path.write_text(path.read_text().replace("timeout = 3.0", f"timeout = {seconds}"))


def ledger(workspace: Path) -> dict[State, int]:
    with Database(workspace / "subscribers.db") as db:
        return {state: count for state, count in db.ledger.counts("7").items() if count}


def parsed(raw: str) -> email_lib.message.EmailMessage:
    message = email_lib.message_from_string(raw, policy=email_lib.policy.default)
    assert isinstance(message, email_lib.message.EmailMessage)
    return message


def test_every_reader_gets_one_message_with_their_own_headers(ses, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 12)
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ses.delivered == Counter(dict.fromkeys(emails, 1))
    assert ledger(in_workspace) == {State.SENT: 12}

    messages = {parsed(m["raw_data"])["To"].addresses[0].addr_spec: parsed(m["raw_data"]) for m in ses.raw_messages()}
    assert sorted(messages) == emails
    links = set()
    for message in messages.values():
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith("<https://fixture.example.org/unsubscribe?token=") and unsubscribe.endswith(">")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Feedback-ID"] == "7:all:fixture-weekly:fixture.example.org"
        assert message["List-Id"] == "Fixture Weekly <fixture-weekly.fixture.example.org>"
        assert message["Message-ID"].endswith("@fixture.example.org>")
        text = message.get_body(("plain",)).get_content()
        assert unsubscribe[1:-1] in text  # the reader's own link in the body, the one in the header
        links.add(unsubscribe)
    assert len(links) == 12  # each reader's own link

    # Every call named the issue and the send in its tags (SES echoes them in each event) and the
    # configuration set whose SNS destination posts the events.
    with Database(in_workspace / "subscribers.db") as db:
        send_ids = {send_id for (send_id,) in db.connection.db.execute("SELECT DISTINCT send_id FROM deliveries WHERE issue = '7'")}
    assert {body["ConfigurationSetName"] for body in ses.bodies} == {CONFIGURATION_SET}
    tags = [{tag["Name"]: tag["Value"] for tag in body["EmailTags"]} for body in ses.bodies]
    assert {t["issue"] for t in tags} == {"7"} and {t["send_id"] for t in tags} == send_ids
    assert {body["FromEmailAddress"] for body in ses.bodies} == {"editor@fixture.example.org"}


def test_the_rate_getaccount_gives_is_kept(ses, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 12)
    ses.behaviour.max_send_rate = 10.0
    started = time.monotonic()
    result = run("send", str(issue_path))
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert sum(ses.delivered.values()) == 12
    arrivals = sorted(at for at, _ in ses.times)
    assert arrivals[-1] - arrivals[0] >= 11 / 10 * 0.95  # 12 starts, 1/10 s apart
    assert all(later - earlier >= 1.0 - 0.05 for earlier, later in zip(arrivals, arrivals[10:], strict=False))  # never 11 in a second
    assert elapsed < 11 / 10 + 3  # and not much slower than the rate either


def test_max_rate_is_used_where_getaccount_is_missing_as_in_moto(ses, in_workspace: Path, issue_path: Path) -> None:
    """moto answers GetAccount with a 404: [ses] max_rate then gives the rate, and a call moto does
    answer (ListEmailIdentities) proves the keys."""
    add_subscribers(in_workspace, 6)
    ses.behaviour.get_account = False
    refused = run("send", str(issue_path))
    assert refused.exit_code == 1 and "does not answer GetAccount; set [ses] max_rate" in refused.output
    assert ses.requests == 0 and ledger(in_workspace) == {}

    add_config(in_workspace, "max_rate = 10\n")  # appended to [ses], the last table
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    arrivals = sorted(at for at, _ in ses.times)
    assert len(arrivals) == 6 and arrivals[-1] - arrivals[0] >= 5 / 10 * 0.95


def test_a_throttled_letter_is_retried_and_delivered_once(ses, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 15)
    ses.behaviour.forced = [None, None, "429", None, "429"]  # type: ignore[list-item]
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ses.delivered == Counter(dict.fromkeys(emails, 1))
    assert ledger(in_workspace) == {State.SENT: 15}
    assert [status for _, status in ses.times].count(429) == 2 and ses.requests == 17


def test_the_daily_quota_stops_the_run_with_ses_words(ses, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 20)
    set_send(in_workspace, "batch_size = 10")
    ses.behaviour.max_send_rate = 1000  # no pacing to speak of: the batch is one burst
    ses.behaviour.forced = [None] * 3 + ["quota"]  # type: ignore[list-item]
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "daily sending quota is used up: Daily message quota exceeded." in result.output
    counts = ledger(in_workspace)
    assert counts[State.SENT] == sum(ses.delivered.values()) >= 3 and counts.get(State.UNKNOWN, 0) == 0
    assert counts[State.SENT] + counts[State.PENDING] == 20  # the others wait for the next run


def test_a_rejected_address_fails_with_ses_words_and_the_rest_go(ses, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 10)
    ses.behaviour.reject = {emails[4]}
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 9, State.FAILED: 1}
    assert emails[4] not in ses.delivered and len(ses.delivered) == 9
    status = run("status", str(issue_path))
    assert f"failed: {emails[4]}: Amazon SES: Email address is not verified. The following identities failed the check in region US-EAST-1: {emails[4]}" in status.output


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("AWS_SECRET_ACCESS_KEY", "not-the-right-secret-key-0123456789", "(SignatureDoesNotMatch): The request signature we calculated does not match"),
        ("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000", "(UnrecognizedClientException): The security token included in the request is invalid."),
    ],
)
def test_bad_keys_stop_the_run_and_change_nothing(ses, in_workspace: Path, issue_path: Path, monkeypatch, variable: str, value: str, words: str) -> None:
    add_subscribers(in_workspace, 3)
    monkeypatch.setenv(variable, value)
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert f"Amazon SES refused the AWS keys {words}" in result.output
    assert "Nothing was sent and nothing changed" in result.output
    assert value not in result.output and SECRET_KEY not in result.output
    assert ledger(in_workspace) == {} and ses.requests == 0


def test_missing_keys_are_a_clear_error(in_workspace: Path, issue_path: Path, aws_keys, monkeypatch) -> None:
    add_config(in_workspace, '[send]\nprovider = "ses"\n\n[ses]\nhost = "http://127.0.0.1:9"\nmax_rate = 1\n')
    add_subscribers(in_workspace, 1)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "Amazon SES needs AWS keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in result.output
    assert "Traceback" not in result.output


def test_a_paused_account_stops_the_run_before_anything_changes(ses, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 3)
    ses.behaviour.sending_enabled = False
    result = run("send", str(issue_path))
    assert result.exit_code == 1 and "sending is paused for this account" in result.output
    assert ledger(in_workspace) == {} and ses.requests == 0


def test_a_missing_configuration_set_stops_the_run_and_nobody_is_failed(ses, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 5)
    settings = in_workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace(f'"{CONFIGURATION_SET}"', '"no-such-set"'))
    result = run("send", str(issue_path))
    assert result.exit_code == 1
    assert "Amazon SES refuses to send (NotFoundException): Configuration set <no-such-set> does not exist." in result.output
    assert ledger(in_workspace) == {State.PENDING: 5} and ses.delivered == Counter()


def test_a_dropped_answer_leaves_that_letter_unknown_and_retry_unknown_settles_it(ses, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 8)
    ses.behaviour.max_send_rate = 1000
    ses.behaviour.forced = ["drop_after"]  # moto took the first letter; its answer never came
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert ledger(in_workspace) == {State.SENT: 7, State.UNKNOWN: 1}
    assert ses.delivered == Counter(dict.fromkeys(emails, 1))  # it did arrive: unknown, not lost

    again = run("send", str(issue_path))
    assert "Nothing new to send for issue 7, but not everyone has it: 1 have an unknown outcome" in again.output
    status = run("status", str(issue_path)).output
    assert "no answer from Amazon SES (ConnectionClosedError" in status and "may or may not have been delivered" in status

    settle = run("send", str(issue_path), "--retry-unknown")
    assert "1 recipient(s) with an unknown outcome will be sent again" in settle.output
    assert ledger(in_workspace) == {State.SENT: 8}
    assert sorted(ses.delivered.values()) == [1] * 7 + [2]  # the editor chose to risk a second copy


def test_a_slow_answer_is_unknown_and_a_refused_connection_is_retried(ses, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 6)
    set_timeout(in_workspace, 0.8)
    ses.behaviour.max_send_rate = 1000
    ses.behaviour.slow = 1.5  # past the timeout
    ses.behaviour.forced = ["slow_after", "503", "drop_before"]
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    counts = ledger(in_workspace)
    # slow_after: taken, answered too late (unknown); 503: answered in full (retried);
    # drop_before: the connection closed before moto saw it (unknown: the client cannot tell).
    assert counts[State.UNKNOWN] == 2 and counts[State.SENT] == 4
    assert ses.delivered == Counter({address: 1 for address in emails if address in ses.delivered})
    assert reconcile(ledger_rows(in_workspace), ses.delivered)


def test_a_server_that_refuses_connections_changes_nothing(in_workspace: Path, issue_path: Path, aws_keys, refused_port: int) -> None:
    add_config(in_workspace, f'[send]\nprovider = "ses"\n\n[ses]\nhost = "http://127.0.0.1:{refused_port}"\nmax_rate = 5\ntimeout = 1\n')
    add_subscribers(in_workspace, 2)
    result = run("send", str(issue_path))
    assert result.exit_code == 1 and "cannot reach Amazon SES" in result.output
    assert "run the same command again later" in result.output and ledger(in_workspace) == {}


def test_dry_run_shows_the_mime_headers_and_sends_nothing(ses, in_workspace: Path, issue_path: Path) -> None:
    emails = add_subscribers(in_workspace, 3)
    result = run("send", str(issue_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"First message ({emails[0]}), headers:" in result.output
    for header in ("List-Unsubscribe: <https://fixture.example.org/unsubscribe?token=", "List-Unsubscribe-Post: List-Unsubscribe=One-Click", "Feedback-ID: 7:all:"):
        assert header in result.output
    assert "the keys are accepted and the account may send (GetAccount)" in result.output
    assert ses.requests == 0 and ledger(in_workspace) == {} and ses.delivered == Counter()


def test_under_a_fault_rate_nobody_gets_two_copies_and_nobody_is_lost(ses, in_workspace: Path, issue_path: Path) -> None:
    set_send(in_workspace, "batch_size = 40\nretries = 20\nerror_budget = 1000")
    set_timeout(in_workspace, 0.5)
    emails = add_subscribers(in_workspace, 100)
    ses.behaviour.max_send_rate = 1000
    ses.behaviour.fault_rate = 0.08
    ses.behaviour.slow = 0.7
    ses.behaviour.reject = set(emails[::40])
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    rows = ledger_rows(in_workspace)
    assert sorted(rows) == emails
    reconcile(rows, ses.delivered)
    assert {address for address, state in rows.items() if state == State.FAILED} == set(emails[::40])
    assert ses.requests > 100  # faults really happened


def test_killed_and_resumed_nobody_gets_two_copies(ses, workspace: Path, issue_path: Path) -> None:
    # A call per reader: moto takes about 60 a second on a loaded 2-core machine, and a run starts
    # sending 1-1.5 s after it starts (imports, rendering, GetAccount), so each kill lands in its first batches.
    set_send(workspace, "batch_size = 15")
    emails = add_subscribers(workspace, 200)
    ses.behaviour.max_send_rate = 1000
    ses.behaviour.latency = 0.02  # so that kills land mid-request
    env = dict(os.environ, NEWSLETTER_SECRET=SECRET)
    # Each kill within 0.1 s of the run's first accepted letter: on a quiet machine moto takes 100
    # a second or more, and five runs killed 0.3 s in could send all 200 before the fifth kill.
    rows = kill_and_resume(workspace, issue_path, env, lambda: ses.delivered, kills=5, batch=15, pause=(0.0, 0.1))
    assert sorted(rows) == emails


def ledger_rows(workspace: Path) -> dict[str, State]:
    with Database(workspace / "subscribers.db") as db:
        return {d.email: d.state for d in db.ledger.deliveries("7", list(State))}


def test_a_test_copy_goes_through_ses_and_the_ledger_is_untouched(ses, in_workspace: Path, issue_path: Path) -> None:
    add_subscribers(in_workspace, 2)
    result = run("send", str(issue_path), "--test", "copy@example.org")
    assert result.exit_code == 0, result.output
    assert ses.delivered == Counter({"copy@example.org": 1})
    (stored,) = ses.raw_messages()
    assert parsed(stored["raw_data"])["Subject"].startswith(("[TEST] ", "[DRAFT] "))
    assert ledger(in_workspace) == {}
