"""Amazon SES's events as SNS posts them to /webhooks/ses, signed and attacked: each event type moves
the right subscriber and is stored once; a forged, misdirected, stale or unsigned post is refused
(403) and changes nothing. Offline: the "SNS" certificate is made here, and the receiver fetches it
(and confirmation URLs) through a stand-in for the network that records what was asked."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from newsletter.db import Database
from newsletter.models import Status, Subscriber
from newsletter.providers.ses import events as ses_events
from tests.helpers.workspace import add_config

pytestmark = pytest.mark.slow  # a web app per test (about 0.2 s each on a loaded machine), many cases

READER = "reader@example.com"
HANA = "hana@例え.jp"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:newsletter-events"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
SUBSCRIBE_URL = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37"
_ids = itertools.count(1)


def certificate(key: rsa.RSAPrivateKey, days: int = 30) -> bytes:
    """A self-signed certificate for `key`, as SNS's is (CN sns.amazonaws.com), valid around today."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    made = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256())
    )
    return made.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Network:
    """What the receiver fetches: the certificate at CERT_URL, the confirmation at SUBSCRIBE_URL."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.fetched: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.fetched.append(url)
        if url == CERT_URL:
            return self.pem
        if url == SUBSCRIBE_URL:
            return b"<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
        raise OSError(f"nothing at {url}")


@pytest.fixture
def network(key, monkeypatch) -> Network:
    fake = Network(certificate(key))
    monkeypatch.setattr(ses_events, "fetch_url", fake)  # the receiver's default fetcher, offline
    return fake


@pytest.fixture
def app(workspace: Path, network):
    """The web app of the workspace (Flask's test client posts to it); its receiver fetches from `network`."""
    from newsletter.web import create_app
    from newsletter.web.extensions import limiter

    made = create_app(workspace)
    limiter.reset()
    seed(workspace, READER)
    yield made
    made.extensions["newsletter"].sender.stop()


# --- what SNS posts ------------------------------------------------------------------------------

# The fields SNS signs, in its documented order (written out here, not taken from the code under test).
SIGNED_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SIGNED_SUBSCRIPTION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def sign(message: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "1") -> dict[str, Any]:
    fields = SIGNED_NOTIFICATION if message["Type"] == "Notification" else SIGNED_SUBSCRIPTION
    text = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(text.encode(), padding.PKCS1v15(), digest)
    return {**message, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode(), "SigningCertURL": CERT_URL}


def stamp(at: dt.datetime | None = None) -> str:
    return (at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def notification(
    event: dict[str, Any], key: rsa.RSAPrivateKey, *, version: str = "1", at: dt.datetime | None = None, topic: str = TOPIC, subject: str | None = None,
) -> dict[str, Any]:
    message = {
        "Type": "Notification", "MessageId": f"5f1c0d3e-{next(_ids):04d}-5b6c-9d4e-0a1b2c3d4e5f", "TopicArn": topic, "Message": json.dumps(event),
        "Timestamp": stamp(at), "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:1",
    }
    if subject is not None:
        message["Subject"] = subject
    return sign(message, key, version)


def subscription(key: rsa.RSAPrivateKey, kind: str = "SubscriptionConfirmation", subscribe_url: str = SUBSCRIBE_URL) -> dict[str, Any]:
    message = {
        "Type": kind, "MessageId": f"165545c9-{next(_ids):04d}-4b5c-8a6d-1e2f3a4b5c6d", "Token": "2336412f37", "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url, "Timestamp": stamp(),
    }
    return sign(message, key)


def ses_event(kind: str, recipient: str = READER, **body: Any) -> dict[str, Any]:
    """An SES event as a configuration set publishes it (AWS's examples), tagged as our send tags it."""
    mail = {
        "timestamp": stamp(), "source": "editor@fixture.example.org", "messageId": "0102018f-ses-message", "destination": [recipient],
        "tags": {"issue": ["7"], "send_id": ["a1b2c3"], "ses:configuration-set": ["newsletter-events"]},
    }
    return {"eventType": kind, "mail": mail, **body}


def bounce(kind: str, recipient: str = READER) -> dict[str, Any]:
    entry = {"emailAddress": recipient, "action": "failed", "status": "5.1.1" if kind == "Permanent" else "4.4.7", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
    return ses_event("Bounce", recipient, bounce={"bounceType": kind, "bounceSubType": "General", "bouncedRecipients": [entry], "timestamp": stamp(), "feedbackId": "fb-1"})


def post(app, message: dict[str, Any] | bytes, kind: str | None = None) -> int:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    headers = {"Content-Type": "text/plain; charset=UTF-8"}
    said = kind or (message.get("Type") if isinstance(message, dict) else None)
    if said:
        headers["x-amz-sns-message-type"] = said
    return int(app.test_client().post("/webhooks/ses", data=body, headers=headers).status_code)


# --- the database -------------------------------------------------------------------------------


def seed(workspace: Path, *emails: str) -> None:
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber(email, None, {}, Status.ACTIVE) for email in emails])


def subscriber(workspace: Path, email: str = READER) -> tuple[Status, int]:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(email)
        assert found is not None
        (soft,) = db.subscribers.db.execute("SELECT soft_bounces FROM subscribers WHERE email = ?", (email,)).fetchone()
        return found.status, soft


def stored(workspace: Path) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    with Database(workspace / "subscribers.db") as db:
        return list(db.events.db.execute("SELECT event, email, issue, send_id, detail FROM events WHERE provider = 'ses' ORDER BY received_at, event_id"))


# --- each event ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "word", "status", "soft", "detail"),
    [
        (bounce("Permanent"), "bounce", Status.BOUNCED, 0, "hard: 5.1.1 smtp; 550 5.1.1 user unknown"),
        (bounce("Transient"), "bounce", Status.ACTIVE, 1, "soft: 4.4.7 smtp; 550 5.1.1 user unknown"),
        (bounce("Undetermined"), "bounce", Status.ACTIVE, 1, "soft: 4.4.7 smtp; 550 5.1.1 user unknown"),
        (ses_event("Complaint", complaint={"complainedRecipients": [{"emailAddress": READER}], "complaintFeedbackType": "abuse", "timestamp": stamp()}),
         "spamreport", Status.COMPLAINED, 0, "abuse"),
        (ses_event("Delivery", delivery={"recipients": [READER], "smtpResponse": "250 2.6.0 Message received", "timestamp": stamp()}),
         "delivered", Status.ACTIVE, 0, "250 2.6.0 Message received"),
        (ses_event("DeliveryDelay", deliveryDelay={"delayType": "MailboxFull", "delayedRecipients": [{"emailAddress": READER, "diagnosticCode": "452 4.2.2 full"}]}),
         "deferred", Status.ACTIVE, 0, "MailboxFull 452 4.2.2 full"),
        (ses_event("Reject", reject={"reason": "Bad content"}), "dropped", Status.ACTIVE, 0, "Bad content"),
        (ses_event("Open", open={"timestamp": stamp(), "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1"}), "open", Status.ACTIVE, 0, None),
        (ses_event("Click", click={"timestamp": stamp(), "link": "https://example.org/story?utm=1", "linkTags": {}}), "click", Status.ACTIVE, 0, "https://example.org/story?utm=1"),
    ],
    ids=["hard-bounce", "soft-bounce", "undetermined-bounce", "complaint", "delivery", "delay", "reject", "open", "click"],
)
def test_each_event_type_reaches_its_subscriber(app, workspace, key, event, word, status, soft, detail) -> None:
    assert post(app, notification(event, key)) == 204
    assert subscriber(workspace) == (status, soft)
    assert stored(workspace) == [(word, READER, "7", "a1b2c3", detail)]  # the issue and the send, from the message's tags


def test_send_events_are_left_out_and_an_unknown_address_is_stored_for_nobody(app, workspace, key) -> None:
    assert post(app, notification(ses_event("Send", send={}), key)) == 204
    assert stored(workspace) == []
    assert post(app, notification(bounce("Permanent", "stranger@example.com"), key)) == 204
    assert [row[:2] for row in stored(workspace)] == [("bounce", "stranger@example.com")]
    assert subscriber(workspace) == (Status.ACTIVE, 0)


def test_an_idn_address_written_in_ascii_reaches_its_subscriber(app, workspace, key) -> None:
    seed(workspace, HANA)
    assert post(app, notification(bounce("Permanent", "hana@xn--r8jz45g.jp"), key)) == 204
    assert subscriber(workspace, HANA)[0] == Status.BOUNCED


def test_three_soft_bounces_bounce_and_a_delivery_resets_the_count(app, workspace, key) -> None:
    for _ in range(2):
        assert post(app, notification(bounce("Transient"), key)) == 204
    assert subscriber(workspace) == (Status.ACTIVE, 2)
    delivery = ses_event("Delivery", delivery={"recipients": [READER], "timestamp": stamp()})
    assert post(app, notification(delivery, key)) == 204
    assert subscriber(workspace) == (Status.ACTIVE, 0)
    for _ in range(3):
        assert post(app, notification(bounce("Transient"), key)) == 204
    assert subscriber(workspace)[0] == Status.BOUNCED


def test_one_bounce_naming_two_recipients_is_two_events(app, workspace, key) -> None:
    seed(workspace, "second@example.com")
    event = bounce("Permanent")
    event["bounce"]["bouncedRecipients"].append({"emailAddress": "second@example.com", "status": "5.1.1"})
    assert post(app, notification(event, key)) == 204
    assert subscriber(workspace)[0] == subscriber(workspace, "second@example.com")[0] == Status.BOUNCED
    assert len(stored(workspace)) == 2


def test_a_retried_or_replayed_post_is_stored_once(app, workspace, key) -> None:
    message = notification(bounce("Transient"), key)
    for _ in range(3):  # SNS retries; an attacker replays within the hour
        assert post(app, message) == 204
    assert len(stored(workspace)) == 1 and subscriber(workspace) == (Status.ACTIVE, 1)


def test_both_signature_versions_and_a_subject_are_accepted_and_the_certificate_is_fetched_once(app, workspace, key, network) -> None:
    assert post(app, notification(ses_event("Open", open={}), key, version="1")) == 204
    assert post(app, notification(ses_event("Open", open={}), key, version="2", subject="Amazon SES Email Event Notification")) == 204
    assert len(stored(workspace)) == 2
    assert network.fetched == [CERT_URL]


# --- refused ------------------------------------------------------------------------------------


def _tampered(message: dict[str, Any]) -> dict[str, Any]:
    return {**message, "Message": message["Message"].replace("Permanent", "Transient")}


def _cert_at(url: str):  # type: ignore[no-untyped-def]
    return lambda message: {**message, "SigningCertURL": url}


REFUSED = {
    "tampered-message": _tampered,
    "other-message-id": lambda m: {**m, "MessageId": "5f1c0d3e-9999-5b6c-9d4e-0a1b2c3d4e5f"},
    "cert-on-another-host": _cert_at("https://sns.evil.com/SimpleNotificationService-1.pem"),
    "cert-in-an-s3-bucket": _cert_at("https://sns-certs.s3.amazonaws.com/SimpleNotificationService-1.pem"),
    "cert-on-a-lookalike-host": _cert_at("https://sns.eu-west-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem"),
    "cert-over-http": _cert_at(CERT_URL.replace("https://", "http://")),
    "cert-not-a-pem": _cert_at(CERT_URL.removesuffix(".pem") + ".txt"),
    "cert-on-another-port": _cert_at(CERT_URL.replace(".com/", ".com:8443/")),
    "unknown-signature-version": lambda m: {**m, "SignatureVersion": "3"},
    "signature-not-base64": lambda m: {**m, "Signature": "not base64!"},
    "no-signature": lambda m: {k: v for k, v in m.items() if k not in ("Signature", "SignatureVersion", "SigningCertURL")},
    "no-timestamp": lambda m: {k: v for k, v in m.items() if k != "Timestamp"},
    "not-a-type-sns-has": lambda m: {**m, "Type": "Event"},
}


@pytest.mark.parametrize("change", REFUSED.values(), ids=REFUSED.keys())
def test_a_forged_or_misdirected_post_is_refused_and_changes_nothing(app, workspace, key, network, change) -> None:
    assert post(app, change(notification(bounce("Permanent"), key))) == 403
    assert subscriber(workspace) == (Status.ACTIVE, 0) and stored(workspace) == []
    assert set(network.fetched) <= {CERT_URL}  # never a certificate from anywhere else


def test_a_post_signed_with_another_key_is_refused(app, workspace, other_key) -> None:
    assert post(app, notification(bounce("Permanent"), other_key)) == 403
    assert subscriber(workspace) == (Status.ACTIVE, 0) and stored(workspace) == []


@pytest.mark.parametrize("hours", [-1.1, 3.0, -48.0], ids=["just-over-an-hour-old", "hours-in-the-future", "two-days-old"])
def test_a_stale_or_future_post_is_refused(app, workspace, key, hours) -> None:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    assert post(app, notification(bounce("Permanent"), key, at=at)) == 403
    assert stored(workspace) == []
    assert post(app, notification(bounce("Permanent"), key, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=50))) == 204  # SNS retrying: still taken


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'"a string"', "{\"Type\": \"Notification\", \"é\": 1}".encode("latin-1")])
def test_an_unsigned_or_unreadable_body_is_refused(app, workspace, body) -> None:
    assert post(app, body, kind="Notification") == 403
    assert stored(workspace) == []


def test_a_type_header_that_disagrees_with_the_message_is_refused(app, workspace, key) -> None:
    assert post(app, notification(bounce("Permanent"), key), kind="SubscriptionConfirmation") == 403
    assert stored(workspace) == []


def test_a_signed_message_that_holds_no_ses_event_is_a_400(app, workspace, key) -> None:
    message = sign({"Type": "Notification", "MessageId": "m-1", "TopicArn": TOPIC, "Message": "plain words", "Timestamp": stamp()}, key)
    assert post(app, message) == 400
    assert stored(workspace) == []


def test_only_the_topics_in_topic_arns_are_taken(workspace, key, network) -> None:
    from newsletter.web import create_app

    add_config(workspace, f'[ses]\ntopic_arns = ["{TOPIC}"]\n')
    seed(workspace, READER)
    app = create_app(workspace)
    try:
        other = TOPIC.replace("newsletter-events", "someone-elses")
        assert post(app, notification(bounce("Permanent"), key, topic=other)) == 403
        assert subscriber(workspace) == (Status.ACTIVE, 0)
        assert post(app, notification(bounce("Permanent"), key)) == 204
        assert subscriber(workspace)[0] == Status.BOUNCED
    finally:
        app.extensions["newsletter"].sender.stop()


# --- the subscription ---------------------------------------------------------------------------


def test_a_subscription_is_confirmed_by_visiting_its_sns_url(app, workspace, key, network, caplog) -> None:
    assert post(app, subscription(key)) == 204
    assert network.fetched == [CERT_URL, SUBSCRIBE_URL]
    assert f"ses webhook: confirmed the SNS subscription to {TOPIC}" in caplog.text
    assert stored(workspace) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/?Action=ConfirmSubscription&Token=1",
        "https://sns-bucket.s3.amazonaws.com/?Action=ConfirmSubscription",
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=1",
        "https://sns.eu-west-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
        "https://user@sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
    ],
)
def test_a_subscription_url_off_sns_is_never_visited(app, key, network, url) -> None:
    assert post(app, subscription(key, subscribe_url=url)) == 403
    assert url not in network.fetched


def test_an_unsigned_subscription_is_never_confirmed(app, key, network, other_key) -> None:
    assert post(app, subscription(other_key)) == 403
    assert SUBSCRIBE_URL not in network.fetched


def test_an_unsubscribe_confirmation_is_noted_and_stores_nothing(app, workspace, key, network, caplog) -> None:
    assert post(app, subscription(key, kind="UnsubscribeConfirmation")) == 204
    assert SUBSCRIBE_URL not in network.fetched and stored(workspace) == []
    assert f"the subscription to {TOPIC} was removed" in caplog.text


def test_a_certificate_that_cannot_be_fetched_now_is_a_503_so_sns_posts_again(app, workspace, key, monkeypatch) -> None:
    """The network's fault, not the post's: a 403 would make SNS give the event up, a 503 has it posted again."""

    def unreachable(url: str) -> bytes:
        raise OSError(f"connection to {url} timed out")

    monkeypatch.setattr(ses_events, "fetch_url", unreachable)
    response = app.test_client().post("/webhooks/ses", data=json.dumps(notification(bounce("Permanent"), key)), headers={"x-amz-sns-message-type": "Notification"})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert stored(workspace) == [] and subscriber(workspace) == (Status.ACTIVE, 0)
