"""Receivers that misbehave: one that never answers or trickles its answer a byte at a time, one
that answers with 100 MB, one that redirects elsewhere, one that repeats back what it was sent and
the secret. The sender stays on time, reads little, follows nowhere, and no secret reaches the
log, the output or the database file."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.webhooks_out.client import ANSWER_CAP, Client
from newsletter.webhooks_out.delivery import Deliverer, receivers
from newsletter.workspace.config import WebhookSettings
from tests.helpers.hostile import run
from tests.helpers.webhook_receiver import SECRET, Receiver
from tests.helpers.workspace import add_config


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)


def deliverer(url: str, total_seconds: float = 10.0) -> Deliverer:
    hook = WebhookSettings(url=url, events=["*"], secret_env="HOOK_SECRET", name="hostile")
    return Deliverer(receivers([hook]), client=Client(connect_seconds=1.0, total_seconds=total_seconds))


def one_event(path: Path) -> Database:
    db = Database(path)
    db.subscribers.sign_up("ada@example.com", "Ada")
    return db


@pytest.fixture
def trickler() -> Iterator[int]:
    """A server that reads the request and answers one byte of a status line every 0.2 s, forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.recv(65536)
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                    if stop.is_set():
                        break
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
            except OSError:
                pass
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


@pytest.mark.slow
def test_a_receiver_that_never_answers_is_given_up_on_at_the_deadline(tmp_path: Path) -> None:
    with Receiver() as receiver, one_event(tmp_path / "s.db") as db:
        receiver.answers = ["hang"]
        started = time.monotonic()
        done = deliverer(receiver.url, total_seconds=1.0).run_pass(db)
        assert time.monotonic() - started < 3
        assert done.counts == {"retrying": 1}
        assert done.attempts[0].answer.error == "no complete answer within 1 s"


@pytest.mark.slow
def test_a_receiver_trickling_its_answer_cannot_hold_the_sender(tmp_path: Path, trickler: int) -> None:
    with one_event(tmp_path / "s.db") as db:
        started = time.monotonic()
        done = deliverer(f"http://127.0.0.1:{trickler}/in", total_seconds=1.0).run_pass(db)
        assert time.monotonic() - started < 3
        assert done.attempts[0].outcome == "retrying" and done.attempts[0].answer.error == "no complete answer within 1 s"


@pytest.mark.slow
def test_an_answer_of_100_mb_is_read_no_further_than_the_cap(tmp_path: Path) -> None:
    with Receiver() as receiver, one_event(tmp_path / "s.db") as db:
        receiver.answers = ["huge"]
        started = time.monotonic()
        done = deliverer(receiver.url).run_pass(db)
        assert time.monotonic() - started < 3
        assert done.counts == {"delivered": 1}
        words = db.webhook_deliveries.log(1)[0].answer or ""
        assert len(words) <= 200 < ANSWER_CAP and set(words) <= {"x", "…"}


def test_a_redirect_is_not_followed(tmp_path: Path) -> None:
    with Receiver() as receiver, one_event(tmp_path / "s.db") as db:
        receiver.answers = ["redirect"]
        done = deliverer(receiver.url).run_pass(db)
        assert done.counts == {"retrying": 1} and receiver.requests == 1
        assert done.attempts[0].answer.status == 307
        assert "redirected to http://127.0.0.1:9/elsewhere (webhooks are not redirected" in done.attempts[0].answer.words


def test_no_secret_in_the_log_the_output_or_the_database(workspace: Path, caplog) -> None:
    caplog.set_level("DEBUG")
    with Receiver() as receiver:
        receiver.answers = ["echo"]
        receiver.echo = f"my config: HOOK_SECRET={SECRET}"
        add_config(workspace, f'[[webhooks]]\nurl = "{receiver.url}"\nevents = ["*"]\nsecret_env = "HOOK_SECRET"\n')
        with Database(workspace / "subscribers.db") as db:
            db.subscribers.sign_up("ada@example.com", "Ada")
        secrets = (SECRET, SECRET.removeprefix("whsec_"))
        delivered = run("webhooks", "deliver", "--once", cwd=workspace, never_shows=secrets)
        assert "retrying" in delivered.output and "***" in delivered.output
        for command in (["webhooks", "log"], ["webhooks", "log", "--json"]):
            shown = run(*command, cwd=workspace, never_shows=secrets).output
            assert "my config: HOOK_SECRET=***" in shown.replace("\\n", " ")
        stored = b"".join(path.read_bytes() for path in workspace.glob("subscribers.db*"))
        assert not any(secret.encode() in stored for secret in secrets)
        assert not any(secret in caplog.text for secret in secrets)
