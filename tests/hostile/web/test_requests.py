"""Odd requests a stranger can send the web app: deep JSON, odd digits in a signed header, a
chunked body past the cap, a Host header of their choosing, a forged test-copy link, no secret
at all. Each gets a sentence or a 4xx, never a 500, and changes nothing."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from newsletter.db import Database
from newsletter.errors import ConfigError
from newsletter.mail.links import TEST_COPY_ID, Purpose, make_dated_token, make_token
from newsletter.models import Status, Subscriber
from newsletter.web import create_app
from tests.helpers.hostile import NEWSLETTER_SECRET, run
from tests.helpers.web import Client

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def stored(workspace: Path, address: str) -> Subscriber | None:
    with Database(workspace / "subscribers.db") as db:
        return db.subscribers.get(address)


def test_json_nested_deeper_than_the_parser_goes_is_a_400_not_a_500(client: Client, workspace: Path) -> None:
    body = b"[" * 30_000 + b"]" * 30_000  # 60 KB: under the form cap, past Python's recursion limit
    assert len(body) < 64_000
    answer = client.request("POST", "/subscribe", body, JSON)
    assert answer.status == 400, answer.body
    nested = b'{"email": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b"}"
    assert client.request("POST", "/subscribe", nested, JSON).status == 400


def test_a_webhook_timestamp_of_unicode_digits_is_403(client: Client, monkeypatch) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(der).decode("ascii"))
    body = json.dumps([{"sg_event_id": "e1", "event": "delivered", "email": "a@example.com"}]).encode()
    # Werkzeug reads header bytes as Latin-1, where "²" and "³" are digits to str.isdigit().
    for stamp in ("²", "1²³", "1e9", " 1700000000", "-1"):
        signature = base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode("ascii")
        headers = {**JSON, "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": stamp.encode("latin-1")}
        answer = client.request("POST", "/webhooks/sendgrid", body, headers)  # type: ignore[arg-type]
        assert answer.status == 403, (stamp, answer.status, answer.body)


def chunked_post(base: str, path: str, chunks: list[bytes], content_type: str) -> int:
    parts = urllib.parse.urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTransfer-Encoding: chunked\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status


def test_a_chunked_body_is_capped_at_what_is_read(client: Client, workspace: Path) -> None:
    name = "x" * 200_000
    body = json.dumps({"email": "chunked@example.com", "name": name}).encode()
    chunks = [body[at : at + 8192] for at in range(0, len(body), 8192)]
    assert chunked_post(client.base, "/subscribe", chunks, "application/json") == 413
    assert not (workspace / "subscribers.db").exists() or stored(workspace, "chunked@example.com") is None
    small = json.dumps({"email": "small@example.com"}).encode()
    assert chunked_post(client.base, "/subscribe", [small], "application/json") == 202  # a small chunked body still works


@pytest.mark.parametrize("path", ["/confirm//x", "//evil.example/", "/subscribe/", "/confirm//evil.example/x", "/unsubscribe/"])
def test_no_answer_redirects_to_a_host_the_request_named(client: Client, path: str) -> None:
    answer = client.request("GET", path, headers={"Host": "evil.example"})
    location = answer.headers.get("Location") or ""
    assert answer.status < 500
    assert "evil.example" not in location, (path, answer.status, location)
    if location:
        parts = urllib.parse.urlsplit(location)
        assert parts.netloc in ("", "fixture.example.org"), location


def test_a_subscriber_imported_with_the_test_copy_id_is_unsubscribed_for_real(client: Client, workspace: Path) -> None:
    """An id the tool reserves for test copies, held by a real row (a database from before ids
    were reserved): the one-click unsubscribes that row, and the page says so only then."""
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("taken@example.com", None, {}, Status.ACTIVE)])
        db.connection.db.execute("UPDATE subscribers SET public_id = ? WHERE email = ?", (TEST_COPY_ID, "taken@example.com"))
    token = make_token(TEST_COPY_ID, Purpose.UNSUBSCRIBE, NEWSLETTER_SECRET.encode())
    answer = client.request("POST", f"/unsubscribe?token={token}", b"List-Unsubscribe=One-Click", FORM)
    assert answer.status == 200 and "You are unsubscribed" in answer.body
    assert stored(workspace, "taken@example.com").status == Status.UNSUBSCRIBED


def test_a_test_copys_link_says_it_was_a_test_not_that_someone_left(client: Client, workspace: Path) -> None:
    token = make_token(TEST_COPY_ID, Purpose.UNSUBSCRIBE, NEWSLETTER_SECRET.encode())
    answer = client.request("POST", f"/unsubscribe?token={token}", b"List-Unsubscribe=One-Click", FORM)
    assert answer.status == 200
    assert "You are unsubscribed" not in answer.body and "test copy" in answer.body


def test_a_confirmation_link_does_not_reactivate_someone_whose_change_time_is_unknown(client: Client, workspace: Path) -> None:
    """After export / remove / import, a row's last change may be unknown: an old link must not
    bring back someone who left."""
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("left@example.com", None, {}, Status.UNSUBSCRIBED)])
        db.connection.db.execute("UPDATE subscribers SET status_changed_at = NULL WHERE email = ?", ("left@example.com",))
        public_id = db.subscribers.get("left@example.com").public_id
    old_link = make_dated_token(public_id, Purpose.CONFIRM, NEWSLETTER_SECRET.encode(), int(time.time()) - 3600)
    answer = client.request("POST", f"/confirm/{old_link}", b"", FORM)
    assert answer.status == 200 and "out of date" in answer.body
    assert stored(workspace, "left@example.com").status == Status.UNSUBSCRIBED


def test_the_web_app_refuses_to_start_on_the_development_secret(workspace: Path, monkeypatch) -> None:
    monkeypatch.delenv("NEWSLETTER_SECRET")
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET is not set.*serve --dev"):
        create_app(workspace)
    monkeypatch.chdir(workspace)
    refused = run("serve", "--port", "0")
    assert refused.exit_code != 0 and "serve --dev" in refused.output


@pytest.mark.slow
def test_serve_dev_says_it_uses_the_development_secret_on_every_start(workspace: Path, monkeypatch) -> None:
    monkeypatch.delenv("NEWSLETTER_SECRET")
    app = create_app(workspace, dev=True)
    assert app.extensions["newsletter"].keys.development
    env = {key: value for key, value in os.environ.items() if key != "NEWSLETTER_SECRET"}
    command = [sys.executable, "-m", "newsletter", "serve", "--dev", "--port", "0"]
    process = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and "development secret" not in line:
            line = process.stderr.readline()
        assert "development secret" in line and "forge" in line
    finally:
        process.terminate()
        process.wait(timeout=10)
