"""VERP return paths: each SMTP message of an issue leaves with its own envelope sender,
`bounces+<token>@news.example.com`, so that the delivery report a mail server sends back names the
issue and the reader without our having to trust what the report says about the address.

The token is `<issue>.<reader>.<signature>`, all in lower-case letters, digits and dots: mail
servers often lower-case a local part, so base64 (the links' alphabet) would not survive.
- `<reader>` is the subscriber's public id (links.py), the same random id their links carry, in
  base32: no address is revealed, and the id comes back whole.
- `<signature>` is the links' HMAC (Purpose.BOUNCE, the same signing keys) over the issue and the
  public id, cut to SIGNATURE_CHARS base32 characters (50 bits): a forged token cannot name a reader,
  and a guess would take a quadrillion bounce messages.
A local part may hold 64 characters (RFC 5321), so the bounce address's own local part is kept short
(MAX_BOUNCE_LOCAL_PART); a letter whose token would not fit goes out with the plain bounce address.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from .links import Purpose, signature

if TYPE_CHECKING:  # the keys come from the caller: mail never reads the workspace
    from ..workspace.credentials import SigningKeys

SIGNATURE_CHARS = 10  # base32 characters: 50 bits
MAX_LOCAL_PART = 64  # RFC 5321, 4.5.3.1.1
# A 24-character public id (made by an early schema migration) takes 29 base32 characters, a
# 16-character one 20: with a four-digit issue, a token takes up to 46 characters, and the "+" one.
MAX_BOUNCE_LOCAL_PART = 17
ISSUE = re.compile(r"[0-9a-z-]{1,20}")  # an issue key that survives lower-casing (issue keys are numbers)
TOKEN = re.compile(r"([0-9a-z-]{1,20})\.([a-z2-7]{8,64})\.([a-z2-7]{" + str(SIGNATURE_CHARS) + "})")


class Returned(NamedTuple):
    """What a genuine token names: the issue the message was part of, and the reader's public id."""

    issue: str
    public_id: str


def return_paths(bounce_address: str, issue: str, secret: bytes) -> Callable[[str], str]:
    """A function giving each reader's return path for `issue` from their public id: the VERP
    address, or the plain bounce address where no token can be made (an issue key or an id that
    would not survive lower-casing, a token too long)."""
    local, _, domain = bounce_address.rpartition("@")

    def return_path(public_id: str) -> str:
        token = make_token(issue, public_id, secret)
        if token is None or len(local) + 1 + len(token) > MAX_LOCAL_PART:
            return bounce_address
        return f"{local}+{token}@{domain}"

    return return_path


def make_token(issue: str, public_id: str, secret: bytes) -> str | None:
    """`<issue>.<reader>.<signature>`, or None when the issue key or the id cannot be written in
    lower case and read back."""
    reader = _base32(public_id)
    if reader is None or not ISSUE.fullmatch(issue):
        return None
    return f"{issue}.{reader}.{_signed(issue, public_id, secret)}"


def read_token(token: str, keys: SigningKeys) -> Returned | None:
    """The issue and public id a genuine token names (checked against every accepted key, in
    constant time); None for a forged, damaged or foreign one."""
    import hmac

    parts = TOKEN.fullmatch(token.lower())
    if parts is None:
        return None
    issue, reader, signed = parts.groups()
    public_id = _public_id(reader)
    if public_id is None:
        return None
    if not any(hmac.compare_digest(signed, _signed(issue, public_id, key)) for key in keys.accepted):
        return None
    return Returned(issue, public_id)


def tokens_in(text: str, bounce_address: str) -> list[str]:
    """Every token written after `<bounce local part>+` at the bounce domain in `text`, in the order
    found, each once (upper or lower case: a server may have changed either)."""
    local, _, domain = bounce_address.rpartition("@")
    pattern = re.compile(re.escape(local) + r"\+([0-9a-z.-]{1,64})@" + re.escape(domain), re.IGNORECASE)
    found: list[str] = []
    for match in pattern.finditer(text):
        token = match.group(1).lower()
        if token not in found:
            found.append(token)
    return found


def bounce_local_part_problem(address: str) -> str | None:
    """Why `[smtp] bounce_address` leaves no room for the token, or None."""
    local = address.rpartition("@")[0]
    if len(local) > MAX_BOUNCE_LOCAL_PART:
        return (
            f"its part before the @ ({local!r}) is {len(local)} characters long; at most {MAX_BOUNCE_LOCAL_PART}, "
            f"since each message adds +<token> to it and a mail server takes at most {MAX_LOCAL_PART} (e.g. bounces@news.example.com)"
        )
    if "+" in local:
        return f"its part before the @ ({local!r}) holds a '+', which each message's +<token> is added after; use an address without one"
    return None


def _signed(issue: str, public_id: str, secret: bytes) -> str:
    raw = signature(f"{issue}.{public_id}", Purpose.BOUNCE, secret)
    return base64.b32encode(raw).decode()[:SIGNATURE_CHARS].lower()


def _base32(public_id: str) -> str | None:
    """The public id's bytes in lower-case base32, when the id is base64url that reads back to
    itself (every id the list makes: 16 characters of base64url, or 24 of hex)."""
    if not public_id or len(public_id) % 4:
        return None
    try:
        raw = base64.urlsafe_b64decode(public_id)
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(raw).decode() != public_id:
        return None
    return base64.b32encode(raw).decode().rstrip("=").lower()


def _public_id(reader: str) -> str | None:
    try:
        raw = base64.b32decode(reader.upper() + "=" * (-len(reader) % 8))
    except (binascii.Error, ValueError):
        return None
    return base64.urlsafe_b64encode(raw).decode()
