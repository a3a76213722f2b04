"""The signup form and its neighbours under abuse: bots, floods, address probing, forged posts,
oversized bodies, hostile names, framing, spoofed client addresses and tokens in logs."""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.mail.links import Purpose, make_token
from newsletter.models import Status, Subscriber
from newsletter.workspace.credentials import signing_keys
from tests.helpers.web import Apps, Client, link_in, outbox

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
HOSTILE_NAMES = ['<script>alert(1)</script>', '<a href="https://evil.example">x</a>', "Eve\r\nBcc: x@evil.example"]


@pytest.fixture
def serve(workspace: Path) -> Iterator[Callable[..., Client]]:
    """serve(settings) starts the app for `workspace` with `settings` added; a client for it."""
    apps = Apps(workspace)
    yield apps.serve
    apps.stop()


def stored(workspace: Path, address: str) -> Subscriber | None:
    path = workspace / "subscribers.db"
    if not path.exists():
        return None
    with Database(path) as db:
        return db.subscribers.get(address)


def recipients(workspace: Path) -> list[str]:
    return [message["To"].addresses[0].addr_spec for message in outbox(workspace)]


def visible(body: str) -> str:
    """The page's text, without tags (what the reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


# --- the honeypot -------------------------------------------------------------------------------


def test_honeypot_gets_the_same_page_but_nothing_is_stored_or_sent(workspace: Path, client: Client) -> None:
    bot = client.subscribe("bot@example.com", "Bot", website="https://spam.example")
    human = Client(client.base).subscribe("human@example.com", "Human")
    assert bot.status == human.status == 200
    assert visible(bot.body).replace("bot@example.com", "ADDRESS") == visible(human.body).replace("human@example.com", "ADDRESS")
    assert "Check your inbox" in bot.body
    assert stored(workspace, "bot@example.com") is None
    assert recipients(workspace) == ["human@example.com"]


def test_honeypot_over_json_stores_nothing(workspace: Path, client: Client) -> None:
    answer = client.request("POST", "/subscribe", json.dumps({"email": "bot@example.com", "website": "x"}).encode(), JSON)
    assert answer.status == 202 and json.loads(answer.body) == {"status": "check your inbox"}
    assert stored(workspace, "bot@example.com") is None
    assert recipients(workspace) == []


# --- rate limits -------------------------------------------------------------------------------


def test_one_client_address_is_limited(workspace: Path, serve) -> None:
    client = serve('[web]\nsubscribe_rate = "2/minute"')
    assert client.subscribe("one@example.com").status == 200
    assert client.subscribe("two@example.com").status == 200
    third = client.subscribe("three@example.com")
    assert third.status == 429
    assert int(third.headers["Retry-After"]) > 0
    assert "Too many requests" in third.body
    assert stored(workspace, "three@example.com") is None
    assert recipients(workspace) == ["one@example.com", "two@example.com"]
    # JSON counts against the same limit.
    answer = Client(client.base).request("POST", "/subscribe", json.dumps({"email": "four@example.com"}).encode(), JSON)
    assert answer.status == 429 and answer.headers.get("Retry-After")


def test_one_inbox_gets_at_most_three_confirmations_an_hour(workspace: Path, client: Client) -> None:
    address = "target@example.com"
    for _ in range(3):
        assert Client(client.base).subscribe(address).status == 200
    fourth = Client(client.base).subscribe(address)
    assert fourth.status == 429
    assert int(fourth.headers["Retry-After"]) > 0
    # Spelled differently, it is still the same inbox.
    fifth = Client(client.base).request("POST", "/subscribe", json.dumps({"email": " TARGET@Example.COM "}).encode(), JSON)
    assert fifth.status == 429 and fifth.headers.get("Retry-After")
    assert recipients(workspace) == [address] * 3
    # Another inbox is not held back by it.
    assert client.subscribe("other@example.com").status == 200


# --- the form reveals nothing about who is on the list -------------------------------------------


@pytest.mark.slow
def test_the_same_answer_for_new_pending_active_and_unsubscribed_addresses(workspace: Path, client: Client) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("active@example.com", "Act", {}), Subscriber("gone@example.com", "Gone", {}, Status.UNSUBSCRIBED)])
        db.subscribers.sign_up("pending@example.com", None)
    addresses = ["new@example.com", "pending@example.com", "active@example.com", "gone@example.com"]

    pages = [Client(client.base).subscribe(address, "Someone") for address in addresses]
    assert {page.status for page in pages} == {200}
    assert len({page.body.replace(address, "ADDRESS") for page, address in zip(pages, addresses, strict=True)}) == 1
    assert {page.headers.get("Location") for page in pages} == {None}

    answers = [Client(client.base).request("POST", "/subscribe", json.dumps({"email": address}).encode(), JSON) for address in addresses]
    assert {(answer.status, answer.body) for answer in answers} == {(202, answers[0].body)}

    mailed = recipients(workspace)
    assert "active@example.com" not in mailed  # already on the list: nothing to confirm
    assert sorted(set(mailed)) == ["gone@example.com", "new@example.com", "pending@example.com"]
    # Nobody's standing changed, and the signup did not overwrite a name.
    assert stored(workspace, "active@example.com").status == Status.ACTIVE
    assert stored(workspace, "active@example.com").name == "Act"
    assert stored(workspace, "gone@example.com").status == Status.UNSUBSCRIBED


# --- CSRF -------------------------------------------------------------------------------------


def test_a_form_post_without_a_csrf_token_is_refused(workspace: Path, client: Client) -> None:
    client.get("/subscribe")  # a session cookie, as a victim's browser would have
    missing = client.post_form("/subscribe", {"email": "victim@example.com", "name": "V"})
    wrong = client.post_form("/subscribe", {"email": "victim@example.com", "csrf_token": "forged.token.value"})
    stranger = Client(client.base).post_form("/subscribe", {"email": "victim@example.com"})
    as_text = Client(client.base).request("POST", "/subscribe", json.dumps({"email": "victim@example.com"}).encode(), {"Content-Type": "text/plain"})
    for answer in (missing, wrong, stranger, as_text):
        assert answer.status == 400, answer.body
        assert "Please try again" in answer.body
    assert stored(workspace, "victim@example.com") is None
    assert recipients(workspace) == []


def test_a_json_post_needs_no_csrf_token(workspace: Path, client: Client) -> None:
    answer = client.request("POST", "/subscribe", json.dumps({"email": "api@example.com", "name": "Api"}).encode(), JSON)
    assert answer.status == 202
    assert json.loads(answer.body) == {"status": "check your inbox"}
    assert stored(workspace, "api@example.com").status == Status.PENDING
    assert recipients(workspace) == ["api@example.com"]


# --- oversized bodies --------------------------------------------------------------------------


def raw_post(base: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
    """POST `body`, tolerating a server that answers and hangs up before reading all of it."""
    parts = urllib.parse.urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        try:
            for start_at in range(0, len(body), 65536):
                sock.sendall(body[start_at : start_at + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders())


def test_a_100_kb_form_is_413(workspace: Path, client: Client) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/subscribe").body).group(1)  # type: ignore[union-attr]
    body = urllib.parse.urlencode({"csrf_token": token, "email": "big@example.com", "name": "x" * 100_000}).encode()
    answer = client.request("POST", "/subscribe", body, FORM)
    assert answer.status == 413
    assert "Request too large" in answer.body
    assert stored(workspace, "big@example.com") is None
    json_body = json.dumps({"email": "big@example.com", "name": "x" * 100_000}).encode()
    assert client.request("POST", "/subscribe", json_body, JSON).status == 413
    assert stored(workspace, "big@example.com") is None
    assert recipients(workspace) == []


def test_a_6_mb_webhook_body_is_413(web) -> None:
    status, _ = raw_post(web.url, "/webhooks/sendgrid", {"Content-Type": "application/json"}, b"[" + b" " * 6_000_000 + b"]")
    assert status == 413


# --- hostile names ------------------------------------------------------------------------------


def assert_no_markup(html: str) -> None:
    assert "<script>alert(1)" not in html
    assert 'href="https://evil.example"' not in html
    assert "\r\nBcc" not in html and "\nBcc" not in html


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.slow
def test_hostile_names_never_appear_unescaped(workspace: Path, client: Client, name: str) -> None:
    answer = client.subscribe("eve@example.com", name)
    assert answer.status == 200
    assert_no_markup(answer.body)

    [message] = outbox(workspace)
    headers = "\n".join(f"{key}: {value}" for key, value in message.items())
    assert "evil.example" not in headers and "<script" not in headers and "<a " not in headers
    assert message.get_all("Bcc") is None and message.get_all("Cc") is None
    assert [address.addr_spec for address in message["To"].addresses] == ["eve@example.com"]
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert_no_markup(html.get_content())

    # Every page the subscriber sees afterwards.
    confirm = link_in(message, r"https?://\S+/confirm/\S+")
    pages = [client.get(confirm), client.request("POST", confirm, b"", FORM)]
    subscriber = stored(workspace, "eve@example.com")
    assert subscriber is not None and subscriber.public_id
    keys = signing_keys("outbox").current
    preferences = "/preferences?token=" + make_token(subscriber.public_id, Purpose.PREFERENCES, keys)
    unsubscribe = "/unsubscribe?token=" + make_token(subscriber.public_id, Purpose.UNSUBSCRIBE, keys)
    pages += [client.get(preferences), client.get(unsubscribe), client.request("POST", unsubscribe, b"", FORM)]
    for page in pages:
        assert page.status == 200, page.body
        assert_no_markup(page.body)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_refused_form_shows_a_hostile_name_escaped(workspace: Path, client: Client, name: str) -> None:
    refused = client.subscribe("not an address", name)  # sent back with a bad address, the form shows the name again
    assert refused.status == 400
    assert "not look like an email address" in refused.body
    assert_no_markup(refused.body)


@pytest.mark.parametrize("trap", ["", "https://spam.example"], ids=["refused form", "honeypot page"])
@pytest.mark.parametrize("address", ['<script>alert(1)</script>', '"><a href="https://evil.example">x</a>'])
def test_hostile_addresses_are_not_reflected_unescaped(workspace: Path, client: Client, address: str, trap: str) -> None:
    answer = client.subscribe(address, "Eve", website=trap)  # both pages show the address that was typed
    assert answer.status == (200 if trap else 400)
    assert_no_markup(answer.body)
    assert recipients(workspace) == []


# --- security headers --------------------------------------------------------------------------


def test_every_page_forbids_framing_inline_script_and_referrers(workspace: Path, serve) -> None:
    client = serve('[web]\nsubscribe_rate = "1/minute"')
    public_id = None
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("reader@example.com", "R", {})])
        public_id = db.subscribers.get("reader@example.com").public_id
    token = make_token(public_id, Purpose.UNSUBSCRIBE, signing_keys("outbox").current)
    answers = {
        "form": client.get("/subscribe"),
        "check inbox": client.subscribe("new@example.com"),
        "too many": client.subscribe("again@example.com"),
        "bad form": Client(client.base).post_form("/subscribe", {"email": "x@example.com"}),
        "unsubscribe page": client.get(f"/unsubscribe?token={token}"),
        "not found": client.get("/unsubscribe?token=forged.token"),
        "no such page": client.get("/admin"),
    }
    assert answers["too many"].status == 429
    for what, answer in answers.items():
        policy = answer.headers.get("Content-Security-Policy", "")
        directives = {part.strip().split(" ")[0]: part.strip() for part in policy.split(";") if part.strip()}
        assert directives.get("frame-ancestors") == "frame-ancestors 'none'", what
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, what
        assert "script-src" in directives and "*" not in directives["script-src"], what
        assert answer.headers.get("Referrer-Policy") == "no-referrer", what
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", what


# --- X-Forwarded-For ---------------------------------------------------------------------------


def signups_with_forwarded_for(client: Client) -> list[int]:
    statuses = []
    for n in range(3):
        page = client.get("/subscribe")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.body).group(1)  # type: ignore[union-attr]
        body = urllib.parse.urlencode({"csrf_token": token, "email": f"reader{n}@example.com"}).encode()
        statuses.append(client.request("POST", "/subscribe", body, {**FORM, "X-Forwarded-For": f"203.0.113.{n + 1}"}).status)
    return statuses


def test_x_forwarded_for_from_an_untrusted_client_does_not_change_the_limit_key(serve) -> None:
    client = serve('[web]\nsubscribe_rate = "2/minute"')
    assert signups_with_forwarded_for(client) == [200, 200, 429]


def test_x_forwarded_for_from_a_trusted_proxy_is_the_client(serve) -> None:
    client = serve('[web]\nsubscribe_rate = "2/minute"\ntrusted_proxies = ["127.0.0.1"]')
    assert signups_with_forwarded_for(client) == [200, 200, 200]


# --- tokens never reach the logs ----------------------------------------------------------------


def test_tokens_never_appear_in_log_lines(workspace: Path, client: Client, capfd, caplog) -> None:
    caplog.set_level("INFO")
    assert client.subscribe("logged@example.com").status == 200
    [message] = outbox(workspace)
    confirm = link_in(message, r"https?://\S+/confirm/\S+")
    confirm_token = confirm.rsplit("/", 1)[1]
    assert client.get(confirm).status == 200
    assert client.request("POST", confirm, b"", FORM).status == 200
    subscriber = stored(workspace, "logged@example.com")
    assert subscriber is not None and subscriber.status == Status.ACTIVE and subscriber.public_id
    unsubscribe_token = make_token(subscriber.public_id, Purpose.UNSUBSCRIBE, signing_keys("outbox").current)
    assert client.get(f"/unsubscribe?token={unsubscribe_token}").status == 200
    assert client.request("POST", f"/unsubscribe?token={unsubscribe_token}", b"List-Unsubscribe=One-Click", FORM).status == 200
    assert client.get(f"/unsubscribe?token={unsubscribe_token}x").status == 404
    assert stored(workspace, "logged@example.com").status == Status.UNSUBSCRIBED

    captured = capfd.readouterr()
    logged = captured.out + captured.err + "\n".join(record.getMessage() for record in caplog.records)
    assert "/confirm/[token]" in logged
    assert "token=[token]" in logged
    for secret in (confirm_token, unsubscribe_token, subscriber.public_id):
        assert secret not in logged


def test_the_line_logged_for_a_crash_names_the_path_without_its_token(workspace: Path, caplog) -> None:
    from newsletter.web import create_app

    app = create_app(workspace)

    def crash(token: str) -> str:
        raise RuntimeError("a bug in a view")

    app.add_url_rule("/confirm/<token>/crash", view_func=crash)  # a view that fails, under a token-bearing path
    response = app.test_client().get("/confirm/Secret-Token-Q7/crash")
    assert response.status_code == 500
    [record] = [record for record in caplog.records if record.exc_info]
    assert record.getMessage() == "Exception on /confirm/[token] [GET]"
    assert all("Secret-Token-Q7" not in record.getMessage() for record in caplog.records)
