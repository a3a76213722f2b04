"""Resend's webhook, posted to /webhooks/resend: each event signed as Resend signs it (Svix: HMAC-SHA256
over "svix-id.svix-timestamp.body" with the base64 secret after whsec_, signed here by hand, not by
the library under test), mapped onto the subscriber, stored once; forged, stale, unsigned or
replayed posts change nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newsletter.db import Database
from newsletter.models import Status, Subscriber

pytestmark = pytest.mark.slow  # the web app on a real server for each test

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
HANA = "hana@例え.jp"
_ids = itertools.count(1)

Post = Callable[..., int]


def signature(secret: str, svix_id: str, stamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{svix_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(body: bytes, *, secret: str = SECRET, svix_id: str | None = None, stamp: int | None = None) -> dict[str, str]:
    svix_id = svix_id or f"msg_{next(_ids)}"
    when = str(int(time.time()) if stamp is None else stamp)
    return {"Content-Type": "application/json", "svix-id": svix_id, "svix-timestamp": when, "svix-signature": signature(secret, svix_id, when, body)}


@pytest.fixture
def post(serve, monkeypatch) -> Post:  # type: ignore[no-untyped-def]
    """post(body, headers=None) sends to the app's /webhooks/resend (signed with SECRET unless
    headers are given); returns the HTTP status."""
    monkeypatch.setenv("RESEND_WEBHOOK_SECRET", SECRET)
    client = serve()

    def send(body: bytes, headers: dict[str, str] | None = None) -> int:
        return client.request("POST", "/webhooks/resend", body, signed_headers(body) if headers is None else headers).status

    return send


def event(kind: str, to: Any, **data: Any) -> bytes:
    """One of Resend's events, as it posts them: the email's tags as an object of name -> value."""
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    body = {
        "type": kind,
        "created_at": now,
        "data": {
            "email_id": "e-1", "created_at": now, "from": "Fixture <editor@fixture.example.org>", "to": to, "subject": "Issue 7",
            "tags": {"issue": "7", "send_id": "s-1"}, **data,
        },
    }
    return json.dumps(body).encode()


def seed(workspace: Path, *emails: str) -> None:
    """Active subscribers, whose status last changed an hour ago (so a new event applies)."""
    an_hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(timespec="seconds")
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(email, None, {}, Status.ACTIVE) for email in emails])
        for email in emails:
            db.subscribers.db.execute("UPDATE subscribers SET status_changed_at = ? WHERE email = ?", (an_hour_ago, email))


def status_of(workspace: Path, email: str) -> Status:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        assert found is not None
        return found.status


def stored(workspace: Path) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    with Database(workspace / "subscribers.db") as db:
        rows = db.events.db.execute("SELECT event, email, issue, send_id, detail FROM events WHERE provider = 'resend' ORDER BY email, event")
        return [tuple(row) for row in rows]


def bounce(kind: str, message: str) -> dict[str, Any]:
    return {"bounce": {"type": kind, "subType": "General", "message": message, "diagnosticCode": []}}


def suppressed(reason: str) -> dict[str, Any]:
    return {"suppressed": {"type": "Suppressed", "reason": reason, "message": "on the list", "diagnosticCode": []}}


CLICK = {"click": {"link": "https://example.org/story", "ipAddress": "192.0.2.1", "timestamp": "2026-12-01T08:00:00Z", "userAgent": "x"}}
# Each of Resend's event types: what it is stored as (event, detail), and what it makes of the subscriber.
CASES = [
    ("email.delivered", {}, "delivered", None, Status.ACTIVE),
    ("email.bounced", bounce("Permanent", "550 5.1.1 no such user"), "bounce", "hard: 550 5.1.1 no such user", Status.BOUNCED),
    ("email.bounced", bounce("Transient", "mailbox full"), "bounce", "soft: mailbox full", Status.ACTIVE),
    ("email.bounced", bounce("Undetermined", "unknown"), "bounce", "soft: unknown", Status.ACTIVE),
    ("email.complained", {}, "spamreport", None, Status.COMPLAINED),
    ("email.delivery_delayed", {}, "deferred", None, Status.ACTIVE),
    ("email.suppressed", suppressed("previous_bounce"), "dropped", "previous_bounce", Status.BOUNCED),
    ("email.suppressed", suppressed("previous_complaint"), "dropped", "previous_complaint", Status.COMPLAINED),
    ("email.failed", {"failed": {"reason": "reached_daily_quota"}}, "dropped", "reached_daily_quota", Status.ACTIVE),
    ("email.opened", {}, "open", None, Status.ACTIVE),
    ("email.clicked", CLICK, "click", "https://example.org/story", Status.ACTIVE),
]


def test_each_event_type_is_stored_with_its_issue_and_moves_the_subscriber_as_it_should(post: Post, workspace: Path) -> None:
    readers = [f"reader{n}@example.com" for n in range(len(CASES))]
    seed(workspace, *readers, "sent@example.com")
    for reader, (kind, data, _, _, _) in zip(readers, CASES, strict=True):
        assert post(event(kind, [reader], **data)) == 204, kind
    for ignored in ("email.sent", "email.scheduled", "contact.created", "domain.updated"):
        assert post(event(ignored, ["sent@example.com"])) == 204  # taken, stored nowhere, moving nobody
    expected = sorted((stored_as, reader, "7", "s-1", detail) for reader, (_, _, stored_as, detail, _) in zip(readers, CASES, strict=True))
    assert sorted(stored(workspace)) == expected
    assert [status_of(workspace, reader) for reader in readers] == [status for *_, status in CASES]
    assert status_of(workspace, "sent@example.com") == Status.ACTIVE


def test_an_idn_recipient_is_matched_to_the_stored_address(post: Post, workspace: Path) -> None:
    seed(workspace, HANA)
    assert post(event("email.bounced", ["HANA@XN--R8JZ45G.JP"], **bounce("Permanent", "gone"))) == 204
    assert status_of(workspace, HANA) == Status.BOUNCED
    assert stored(workspace) == [("bounce", HANA, "7", "s-1", "hard: gone")]


def test_a_post_naming_two_addresses_is_one_event_each(post: Post, workspace: Path) -> None:
    seed(workspace, "a@example.com", "b@example.com")
    body = event("email.complained", ["a@example.com", "b@example.com"])
    headers = signed_headers(body)
    assert post(body, headers) == 204 and post(body, headers) == 204  # Resend's retry: the same svix-id
    assert [row[1] for row in stored(workspace)] == ["a@example.com", "b@example.com"]
    assert {status_of(workspace, email) for email in ("a@example.com", "b@example.com")} == {Status.COMPLAINED}


def test_a_replayed_post_is_stored_once(post: Post, workspace: Path) -> None:
    seed(workspace, "a@example.com")
    body = event("email.delivered", ["a@example.com"])
    headers = signed_headers(body, svix_id="msg_replayed")
    assert [post(body, headers) for _ in range(3)] == [204, 204, 204]
    assert stored(workspace) == [("delivered", "a@example.com", "7", "s-1", None)]


def _forgeries(body: bytes) -> dict[str, dict[str, str]]:
    good = signed_headers(body)
    now = int(time.time())
    return {
        "another secret": signed_headers(body, secret=OTHER_SECRET),
        "stale (over 5 minutes)": signed_headers(body, stamp=now - 330),
        "from the future": signed_headers(body, stamp=now + 330),
        "no signature": {k: v for k, v in good.items() if k != "svix-signature"},
        "no id": {k: v for k, v in good.items() if k != "svix-id"},
        "no timestamp": {k: v for k, v in good.items() if k != "svix-timestamp"},
        "another id": {**good, "svix-id": "msg_other"},
        "signature not base64": {**good, "svix-signature": "v1,!!!"},
        "timestamp not a number": {**good, "svix-timestamp": "soon"},
        "standard webhooks names": {"webhook-" + k[5:] if k.startswith("svix-") else k: v for k, v in good.items()},
        "no headers": {},
    }


def test_a_forged_stale_or_unsigned_post_is_refused_and_changes_nothing(post: Post, workspace: Path) -> None:
    seed(workspace, "a@example.com")
    body = event("email.bounced", ["a@example.com"], **bounce("Permanent", "x"))
    forged = _forgeries(body)
    refused = {name: post(body, headers) for name, headers in forged.items()}
    assert refused == dict.fromkeys(forged, 403)
    assert post(body.replace(b"Permanent", b"Transient"), signed_headers(body)) == 403  # signed for another body
    assert stored(workspace) == [] and status_of(workspace, "a@example.com") == Status.ACTIVE
    assert post(body) == 204 and status_of(workspace, "a@example.com") == Status.BOUNCED  # the real one still works


def test_a_signed_body_that_is_not_an_event_is_a_400(post: Post, workspace: Path) -> None:
    assert post(b"not json") == 400 and post(b"[1, 2]") == 400
    assert stored(workspace) == []


def test_without_the_secret_every_post_is_refused(serve, monkeypatch, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("RESEND_WEBHOOK_SECRET", raising=False)
    client = serve()
    body = event("email.complained", ["a@example.com"])
    assert client.request("POST", "/webhooks/resend", body, signed_headers(body)).status == 403
    assert stored(workspace) == []
