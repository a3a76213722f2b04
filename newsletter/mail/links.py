"""Signed per-subscriber links: opaque, scoped to one purpose, impossible to forge.

A token is `<public id>.<signature>`, or `<public id>.<issue>.<signature>` for a link that goes out
in an issue (the report credits an unsubscribe to the issue it came from). The public id is random
and stored with the subscriber, so a link forwarded or written to a server log reveals no address.
The signature is an HMAC-SHA256 of the purpose, the id and the issue: an unsubscribe token cannot
be used to confirm a signup, and no token can be made without NEWSLETTER_SECRET. Checking accepts
every key in SigningKeys.accepted, so links already sent keep working while the secret is rotated
(see README, "Rotating NEWSLETTER_SECRET").
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # the keys come from the caller: mail never reads the workspace
    from ..workspace.credentials import SigningKeys

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# A dated token's body: public id, when issued (hex seconds), and in newer tokens the change number (hex).
DATED_BODY = re.compile(r"([A-Za-z0-9_-]{8,64})\.([0-9a-f]{1,12})(?:\.([0-9a-f]{1,16}))?")
ISSUE_KEY = re.compile(r"[A-Za-z0-9_-]{1,32}")  # an issue's key (its number) as a link may carry it
TEST_COPY_ID = "test-copy"  # `send --test` goes to someone who may not be a subscriber
RESERVED_IDS = frozenset({TEST_COPY_ID})  # never a subscriber's: links made with them mean something else
SIGNATURE_BYTES = 16
PUBLIC_ID_BYTES = 12  # 16 characters of base64url, no padding


class Purpose(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    CONFIRM = "confirm"
    PREFERENCES = "preferences"
    ADDRESS = "address"  # a new address the reader asked for, confirmed from that address
    BOUNCE = "bounce"  # a VERP return path: the issue and the reader a bounce comes back for (mail/verp.py)
    REDIRECT = "redirect"  # a tracked link: the issue, the slot and the address it goes to (mail/clicks.py)
    CLICK = "click"  # the reader part of a tracked link, naming the issue (mail/clicks.py)


def new_public_id() -> str:
    """A fresh random id for a subscriber (96 bits)."""
    return secrets.token_urlsafe(PUBLIC_ID_BYTES)


def make_token(public_id: str, purpose: Purpose, secret: bytes) -> str:
    return f"{public_id}.{_b64(_signature(public_id, purpose, secret))}"


def signer(purpose: Purpose, secret: bytes, issue: str | None = None) -> Callable[[str], str]:
    """make_token for many ids at once: the keyed hash and the message prefix are prepared once.
    With `issue`, every token also names the issue its link goes out in, under the same signature:
    `<public id>.<issue>.<signature>` (see verify_link)."""
    keyed = _keyed(secret)
    prefix = f"newsletter-link\0{purpose}\0".encode()
    suffix = f".{issue}" if issue is not None and ISSUE_KEY.fullmatch(issue) else ""

    def sign(public_id: str) -> str:
        body = public_id + suffix
        mac = keyed.copy()
        mac.update(prefix + body.encode())
        return f"{body}.{base64.urlsafe_b64encode(mac.digest()[:SIGNATURE_BYTES]).rstrip(b'=').decode()}"

    return sign


def verify_token(token: str, purpose: Purpose, keys: SigningKeys) -> str | None:
    """The public id a genuine token for `purpose` was made for (whether it names an issue or not);
    None for a forged, damaged or wrong-purpose token. Compared in constant time."""
    verified = verify_link(token, purpose, keys)
    return verified[0] if verified else None


def verify_link(token: str, purpose: Purpose, keys: SigningKeys) -> tuple[str, str | None] | None:
    """(public id, issue) of a genuine token for `purpose`, the issue being the one its link went out
    in; None for a forged, damaged or wrong-purpose token. Tokens made before links named their
    issue (`<public id>.<signature>`, in mail already sent) keep working, with no issue."""
    body, dot, signature = token.rpartition(".")
    public_id, dot2, issue = body.partition(".")
    if not dot or not PUBLIC_ID.fullmatch(public_id) or (dot2 and not ISSUE_KEY.fullmatch(issue)) or not signature.isascii():
        return None
    matches = [hmac.compare_digest(signature, _b64(_signature(body, purpose, key))) for key in keys.accepted]
    return (public_id, issue or None) if any(matches) else None


class DatedToken(NamedTuple):
    public_id: str
    issued: int  # Unix seconds
    after_change: int | None  # the subscriber's last status change (its number) when it was made; None in older tokens


def make_dated_token(public_id: str, purpose: Purpose, secret: bytes, issued: int, after_change: int | None = None) -> str:
    """A token that also carries when it was made (Unix seconds), for links that expire: `<public
    id>.<issued, hex>.<signature of both>`. With `after_change` (the number of the subscriber's
    last status change as it was made), `<public id>.<issued, hex>.<after_change, hex>.<signature>`:
    the link then knows which changes came after it, even within its second (see
    Subscribers.confirm)."""
    counter = f".{after_change:x}" if after_change is not None else ""
    return make_token(f"{public_id}.{issued:x}{counter}", purpose, secret)


def verify_dated_token(token: str, purpose: Purpose, keys: SigningKeys) -> DatedToken | None:
    """What a genuine dated token for `purpose` carries; None otherwise. The caller decides how old
    is too old. Tokens without a change number (in mail sent before they had one) keep working."""
    body, dot, signature = token.rpartition(".")
    parts = DATED_BODY.fullmatch(body)
    if not dot or parts is None or not signature.isascii():
        return None
    matches = [hmac.compare_digest(signature, _b64(_signature(body, purpose, key))) for key in keys.accepted]
    public_id, issued, counter = parts.groups()
    return DatedToken(public_id, int(issued, 16), int(counter, 16) if counter else None) if any(matches) else None


def signature(body: str, purpose: Purpose, secret: bytes) -> bytes:
    """The raw signature of `body` for `purpose` (what every token carries, in base64), for a token
    written in another alphabet: a VERP return path must survive a mail server lower-casing it."""
    return _signature(body, purpose, secret)


def _signature(public_id: str, purpose: Purpose, secret: bytes) -> bytes:
    mac = _keyed(secret).copy()  # the keyed state is computed once per secret, not per link
    mac.update(f"newsletter-link\0{purpose}\0{public_id}".encode())
    return mac.digest()[:SIGNATURE_BYTES]


@functools.lru_cache(maxsize=8)
def _keyed(secret: bytes) -> hmac.HMAC:
    return hmac.new(secret, digestmod=hashlib.sha256)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
