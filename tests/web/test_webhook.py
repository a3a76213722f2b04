"""The SendGrid Event Webhook (POST /webhooks/sendgrid): only signed, fresh batches are read;
each event is stored once per sg_event_id, and bounces, complaints and unsubscribes move the
subscriber they name (never back to active)."""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from newsletter.cli.main import cli
from newsletter.db import Database
from newsletter.models import Status, Subscriber

PATH = "/webhooks/sendgrid"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
ISSUE = "7"  # the fixture issue's number

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def other_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def public_key_env(monkeypatch, private_key) -> ec.EllipticCurvePrivateKey:
    """The public key in the environment as SendGrid shows it: base64 DER, no PEM lines. Set before
    the app starts (it reads the key once, on the first webhook call)."""
    der = private_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(der).decode("ascii"))
    return private_key


def sign(key: ec.EllipticCurvePrivateKey, stamp: str, body: bytes) -> str:
    return base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode("ascii")


class Hook:
    def __init__(self, client, key: ec.EllipticCurvePrivateKey) -> None:
        self.client = client
        self.key = key

    def post_raw(self, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        return self.client.request("POST", PATH, body, {"Content-Type": "application/json", **headers})

    def post(self, events: Any, *, stamp: int | None = None, key: ec.EllipticCurvePrivateKey | None = None):  # type: ignore[no-untyped-def]
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        when = str(int(time.time()) if stamp is None else stamp)
        return self.post_raw(body, {SIGNATURE: sign(key or self.key, when, body), TIMESTAMP: when})

    def accepted(self, events: Any) -> None:
        answer = self.post(events)
        assert 200 <= answer.status < 300, (answer.status, answer.body)


@pytest.fixture
def hook(public_key_env, client) -> Hook:  # public_key_env first: the env var is set before `web` starts
    return Hook(client, public_key_env)


def event(kind: str, email: str, event_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """One SendGrid event as posted, with our custom_args (issue, send_id) at the top level."""
    return {
        "email": email,
        "timestamp": int(time.time()),
        "event": kind,
        "sg_event_id": event_id or f"ev-{next(_ids)}",
        "sg_message_id": "msg.filter0001",
        "issue": ISSUE,
        "send_id": "send-1",
        **extra,
    }


def seed(workspace: Path, *subscribers: Subscriber) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert(list(subscribers))


def status_of(workspace: Path, email: str) -> Status | None:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        return found.status if found else None


def changes(workspace: Path, email: str) -> list[tuple[str, str, str | None, str]]:
    with Database(workspace / "subscribers.db") as db:
        return db.subscribers.changes(email)


def counts(workspace: Path, issue: str = ISSUE) -> dict[str, int]:
    with Database(workspace / "subscribers.db") as db:
        return db.events.counts(issue)


def stored(workspace: Path, event_id: str | None = None) -> int:
    """How many event rows there are (with this sg_event_id)."""
    with Database(workspace / "subscribers.db") as db:
        if event_id is None:
            return db.events.db.execute("SELECT count(*) FROM events").fetchone()[0]
        return db.events.db.execute("SELECT count(*) FROM events WHERE event_id = ?", (event_id,)).fetchone()[0]


A = "a@example.com"
B = "b@example.com"


# --- signature and freshness -------------------------------------------------------------------


def test_a_signed_batch_is_accepted_and_stored(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}), Subscriber(B, "B", {}))
    hook.accepted([event("processed", A), event("delivered", A), event("delivered", B), event("open", B)])
    assert counts(workspace) == {"delivered": 2, "open": 1, "processed": 1}
    assert stored(workspace) == 4
    assert status_of(workspace, A) == Status.ACTIVE


def _other_key(hook, body, now, other):
    return {SIGNATURE: sign(other, str(now), body), TIMESTAMP: str(now)}


def _other_body(hook, body, now, other):
    return {SIGNATURE: sign(hook.key, str(now), body.replace(b"bounce", b"delivered")), TIMESTAMP: str(now)}


def _body_only(hook, body, now, other):  # signed without the timestamp in front
    return {SIGNATURE: base64.b64encode(hook.key.sign(body, ec.ECDSA(hashes.SHA256()))).decode(), TIMESTAMP: str(now)}


def _other_timestamp(hook, body, now, other):  # signed with one timestamp, sent with another
    return {SIGNATURE: sign(hook.key, str(now - 1), body), TIMESTAMP: str(now)}


def _no_signature(hook, body, now, other):
    return {TIMESTAMP: str(now)}


def _empty_signature(hook, body, now, other):
    return {SIGNATURE: "", TIMESTAMP: str(now)}


def _no_timestamp(hook, body, now, other):
    return {SIGNATURE: sign(hook.key, str(now), body)}


def _no_headers(hook, body, now, other):
    return {}


def _not_base64(hook, body, now, other):
    return {SIGNATURE: "this is not base64!*", TIMESTAMP: str(now)}


def _bad_padding(hook, body, now, other):
    return {SIGNATURE: "abc", TIMESTAMP: str(now)}


def _base64_not_der(hook, body, now, other):
    return {SIGNATURE: base64.b64encode(b"\x00" * 70).decode(), TIMESTAMP: str(now)}


def _stale(hook, body, now, other):
    return {SIGNATURE: sign(hook.key, str(now - 400), body), TIMESTAMP: str(now - 400)}


def _future(hook, body, now, other):
    return {SIGNATURE: sign(hook.key, str(now + 400), body), TIMESTAMP: str(now + 400)}


def _timestamp_in_ms(hook, body, now, other):
    return {SIGNATURE: sign(hook.key, str(now * 1000), body), TIMESTAMP: str(now * 1000)}


def _timestamp_not_a_number(hook, body, now, other):
    return {SIGNATURE: sign(hook.key, "soon", body), TIMESTAMP: "soon"}


@pytest.mark.parametrize(
    "headers",
    [
        _other_key, _other_body, _body_only, _other_timestamp, _no_signature, _empty_signature, _no_timestamp, _no_headers,
        _not_base64, _bad_padding, _base64_not_der, _stale, _future, _timestamp_in_ms, _timestamp_not_a_number,
    ],
)  # fmt: skip
def test_an_unsigned_or_stale_batch_is_refused_and_changes_nothing(hook, workspace, other_key, headers):
    seed(workspace, Subscriber(A, "A", {}), Subscriber(B, "B", {}))
    before = changes(workspace, A), changes(workspace, B)
    body = json.dumps([event("bounce", A, type="bounce", reason="550 no such user"), event("spamreport", B)]).encode()
    answer = hook.post_raw(body, headers(hook, body, int(time.time()), other_key))
    assert answer.status == 403, (answer.status, answer.body)
    assert stored(workspace) == 0
    assert counts(workspace) == {}
    assert status_of(workspace, A) == Status.ACTIVE and status_of(workspace, B) == Status.ACTIVE
    assert (changes(workspace, A), changes(workspace, B)) == before


def test_a_good_signature_still_works_after_refused_ones(hook, workspace, other_key):
    seed(workspace, Subscriber(A, "A", {}))
    assert hook.post([event("bounce", A, type="bounce")], key=other_key).status == 403
    assert hook.post([event("bounce", A, type="bounce")], stamp=int(time.time()) - 400).status == 403
    hook.accepted([event("bounce", A, type="bounce")])
    assert status_of(workspace, A) == Status.BOUNCED


def test_no_public_key_configured_refuses_everything(monkeypatch, private_key, client, workspace):
    monkeypatch.delenv("SENDGRID_WEBHOOK_PUBLIC_KEY", raising=False)
    seed(workspace, Subscriber(A, "A", {}))
    answer = Hook(client, private_key).post([event("bounce", A, type="bounce")])
    assert answer.status == 403
    assert stored(workspace) == 0 and status_of(workspace, A) == Status.ACTIVE


def test_a_timestamp_just_inside_the_window_is_accepted(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    now = int(time.time())
    assert 200 <= hook.post([event("delivered", A)], stamp=now - 280).status < 300
    assert 200 <= hook.post([event("delivered", A)], stamp=now + 280).status < 300
    assert stored(workspace) == 2


# --- bodies that are not a batch ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'[{"event": "delivered",', b"not json at all", b"", json.dumps(event("bounce", A, type="bounce")).encode(), b'"a string"', b"42", b"null"],
    ids=["truncated", "not-json", "empty", "object", "string", "number", "null"],
)
@pytest.mark.slow
def test_a_signed_body_that_is_not_a_json_array_is_a_400(hook, workspace, body):
    seed(workspace, Subscriber(A, "A", {}))
    answer = hook.post(body)
    assert answer.status == 400, (answer.status, answer.body)
    assert stored(workspace) == 0
    assert status_of(workspace, A) == Status.ACTIVE


def test_an_unsigned_malformed_body_is_a_403_not_a_400(hook):
    assert hook.post_raw(b"not json", {}).status == 403
    assert hook.post_raw(b"{}", {TIMESTAMP: str(int(time.time()))}).status == 403


def test_items_that_are_not_events_are_skipped(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    hook.accepted([1, "x", None, [], {"event": "bounce", "email": A}, {"sg_event_id": "no-kind", "email": A}, event("delivered", A)])
    assert stored(workspace) == 1
    assert status_of(workspace, A) == Status.ACTIVE


# --- once per sg_event_id ----------------------------------------------------------------------


def test_the_same_batch_posted_twice_is_stored_once(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}), Subscriber(B, "B", {}))
    batch = [event("delivered", A, "dup-1"), event("bounce", B, "dup-2", type="bounce", reason="550 unknown user")]
    hook.accepted(batch)
    hook.accepted(batch)
    assert stored(workspace) == 2
    assert stored(workspace, "dup-1") == 1 and stored(workspace, "dup-2") == 1
    assert counts(workspace) == {"bounce": 1, "delivered": 1}
    assert [change[0] for change in changes(workspace, B)] == [Status.BOUNCED]


def test_a_duplicate_inside_one_batch_is_stored_once(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    hook.accepted([event("spamreport", A, "same"), event("spamreport", A, "same"), event("delivered", A, "other")])
    assert stored(workspace) == 2 and stored(workspace, "same") == 1
    assert [change[0] for change in changes(workspace, A)] == [Status.COMPLAINED]


def test_a_repeated_soft_bounce_is_counted_once(hook, workspace):
    """SendGrid retries a batch: the same `blocked` event three times is one soft bounce, not three."""
    seed(workspace, Subscriber(A, "A", {}))
    blocked = event("bounce", A, "blocked-1", type="blocked", reason="421 try again later")
    hook.accepted([blocked, blocked])
    hook.accepted([blocked])
    assert stored(workspace, "blocked-1") == 1
    assert status_of(workspace, A) == Status.ACTIVE
    hook.accepted([event("bounce", A, type="blocked")])
    assert status_of(workspace, A) == Status.ACTIVE  # two distinct soft bounces so far
    hook.accepted([event("bounce", A, type="blocked")])
    assert status_of(workspace, A) == Status.BOUNCED


# --- what each event does ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("bounce", {"type": "bounce", "reason": "550 5.1.1 user unknown", "status": "5.1.1"}, Status.BOUNCED),
        ("dropped", {"reason": "Bounced Address"}, Status.BOUNCED),
        ("dropped", {"reason": "Invalid"}, Status.BOUNCED),
        ("spamreport", {}, Status.COMPLAINED),
        ("unsubscribe", {}, Status.UNSUBSCRIBED),
        ("group_unsubscribe", {"asm_group_id": 1}, Status.UNSUBSCRIBED),
        ("group_resubscribe", {"asm_group_id": 1}, Status.ACTIVE),
        ("bounce", {"type": "blocked", "reason": "421 deferred"}, Status.ACTIVE),  # one soft bounce is not enough
        ("dropped", {"reason": "Spam Content (if spam checker app enabled)"}, Status.ACTIVE),
        ("delivered", {"response": "250 OK"}, Status.ACTIVE),
        ("deferred", {"response": "400 try again"}, Status.ACTIVE),
        ("processed", {}, Status.ACTIVE),
        ("open", {}, Status.ACTIVE),
        ("click", {"url": "https://example.org/robots/towels"}, Status.ACTIVE),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
@pytest.mark.slow
def test_each_event_moves_the_right_subscriber_to_the_right_status(hook, workspace, kind, extra, expected):
    seed(workspace, Subscriber(A, "A", {}), Subscriber(B, "B", {}))
    hook.accepted([event(kind, A, **extra)])
    assert status_of(workspace, A) == expected
    assert status_of(workspace, B) == Status.ACTIVE  # the other subscriber is untouched
    assert changes(workspace, B) == []
    assert counts(workspace) == {kind: 1}
    moved = [change for change in changes(workspace, A) if change[0] != Status.ACTIVE]
    if expected == Status.ACTIVE:
        assert moved == []
    else:
        assert [(status, channel) for status, channel, _, _ in moved] == [(expected, f"sendgrid {kind}")]


def test_the_address_in_an_event_is_matched_whatever_its_case(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    hook.accepted([event("spamreport", "  A@Example.COM ")])
    assert status_of(workspace, A) == Status.COMPLAINED


@pytest.mark.slow
def test_events_for_unknown_addresses_are_stored_without_error(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    nobody = "nobody@example.com"
    kinds = [
        event("delivered", nobody), event("bounce", nobody, type="bounce"), event("bounce", nobody, type="blocked"),
        event("dropped", nobody, reason="Invalid"), event("spamreport", nobody), event("unsubscribe", nobody),
        event("group_unsubscribe", nobody), event("group_resubscribe", nobody),
    ]  # fmt: skip
    hook.accepted(kinds)
    assert stored(workspace) == len(kinds)
    assert status_of(workspace, nobody) is None  # nobody is added by an event
    assert changes(workspace, nobody) == []
    assert status_of(workspace, A) == Status.ACTIVE
    assert counts(workspace)["bounce"] == 1 and counts(workspace)["spamreport"] == 1


# --- never back to active ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "kind", "extra", "after"),
    [
        (Status.UNSUBSCRIBED, "bounce", {"type": "bounce"}, Status.UNSUBSCRIBED),
        (Status.UNSUBSCRIBED, "group_resubscribe", {}, Status.UNSUBSCRIBED),
        (Status.UNSUBSCRIBED, "delivered", {}, Status.UNSUBSCRIBED),
        (Status.BOUNCED, "group_resubscribe", {}, Status.BOUNCED),
        (Status.BOUNCED, "unsubscribe", {}, Status.BOUNCED),
        (Status.COMPLAINED, "unsubscribe", {}, Status.COMPLAINED),
        (Status.COMPLAINED, "bounce", {"type": "bounce"}, Status.COMPLAINED),
        (Status.COMPLAINED, "group_resubscribe", {}, Status.COMPLAINED),
        (Status.UNSUBSCRIBED, "spamreport", {}, Status.COMPLAINED),  # a complaint outranks all
        (Status.BOUNCED, "spamreport", {}, Status.COMPLAINED),
    ],
)
@pytest.mark.slow
def test_no_event_reactivates_and_a_complaint_outranks_all(hook, workspace, before, kind, extra, after):
    seed(workspace, Subscriber(A, "A", {}, before))
    hook.accepted([event(kind, A, **extra)])
    assert status_of(workspace, A) == after


@pytest.mark.slow
def test_a_group_resubscribe_after_an_unsubscribe_keeps_them_unsubscribed(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    hook.accepted([event("group_unsubscribe", A, asm_group_id=1)])
    hook.accepted([event("group_resubscribe", A, asm_group_id=1)])
    assert status_of(workspace, A) == Status.UNSUBSCRIBED
    assert counts(workspace) == {"group_resubscribe": 1, "group_unsubscribe": 1}


@pytest.mark.slow
def test_a_complaint_on_an_unsubscribed_subscriber_makes_them_complained(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    hook.accepted([event("unsubscribe", A)])
    assert status_of(workspace, A) == Status.UNSUBSCRIBED
    hook.accepted([event("spamreport", A)])
    assert status_of(workspace, A) == Status.COMPLAINED
    assert [(status, channel) for status, channel, _, _ in changes(workspace, A)][-2:] == [
        (Status.UNSUBSCRIBED, "sendgrid unsubscribe"),
        (Status.COMPLAINED, "sendgrid spamreport"),
    ]


# --- soft bounces ------------------------------------------------------------------------------


def blocked() -> dict[str, Any]:
    return event("bounce", A, type="blocked", reason="421 4.7.0 temporarily rate limited")


@pytest.mark.slow
def test_three_soft_bounces_in_a_row_bounce_the_address(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    hook.accepted([blocked()])
    hook.accepted([blocked()])
    assert status_of(workspace, A) == Status.ACTIVE
    hook.accepted([blocked()])
    assert status_of(workspace, A) == Status.BOUNCED
    assert [(status, channel) for status, channel, _, _ in changes(workspace, A)][-1] == (Status.BOUNCED, "sendgrid bounce")


def test_three_soft_bounces_in_one_batch_bounce_the_address(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}))
    hook.accepted([blocked(), blocked(), blocked()])
    assert status_of(workspace, A) == Status.BOUNCED


@pytest.mark.slow
def test_a_delivery_ends_a_run_of_soft_bounces(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}), Subscriber(B, "B", {}))
    hook.accepted([blocked(), blocked()])
    hook.accepted([event("delivered", A)])
    hook.accepted([blocked(), blocked()])
    assert status_of(workspace, A) == Status.ACTIVE
    hook.accepted([blocked()])  # now three in a row again
    assert status_of(workspace, A) == Status.BOUNCED


@pytest.mark.slow
def test_a_delivery_to_someone_else_does_not_reset_the_count(hook, workspace):
    seed(workspace, Subscriber(A, "A", {}), Subscriber(B, "B", {}))
    hook.accepted([blocked(), blocked(), event("delivered", B), blocked()])
    assert status_of(workspace, A) == Status.BOUNCED
    assert status_of(workspace, B) == Status.ACTIVE


# --- newsletter status -------------------------------------------------------------------------


@pytest.mark.slow
def test_status_shows_the_event_counts_of_the_issue(hook, in_workspace, issue_path):
    seed(in_workspace, Subscriber(A, "A", {}), Subscriber(B, "B", {}), Subscriber("c@example.com", "C", {}))
    hook.accepted(
        [
            event("delivered", A), event("delivered", B), event("delivered", B),  # B twice: still one address
            event("bounce", "c@example.com", type="bounce"), event("open", A),
            event("delivered", "d@example.com", issue="6"),  # another issue's: not counted
        ]
    )  # fmt: skip
    assert counts(in_workspace) == {"bounce": 1, "delivered": 2, "open": 1}
    result = CliRunner().invoke(cli, ["status", str(issue_path)])
    assert result.exit_code == 0, result.output
    assert "Issue 7" in result.output
    assert re.search(r"^[ \t]*delivered[ \t]+2[ \t]*$", result.output, re.MULTILINE), result.output
    assert re.search(r"^[ \t]*bounce[ \t]+1[ \t]*$", result.output, re.MULTILINE), result.output
    assert re.search(r"^[ \t]*open[ \t]+1[ \t]*$", result.output, re.MULTILINE), result.output


# --- the provider's reading and checking, without the web app -----------------------------------


def test_a_batch_is_read_into_events_with_its_unusable_addresses_counted() -> None:
    from newsletter.providers.sendgrid.events import read_events

    body = json.dumps(
        [
            {"sg_event_id": "a1", "event": "spamreport", "email": "Ada@Example.com", "issue": ISSUE},
            {"sg_event_id": "a2", "event": "bounce", "email": "not an address"},
            {"event": "open"},  # no id: no event of SendGrid's
            "noise",
        ]
    ).encode()
    batch = read_events(body)
    assert [(e.event_id, e.email, e.status) for e in batch.events] == [("a1", "ada@example.com", Status.COMPLAINED), ("a2", None, Status.BOUNCED)]
    assert batch.unusable == 1
    for wrong in (b'{"event": "open"}', b"[", b"\xff"):
        with pytest.raises(ValueError):
            read_events(wrong)


def test_the_signature_is_checked_over_the_timestamp_and_the_raw_body(private_key, other_key) -> None:
    from newsletter.providers.sendgrid.events import MAX_SKEW, signature_checker, signed

    der = private_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    checker = signature_checker(base64.b64encode(der).decode("ascii"))
    body, now = b'[{"sg_event_id": "x"}]', str(int(time.time()))
    assert signed(checker, body, sign(private_key, now, body), now)
    assert not signed(checker, body + b" ", sign(private_key, now, body), now)
    assert not signed(checker, body, sign(other_key, now, body), now)
    stale = str(int(time.time()) - MAX_SKEW - 60)
    assert not signed(checker, body, sign(private_key, stale, body), stale)
    assert signature_checker("") is None
    with pytest.raises(ValueError):
        signature_checker("not a key")
