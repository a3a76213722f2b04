"""POST /webhooks/generic: events from any other service in one documented shape, signed by the
Standard Webhooks scheme. Signed posts move the subscribers their events name; forged, stale,
replayed, oversized and malformed posts change nothing and never get a 500. The README's relay
example is run as written."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
import time
import urllib.error
import uuid
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from newsletter.db import Database
from newsletter.models import Status, Subscriber

pytestmark = pytest.mark.slow  # each test starts the web app

PATH = "/webhooks/generic"
SECRET = "whsec_" + base64.b64encode(b"generic-endpoint-test-key-32-byt").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"some-other-service-key-32-bytes!").decode()
README = Path(__file__).resolve().parents[3] / "README.md"
_ids = itertools.count(1)


class Hook:
    """Signs and posts bodies to the app's /webhooks/generic, as a relay would."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client

    def headers(self, body: bytes, secret: str = SECRET, at: float | None = None, message_id: str | None = None) -> dict[str, str]:
        message_id = message_id or f"msg_{uuid.uuid4().hex}"
        when = dt.datetime.fromtimestamp(time.time() if at is None else at, dt.UTC)
        signature = Webhook(secret).sign(message_id, when, body)
        return {"Content-Type": "application/json", "webhook-id": message_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature}

    def post_raw(self, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        return self.client.request("POST", PATH, body, headers)

    def post(self, document: Any, **signing: Any):  # type: ignore[no-untyped-def]
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return self.post_raw(body, self.headers(body, **signing))


@pytest.fixture
def hook(serve, monkeypatch) -> Hook:
    monkeypatch.setenv("NEWSLETTER_WEBHOOK_SECRET", SECRET)  # before the app starts
    return Hook(serve())


@pytest.fixture(autouse=True)
def secret_never_logged(caplog):
    yield
    assert SECRET not in caplog.text and SECRET.removeprefix("whsec_") not in caplog.text


def event(kind: str, email: Any = "ada@example.com", **extra: Any) -> dict[str, Any]:
    found = {"id": f"ev-{next(_ids)}", "type": kind, "email": email, "occurred_at": iso(time.time() - 10), "issue": "7", "send_id": "s-1"}
    return {**found, **extra}


def iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat().replace("+00:00", "Z")


def seed(workspace: Path, *emails: str, soft_bounces: int = 0) -> None:
    """Active subscribers whose status last changed an hour ago."""
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(email) for email in emails])
        an_hour_ago = dt.datetime.fromtimestamp(time.time() - 3600, dt.UTC).isoformat(timespec="seconds")
        db.subscribers.db.executemany(
            "UPDATE subscribers SET status_changed_at = ?, soft_bounces = ? WHERE email = ?", [(an_hour_ago, soft_bounces, email) for email in emails]
        )


def subscriber(workspace: Path, email: str) -> tuple[Status, int]:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        assert found is not None
        (soft,) = db.subscribers.db.execute("SELECT soft_bounces FROM subscribers WHERE email = ?", (email,)).fetchone()
        return found.status, soft


def stored(workspace: Path) -> list[tuple[str, str, str | None, str | None, str | None, str | None]]:
    """(event_id, event, email, detail, issue, send_id) of every stored generic event."""
    with Database(workspace / "subscribers.db") as db:
        return list(db.events.db.execute("SELECT event_id, event, email, detail, issue, send_id FROM events WHERE provider = 'generic' ORDER BY event_id"))


# --- signed posts move subscribers -------------------------------------------------------------


# type, extra fields, (status, soft bounces) after it (each subscriber starts with one), the stored word, its detail
EVERY_TYPE = [
    ("bounced", {"bounce": "hard", "reason": "550 5.1.1 no such user"}, (Status.BOUNCED, 1), "bounce", "hard: 550 5.1.1 no such user"),
    ("bounced", {"bounce": "soft", "reason": "452 mailbox full"}, (Status.ACTIVE, 2), "bounce", "soft: 452 mailbox full"),
    ("complained", {}, (Status.COMPLAINED, 1), "spamreport", None),
    ("unsubscribed", {}, (Status.UNSUBSCRIBED, 1), "unsubscribe", None),
    ("delivered", {}, (Status.ACTIVE, 0), "delivered", None),  # ends the run of soft bounces
    ("deferred", {"reason": "421 try later"}, (Status.ACTIVE, 1), "deferred", "421 try later"),
    ("dropped", {"reason": "suppressed"}, (Status.ACTIVE, 1), "dropped", "suppressed"),
    ("opened", {"machine": True}, (Status.ACTIVE, 1), "open", "machine"),
    ("opened", {}, (Status.ACTIVE, 1), "open", None),
    ("clicked", {"url": "https://example.org/story"}, (Status.ACTIVE, 1), "click", "https://example.org/story"),
]


def test_a_signed_batch_moves_each_subscriber_as_its_event_type_says(hook: Hook, workspace: Path) -> None:
    emails = [f"r{n}@example.com" for n in range(len(EVERY_TYPE))]
    seed(workspace, *emails, soft_bounces=1)
    batch = [event(kind, email, **extra) for email, (kind, extra, *_) in zip(emails, EVERY_TYPE, strict=True)]
    answer = hook.post({"events": batch})
    assert answer.status == 204, answer.body
    for email, (kind, _, after, _, _) in zip(emails, EVERY_TYPE, strict=True):
        assert subscriber(workspace, email) == after, kind
    assert sorted((email, word, detail) for _, word, email, detail, _, _ in stored(workspace)) == sorted(
        (email, word, detail) for email, (_, _, _, word, detail) in zip(emails, EVERY_TYPE, strict=True)
    )
    assert {(issue, send_id) for *_, issue, send_id in stored(workspace)} == {("7", "s-1")}


def test_an_unsubscribe_is_recorded_as_the_provider_channel(hook: Hook, workspace: Path) -> None:
    from newsletter.report.figures import channel_group

    seed(workspace, "ada@example.com")
    assert hook.post(event("unsubscribed")).status == 204  # one event alone, not in a batch
    with Database(workspace / "subscribers.db") as db:
        channels = [channel for _, channel, *_ in db.subscribers.changes("ada@example.com")]
    assert channels == ["generic unsubscribe"]
    assert channel_group(channels[0]) == "provider"  # the report counts it with the providers' unsubscribes


def test_an_event_for_the_ascii_form_of_an_idn_address_moves_the_subscriber(hook: Hook, workspace: Path) -> None:
    seed(workspace, "hana@例え.jp")
    assert hook.post(event("complained", "HANA@XN--R8JZ45G.JP")).status == 204
    assert subscriber(workspace, "hana@例え.jp") == (Status.COMPLAINED, 0)
    assert [email for _, _, email, *_ in stored(workspace)] == ["hana@例え.jp"]


def test_a_replayed_post_and_a_repeated_id_are_stored_once(hook: Hook, workspace: Path) -> None:
    seed(workspace, "ada@example.com")
    body = json.dumps({"events": [event("bounced", bounce="soft", id="same-id")]}).encode()
    headers = hook.headers(body)
    assert hook.post_raw(body, headers).status == 204
    assert hook.post_raw(body, headers).status == 204  # the very same post again, within the 5 minutes
    assert hook.post(body).status == 204  # the relay's retry: a new webhook-id, the same event
    assert len(stored(workspace)) == 1
    assert subscriber(workspace, "ada@example.com") == (Status.ACTIVE, 1)  # one soft bounce, not three


def test_control_characters_in_text_fields_are_replaced_before_storing(hook: Hook, workspace: Path) -> None:
    seed(workspace, "ada@example.com")
    batch = [
        event("bounced", bounce="hard", id="nul\x00id", reason="550\x00 gone\r\nnext"),
        event("clicked", url="https://example.org/\x1b[2J", issue="7\x00"),
    ]
    assert hook.post({"events": batch}).status == 204
    rows = stored(workspace)
    assert len(rows) == 2
    assert not any(ch in (cell or "") for row in rows for cell in row for ch in "\x00\x1b\r\n")
    assert "hard: 550\ufffd gone  next" in [row[3] for row in rows]


# --- forged, stale and unsigned posts: 403, nothing stored ---------------------------------------


def _tampered(hook: Hook, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body.replace(b"ada@", b"eve@"), hook.headers(body)


def _without(name: str):  # type: ignore[no-untyped-def]
    def post(hook: Hook, body: bytes) -> tuple[bytes, dict[str, str]]:
        return body, {key: value for key, value in hook.headers(body).items() if key != name}

    return post


FORGERIES = {
    "another secret": lambda hook, body: (body, hook.headers(body, secret=OTHER_SECRET)),
    "body changed after signing": _tampered,
    "stale timestamp": lambda hook, body: (body, hook.headers(body, at=time.time() - 400)),
    "future timestamp": lambda hook, body: (body, hook.headers(body, at=time.time() + 400)),
    "another webhook-id": lambda hook, body: (body, {**hook.headers(body, message_id="msg_a"), "webhook-id": "msg_b"}),
    "garbage signature": lambda hook, body: (body, {**hook.headers(body), "webhook-signature": "v1,AAAA v1,not-base64!"}),
    "words as timestamp": lambda hook, body: (body, {**hook.headers(body), "webhook-timestamp": "nan"}),
    "no webhook-id": _without("webhook-id"),
    "no webhook-timestamp": _without("webhook-timestamp"),
    "no webhook-signature": _without("webhook-signature"),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_post_without_a_valid_fresh_signature_is_refused_and_changes_nothing(hook: Hook, workspace: Path, forge: Any) -> None:
    seed(workspace, "ada@example.com", "eve@example.com")
    body = json.dumps({"events": [event("complained", "ada@example.com")]}).encode()
    answer = hook.post_raw(*forge(hook, body))
    assert answer.status == 403
    assert stored(workspace) == []
    assert subscriber(workspace, "ada@example.com")[0] == subscriber(workspace, "eve@example.com")[0] == Status.ACTIVE


@pytest.mark.parametrize(
    "value, logged",
    [(None, "NEWSLETTER_WEBHOOK_SECRET is not set"), ("plain-words-not-a-standard-webhooks-secret", "does not start with whsec_"),
     ("whsec_" + base64.b64encode(b"short").decode(), "holds 5 bytes"), ("whsec_%%%not base64%%%", "is not base64")],
    ids=["missing", "not whsec_", "too short", "not base64"],
)
def test_without_a_usable_secret_every_post_is_refused(serve, monkeypatch, workspace: Path, caplog, value: str | None, logged: str) -> None:
    if value is None:
        monkeypatch.delenv("NEWSLETTER_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("NEWSLETTER_WEBHOOK_SECRET", value)
    hook = Hook(serve())
    seed(workspace, "ada@example.com")
    assert hook.post(event("complained"), secret=value if value and value.startswith("whsec_") and "%" not in value else SECRET).status == 403
    assert stored(workspace) == [] and subscriber(workspace, "ada@example.com")[0] == Status.ACTIVE
    assert logged in caplog.text and "make one with" in caplog.text
    if value:
        assert value not in caplog.text and value.removeprefix("whsec_") not in caplog.text


# --- malformed and oversized posts: 400 or 413 with the reason, nothing stored -------------------


def deeply_nested() -> bytes:
    return b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


# body (bytes, or a document to encode), the 400's reason (a regular expression)
MALFORMED: dict[str, tuple[Any, str]] = {
    "not JSON": (b"event=delivered&email=ada@example.com", r"^the body is not JSON: "),
    "not UTF-8": (b'{"events": ["\xff\xfe"]}', r"^the body is not JSON: "),
    "empty": (b"", r"^the body is not JSON: "),
    "nested 100,000 deep": (deeply_nested(), r"^the body is nested too deeply"),
    "a number of 10,000 digits": (b'{"id": ' + b"9" * 10_000 + b"}", r"^the body is not JSON: "),
    "a list at the top": ([{"type": "delivered"}], r"^the body is neither"),
    "events not a list": ({"events": {"0": {}}}, r"^events: not a list of events$"),
    "an event not an object": ({"events": [event("delivered"), 7]}, r"^events\[1\]: not an object$"),
    "unknown type": ({"events": [event("bounce")]}, r"^events\[0\]\.type: not one of delivered, bounced, "),
    "type with NUL": ({"events": [event("delivered\x00")]}, r"^events\[0\]\.type: "),
    "type not text": ({"events": [event(["delivered"])]}, r"^events\[0\]\.type: "),  # type: ignore[arg-type]
    "no id": ({"events": [{**event("delivered"), "id": None}]}, r"^events\[0\]\.id: missing$"),
    "id a number": ({"events": [event("delivered", id=42)]}, r"^events\[0\]\.id: not a text$"),
    "id of 201 characters": ({"events": [event("delivered", id="x" * 201)]}, r"^events\[0\]\.id: longer than 200 characters$"),
    "no email": ({"events": [event("delivered", None)]}, r"^events\[0\]\.email: missing$"),
    "10,000-character address": ({"events": [event("delivered", "a" * 10_000 + "@example.com")]}, r"^events\[0\]\.email: not a usable"),
    "NUL in the address": ({"events": [event("delivered", "ada\x00@example.com")]}, r"^events\[0\]\.email: not a usable"),
    "address a number": ({"events": [event("delivered", 12)]}, r"^events\[0\]\.email: not a usable"),
    "address an object": ({"events": [event("delivered", {"email": "ada@example.com"})]}, r"^events\[0\]\.email: not a usable"),
    "no time": ({"events": [{**event("delivered"), "occurred_at": None}]}, r"^events\[0\]\.occurred_at: missing$"),
    "time in words": ({"events": [event("delivered", occurred_at="yesterday")]}, r"^events\[0\]\.occurred_at: not an ISO 8601 time$"),
    "time as epoch": ({"events": [event("delivered", occurred_at=1_700_000_000)]}, r"^events\[0\]\.occurred_at: not an ISO 8601 time$"),
    "time tomorrow": ({"events": [event("unsubscribed", occurred_at=iso(time.time() + 86_400))]}, r"^events\[0\]\.occurred_at: in the future$"),
    "bounce without its kind": ({"events": [event("bounced")]}, r"^events\[0\]\.bounce: missing$"),
    "bounce neither hard nor soft": ({"events": [event("bounced", bounce="permanent")]}, r"^events\[0\]\.bounce: not hard or soft$"),
    "click without its link": ({"events": [event("clicked")]}, r"^events\[0\]\.url: missing$"),
    "machine in words": ({"events": [event("opened", machine="yes")]}, r"^events\[0\]\.machine: not true or false$"),
    "issue a list": ({"events": [event("delivered", issue=["7"])]}, r"^events\[0\]\.issue: not a text$"),
    "reason a number": ({"events": [event("bounced", bounce="hard", reason=550)]}, r"^events\[0\]\.reason: not a text$"),
    "one bad event after good ones": ({"events": [event("complained"), event("unsubscribed"), event("delivered", "nobody")]}, r"^events\[2\]\.email: "),
    "a single bad event": (event("clicked", url=""), r"^the event\.url: not a text$"),
}


@pytest.mark.parametrize("body, reason", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_post_is_refused_whole_with_its_reason(hook: Hook, workspace: Path, body: Any, reason: str) -> None:
    seed(workspace, "ada@example.com")
    answer = hook.post(body)
    assert answer.status == 400, answer.body
    assert re.search(reason, json.loads(answer.body)["error"]), answer.body
    assert stored(workspace) == []
    assert subscriber(workspace, "ada@example.com") == (Status.ACTIVE, 0)


def test_a_batch_of_the_limit_is_taken_and_one_more_is_refused(hook: Hook, workspace: Path) -> None:
    seed(workspace, "ada@example.com")
    over = hook.post({"events": [event("delivered", f"r{n}@example.com") for n in range(1_001)]})
    assert over.status == 400
    assert json.loads(over.body)["error"] == "events: 1,001 events in one post; at most 1,000, send the rest in further posts"
    assert stored(workspace) == []
    assert hook.post({"events": [event("opened", f"r{n}@example.com") for n in range(1_000)]}).status == 204
    assert len(stored(workspace)) == 1_000


def test_a_body_over_the_cap_is_413_before_it_is_read(hook: Hook, workspace: Path) -> None:
    seed(workspace, "ada@example.com")
    body = json.dumps({"events": [event("complained", reason="x" * 6_000_000)]}).encode()
    assert hook.post(body).status == 413
    assert stored(workspace) == []


# --- the README's relay example ------------------------------------------------------------------


def readme_relay() -> str:
    """The Python block of the README's "Any other service" subsection, as a reader copies it."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Any other service: /webhooks/generic", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the subsection shows one relay example"
    assert len(blocks[0].strip().splitlines()) <= 11
    return str(blocks[0])


def test_the_readmes_relay_example_posts_events_the_app_takes(hook: Hook, workspace: Path) -> None:
    seed(workspace, "ada@example.com", "bo@example.com")
    relay: dict[str, Any] = {}
    exec(readme_relay(), relay)  # the README's own code, run as a reader would
    url = hook.client.base + PATH
    events = [
        {"id": "ev-1", "type": "bounced", "bounce": "hard", "email": "ada@example.com", "occurred_at": iso(time.time() - 5), "reason": "550 5.1.1 no such user", "issue": "7"},
        {"id": "ev-2", "type": "unsubscribed", "email": "bo@example.com", "occurred_at": iso(time.time() - 5), "issue": "7"},
    ]
    assert relay["post_events"](url, SECRET, events) == 204
    assert subscriber(workspace, "ada@example.com")[0] == Status.BOUNCED
    assert subscriber(workspace, "bo@example.com")[0] == Status.UNSUBSCRIBED

    with pytest.raises(urllib.error.HTTPError) as refused:  # as the README says a 400 reaches the relay
        relay["post_events"](url, SECRET, [{**events[0], "id": "ev-3", "type": "bounce"}])
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"].startswith("events[0].type: not one of")
    with pytest.raises(urllib.error.HTTPError) as forged:
        relay["post_events"](url, OTHER_SECRET, events)
    assert forged.value.code == 403
