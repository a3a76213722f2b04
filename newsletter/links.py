"""Signed per-subscriber links: opaque, scoped to one purpose, impossible to forge.

A token is `<public id>.<signature>`. The public id is random and stored with the subscriber, so a
link forwarded or written to a server log reveals no address. The signature is an HMAC-SHA256 of
the purpose and the id: an unsubscribe token cannot be used to confirm a signup, and no token can
be made without NEWSLETTER_SECRET. Checking accepts every key in SigningKeys.accepted, so links
already sent keep working while the secret is rotated (see README, "Rotating NEWSLETTER_SECRET").
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

from .credentials import SigningKeys

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
TEST_COPY_ID = "test-copy"  # `send --test` goes to someone who may not be a subscriber
RESERVED_IDS = frozenset({TEST_COPY_ID})  # never a subscriber's: links made with them mean something else
SIGNATURE_BYTES = 16
PUBLIC_ID_BYTES = 12  # 16 characters of base64url, no padding


class Purpose(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    CONFIRM = "confirm"
    PREFERENCES = "preferences"


def new_public_id() -> str:
    """A fresh random id for a subscriber (96 bits)."""
    return secrets.token_urlsafe(PUBLIC_ID_BYTES)


def make_token(public_id: str, purpose: Purpose, secret: bytes) -> str:
    return f"{public_id}.{_b64(_signature(public_id, purpose, secret))}"


def signer(purpose: Purpose, secret: bytes) -> Callable[[str], str]:
    """make_token for many ids at once: the keyed hash and the message prefix are prepared once."""
    keyed = _keyed(secret)
    prefix = f"newsletter-link\0{purpose}\0".encode()

    def sign(public_id: str) -> str:
        mac = keyed.copy()
        mac.update(prefix + public_id.encode())
        return f"{public_id}.{base64.urlsafe_b64encode(mac.digest()[:SIGNATURE_BYTES]).rstrip(b'=').decode()}"

    return sign


def verify_token(token: str, purpose: Purpose, keys: SigningKeys) -> str | None:
    """The public id a genuine token for `purpose` was made for; None for a forged, damaged or
    wrong-purpose token. Compared in constant time."""
    public_id, dot, signature = token.partition(".")
    if not dot or not PUBLIC_ID.fullmatch(public_id) or not signature.isascii():
        return None
    # Compared as text, so each signature has exactly one spelling (no padding or other variants).
    matches = [hmac.compare_digest(signature, _b64(_signature(public_id, purpose, key))) for key in keys.accepted]
    return public_id if any(matches) else None


def make_dated_token(public_id: str, purpose: Purpose, secret: bytes, issued: int) -> str:
    """A token that also carries when it was made (Unix seconds), for links that expire: `<public
    id>.<issued, hex>.<signature of both>`."""
    return make_token(f"{public_id}.{issued:x}", purpose, secret)


def verify_dated_token(token: str, purpose: Purpose, keys: SigningKeys) -> tuple[str, int] | None:
    """(public id, when issued) of a genuine dated token for `purpose`; None otherwise. The caller
    decides how old is too old."""
    body, dot, signature = token.rpartition(".")
    public_id, dot2, issued = body.partition(".")
    if not (dot and dot2) or not PUBLIC_ID.fullmatch(public_id) or not re.fullmatch(r"[0-9a-f]{1,12}", issued) or not signature.isascii():
        return None
    matches = [hmac.compare_digest(signature, _b64(_signature(body, purpose, key))) for key in keys.accepted]
    return (public_id, int(issued, 16)) if any(matches) else None


def _signature(public_id: str, purpose: Purpose, secret: bytes) -> bytes:
    mac = _keyed(secret).copy()  # the keyed state is computed once per secret, not per link
    mac.update(f"newsletter-link\0{purpose}\0{public_id}".encode())
    return mac.digest()[:SIGNATURE_BYTES]


@functools.lru_cache(maxsize=8)
def _keyed(secret: bytes) -> hmac.HMAC:
    return hmac.new(secret, digestmod=hashlib.sha256)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
