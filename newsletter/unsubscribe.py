"""Per-recipient unsubscribe links: the address plus an HMAC-SHA256 signature, so links cannot be forged.

The secret comes from the environment (NEWSLETTER_SECRET) and nowhere else. The local outbox, which
sends nothing anywhere, may use a fixed development secret so the demo needs no set-up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from .errors import ConfigError

SECRET_VARIABLE = "NEWSLETTER_SECRET"
DEVELOPMENT_SECRET = b"newsletter development secret: outbox only, never for real mail"
MIN_SECRET_LENGTH = 16


def secret_from_environment(provider: str) -> tuple[bytes, bool]:
    """(secret, is_development_secret). Real providers refuse to run without a proper secret."""
    value = os.environ.get(SECRET_VARIABLE, "")
    if value:
        if len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{SECRET_VARIABLE} is too short: use at least {MIN_SECRET_LENGTH} random characters")
        return value.encode(), False
    if provider == "outbox":
        return DEVELOPMENT_SECRET, True
    raise ConfigError(
        f"{SECRET_VARIABLE} is not set. It signs each recipient's unsubscribe link; set it to a long random "
        f"string (e.g. `export {SECRET_VARIABLE}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')`) "
        "and give the same value to the page that handles unsubscribes."
    )


def make_token(address: str, secret: bytes) -> str:
    data = address.encode()
    return f"{_b64(data)}.{_b64(_mac(data, secret))}"


def verify_token(token: str, secret: bytes) -> str | None:
    """The address a genuine token was made for, or None for a forged or damaged one."""
    try:
        data_part, mac_part = token.split(".")
        data = _unb64(data_part)
        given = _unb64(mac_part)
    except ValueError:
        return None
    return data.decode() if hmac.compare_digest(given, _mac(data, secret)) else None


def _mac(data: bytes, secret: bytes) -> bytes:
    return hmac.new(secret, b"unsubscribe\0" + data, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, base64.binascii.Error) as exc:
        raise ValueError(str(exc)) from None
