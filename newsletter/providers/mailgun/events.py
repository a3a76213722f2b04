"""Mailgun's webhooks: checking a post's signature, and reading its event into our Event (what it
does to the subscriber). The web app's route only reads the body, calls these and answers.

A post is one JSON object: {"signature": {"timestamp", "token", "signature"}, "event-data": {...}}.
The signature is hex HMAC-SHA256(signing key, timestamp + token), checked with the SDK's
SecurityGuard.verify_webhook; a timestamp more than MAX_SKEW from now (either way) is refused.
The signature does not cover the event itself, so a token is remembered for a while with the body
it came with: the same token with another body is a forgery (the same post again is a harmless replay,
stored once by its event id).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
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
    DROPPED,
    MAX_SKEW,
    OPEN,
    UNSUBSCRIBE,
    EventBatch,
    Forged,
    Headers,
    Unreadable,
    address,
    bounce_detail,
    clean,
    from_epoch,
    named,
    text,
)

STAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() accepts "²", which int() refuses
HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")
MAX_TOKEN = 200
# Mailgun's event -> our word and what it does to the subscriber. "accepted" (Mailgun queued it) is
# left out: the ledger already says so (`sent`), and storing one per reader would double the table.
WORDS = {"delivered": DELIVERED, "complained": COMPLAINT, "unsubscribed": UNSUBSCRIBE, "opened": OPEN, "clicked": CLICK}
STATUS_OF = {"complained": Status.COMPLAINED, "unsubscribed": Status.UNSUBSCRIBED}
# A permanent failure for one of these reasons: Mailgun did not even try, the address is on its list.
SUPPRESSED = {"suppress-bounce": Status.BOUNCED, "suppress-complaint": Status.COMPLAINED, "suppress-unsubscribe": Status.UNSUBSCRIBED}


def to_event(data: dict[str, Any]) -> Event | None:
    """One of Mailgun's events (a post's event-data), mapped to what it does to the subscriber; None
    for an event that is none of ours to store (accepted, stored, list events...)."""
    event_id, kind = data.get("id"), data.get("event")
    if not isinstance(event_id, str) or not event_id or not isinstance(kind, str):
        return None
    word, status, soft, detail = WORDS.get(kind), STATUS_OF.get(kind), False, None
    if kind == "failed":
        word, status, soft, detail = _failure(data)
    elif kind == "clicked":  # the report counts clicks per link
        url = data.get("url")
        detail = url[:2000] if isinstance(url, str) and url else None
    if word is None:
        return None
    variables = data.get("user-variables")
    variables = variables if isinstance(variables, dict) else {}
    return Event(
        event_id=clean(event_id[:200]), event=word, email=address(data.get("recipient")), issue=text(variables.get("issue")),
        send_id=text(variables.get("send_id")), happened_at=from_epoch(data.get("timestamp")), detail=clean(detail) if detail else None,
        status=status, soft_bounce=soft, delivered=kind == "delivered",
    )


def _failure(data: dict[str, Any]) -> tuple[str, Status | None, bool, str]:
    """A failed delivery: permanent is a hard bounce (or, for an address on Mailgun's suppression
    lists, dropped with what put it there); temporary is a soft bounce."""
    reason = _reason(data)
    if data.get("severity") != "permanent":
        return BOUNCE, None, True, bounce_detail(False, reason)
    suppressed = SUPPRESSED.get(str(data.get("reason")))
    if suppressed is not None:
        return DROPPED, suppressed, False, reason[:500]
    return BOUNCE, Status.BOUNCED, False, bounce_detail(True, reason)


def _reason(data: dict[str, Any]) -> str:
    """The receiving server's words, else Mailgun's description, its code, or its reason word."""
    status = data.get("delivery-status")
    status = status if isinstance(status, dict) else {}
    for value in (status.get("message"), status.get("description"), status.get("code"), data.get("reason")):
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:500]
    return ""


class TokenMemory:
    """The tokens of recent posts, each with a digest of its body, for as long as its timestamp is fresh."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def fits(self, token: str, body: bytes) -> bool:
        """False when `token` came before with another body (a signature moved onto a forged event)."""
        digest, now = hashlib.sha256(body).digest(), time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {seen: kept for seen, kept in self._seen.items() if kept[0] > now}
            kept = self._seen.get(token)
            if kept is not None and kept[0] > now and kept[1] != digest:
                return False
            self._seen[token] = (now + 2 * MAX_SKEW, digest)
            return True


class MailgunReceiver:
    """Mailgun's webhook posts, signed with the account's HTTP webhook signing key (MAILGUN_WEBHOOK_SIGNING_KEY)."""

    name = "mailgun"

    def __init__(self, key: str) -> None:
        self.key = key
        self.tokens = TokenMemory()

    def receive(self, headers: Headers, body: bytes) -> EventBatch:  # noqa: ARG002 (Mailgun signs inside the body)
        post = _post(body)
        signature = post.get("signature")
        if not isinstance(signature, dict) or not signed(self.key, signature):
            raise Forged("no valid Mailgun signature")
        if not self.tokens.fits(str(signature["token"]), body):
            raise Forged("a Mailgun signature seen before, on another event")
        data = post.get("event-data")
        if not isinstance(data, dict):
            raise Unreadable("the post has no event-data object")
        event = to_event(data)
        if event is None:
            return EventBatch([])
        return EventBatch([event], 1 if event.email is None and named(data.get("recipient")) else 0)


def _post(body: bytes) -> dict[str, Any]:
    """The post as JSON. A body that is not a JSON object cannot carry a signature: it is refused as forged."""
    try:
        post = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Forged("the body is not JSON, so it carries no Mailgun signature") from None
    if not isinstance(post, dict):
        raise Forged("the body is not a JSON object, so it carries no Mailgun signature")
    return post


def signed(key: str, signature: dict[str, Any]) -> bool:
    """The signature checks out for `key`, and its timestamp is within MAX_SKEW of now."""
    from mailgun.security import SecurityGuard

    stamp, token, digest = signature.get("timestamp"), signature.get("token"), signature.get("signature")
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        stamp = str(stamp)
    if not isinstance(stamp, str) or not STAMP.fullmatch(stamp) or not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN:
        return False
    if not isinstance(digest, str) or not HEX_SIGNATURE.fullmatch(digest):
        return False
    try:
        return SecurityGuard.verify_webhook(key, token, stamp, digest, max_age_seconds=MAX_SKEW)
    except (TypeError, ValueError):
        return False


def receiver(config: Config) -> MailgunReceiver:  # noqa: ARG001 (every provider's receiver is made from the settings)
    """The receiver for the key in MAILGUN_WEBHOOK_SIGNING_KEY. Raises ConfigError without it."""
    key = credentials.webhook_secret(credentials.MAILGUN_WEBHOOK_SIGNING_KEY)
    if not key:
        raise ConfigError(f"{credentials.MAILGUN_WEBHOOK_SIGNING_KEY} is not set; every Mailgun event post is refused")
    try:
        import mailgun.security  # noqa: F401 (checked here, so that a missing part is said once, not at every post)
    except ModuleNotFoundError:
        raise ConfigError("the Mailgun part is not installed (pip install 'newsletter-desk[mailgun]'); every Mailgun event post is refused") from None
    return MailgunReceiver(key)
