"""Email addresses: the one validator, and how an address travels where ASCII is required.

Addresses are stored in one normal form (email-validator's, lower-cased), domain in Unicode:
`hana@例え.jp`. A provider that needs ASCII gets the domain IDNA-encoded (`hana@xn--r8jz45g.jp`);
a local part with non-ASCII characters (`用户@例え.jp`) can travel only where SMTPUTF8 is offered.
"""

from __future__ import annotations

import functools
import re

import idna
from email_validator import EmailNotValidError, validate_email

NEEDS_SMTPUTF8 = (
    "the part before the @ has non-ASCII characters, which only mail servers offering SMTPUTF8 accept"
)


# RFC 5322 dot-atom: the plain ASCII local part nearly every real address has.
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
MAX_LOCAL = 64
MAX_ADDRESS = 254


def normalize(address: str) -> str:
    """The form addresses are stored and compared in. Raises ValueError with the validator's words.

    Syntax only, no DNS. Mail systems treat the local part case-insensitively in practice, so it is
    lower-cased too: one person, one row.

    email-validator decides. Its costly part is the domain (IDNA rules, ~30 us), so for a plain
    dot-atom local part the domain's verdict is remembered: a 1,000,000-row import checks gmail.com
    once. Anything unusual (quotes, non-ASCII, a bad domain, over-long) gets the full check, and
    tests/send/test_addresses.py checks both paths agree."""
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if at and len(local) <= MAX_LOCAL and DOT_ATOM.match(local):
        checked = _domain(domain)
        if checked is not None:
            result = f"{local}@{checked}".lower()
            if len(ascii_form(result) or result) <= MAX_ADDRESS:
                return result
    return _full_check(address)


def _full_check(address: str) -> str:
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.normalized.lower()


@functools.lru_cache(maxsize=65536)
def _domain(domain: str) -> str | None:
    """The normal form of a domain email-validator accepts, or None."""
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def has_ascii_local_part(address: str) -> bool:
    return address.rpartition("@")[0].isascii()


def ascii_form(address: str) -> str | None:
    """The address with its domain IDNA-encoded, for paths that carry ASCII only; None when the
    local part itself is not ASCII (then no encoding helps: it needs SMTPUTF8)."""
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        return None
    if domain.isascii():
        return address
    try:
        # IDNA 2008 (the `idna` package, as email-validator uses), not Python's IDNA 2003 codec.
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:
        return None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]
