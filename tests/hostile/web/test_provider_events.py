"""SendGrid's Event Webhook, attacked (issue 22, items 10 and 13): events name an IDN address in
its ASCII form, name no usable address at all, and arrive late, out of order or without a time.
Every event is stored; only a newer one (or a complaint) moves the subscriber."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from newsletter.db import Database
from newsletter.models import Status, Subscriber

HANA = "hana@例え.jp"
ISSUE = "7"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def post(serve, key, monkeypatch):  # type: ignore[no-untyped-def]
    """post(events) sends a batch signed as SendGrid signs it (ECDSA over timestamp + body) to the
    app's webhook; returns the HTTP status."""
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(der).decode("ascii"))
    client = serve()

    def post_events(events: list[dict[str, Any]]) -> int:
        body = json.dumps(events).encode()
        stamp = str(int(time.time()))
        signature = base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode("ascii")
        headers = {"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": stamp}
        return client.request("POST", "/webhooks/sendgrid", body, headers).status

    return post_events


def event(kind: str, email: Any, at: float | None = None, **extra: Any) -> dict[str, Any]:
    found = {"email": email, "event": kind, "sg_event_id": f"hostile-{next(_ids)}", "sg_message_id": "m.1", "issue": ISSUE, "send_id": "s-1", **extra}
    if at is not None:
        found["timestamp"] = int(at)
    return found


def seed(workspace: Path, email: str, status: Status = Status.ACTIVE, changed: float | None = None) -> None:
    """A subscriber whose status last changed at `changed` (Unix seconds; None: unknown)."""
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(email, None, {}, status)])
        when = None if changed is None else dt.datetime.fromtimestamp(changed, dt.UTC).isoformat(timespec="seconds")
        db.subscribers.db.execute("UPDATE subscribers SET status_changed_at = ? WHERE email = ?", (when, email))


def status_of(workspace: Path, email: str) -> Status:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        assert found is not None
        return found.status


def stored_events(workspace: Path) -> list[tuple[str, str | None]]:
    with Database(workspace / "subscribers.db") as db:
        return list(db.events.db.execute("SELECT event, email FROM events ORDER BY event_id"))


# --- item 10: IDN addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, extra, status",
    [
        ("spamreport", {}, Status.COMPLAINED),
        ("bounce", {"type": "bounce"}, Status.BOUNCED),
        ("unsubscribe", {}, Status.UNSUBSCRIBED),
        ("dropped", {"reason": "Bounced Address"}, Status.BOUNCED),
    ],
)
def test_an_event_for_the_ascii_form_of_an_idn_address_moves_the_subscriber(post, workspace: Path, kind: str, extra: dict[str, Any], status: Status) -> None:
    seed(workspace, HANA, changed=time.time() - 3600)
    assert post([event(kind, "HANA@XN--R8JZ45G.JP", time.time() - 10, **extra)]) == 204
    assert status_of(workspace, HANA) == status
    assert stored_events(workspace) == [(kind, HANA)]  # counted against the stored address in reports


@pytest.mark.parametrize(
    "email",
    ["not an address", "hana@xn--zz.jp", "a@" + "b" * 5000 + ".com", "evil\x00@example.com", 42, ["x@example.com"], {"a": 1}],
    ids=["words", "broken punycode", "5 KB", "NUL", "number", "list", "object"],
)
def test_an_event_naming_no_usable_address_is_stored_counted_and_moves_nobody(post, workspace: Path, caplog, email: Any) -> None:
    seed(workspace, "a@example.com", changed=time.time() - 3600)
    with caplog.at_level(logging.WARNING):
        assert post([event("spamreport", email, time.time()), event("delivered", "a@example.com", time.time())]) == 204
    assert status_of(workspace, "a@example.com") == Status.ACTIVE
    assert sorted(stored_events(workspace)) == [("delivered", "a@example.com"), ("spamreport", None)]
    if isinstance(email, str):
        assert "1 event(s) name no usable email address" in caplog.text
    assert "Traceback" not in caplog.text
