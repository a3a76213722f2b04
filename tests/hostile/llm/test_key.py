"""Items 6 and 7: `story --llm` sends its key only over TLS (or to this machine, with a warning), and
no piece of any secret is shown when a provider's or a model's words are, wherever they are cut."""

from __future__ import annotations

import base64
import json
import re
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Subscriber
from tests.helpers.fake_model import FakeModel, reply
from tests.helpers.hostile import LLM_API_KEY, NEWSLETTER_SECRET, SECRETS, SMTP_PASSWORD, run
from tests.helpers.sendgrid_server import API_KEY
from tests.helpers.workspace import add_config

ARTICLE = "The harbour battery opened on 3 March 2026. It stores 40 megawatt-hours and cost 12 million euros.\n"
PIECE = 8  # characters: the longest piece of a secret that may show


def pieces_of(secret: str) -> list[str]:
    """The secret's pieces of PIECE characters, but those of lowercase letters and dashes alone: the
    suite's secrets hold words ("password") that the tool's own messages may use."""
    pieces = [secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)]
    return [piece for piece in pieces if not re.fullmatch(r"[a-z-]+", piece)]


def assert_no_piece_of_a_secret(output: str) -> None:
    for secret in SECRETS:
        shown = [piece for piece in pieces_of(secret) if piece in output]
        assert not shown, f"a piece of a secret reached the output: {shown[0]!r}"


# --- item 6: the key only over TLS ------------------------------------------------------------------


@pytest.fixture
def resolves_to_loopback(monkeypatch, model: FakeModel) -> str:
    """Make "model.example.net" resolve to the fake model on 127.0.0.1, so that a key sent there in
    clear would arrive where the test sees it (and nowhere else). Returns its http:// base URL."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real("127.0.0.1" if host == "model.example.net" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return model.url.replace("127.0.0.1", "model.example.net")


def test_the_key_never_goes_to_a_plain_http_host(with_model: Path, model: FakeModel, resolves_to_loopback: str, article) -> None:
    config = with_model / "newsletter.toml"
    config.write_text(config.read_text().replace(f'llm_base_url = "{model.url}"', f'llm_base_url = "{resolves_to_loopback}"'))
    result = run("story", "show", str(article(ARTICLE)), "--llm")
    assert result.exit_code == 1
    assert f"[story] llm_base_url = {resolves_to_loopback}: the API key would travel without TLS; use an https:// address" in result.output
    assert model.requests == []  # nothing was sent, the key least of all


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_model_on_this_machine_may_use_http_with_a_warning(host: str, with_model: Path, model: FakeModel, article) -> None:
    config = with_model / "newsletter.toml"
    config.write_text(config.read_text().replace("http://127.0.0.1:", f"http://{host}:"))
    result = run("story", "show", str(article(ARTICLE)), "--llm")
    assert result.exit_code == 0, result.output
    assert "warning: [story] llm_base_url = http://" in result.output and "without TLS" in result.output
    assert len(model.requests) == 1


# --- item 7: masked before cut ------------------------------------------------------------------------


def key_at_the_cut(request: BaseHTTPRequestHandler, fake: FakeModel) -> None:
    """A 401 whose message puts the key across the 300th character, where the message is cut."""
    message = "Incorrect API key provided: " + "x" * (290 - len("Incorrect API key provided: ")) + LLM_API_KEY
    reply(request, 401, json.dumps({"error": {"message": message}}).encode())


def plain_key_at_the_cut(request: BaseHTTPRequestHandler, fake: FakeModel) -> None:
    reply(request, 400, ("Bad request from " + "y" * 265 + " " + LLM_API_KEY).encode(), "text/plain")


@pytest.mark.parametrize("answer", [key_at_the_cut, plain_key_at_the_cut])
def test_no_piece_of_the_key_shows_when_the_providers_message_is_cut(answer, with_model: Path, model: FakeModel, article) -> None:
    model.answer = answer
    result = run("story", "show", str(article(ARTICLE)), "--llm")
    assert result.exit_code == 1 and "refused the request" in result.output
    assert_no_piece_of_a_secret(result.output)


def test_verbose_and_the_summary_never_show_a_secret_the_model_echoes(with_model: Path, model: FakeModel, article, issue_path: Path) -> None:
    model.summary = f"The battery stores 40 megawatt-hours. Your key is {LLM_API_KEY} and the secret {NEWSLETTER_SECRET[:12]}."
    result = run("story", "add", str(issue_path), str(article(ARTICLE)), "--llm", "--verbose")
    assert result.exit_code == 0, result.output
    assert "--- answer from test-model ---" in result.output
    assert_no_piece_of_a_secret(result.output)
    assert_no_piece_of_a_secret(issue_path.read_text())


@pytest.mark.parametrize(
    "secret", [NEWSLETTER_SECRET, API_KEY, SMTP_PASSWORD, LLM_API_KEY], ids=["newsletter-secret", "sendgrid", "smtp", "llm"]
)
def test_every_secret_and_every_piece_of_one_is_masked(secret: str, monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("OPENAI_API_KEY", LLM_API_KEY)
    from newsletter.workspace.credentials import llm_api_key, mask_secrets

    llm_api_key("OPENAI_API_KEY")  # the LLM key is a secret the tool knows once it has read it
    text = f"whole: {secret}; head: {secret[:9]}; middle: {secret[5:14]}; tail: {secret[-8:]}; short: {secret[:7]}."
    masked = mask_secrets(text)
    assert_no_piece_of_a_secret(masked)
    assert masked.startswith("whole: ***; head: ***; middle: ***; tail: ***;")
    assert f"short: {secret[:7]}." in masked  # under 8 characters: too little to be worth hiding


# --- SendGrid cuts its words at the same place ---------------------------------------------------


class EchoingSendGrid:
    """A SendGrid stand-in that takes the key, then refuses every send with the key at the 300th
    character of a plain body."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the key's scopes, checked first: it may send
                reply(self, 200, json.dumps({"scopes": ["mail.send"]}).encode())

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply(self, 400, ("Malformed request near " + "z" * 260 + " " + API_KEY + " end").encode(), "text/plain")

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.mark.slow
def test_sendgrids_words_are_masked_before_they_are_cut(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("a@example.com")])
    server = EchoingSendGrid()
    try:
        monkeypatch.setenv("SENDGRID_API_HOST", server.url)
        result = run("send", str(issue_path), "--provider", "sendgrid")
    finally:
        server.close()
    assert result.exit_code == 1 and "Malformed request" in result.output
    assert_no_piece_of_a_secret(result.output)


# --- and an SMTP server's words ---------------------------------------------------------------------


class EchoingSmtp(socketserver.StreamRequestHandler):
    """Offers AUTH PLAIN, then refuses the login with the password it was given in its message."""

    def handle(self) -> None:
        self.wfile.write(b"220 mail.test ESMTP\r\n")
        for line in self.rfile:
            command = line.decode().strip()
            if command.upper().startswith(("EHLO", "HELO")):
                self.wfile.write(b"250-mail.test\r\n250 AUTH PLAIN\r\n")
            elif command.upper().startswith("AUTH PLAIN"):
                password = base64.b64decode(command.split()[2]).split(b"\0")[2]
                self.wfile.write(b"535 5.7.8 bad login: " + password + b"\r\n")
            elif command.upper() == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not here\r\n")


@pytest.mark.slow
def test_an_smtp_servers_words_are_masked(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("a@example.com")])
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), EchoingSmtp)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
        port = server.server_address[1]
        add_config(in_workspace, f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nusername = "mara"\n')
        result = run("send", str(issue_path), "--provider", "smtp")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1 and "refused the login of mara: 535 5.7.8 bad login: ***" in result.output
    assert_no_piece_of_a_secret(result.output)
