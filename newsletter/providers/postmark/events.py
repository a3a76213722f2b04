"""Postmark's webhooks: checking that a post comes from Postmark, and reading its one event into our
Event (what it does to the subscriber). The web app's route only reads the body, calls this and answers.

Postmark signs nothing. Its webhook URL carries HTTP basic auth instead
(https://postmark:<password>@<site>/webhooks/postmark), so each post brings an Authorization
header, checked here in constant time against user "postmark" and POSTMARK_WEBHOOK_PASSWORD.
Basic auth has no timestamp: a post replayed by whoever saw one is still let in, and is stored
once, since each event's id is derived from the event itself (see event_id()).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from ...db import Event
from ...errors import ConfigError
from ...models import Status
from ...workspace import credentials
from ...workspace.config import Config
from ..events import (
    BOUNCE,
    CLICK,
    COMPLAINT,
    DELIVERED,
    OPEN,
    UNSUBSCRIBE,
    EventBatch,
    Forged,
    Headers,
    Unreadable,
    address,
    bounce_detail,
    clean,
    from_iso,
    named,
    text,
)

USER = b"postmark"  # the user name of the webhook URL's basic auth
PASSWORD = re.compile(r"[A-Za-z0-9._~-]{20,200}")  # written in the URL as it is: no character that needs escaping there
MAX_AUTHORIZATION = 1_000  # characters: far above any header a 200-character password makes
# Postmark-only words for the events table, stored and moving nobody:
REACTIVATED = "reactivated"  # SubscriptionChange with SuppressSending false: Postmark will mail the address again
REPLY = "reply"  # a "bounce" that is an automatic answer (out of office, address change): the message arrived

HARD, SOFT, AUTOMATIC = "hard", "soft", "automatic"
# Postmark's bounce types by TypeCode, as postmark.js names them (ActiveCampaign/postmark.js,
# src/client/models/webhooks/enums/BounceTypeCode.ts), and what each is here. Hard: the address is
# gone, or Postmark will not mail it again (status bounced). Soft: counted, and a run of them bounces
# the address (db/events.py). A complaint or an unsubscribe request goes by its own word.
BOUNCE_TYPES: dict[int, tuple[str, str]] = {
    1: ("HardBounce", HARD),  # the server says the mailbox does not exist
    2: ("Transient", SOFT),  # delayed; the server may take it later
    16: ("Unsubscribe", UNSUBSCRIBE),  # an answer asking to be taken off the list: we do
    32: ("Subscribe", AUTOMATIC),  # an answer asking to subscribe: nothing to do
    64: ("AutoResponder", AUTOMATIC),  # out of office: the message arrived
    128: ("AddressChange", AUTOMATIC),  # "I have a new address": a person reads it, not us
    256: ("DnsError", SOFT),  # the domain could not be looked up this time
    512: ("SpamNotification", HARD),  # the receiving side refuses our mail as spam; Postmark deactivates it
    1024: ("OpenRelayTest", AUTOMATIC),
    2048: ("Unknown", SOFT),
    4096: ("SoftBounce", SOFT),  # mailbox full, server busy
    8192: ("VirusNotification", SOFT),
    16384: ("ChallengeVerification", AUTOMATIC),  # "prove you are human": the message waits there
    100000: ("BadEmailAddress", HARD),  # not an address at all
    100001: ("SpamComplaint", COMPLAINT),
    100002: ("ManuallyDeactivated", HARD),  # deactivated in Postmark: it will not mail the address
    100003: ("Unconfirmed", SOFT),
    100006: ("Blocked", SOFT),  # the receiver blocked our content or IP: about us, not the address
    100007: ("SMTPApiError", SOFT),
    100008: ("InboundError", SOFT),
    100009: ("DMARCPolicy", SOFT),  # refused under our domain's DMARC policy: about us
    100010: ("TemplateRenderingFailed", SOFT),
}
BOUNCE_TYPE_BY_NAME = {name: kind for name, kind in BOUNCE_TYPES.values()}
# SubscriptionChange's SuppressionReason: what a new suppression at Postmark means here.
SUPPRESSION = {"HardBounce": (BOUNCE, Status.BOUNCED), "SpamComplaint": (COMPLAINT, Status.COMPLAINED)}  # else an unsubscribe


def bounce_kind(item: dict[str, Any]) -> str:
    """HARD, SOFT, AUTOMATIC, COMPLAINT or UNSUBSCRIBE for a Bounce record, by TypeCode (else Type).
    An address Postmark made inactive is hard whatever the type: it will not be mailed again."""
    code = item.get("TypeCode")
    known = BOUNCE_TYPES.get(code) if isinstance(code, int) else None
    found = known[1] if known else BOUNCE_TYPE_BY_NAME.get(str(item.get("Type")), SOFT)
    if item.get("Inactive") is True and found in (SOFT, AUTOMATIC):
        return HARD
    return found


def event_id(item: dict[str, Any], kind: str) -> str | None:
    """The event's id, the same however often it is posted. Bounce and SpamComplaint records carry
    Postmark's own ID (one bounce, one id). Delivery, Open, Click and SubscriptionChange carry none:
    their id is a digest of what makes each one unique (the record type, the message, the recipient,
    the time to the fraction of a second that Postmark gives, and for a click its link, for a
    change its direction), so a retried or replayed post is stored once and two opens are two."""
    if kind in ("Bounce", "SpamComplaint"):
        found = item.get("ID")
        return f"bounce-{found}" if isinstance(found, (int, str)) and not isinstance(found, bool) and str(found) else None
    parts = [kind, item.get("MessageID") or item.get("MessageId"), item.get("Recipient"), _time(item, kind), item.get("OriginalLink"), item.get("SuppressSending")]
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:40]
    return f"{kind[:30]}-{digest}"


TIME_FIELD = {"Delivery": "DeliveredAt", "Bounce": "BouncedAt", "SpamComplaint": "BouncedAt", "Open": "ReceivedAt", "Click": "ReceivedAt", "SubscriptionChange": "ChangedAt"}


def _time(item: dict[str, Any], kind: str) -> Any:
    return item.get(TIME_FIELD.get(kind, ""))


def to_event(item: dict[str, Any]) -> Event | None:
    """One of Postmark's webhook records, mapped to what it does to the subscriber; None for a
    record type this tool does not read (Inbound, or one Postmark adds later)."""
    kind = item.get("RecordType")
    if kind not in TIME_FIELD:
        return None
    identity = event_id(item, kind)
    if identity is None:
        return None
    given = item.get("Metadata")
    metadata: dict[str, Any] = given if isinstance(given, dict) else {}
    who = item.get("Email") if kind in ("Bounce", "SpamComplaint") else item.get("Recipient")
    word, detail, status, soft = _meaning(item, kind)
    return Event(
        event_id=clean(identity), event=word, email=address(who), issue=text(metadata.get("issue")), send_id=text(metadata.get("send_id")),
        happened_at=from_iso(_time(item, kind)), detail=clean(detail[:2000]) if detail else None, status=status, soft_bounce=soft,
        delivered=kind == "Delivery",
    )


def _meaning(item: dict[str, Any], kind: str) -> tuple[str, str | None, Status | None, bool]:
    """(our word, detail, the status it gives, whether it is a soft bounce)."""
    reason = _reason(item)
    if kind == "Delivery":
        return DELIVERED, reason, None, False
    if kind == "Open":
        return OPEN, None, None, False
    if kind == "Click":
        link = item.get("OriginalLink")
        return CLICK, link if isinstance(link, str) and link else None, None, False
    if kind == "SpamComplaint":
        return COMPLAINT, reason, Status.COMPLAINED, False
    if kind == "SubscriptionChange":
        return _subscription_change(item)
    found = bounce_kind(item)
    if found == COMPLAINT:
        return COMPLAINT, reason, Status.COMPLAINED, False
    if found == UNSUBSCRIBE:
        return UNSUBSCRIBE, reason, Status.UNSUBSCRIBED, False
    if found == AUTOMATIC:
        return REPLY, reason, None, False
    hard = found == HARD
    return BOUNCE, bounce_detail(hard, reason), Status.BOUNCED if hard else None, not hard


def _subscription_change(item: dict[str, Any]) -> tuple[str, str | None, Status | None, bool]:
    """A suppression added at Postmark moves the reader; one lifted (a reactivation) is stored and
    changes nothing here: whoever left stays left until they come back through the sign-up."""
    why = item.get("SuppressionReason")
    origin = item.get("Origin")
    detail = f"{why} ({origin})" if isinstance(why, str) and isinstance(origin, str) else why if isinstance(why, str) else None
    if item.get("SuppressSending") is not True:
        return REACTIVATED, detail, None, False
    word, status = SUPPRESSION.get(why, (UNSUBSCRIBE, Status.UNSUBSCRIBED)) if isinstance(why, str) else (UNSUBSCRIBE, Status.UNSUBSCRIBED)
    return word, bounce_detail(True, detail) if word == BOUNCE else detail, status, False


def _reason(item: dict[str, Any]) -> str | None:
    """Postmark's words on a bounce or a delivery: the description, then the receiving server's details."""
    words = [value.strip() for value in (item.get("Description"), item.get("Details")) if isinstance(value, str) and value.strip()]
    return " - ".join(words)[:500] or None


def authorized(header: str, password: bytes) -> bool:
    """The Authorization header is Basic auth for user "postmark" and `password`. Both parts are
    compared in constant time, and both always are, so the time tells nothing of either."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded or len(header) > MAX_AUTHORIZATION:
        return False
    try:
        decoded = binascii.a2b_base64(encoded.strip().encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    user, colon, given = decoded.partition(b":")
    user_ok = hmac.compare_digest(user, USER)
    password_ok = hmac.compare_digest(given, password)
    return bool(colon) and user_ok and password_ok


def read_event(body: bytes) -> EventBatch:
    """The event in a webhook post's body (one JSON object). Raises Unreadable when it is not one."""
    try:
        item = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: a body nested thousands deep
        raise Unreadable("the body is not JSON") from None
    if not isinstance(item, dict):
        raise Unreadable("the body is not one Postmark event (a JSON object)")
    event = to_event(item)
    if event is None:
        return EventBatch([])
    who = item.get("Email") if item.get("RecordType") in ("Bounce", "SpamComplaint") else item.get("Recipient")
    return EventBatch([event], unusable=1 if event.email is None and named(who) else 0)


class PostmarkReceiver:
    """Postmark's webhook posts: basic auth on the URL, user "postmark", POSTMARK_WEBHOOK_PASSWORD."""

    name = "postmark"

    def __init__(self, password: str) -> None:
        self.password = password.encode("ascii")

    def receive(self, headers: Headers, body: bytes) -> EventBatch:
        if not authorized(headers.get("authorization", ""), self.password):
            raise Forged("no valid basic auth for Postmark's webhook")
        return read_event(body)


def receiver(config: Config) -> PostmarkReceiver:  # noqa: ARG001 (every provider's receiver is made from the settings)
    """The receiver for the password in POSTMARK_WEBHOOK_PASSWORD. Raises ConfigError without a usable one."""
    variable = credentials.POSTMARK_WEBHOOK_PASSWORD
    password = credentials.webhook_secret(variable)
    if not password:
        raise ConfigError(f"{variable} is not set; every Postmark event post is refused")
    if not PASSWORD.fullmatch(password):
        raise ConfigError(
            f"{variable} must be 20 to 200 letters, digits, '.', '_', '~' or '-' (it is written in the webhook URL as it is; "
            f"make one with {credentials.MAKE_ONE}); every Postmark event post is refused"
        )
    return PostmarkReceiver(password)
