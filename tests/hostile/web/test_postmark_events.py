"""Postmark's webhooks (POST /webhooks/postmark), attacked: Postmark signs nothing, so a post proves
its origin only by the basic auth its URL carries (user "postmark", POSTMARK_WEBHOOK_PASSWORD).
Anything else is refused with a 403 and changes nothing; a replayed post is stored once; odd bodies
get a 400 or 413, never a 500. Each record type moves the subscriber it names as its meaning says."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from newsletter.db import Database
from newsletter.models import Status, Subscriber

pytestmark = pytest.mark.slow  # a web app per test (about 0.2 s each on a loaded machine), many cases

PASSWORD = "Postmark-hook-password-for-the-tests_0123"
PATH = "/webhooks/postmark"
_ids = itertools.count(1000)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@pytest.fixture
def hook(serve, monkeypatch):  # type: ignore[no-untyped-def]
    """hook(record, authorization=...) posts one record as Postmark does; returns the HTTP status."""
    monkeypatch.setenv("POSTMARK_WEBHOOK_PASSWORD", PASSWORD)
    client = serve()

    def post(record: Any, authorization: str | None = basic("postmark", PASSWORD)) -> int:
        body = record if isinstance(record, bytes) else json.dumps(record).encode()
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        return client.request("POST", PATH, body, headers).status

    return post


def now(seconds: float = 0) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def record(kind: str, email: str = "a@example.com", **extra: Any) -> dict[str, Any]:
    """One of Postmark's webhook records, with our Metadata, as its docs show them."""
    found: dict[str, Any] = {"RecordType": kind, "MessageID": f"m-{next(_ids)}", "MessageStream": "broadcast", "Tag": "7", "Metadata": {"issue": "7", "send_id": "s-1"}}
    if kind in ("Bounce", "SpamComplaint"):
        found |= {"ID": next(_ids), "Email": email, "BouncedAt": now(), "Type": kind, "TypeCode": 100001, "Inactive": True, "Description": "", "Details": ""}
    elif kind == "Delivery":
        found |= {"Recipient": email, "DeliveredAt": now(), "Details": "Test delivery webhook details"}
    elif kind == "SubscriptionChange":
        found |= {"Recipient": email, "ChangedAt": now(), "Origin": "Recipient", "SuppressSending": True, "SuppressionReason": "ManualSuppression"}
    else:  # Open, Click
        found |= {"Recipient": email, "ReceivedAt": now(), "FirstOpen": True, "Platform": "WebMail"}
    return found | extra


def seed(workspace: Path, email: str = "a@example.com", status: Status = Status.ACTIVE) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(email, None, {}, status)])
        an_hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(timespec="seconds")
        db.subscribers.db.execute("UPDATE subscribers SET status_changed_at = ? WHERE email = ?", (an_hour_ago, email))


def standing(workspace: Path, email: str = "a@example.com") -> tuple[Status, int]:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        assert found is not None
        (soft,) = db.subscribers.db.execute("SELECT soft_bounces FROM subscribers WHERE email = ?", (email,)).fetchone()
        return found.status, soft


def stored(workspace: Path) -> list[tuple[str, str | None, str | None, str | None]]:
    with Database(workspace / "subscribers.db") as db:
        return list(db.events.db.execute("SELECT event, email, issue, detail FROM events ORDER BY received_at, event_id"))


# --- each record type -------------------------------------------------------------------------------


CASES = [
    ("delivery", record("Delivery"), Status.ACTIVE, 0, "delivered", "Test delivery webhook details"),
    (
        "hard bounce", record("Bounce", Type="HardBounce", TypeCode=1, Description="Unable to deliver", Details="550 5.1.1 no such user"),
        Status.BOUNCED, 0, "bounce", "hard: Unable to deliver - 550 5.1.1 no such user",
    ),
    ("bad address", record("Bounce", Type="BadEmailAddress", TypeCode=100000, Description="Invalid email address"), Status.BOUNCED, 0, "bounce", "hard: Invalid email address"),
    ("manually deactivated", record("Bounce", Type="ManuallyDeactivated", TypeCode=100002), Status.BOUNCED, 0, "bounce", "hard: "),
    ("soft bounce", record("Bounce", Type="SoftBounce", TypeCode=4096, Inactive=False, Description="Mailbox full"), Status.ACTIVE, 1, "bounce", "soft: Mailbox full"),
    ("transient", record("Bounce", Type="Transient", TypeCode=2, Inactive=False, Description="Delayed"), Status.ACTIVE, 1, "bounce", "soft: Delayed"),
    ("soft, made inactive", record("Bounce", Type="SoftBounce", TypeCode=4096, Inactive=True, Description="Too many"), Status.BOUNCED, 0, "bounce", "hard: Too many"),
    ("type by name only", record("Bounce", Type="HardBounce", TypeCode=None, Description="gone"), Status.BOUNCED, 0, "bounce", "hard: gone"),
    ("out of office", record("Bounce", Type="AutoResponder", TypeCode=64, Inactive=False, Description="Away"), Status.ACTIVE, 0, "reply", "Away"),
    ("unsubscribe request", record("Bounce", Type="Unsubscribe", TypeCode=16, Inactive=False, Description="Remove me"), Status.UNSUBSCRIBED, 0, "unsubscribe", "Remove me"),
    ("spam complaint", record("SpamComplaint", Type="SpamComplaint", TypeCode=100001, Description="Marked as spam."), Status.COMPLAINED, 0, "spamreport", "Marked as spam."),
    ("suppressed: unsubscribe", record("SubscriptionChange"), Status.UNSUBSCRIBED, 0, "unsubscribe", "ManualSuppression (Recipient)"),
    ("suppressed: hard bounce", record("SubscriptionChange", SuppressionReason="HardBounce", Origin="Recipient"), Status.BOUNCED, 0, "bounce", "hard: HardBounce (Recipient)"),
    ("suppressed: complaint", record("SubscriptionChange", SuppressionReason="SpamComplaint", Origin="Recipient"), Status.COMPLAINED, 0, "spamreport", "SpamComplaint (Recipient)"),
    ("reactivated", record("SubscriptionChange", SuppressSending=False, SuppressionReason=None, Origin="Customer"), Status.ACTIVE, 0, "reactivated", None),
    ("open", record("Open"), Status.ACTIVE, 0, "open", None),
    ("click", record("Click", OriginalLink="https://example.org/story?utm=x", ClickLocation="HTML"), Status.ACTIVE, 0, "click", "https://example.org/story?utm=x"),
]


@pytest.mark.parametrize("item, status, soft, word, detail", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_record_type_moves_the_subscriber_as_it_means(hook, workspace: Path, item: dict[str, Any], status: Status, soft: int, word: str, detail: str | None) -> None:
    seed(workspace)
    assert hook(item) == 204
    assert standing(workspace) == (status, soft)
    assert stored(workspace) == [(word, "a@example.com", "7", detail)]  # the issue from our Metadata


def test_a_reactivation_at_postmark_does_not_bring_back_a_reader_who_left(hook, workspace: Path) -> None:
    seed(workspace, status=Status.UNSUBSCRIBED)
    assert hook(record("SubscriptionChange", SuppressSending=False, SuppressionReason="ManualSuppression", Origin="Customer")) == 204
    assert standing(workspace) == (Status.UNSUBSCRIBED, 0)
    assert [row[0] for row in stored(workspace)] == ["reactivated"]  # stored all the same


def test_a_delivery_ends_a_run_of_soft_bounces(hook, workspace: Path) -> None:
    seed(workspace)
    soft = {"Type": "SoftBounce", "TypeCode": 4096, "Inactive": False}
    assert hook(record("Bounce", **soft)) == hook(record("Bounce", **soft)) == 204
    assert standing(workspace) == (Status.ACTIVE, 2)
    assert hook(record("Delivery")) == 204
    assert standing(workspace) == (Status.ACTIVE, 0)


def test_an_idn_address_in_its_ascii_form_moves_the_reader(hook, workspace: Path) -> None:
    seed(workspace, "hana@例え.jp")
    assert hook(record("SpamComplaint", email="HANA@XN--R8JZ45G.JP")) == 204
    assert standing(workspace, "hana@例え.jp")[0] == Status.COMPLAINED


def test_an_unusable_address_is_stored_and_moves_nobody(hook, workspace: Path) -> None:
    seed(workspace)
    assert hook(record("SpamComplaint", email="not an address")) == 204
    assert standing(workspace) == (Status.ACTIVE, 0)
    assert [(row[0], row[1]) for row in stored(workspace)] == [("spamreport", None)]


# --- the basic auth -----------------------------------------------------------------------------


FORGED = {
    "missing": None,
    "wrong password": basic("postmark", "not-the-password-at-all-0000000000"),
    "password cut": basic("postmark", PASSWORD[:-1]),
    "password longer": basic("postmark", PASSWORD + "x"),
    "user case": basic("Postmark", PASSWORD),
    "wrong user": basic("someone", PASSWORD),
    "no user": basic("", PASSWORD),
    "no password": basic("postmark", ""),
    "no colon": "Basic " + base64.b64encode(f"postmark{PASSWORD}".encode()).decode(),
    "base64 cut": "Basic " + base64.b64encode(f"postmark:{PASSWORD}".encode()).decode()[:-2],
    "not base64": "Basic !!!not base64!!!",
    "scheme only": "Basic",
    "empty": "",
    "bearer": "Bearer " + PASSWORD,
    "not encoded": f"Basic postmark:{PASSWORD}",
    "long": "Basic " + base64.b64encode(f"postmark:{PASSWORD}".encode()).decode() + "A" * 4_000,
    "password twice": basic("postmark", PASSWORD + ":" + PASSWORD),
}


def test_anything_but_postmarks_basic_auth_is_refused_and_changes_nothing(hook, workspace: Path) -> None:
    seed(workspace)
    answers = {name: hook(record("SpamComplaint"), authorization=authorization) for name, authorization in FORGED.items()}
    assert answers == dict.fromkeys(FORGED, 403)
    assert standing(workspace) == (Status.ACTIVE, 0) and stored(workspace) == []


def test_the_scheme_is_read_in_any_case(hook, workspace: Path) -> None:
    seed(workspace)
    assert hook(record("SpamComplaint"), authorization=basic("postmark", PASSWORD).replace("Basic", "basic")) == 204
    assert standing(workspace)[0] == Status.COMPLAINED


@pytest.mark.parametrize("password", [None, "short", "has a space in it, twenty+ chars", "p@ss:word/with-url-characters-0000"], ids=["unset", "short", "space", "url characters"])
def test_without_a_usable_password_every_post_is_refused(serve, workspace: Path, monkeypatch, password: str | None) -> None:
    if password is None:
        monkeypatch.delenv("POSTMARK_WEBHOOK_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("POSTMARK_WEBHOOK_PASSWORD", password)
    client = serve()
    seed(workspace)
    for given in (password or "", PASSWORD):
        body = json.dumps(record("SpamComplaint")).encode()
        assert client.request("POST", PATH, body, {"Authorization": basic("postmark", given)}).status == 403
    assert standing(workspace) == (Status.ACTIVE, 0) and stored(workspace) == []


# --- replays --------------------------------------------------------------------------------------


def test_a_replayed_post_is_stored_once(hook, workspace: Path) -> None:
    """Basic auth has no timestamp: whoever saw a post can send it again. Each event's id comes from
    the event itself, so the copy is stored once and moves nobody twice."""
    seed(workspace)
    for item in (record("Open"), record("Delivery"), record("Click", OriginalLink="https://example.org/"), record("Bounce", Type="SoftBounce", TypeCode=4096, Inactive=False)):
        assert hook(item) == hook(item) == 204
    assert sorted(row[0] for row in stored(workspace)) == ["bounce", "click", "delivered", "open"]
    assert standing(workspace) == (Status.ACTIVE, 1)  # the soft bounce counted once


def test_two_opens_of_one_message_are_two_events(hook, workspace: Path) -> None:
    seed(workspace)
    first = record("Open", ReceivedAt="2026-12-01T10:00:00.1234567Z")
    assert hook(first) == hook(first | {"ReceivedAt": "2026-12-01T10:00:00.7654321Z"}) == 204  # the same second
    assert [row[0] for row in stored(workspace)] == ["open", "open"]


# --- odd bodies -----------------------------------------------------------------------------------


ODD_BODIES = {
    "words": b"not json",
    "list": b"[1, 2]",
    "string": b'"a string"',
    "not utf-8": b"\xff\xfe\x00{",
    "nested deep": b"[" * 100_000 + b"]" * 100_000,
    "nested field": b'{"RecordType": "Delivery", "Recipient": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "empty": b"",
}


def test_a_body_that_is_not_one_event_is_a_400(hook, workspace: Path) -> None:
    seed(workspace)
    assert {name: hook(body) for name, body in ODD_BODIES.items()} == dict.fromkeys(ODD_BODIES, 400)
    assert stored(workspace) == []


def test_a_huge_body_is_a_413(hook, workspace: Path) -> None:
    assert hook(b'{"RecordType": "Delivery", "Details": "' + b"x" * 6_000_000 + b'"}') == 413
    assert stored(workspace) == []


NOT_READ = {
    "inbound": {"RecordType": "Inbound", "From": "x@example.com"},
    "number": {"RecordType": 7},
    "bounce without id": {"RecordType": "Bounce", "Email": "a@example.com"},
    "boolean id": {"RecordType": "Bounce", "ID": True, "Email": "a@example.com"},
    "no record type": {"no": "record type"},
}


def test_a_record_this_tool_does_not_read_is_taken_and_ignored(hook, workspace: Path) -> None:
    seed(workspace)
    # accepted, so that Postmark does not retry it for hours
    assert {name: hook(item) for name, item in NOT_READ.items()} == dict.fromkeys(NOT_READ, 204)
    assert stored(workspace) == [] and standing(workspace) == (Status.ACTIVE, 0)


@pytest.mark.parametrize(
    "extra",
    [{"Metadata": "not an object"}, {"Metadata": {"issue": ["7"], "send_id": {"x": 1}}}, {"BouncedAt": "yesterday"}, {"Description": 42, "Details": None}, {"TypeCode": "1"}],
    ids=["metadata text", "metadata values", "time", "words", "code as text"],
)
def test_odd_fields_are_read_as_far_as_they_go(hook, workspace: Path, extra: dict[str, Any]) -> None:
    seed(workspace)
    assert hook(record("Bounce", Type="HardBounce", TypeCode=1) | extra) == 204
    (row,) = stored(workspace)
    assert row[0] == "bounce" and row[1] == "a@example.com"
