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
@pytest.mark.slow
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


# --- item 13: late events ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, extra",
    [("unsubscribe", {}), ("group_unsubscribe", {}), ("bounce", {"type": "bounce"}), ("dropped", {"reason": "Unsubscribed Address"})],
)
def test_a_late_event_does_not_undo_a_newer_confirmation(post, workspace: Path, kind: str, extra: dict[str, Any]) -> None:
    confirmed = time.time() - 600  # unsubscribed, then confirmed again ten minutes ago
    seed(workspace, "back@example.com", changed=confirmed)
    assert post([event(kind, "back@example.com", confirmed - 300, **extra)]) == 204  # from before they came back
    assert status_of(workspace, "back@example.com") == Status.ACTIVE
    assert stored_events(workspace) == [(kind, "back@example.com")]  # still stored, still in the report


def test_a_newer_event_applies(post, workspace: Path) -> None:
    confirmed = time.time() - 600
    seed(workspace, "gone@example.com", changed=confirmed)
    assert post([event("unsubscribe", "gone@example.com", confirmed + 60)]) == 204
    assert status_of(workspace, "gone@example.com") == Status.UNSUBSCRIBED


def test_an_event_in_the_same_second_as_the_change_applies(post, workspace: Path) -> None:
    confirmed = int(time.time()) - 600  # times are kept to the second: leaving wins a tie
    seed(workspace, "tie@example.com", changed=confirmed)
    assert post([event("unsubscribe", "tie@example.com", confirmed)]) == 204
    assert status_of(workspace, "tie@example.com") == Status.UNSUBSCRIBED


def test_a_late_complaint_always_wins(post, workspace: Path) -> None:
    confirmed = time.time() - 600
    seed(workspace, "angry@example.com", changed=confirmed)
    assert post([event("spamreport", "angry@example.com", confirmed - 3600)]) == 204
    assert status_of(workspace, "angry@example.com") == Status.COMPLAINED


def test_out_of_order_events_in_one_batch_end_on_the_newest_state(post, workspace: Path) -> None:
    """A late unsubscribe arriving after newer events: each is weighed against the last change,
    not against the order of arrival."""
    confirmed = time.time() - 600
    seed(workspace, "order@example.com", changed=confirmed)
    soft = [event("bounce", "order@example.com", confirmed + n, type="blocked") for n in (10, 20)]
    assert post([*soft, event("unsubscribe", "order@example.com", confirmed - 60)]) == 204
    assert status_of(workspace, "order@example.com") == Status.ACTIVE


@pytest.mark.parametrize("timestamp", [None, "yesterday", -5, 1e12, True], ids=["missing", "words", "negative", "far future", "boolean"])
def test_an_event_without_a_usable_time_does_not_undo_a_known_change(post, workspace: Path, timestamp: Any) -> None:
    seed(workspace, "back@example.com", changed=time.time() - 600)
    late = event("unsubscribe", "back@example.com", None)
    if timestamp is not None:
        late["timestamp"] = timestamp
    assert post([late]) == 204
    assert status_of(workspace, "back@example.com") == Status.ACTIVE
    assert stored_events(workspace) == [("unsubscribe", "back@example.com")]


def test_an_event_without_a_time_applies_when_the_last_change_is_unknown(post, workspace: Path) -> None:
    seed(workspace, "old@example.com", changed=None)  # a row from before change times were kept
    assert post([event("bounce", "old@example.com", None, type="bounce")]) == 204
    assert status_of(workspace, "old@example.com") == Status.BOUNCED


def test_a_late_bounce_leaves_the_change_time_and_history_alone(post, workspace: Path) -> None:
    confirmed = time.time() - 600
    seed(workspace, "back@example.com", changed=confirmed)
    assert post([event("bounce", "back@example.com", confirmed - 60, type="bounce")]) == 204
    with Database(workspace / "subscribers.db") as db:
        assert db.subscribers.changes("back@example.com") == []
        (when,) = db.subscribers.db.execute("SELECT status_changed_at FROM subscribers WHERE email = 'back@example.com'").fetchone()
    assert when == dt.datetime.fromtimestamp(confirmed, dt.UTC).isoformat(timespec="seconds")


# --- control characters in event fields, on PostgreSQL -----------------------------------------


@pytest.fixture
def on_postgresql(pg_url: str, monkeypatch) -> str:
    """The app's database is a fresh PostgreSQL one (request it before `post`, which starts the app)."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    return pg_url


def test_nul_in_an_event_field_loses_no_batch_on_postgresql(on_postgresql: str, post) -> None:
    from newsletter.db import Server

    with Database(Server(on_postgresql)) as db:
        db.subscribers.upsert([Subscriber("a@example.com"), Subscriber("b@example.com")])
    batch = [
        event("bounce", "a@example.com", time.time(), type="bounce", reason="550 5.1.1\x00 no such user\r\n550 gone", sg_event_id="nul\x00id"),
        event("click", "a@example.com", time.time(), url="https://example.com/\x00\x1b[2J", issue="7\x00"),
        event("spamreport", "b@example.com", time.time()),  # the same batch: lost with it before
    ]
    assert post(batch) == 204
    assert post(batch) == 204  # SendGrid's retry: stored once
    with Database(Server(on_postgresql)) as db:
        assert db.subscribers.get("a@example.com").status == Status.BOUNCED
        assert db.subscribers.get("b@example.com").status == Status.COMPLAINED
        rows = list(db.events.db.execute("SELECT event_id, detail, issue FROM events ORDER BY event"))
    assert len(rows) == 3
    assert not any("\x00" in (cell or "") or "\x1b" in (cell or "") for row in rows for cell in row)
    assert "550 5.1.1\ufffd no such user  550 gone" in rows[0][1]
