"""Amazon SES's events, as SNS posts them to /webhooks/ses: each post's signature checked (AWS's
certificate, fetched from SNS itself), then the SES event inside read into our events.

Set-up at AWS: a configuration set with an SNS event destination, an SNS topic, and an HTTPS
subscription of https://<site>/webhooks/ses to it with raw message delivery off (raw delivery
drops the signature). The subscription confirms itself: its first post is confirmed here.

The checks follow AWS's own validators: the SigningCertURL must be https, end in .pem and name an
SNS host (`sns.<region>.amazonaws.com`: not any amazonaws.com host, which S3 buckets also have);
the signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) covers the fields AWS lists for
the message's type, in AWS's order; a message older than an hour is refused (SNS stops retrying
well before), and so is a topic not in [ses] topic_arns when that is set.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ...db import Event
from ...models import Status
from ...workspace.config import Config
from ..events import (
    BOUNCE,
    CLICK,
    COMPLAINT,
    DEFERRED,
    DELIVERED,
    DROPPED,
    MAX_SKEW,
    OPEN,
    EventBatch,
    Forged,
    Headers,
    Unavailable,
    Unreadable,
    address,
    bounce_detail,
    clean,
    from_iso,
    named,
    text,
)

NAME = "ses"
SNS_HOST = re.compile(r"^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$")  # as AWS's validators require
MAX_AGE = 3600  # seconds: an older message is a replay (SNS's own retries end well before)
FETCH_TIMEOUT = 5.0  # seconds, for the certificate and the subscription's confirmation
MAX_CERTIFICATE = 65_536  # bytes: a certificate is a few kilobytes
CACHED_CERTIFICATES = 32  # URLs; SNS rotates its certificate rarely
# The fields each type's signature covers, in AWS's order (Subject only when the message has one).
SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
DIGESTS: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

Fetch = Callable[[str], bytes]  # GET an https URL, return its body; raises OSError or ValueError


def fetch_url(url: str) -> bytes:
    """GET `url` (already checked to be https on an SNS host) with a short deadline."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as answer:  # https only: sns_url() checked it
        body: bytes = answer.read(MAX_CERTIFICATE + 1)
    if len(body) > MAX_CERTIFICATE:
        raise ValueError(f"{url} answered more than {MAX_CERTIFICATE} bytes")
    return body


def sns_url(value: Any, suffix: str = "") -> str | None:
    """`value` if it is an https URL on an SNS host (ending in `suffix`), else None."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or not host or port not in (None, 443) or parts.username or parts.password:
        return None
    if not SNS_HOST.match(host) or not parts.path.endswith(suffix):
        return None
    return value


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The text SNS signs for `message`: "Name\\nvalue\\n" for each signed field, in AWS's order.
    Raises Forged when a field it needs is missing."""
    fields = SIGNED.get(message.get("Type"))  # type: ignore[arg-type]
    if fields is None:
        raise Forged("not an SNS message type")
    out = []
    for name in fields:
        value = message.get(name)
        if name == "Subject" and value is None:
            continue
        if not isinstance(value, str):
            raise Forged(f"the SNS message has no {name}")
        out.append(f"{name}\n{value}\n")
    return "".join(out).encode("utf-8")


class Certificates:
    """SNS's signing certificates, fetched once per URL (the public key kept), a few URLs at most."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.keys: dict[str, rsa.RSAPublicKey] = {}
        self.lock = threading.Lock()

    def key(self, url: str) -> rsa.RSAPublicKey:
        with self.lock:
            found = self.keys.get(url)
        if found is not None:
            return found
        try:
            pem = self.fetch(url)
        except OSError as exc:  # our side or the network: SNS should post it again later
            raise Unavailable(f"cannot fetch SNS's signing certificate at {url}: {exc}") from None
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise Forged(f"cannot read SNS's signing certificate at {url}: {exc}") from None
        now = dt.datetime.now(dt.UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise Forged(f"SNS's signing certificate at {url} is not valid now")
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Forged(f"SNS's signing certificate at {url} holds no RSA key")
        with self.lock:
            if len(self.keys) >= CACHED_CERTIFICATES:
                self.keys.clear()
            self.keys[url] = key
        return key


class SesReceiver:
    """SNS's posts of SES events: signed by AWS, from the topics in [ses] topic_arns (when set)."""

    name = NAME

    def __init__(self, topic_arns: list[str], fetch: Fetch = fetch_url, clock: Callable[[], float] = time.time) -> None:
        self.topic_arns = frozenset(topic_arns)
        self.fetch = fetch
        self.certificates = Certificates(fetch)
        self.clock = clock

    def receive(self, headers: Headers, body: bytes) -> EventBatch:
        message = self.checked(headers, body)
        kind = message["Type"]
        if kind == "SubscriptionConfirmation":
            return self.confirm(message)
        if kind == "UnsubscribeConfirmation":
            return EventBatch([], note=f"SNS says the subscription to {message['TopicArn']} was removed")
        try:
            event = json.loads(message["Message"])
        except ValueError:
            raise Unreadable("the SNS message holds no SES event (its Message is not JSON)") from None
        if not isinstance(event, dict):
            raise Unreadable("the SNS message holds no SES event")
        return read_event(message["MessageId"], event)

    def checked(self, headers: Headers, body: bytes) -> dict[str, Any]:
        """The SNS message in `body`, once it proves it comes from SNS. Raises Forged."""
        try:
            message = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Forged("not an SNS message (the body is not JSON)") from None
        if not isinstance(message, dict):
            raise Forged("not an SNS message")
        said = headers.get("x-amz-sns-message-type")
        if said is not None and said != message.get("Type"):
            raise Forged("the x-amz-sns-message-type header and the message disagree")
        self.verify_signature(message)
        self.check_age(message.get("Timestamp"))
        if self.topic_arns and message.get("TopicArn") not in self.topic_arns:
            raise Forged(f"topic {str(message.get('TopicArn'))[:200]} is not in [ses] topic_arns")
        return message

    def verify_signature(self, message: dict[str, Any]) -> None:
        digest = DIGESTS.get(str(message.get("SignatureVersion")))
        url = sns_url(message.get("SigningCertURL"), ".pem")
        if digest is None or url is None or not isinstance(message.get("Signature"), str):
            raise Forged("no SNS signature, or a certificate URL that is not SNS's")
        signed = string_to_sign(message)
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise Forged("the SNS signature is not base64") from None
        try:
            self.certificates.key(url).verify(signature, signed, padding.PKCS1v15(), digest())
        except InvalidSignature:
            raise Forged("the SNS signature does not match") from None

    def check_age(self, stamp: Any) -> None:
        when = from_iso(stamp)
        if when is None:
            raise Forged("the SNS message has no usable Timestamp")
        age = self.clock() - dt.datetime.fromisoformat(when).timestamp()
        if age > MAX_AGE or age < -MAX_SKEW:
            raise Forged(f"the SNS message is stale or from the future ({int(age)} s old)")

    def confirm(self, message: dict[str, Any]) -> EventBatch:
        """Confirm the subscription by visiting its SubscribeURL (an SNS host only)."""
        url = sns_url(message.get("SubscribeURL"))
        if url is None:
            raise Forged("the SubscribeURL is not on an SNS host")
        try:
            self.fetch(url)
        except (OSError, ValueError) as exc:  # SNS sends the confirmation again after a 5xx
            raise Unavailable(f"could not confirm the SNS subscription to {message['TopicArn']}: {exc}") from None
        return EventBatch([], note=f"confirmed the SNS subscription to {message['TopicArn']}")


def read_event(message_id: str, event: dict[str, Any]) -> EventBatch:
    """One SES event (as a configuration set or identity notifications publish it) as our events,
    one per recipient it names. Send, Rendering Failure and Subscription events are left out."""
    kind = event.get("eventType") or event.get("notificationType")
    mail = _object(event.get("mail"))
    tags = _object(mail.get("tags"))
    made = EventMaker(message_id, _tag(tags, "issue"), _tag(tags, "send_id"), from_iso(mail.get("timestamp")))
    read = READERS.get(kind)  # type: ignore[arg-type]
    if read is not None:
        read(made, event, mail)
    return EventBatch(made.events, made.unusable)


def _bounce(made: EventMaker, event: dict[str, Any], mail: dict[str, Any]) -> None:  # noqa: ARG001 (every reader takes the same three)
    bounce = _object(event.get("bounce"))
    hard = bounce.get("bounceType") == "Permanent"  # Transient and Undetermined: soft
    for entry in _objects(bounce.get("bouncedRecipients")):
        reason = " ".join(str(entry[key]) for key in ("status", "diagnosticCode") if entry.get(key)) or str(bounce.get("bounceSubType") or "")
        made.add(entry.get("emailAddress"), BOUNCE, from_iso(bounce.get("timestamp")), bounce_detail(hard, reason), status=Status.BOUNCED if hard else None, soft_bounce=not hard)


def _complaint(made: EventMaker, event: dict[str, Any], mail: dict[str, Any]) -> None:  # noqa: ARG001
    complaint = _object(event.get("complaint"))
    for entry in _objects(complaint.get("complainedRecipients")):
        made.add(entry.get("emailAddress"), COMPLAINT, from_iso(complaint.get("timestamp")), _words(complaint.get("complaintFeedbackType")), status=Status.COMPLAINED)


def _delivery(made: EventMaker, event: dict[str, Any], mail: dict[str, Any]) -> None:  # noqa: ARG001
    delivery = _object(event.get("delivery"))
    for recipient in _list(delivery.get("recipients")):
        made.add(recipient, DELIVERED, from_iso(delivery.get("timestamp")), _words(delivery.get("smtpResponse")), delivered=True)


def _delay(made: EventMaker, event: dict[str, Any], mail: dict[str, Any]) -> None:  # noqa: ARG001
    delay = _object(event.get("deliveryDelay"))
    for entry in _objects(delay.get("delayedRecipients")):
        reason = " ".join(str(part) for part in (delay.get("delayType"), entry.get("diagnosticCode")) if part)
        made.add(entry.get("emailAddress"), DEFERRED, from_iso(delay.get("timestamp")), reason or None)


def _reject(made: EventMaker, event: dict[str, Any], mail: dict[str, Any]) -> None:
    """SES would not send it at all (a virus found): about the message, not the address."""
    for recipient in _list(mail.get("destination")):
        made.add(recipient, DROPPED, made.sent_at, _words(_object(event.get("reject")).get("reason")))


def _open(made: EventMaker, event: dict[str, Any], mail: dict[str, Any]) -> None:
    for recipient in _list(mail.get("destination")):
        made.add(recipient, OPEN, from_iso(_object(event.get("open")).get("timestamp")), None)


def _click(made: EventMaker, event: dict[str, Any], mail: dict[str, Any]) -> None:
    click = _object(event.get("click"))
    link = click.get("link")
    for recipient in _list(mail.get("destination")):
        made.add(recipient, CLICK, from_iso(click.get("timestamp")), link[:2000] if isinstance(link, str) and link else None)


class EventMaker:
    """Our events for one SNS message: each recipient's event_id is the message's id and the
    address, so a post SNS retries (or someone replays) is stored once."""

    def __init__(self, message_id: str, issue: str | None, send_id: str | None, sent_at: str | None) -> None:
        self.message_id = message_id
        self.issue, self.send_id, self.sent_at = issue, send_id, sent_at
        self.events: list[Event] = []
        self.unusable = 0

    def add(self, recipient: Any, kind: str, when: str | None, detail: str | None, *, status: Status | None = None, soft_bounce: bool = False, delivered: bool = False) -> None:
        if not named(recipient):
            return
        email = address(recipient)
        if email is None:
            self.unusable += 1
        self.events.append(Event(
            event_id=clean(f"{self.message_id[:100]}:{str(recipient)[:200]}"), event=kind, email=email, issue=self.issue, send_id=self.send_id,
            happened_at=when or self.sent_at, detail=clean(detail[:500]) if detail else None, status=status, soft_bounce=soft_bounce, delivered=delivered,
        ))


READERS: dict[str, Callable[[EventMaker, dict[str, Any], dict[str, Any]], None]] = {
    "Bounce": _bounce, "Complaint": _complaint, "Delivery": _delivery, "DeliveryDelay": _delay, "Reject": _reject, "Open": _open, "Click": _click,
}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _tag(tags: dict[str, Any], name: str) -> str | None:
    """A tag's value: SES gives each tag as a list of strings."""
    values = tags.get(name)
    return text(values[0]) if isinstance(values, list) and values else None


def _words(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def receiver(config: Config, fetch: Fetch | None = None) -> SesReceiver:
    """The receiver of SNS's posts for [ses] topic_arns. It needs no secret: AWS's signature and
    certificate prove each post. `fetch` GETs SNS's certificates and confirmation URLs (default:
    this module's fetch_url, looked up now, so that tests can run offline with their own)."""
    return SesReceiver(list(config.ses.topic_arns), fetch or fetch_url)
