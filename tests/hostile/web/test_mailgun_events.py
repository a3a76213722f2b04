"""Mailgun's webhooks (POST /webhooks/mailgun): only posts signed with the webhook signing key, and
fresh, are read; each event is stored once by its id and moves the subscriber it names. Forged,
stale, unsigned or unreadable posts, and a signature moved onto another event, change nothing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest

from newsletter.db import Database
from newsletter.models import Status, Subscriber

KEY = "mailgun-webhook-signing-key-for-the-tests"
HANA = "hana@例え.jp"
_ids = itertools.count(1)

pytestmark = pytest.mark.slow  # each test serves the web app on loopback


def signature(key: str = KEY, stamp: int | None = None, token: str | None = None) -> dict[str, str]:
    """A signature block as Mailgun writes it: hex HMAC-SHA256(key, timestamp + token)."""
    when = str(int(time.time()) if stamp is None else stamp)
    token = token or f"token-{next(_ids):04d}-50-random-characters-as-mailgun-sends"
    return {"timestamp": when, "token": token, "signature": hmac.new(key.encode(), (when + token).encode(), hashlib.sha256).hexdigest()}


def event_data(kind: str, recipient: Any = "a@example.com", **extra: Any) -> dict[str, Any]:
    """One event as Mailgun posts it, with the v: variables the send put on the message."""
    return {
        "id": f"mg-event-{next(_ids)}", "event": kind, "timestamp": time.time() - 5, "recipient": recipient,
        "user-variables": {"issue": "7", "send_id": "send-1"}, "tags": ["fixture-weekly"], **extra,
    }


@pytest.fixture
def post(serve, workspace: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """post(body or event-data, signature=...) to the app's Mailgun webhook; returns the HTTP status."""
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", KEY)
    seed(workspace, "a@example.com", HANA)
    client = serve()

    def post_event(data: Any, signed: dict[str, str] | None = None, raw: bytes | None = None) -> int:
        body = raw if raw is not None else json.dumps({"signature": signature() if signed is None else signed, "event-data": data}).encode()
        return client.request("POST", "/webhooks/mailgun", body, {"Content-Type": "application/json"}).status

    return post_event


def seed(workspace: Path, *emails: str) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(email) for email in emails])


def status_of(workspace: Path, email: str) -> Status:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        assert found is not None
        return found.status


def stored(workspace: Path) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    with Database(workspace / "subscribers.db") as db:
        return list(db.events.db.execute("SELECT event, email, issue, send_id, detail FROM events WHERE provider = 'mailgun' ORDER BY received_at, event"))


@pytest.mark.parametrize(
    "data, word, detail, status",
    [
        (event_data("delivered"), "delivered", None, Status.ACTIVE),
        (event_data("failed", severity="permanent", reason="bounce", **{"delivery-status": {"code": 550, "message": "5.1.1 No such user"}}),
         "bounce", "hard: 5.1.1 No such user", Status.BOUNCED),
        (event_data("failed", severity="temporary", reason="generic", **{"delivery-status": {"code": 452, "description": "Mailbox full"}}),
         "bounce", "soft: Mailbox full", Status.ACTIVE),
        (event_data("failed", severity="permanent", reason="suppress-unsubscribe", **{"delivery-status": {"code": 605}}), "dropped", "605", Status.UNSUBSCRIBED),
        (event_data("complained"), "spamreport", None, Status.COMPLAINED),
        (event_data("unsubscribed"), "unsubscribe", None, Status.UNSUBSCRIBED),
        (event_data("opened"), "open", None, Status.ACTIVE),
        (event_data("clicked", url="https://example.org/robots/towels"), "click", "https://example.org/robots/towels", Status.ACTIVE),
    ],
    ids=["delivered", "permanent failure", "temporary failure", "suppressed address", "complained", "unsubscribed", "opened", "clicked"],
)
def test_a_signed_event_is_stored_and_moves_the_subscriber(post, workspace: Path, data: dict[str, Any], word: str, detail: str | None, status: Status) -> None:
    assert post(data) == 204
    assert stored(workspace) == [(word, "a@example.com", "7", "send-1", detail)]  # its issue and send, from v:issue and v:send_id
    assert status_of(workspace, "a@example.com") == status


def test_accepted_and_unknown_events_are_answered_and_not_stored(post, workspace: Path) -> None:
    assert post(event_data("accepted")) == 204  # Mailgun queued it: the ledger already says `sent`
    assert post(event_data("list_member_uploaded")) == 204  # answered, so Mailgun does not retry for 8 hours
    assert stored(workspace) == []


def test_a_replayed_post_is_stored_once(post, workspace: Path) -> None:
    data, signed = event_data("complained"), signature()
    assert post(data, signed) == 204
    assert post(data, signed) == 204  # the same post again: a retry, or a replay within the window
    assert stored(workspace) == [("spamreport", "a@example.com", "7", "send-1", None)]


def test_a_signature_moved_onto_another_event_is_refused(post, workspace: Path) -> None:
    """Mailgun signs the timestamp and token, not the event: a captured signature could carry any event."""
    signed = signature()
    assert post(event_data("delivered"), signed) == 204
    assert post(event_data("complained"), signed) == 403
    assert status_of(workspace, "a@example.com") == Status.ACTIVE
    assert [row[0] for row in stored(workspace)] == ["delivered"]


def test_a_post_without_a_valid_fresh_signature_changes_nothing(post, workspace: Path) -> None:
    now = int(time.time())
    refused = {
        "wrong key": signature(key="the-wrong-signing-key"),
        "forged signature": signature() | {"signature": "0" * 64},
        "stale": signature(stamp=now - 3600),
        "from the future": signature(stamp=now + 3600),
        "non-ASCII digits": {"timestamp": "１２３", "token": "t", "signature": "0" * 64},
        "empty": {},
    }
    answers = {case: post(event_data("complained"), signed) for case, signed in refused.items()}
    assert answers == dict.fromkeys(refused, 403)
    unsigned = {
        "not JSON": b"not json at all",
        "not UTF-8": b"\xff\xfe",
        "a list": b"[1, 2]",
        "no signature": json.dumps({"event-data": event_data("complained")}).encode(),
    }
    answers = {case: post(None, raw=raw) for case, raw in unsigned.items()}
    assert answers == dict.fromkeys(unsigned, 403)
    assert stored(workspace) == [] and status_of(workspace, "a@example.com") == Status.ACTIVE


def test_a_signed_post_without_event_data_is_a_bad_request(post, workspace: Path) -> None:
    body = json.dumps({"signature": signature(), "event-data": ["complained"]}).encode()
    assert post(None, raw=body) == 400
    assert stored(workspace) == []


def test_the_ascii_form_of_an_idn_recipient_moves_the_subscriber(post, workspace: Path) -> None:
    assert post(event_data("failed", recipient="HANA@XN--R8JZ45G.JP", severity="permanent", reason="bounce")) == 204
    assert status_of(workspace, HANA) == Status.BOUNCED
    assert stored(workspace)[0][:2] == ("bounce", HANA)


def test_without_the_signing_key_every_post_is_refused(serve, workspace: Path, monkeypatch) -> None:
    monkeypatch.delenv("MAILGUN_WEBHOOK_SIGNING_KEY", raising=False)
    seed(workspace, "a@example.com")
    client = serve()
    body = json.dumps({"signature": signature(), "event-data": event_data("complained")}).encode()
    assert client.request("POST", "/webhooks/mailgun", body, {"Content-Type": "application/json"}).status == 403
    assert status_of(workspace, "a@example.com") == Status.ACTIVE
