"""Reading a delivery report: which reader it is about (the VERP token), and what happened.

RFC 3464 reports (multipart/report with a message/delivery-status part: Postfix, Gmail, Exchange,
most servers today) say it per recipient: Action (failed, delayed, delivered...), Status (an RFC 3463
code such as 5.1.1), Diagnostic-Code (the receiving server's words). Older formats (Exim's own,
qmail's, Exchange's plain-text notices) say it in prose: the status code is read from the text
where there is one ("550 5.1.1", "(#5.1.1)"); without one, only words saying that the address does
not exist make it a hard bounce, and anything else is unreadable, left for a person.

What a report's kind means for the reader, and why:
- hard: a permanent failure that refuses the address itself (the same rule as a refusal during the
  SMTP session, providers/smtp.py: 5.1.1 no such mailbox, 5.1.10 null MX, 5.2.1 disabled...), or a
  permanent failure whose words say the address does not exist. The reader becomes `bounced`.
- soft: any other failure, permanent (a block by policy, 5.7.1: about us or the message, not the
  address) or temporary (4.x.x given up on): counted; three in a row make the reader `bounced`.
- delayed: still being tried (Action: delayed): recorded, changes nothing.
- delivered: a success notice (Action: delivered, relayed, expanded): nothing to do.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from typing import Literal

from ..providers.smtp import ADDRESS_REFUSED

Kind = Literal["hard", "soft", "delayed", "delivered"]

# Where the address a report was sent to is written (the envelope recipient, as delivery agents
# record it), read before the rest of the message: the VERP token is there when anywhere.
ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-rcpt-to", "to")
DELIVERY_STATUS = ("message/delivery-status", "message/global-delivery-status")  # RFC 3464, RFC 6533 (UTF-8)
ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# A reply code and its enhanced code, as a server writes them: "550 5.1.1", "550-5.1.1", "(#5.1.1)".
REPLY = re.compile(r"(?<!\d)([245]\d\d)[ -]\(?#?([245]\.\d{1,3}\.\d{1,3})\b|\(#([245]\.\d{1,3}\.\d{1,3})\)")
# The words servers use for an address that does not exist, when they give no status code.
NO_SUCH_ADDRESS = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient|address)|does ?n[o']t exist|mailbox (is )?unavailable|mailbox not found"
    r"|recipient not found|unknown recipient|invalid recipient|address (couldn't|could not) be found|unrouteable address|no mailbox here",
    re.IGNORECASE,
)
STILL_TRYING = re.compile(r"has not (yet )?been delivered|not yet been delivered|will (keep|continue) trying|still trying|delayed", re.IGNORECASE)
MAX_DIAGNOSTIC = 300  # characters kept of a server's words


class Unreadable(ValueError):
    """A message that is not a delivery report this module can read: left for a person."""


@dataclass(frozen=True)
class Notice:
    """One recipient's outcome, as the report gives it."""

    kind: Kind
    status: str | None  # the RFC 3463 code (5.1.1); None when the report gives none
    diagnostic: str | None  # the receiving server's words, or the report's
    recipient: str | None = None  # as the report names it (Original-Recipient, else Final-Recipient)

    @property
    def reason(self) -> str:
        """What the history and the report show: the status code and the server's words."""
        return " ".join(part for part in (self.status, self.diagnostic) if part) or "no status given"


@dataclass(frozen=True)
class Report:
    message_id: str | None
    notices: list[Notice]
    texts: list[str] = field(default_factory=list)  # where to look for the VERP token, the envelope first
    date: str | None = None  # the report's Date header, as written


def parse(raw: bytes) -> Report:
    """The report in `raw`. Raises Unreadable when it is not a message or says nothing this module
    can classify."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not message.keys():
        raise Unreadable("not an email message (no headers)")
    notices = _rfc3464(message) or _prose(message)
    if not notices:
        raise Unreadable("no delivery status in it (not a delivery report, or a format without a status code)")
    message_id = _header(message, "message-id")
    return Report(message_id.strip() if message_id else None, notices, _texts(message), _header(message, "date"))


def _rfc3464(message: email.message.Message) -> list[Notice]:
    """The per-recipient blocks of a message/delivery-status part."""
    for part in message.walk():
        if part.get_content_type() in DELIVERY_STATUS:
            return [notice for block in _blocks(part) if (notice := _notice(block)) is not None]
    return []


def _blocks(part: email.message.Message) -> list[email.message.Message]:
    """The header blocks of a delivery-status part. The email package splits a well-formed one
    itself; one it kept as text (a stray line, a transfer encoding) is split here."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return [block for block in payload if isinstance(block, email.message.Message)]
    text = part.get_payload(decode=True)
    if not isinstance(text, bytes):
        return []
    blocks = re.split(r"\r?\n\s*\r?\n", text.decode("utf-8", "replace"))
    return [email.message_from_string(block.strip() + "\n", policy=email.policy.compat32) for block in blocks if block.strip()]


def _notice(block: email.message.Message) -> Notice | None:
    """One recipient block; None for the per-message block (it has no Action)."""
    action = (_header(block, "action") or "").strip().lower()
    if not action:
        return None
    status = _status(_header(block, "status"))
    diagnostic = _diagnostic(_header(block, "diagnostic-code"))
    recipient = _address(_header(block, "original-recipient")) or _address(_header(block, "final-recipient"))
    if action.startswith("delayed"):
        return Notice("delayed", status, diagnostic, recipient)
    if action.startswith(("delivered", "relayed", "expanded")):
        return Notice("delivered", status, diagnostic, recipient)
    if status is None:  # "failed" without a usable code: the server's words may still carry one
        status = _code_in(diagnostic or "")
    if status is None:
        if diagnostic and NO_SUCH_ADDRESS.search(diagnostic):
            return Notice("hard", None, diagnostic, recipient)
        return None
    return Notice(classify(status, diagnostic or ""), status, diagnostic, recipient)


def _prose(message: email.message.Message) -> list[Notice]:
    """A report in prose (Exim, qmail, Exchange's text notices): the first status code in the
    report's own text, before the returned message."""
    text = _own_text(message)
    if not text:
        return []
    status = _code_in(text)
    words = _line_with(text, status) if status else None
    if status is None:
        found = NO_SUCH_ADDRESS.search(text)
        if found:
            return [Notice("hard", None, _line_with(text, found.group(0)))]
        return []
    if status.startswith("4") and STILL_TRYING.search(text):
        return [Notice("delayed", status, words)]
    return [Notice(classify(status, words or ""), status, words)]


def classify(status: str, words: str) -> Kind:
    """hard, soft or delivered for an RFC 3463 status and the server's words (see the module)."""
    kind, subject, detail = status.split(".")
    if kind == "2":
        return "delivered"
    if kind == "5" and ((subject, detail) in ADDRESS_REFUSED or (subject == "0" and NO_SUCH_ADDRESS.search(words))):
        return "hard"
    return "soft"


def _code_in(text: str) -> str | None:
    """The enhanced status code a server wrote in `text`: after a reply code ("550 5.1.1", "550-5.1.1"),
    in qmail's "(#5.1.1)", or else standing alone."""
    found = REPLY.search(text)
    if found:
        return found.group(2) or found.group(3)
    alone = ENHANCED.search(text)
    return ".".join(alone.groups()) if alone else None


def _status(value: str | None) -> str | None:
    found = ENHANCED.search(value or "")
    return ".".join(found.groups()) if found else None


def _diagnostic(value: str | None) -> str | None:
    """The server's words, without the "smtp;" type and with lines joined."""
    if not value:
        return None
    words = " ".join(value.split())
    kind, semicolon, rest = words.partition(";")
    if semicolon and kind.strip().lower() in ("smtp", "x-postfix", "x-unix", "x-local", "x-exim", "x-qmail"):
        words = rest.strip()
    return words[:MAX_DIAGNOSTIC] or None


def _address(value: str | None) -> str | None:
    """The address of an "rfc822; someone@example.com" field."""
    if not value:
        return None
    _, _, address = value.rpartition(";")
    address = address.strip().strip("<>").strip()
    return address or None


def _line_with(text: str, needle: str) -> str | None:
    """The line of `text` holding `needle`, trimmed (the server's words around a status code)."""
    for line in text.splitlines():
        if needle in line:
            return " ".join(line.split())[:MAX_DIAGNOSTIC] or None
    return None


def _own_text(message: email.message.Message) -> str:
    """The report's own text parts, not the returned message's (whose words are ours)."""
    texts: list[str] = []
    parts = [message] if not message.is_multipart() else message.get_payload()
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, email.message.Message) and part.get_content_maintype() == "text" and part.get_content_type() != "text/rfc822-headers":
            texts.append(_decoded(part))
        elif isinstance(part, email.message.Message) and part.get_content_type() == "multipart/alternative":
            texts += [_decoded(sub) for sub in part.walk() if sub.get_content_type() == "text/plain"]
    return _before_returned_message("\n".join(texts))


def _before_returned_message(text: str) -> str:
    """A prose report quotes the returned message after a line such as "------ This is a copy of the
    message" (Exim) or "--- Below this line is a copy of the message." (qmail): only what comes before
    is the server's."""
    found = re.search(r"^.*(copy of the message|original message|returned message|message headers follow).*$", text, re.IGNORECASE | re.MULTILINE)
    return text[: found.start()] if found else text


def _texts(message: email.message.Message) -> list[str]:
    """Where the VERP token may be, the most trustworthy place first: the envelope recipient headers,
    then every header and text in the message (the returned message's Return-Path)."""
    envelope = [value for name in ENVELOPE_HEADERS for value in message.get_all(name, [])]
    everything: list[str] = []
    for part in message.walk():
        everything += [f"{name}: {value}" for name, value in part.items()]
        if not part.is_multipart():
            everything.append(_decoded(part))
    return [str(value) for value in envelope] + everything


def _decoded(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace") if _known_charset(part) else payload.decode("utf-8", "replace")
    return str(part.get_payload())


def _known_charset(part: email.message.Message) -> bool:
    import codecs

    try:
        codecs.lookup(part.get_content_charset() or "utf-8")
    except LookupError:
        return False
    return True


def _header(message: email.message.Message, name: str) -> str | None:
    value = message.get(name)
    return None if value is None else str(value)


def date_of(report: Report) -> str | None:
    """When the report was written, in UTC as the events table stores times; None if unreadable."""
    import datetime as dt

    if not report.date:
        return None
    try:
        when = email.utils.parsedate_to_datetime(report.date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")
