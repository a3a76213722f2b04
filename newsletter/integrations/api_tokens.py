"""The REST API's tokens: made at random, shown once, kept only as their SHA-256, each with the
scopes it may use."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import TYPE_CHECKING

from ..errors import NewsletterError

if TYPE_CHECKING:
    from ..db import ApiToken, Database

SCOPES = ("subscribers:read", "subscribers:write", "issues:read", "issues:send")
PREFIX = "nl_"  # says what the token is when it turns up in a log or a secret scanner
TOKEN_BYTES = 32
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class TokenError(NewsletterError):
    """A token name or scope that cannot be used, or a name already taken or unknown."""


def parse_scopes(text: str) -> tuple[str, ...]:
    """"subscribers:read,issues:read" as scopes, each once, in SCOPES' order; TokenError naming an unknown one."""
    given = [part.strip() for part in text.split(",") if part.strip()]
    if not given:
        raise TokenError(f"--scopes: give one or more of {', '.join(SCOPES)}, separated by commas")
    for scope in given:
        if scope not in SCOPES:
            raise TokenError(f"--scopes: {scope!r} is not a scope; the scopes are {', '.join(SCOPES)}. No token was made")
    return tuple(scope for scope in SCOPES if scope in given)


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise TokenError(f"{name!r}: a token's name is 1 to 64 letters, digits, '.', '-' and '_', starting with a letter or digit")
    return name


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(db: Database, name: str, scopes: tuple[str, ...]) -> str:
    """A new token named `name` with `scopes`: the token, to be shown once (only its hash is kept)."""
    token = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    if not db.api_tokens.create(check_name(name), token_hash(token), scopes):
        raise TokenError(f"a token named {name!r} exists; revoke it first (`newsletter api-token revoke {name}`) or choose another name")
    return token


def revoke_token(db: Database, name: str) -> None:
    if not db.api_tokens.revoke(name):
        raise TokenError(f"no token is named {name!r} (`newsletter api-token list` lists them)")


def authenticate(db: Database, presented: str) -> ApiToken | None:
    """The token `presented` is, or None. Every string takes the same steps (hash, look up by the
    hash, compare the hashes in constant time), so the time taken says nothing of how close it came."""
    wanted = token_hash(presented)
    found = db.api_tokens.by_hash(wanted)
    stored = found.token_hash if found is not None else "0" * len(wanted)
    if hmac.compare_digest(stored, wanted) and found is not None:
        db.api_tokens.used(found)
        return found
    return None
