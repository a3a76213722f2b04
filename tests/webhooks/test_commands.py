"""`newsletter webhooks deliver` and `webhooks log` as an editor runs them (both databases), their
settings' mistakes, and `deliver` killed with SIGKILL mid-delivery and run again: no event lost,
none under two ids."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from newsletter.webhooks_out.delivery import LEASE, Deliverer, receivers
from newsletter.workspace.config import load_workspace
from tests.helpers.both_databases import BOTH, database, database_env
from tests.helpers.cli import run
from tests.helpers.exactly_once import kill_and_resume
from tests.helpers.webhook_receiver import SECRET, Receiver
from tests.helpers.workspace import add_config

from .conftest import Clock


@pytest.fixture(params=BOTH)
def env(request) -> dict[str, str]:
    return {**database_env(request), "HOOK_SECRET": SECRET}


def configure(workspace: Path, url: str, events: str = '["*"]') -> Path:
    return add_config(workspace, f'[[webhooks]]\nurl = "{url}"\nevents = {events}\nsecret_env = "HOOK_SECRET"\nname = "crm"\n')


def sign_ups(workspace: Path, env: dict[str, str], count: int) -> list[str]:
    with database(workspace, env) as db:
        for n in range(count):
            db.subscribers.sign_up(f"reader{n}@example.com", None)
        return [event.event_id for event in reversed(db.event_outbox.recent(count))]


@pytest.mark.slow
def test_deliver_once_sends_the_new_events_and_log_shows_each_attempt(workspace: Path, env: dict[str, str]) -> None:
    with Receiver() as receiver:
        configure(workspace, receiver.url)
        ids = sign_ups(workspace, env, 2)
        receiver.answers = ["503"]
        first = run("webhooks", "deliver", "--once", cwd=workspace, env=env, ok=True)
        assert "plain http: allowed because it is on this machine" in first.output  # the warning
        assert "Webhooks: 1 delivered, 1 retrying, 0 given up (2 new deliveries from the events)." in first.output
        assert f"retrying: subscriber.created {ids[0]} to crm (attempt 1, HTTP 503: Internal trouble 503" in first.output
        assert receiver.ids() == [ids[1]]
        shown = run("webhooks", "log", cwd=workspace, env=env, ok=True).output
        assert f"{ids[0]}  crm  #1  retrying" in shown and "HTTP 503  Internal trouble 503: the database is down second line" in shown
        assert f"{ids[1]}  crm  #1  delivered  HTTP 200" in shown
        as_json = json.loads(run("webhooks", "log", "--json", "--limit", "1", cwd=workspace, env=env, ok=True).output)
        assert len(as_json) == 1 and as_json[0]["outcome"] in ("delivered", "retrying")


def test_deliver_once_exits_1_when_a_delivery_is_given_up_so_cron_mails_the_editor(workspace: Path) -> None:
    env = {"HOOK_SECRET": SECRET}
    with Receiver() as receiver:
        configure(workspace, receiver.url)
        [gone] = sign_ups(workspace, env, 1)
        receiver.answers = ["410"]  # the receiver is no more: given up at once
        result = run("webhooks", "deliver", "--once", cwd=workspace, env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "0 delivered, 0 retrying, 1 given up" in result.output and gone in result.output


def test_without_webhooks_deliver_says_so_and_log_has_nothing(workspace: Path) -> None:
    assert "No [[webhooks]] in newsletter.toml" in run("webhooks", "deliver", "--once", cwd=workspace, ok=True).output
    assert "No delivery attempt yet." in run("webhooks", "log", cwd=workspace, ok=True).output


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "the environment variable HOOK_SECRET is not set"),
        ("not-a-whsec-secret-but-long-enough", "HOOK_SECRET does not hold a Standard Webhooks secret"),
        ("whsec_c2hvcnQ=", "HOOK_SECRET does not hold a Standard Webhooks secret"),
    ],
)
def test_a_missing_or_invalid_secret_names_its_variable_never_its_value(workspace: Path, value: str | None, says: str) -> None:
    configure(workspace, "https://hooks.example.com/in")
    result = run("webhooks", "deliver", "--once", cwd=workspace, env={"HOOK_SECRET": value})
    assert result.exit_code == 1
    assert says in result.output and "[[webhooks]] crm: secret_env" in result.output
    if value:
        assert value not in result.output and value.removeprefix("whsec_") not in result.output


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ('url = "http://hooks.example.com/in"\nevents = ["*"]\nsecret_env = "S"', "url", "webhooks.0.url: expected an https:// address"),
        ('url = "https://h.example.com"\nevents = ["subscriber.joined"]\nsecret_env = "S"', "events", "webhooks.0.events.0: 'subscriber.joined' is not an event"),
        ('url = "https://h.example.com"\nevents = ["*"]\nsecret_env = "whsec_cGFzdGVkIGhlcmUgYnkgbWlzdGFrZQ=="', "secret_env",
         "webhooks.0.secret_env: expected the NAME of an environment variable"),
        ('url = "https://h.example.com"\nevents = []\nsecret_env = "S"', "events", "webhooks.0.events: List should have at least 1 item"),
        ('url = "https://h.example.com"\nevents = ["*"]\nsecret = "S"', "secret", "webhooks.0.secret: is not a known setting; did you mean `secret_env`?"),
    ],
)
def test_a_mistake_in_webhooks_is_named_with_its_line_and_field(workspace: Path, table: str, key: str, says: str) -> None:
    add_config(workspace, '[[webhooks]]\nurl = "https://fine.example.com"\nevents = ["*"]\nsecret_env = "S"\nname = "first"\n')
    path = add_config(workspace, "[[webhooks]]\n" + table + "\n")
    lines = path.read_text().splitlines()
    line = max(number for number, text in enumerate(lines, start=1) if text.startswith(f"{key} ="))  # in the second [[webhooks]]
    result = run("webhooks", "deliver", "--once", cwd=workspace)
    assert result.exit_code == 1
    assert f"newsletter.toml:{line}: {says.replace('.0.', '.1.', 1)}" in result.output
    assert "whsec_cGFz" not in result.output  # a secret pasted in the wrong place is not repeated


def test_two_receivers_on_one_host_need_names(workspace: Path) -> None:
    two = ('[[webhooks]]\nurl = "https://h.example.com/a"\nevents = ["*"]\nsecret_env = "A"\n\n'
           '[[webhooks]]\nurl = "https://h.example.com/b"\nevents = ["*"]\nsecret_env = "B"\n')
    add_config(workspace, two)
    result = run("webhooks", "log", cwd=workspace)
    assert result.exit_code == 1 and "two webhooks are called 'h.example.com'; give each a `name`" in result.output


@pytest.mark.slow
def test_deliver_killed_mid_delivery_and_run_again_loses_nothing_and_never_changes_an_id(workspace: Path, env: dict[str, str]) -> None:
    with Receiver() as receiver:
        receiver.delay = 0.01  # 300 deliveries take 3 s or more: time for the kills to land mid-run
        configure(workspace, receiver.url)
        ids = sign_ups(workspace, env, 300)
        environment = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

        def delivered() -> Counter[str]:
            return Counter(receiver.ids())

        kill_and_resume(
            workspace, workspace, environment, delivered, kills=3, batch=16, settle=False,
            command=["webhooks", "deliver", "--once"], pause=(0.0, 0.05),
        )
        # The rows the killed runs had claimed are sent again once their lease passes
        clock = Clock()
        clock.advance(seconds=LEASE.total_seconds() + 1)
        with database(workspace, env) as db:
            deliverer = Deliverer(receivers(load_workspace(workspace).config.webhooks), clock)
            deliverer.run_pass(db)
            deliverer.close()
            assert db.webhook_deliveries.waiting() == {}
            bodies = {event_id: db.event_outbox.get(event_id) for event_id in ids}
        copies = delivered()
        assert set(copies) == set(ids)  # none lost, none under an id that is not its event's
        assert sum(copies.values()) - len(ids) <= 3 * 16  # repeats only of what was in flight at a kill
        for message_id, body in receiver.accepted:  # each id always carried its own event
            event = bodies[message_id]
            assert event is not None and body["data"] == event.data
        assert receiver.forged == 0



@pytest.mark.slow
def test_deliver_without_once_keeps_delivering_until_stopped(workspace: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    with Receiver() as receiver:
        configure(workspace, receiver.url)
        environment = {**os.environ, "HOOK_SECRET": SECRET, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        command = [sys.executable, "-m", "newsletter", "webhooks", "deliver"]
        process = subprocess.Popen(command, cwd=workspace, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.0)  # running, with nothing to deliver yet
            [event_id] = sign_ups(workspace, {}, 1)
            deadline = time.monotonic() + 20
            while not receiver.accepted and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert receiver.ids() == [event_id]
        assert "Webhooks: 1 delivered, 0 retrying, 0 given up (1 new deliveries from the events)." in out
