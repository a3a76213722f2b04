"""Turn a rendered Email into a MIME message (multipart/alternative, text part first)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from .config import Config
from .models import Email
from .tokens import personalize


def compose(
    email: Email,
    config: Config,
    to: str,
    values: dict[str, str],
    headers: dict[str, str] | None = None,
    subject: str | None = None,
) -> EmailMessage:
    """A complete message for one recipient, with the per-recipient tokens filled from `values`.

    Header values with a line break are refused by the email package (ValueError), which is
    what stops header injection through a subject or an address.
    """
    sender = config.sender
    message = EmailMessage()
    message["Subject"] = subject or email.subject
    message["From"] = formataddr((sender.name, sender.address))
    message["To"] = to
    if sender.reply_to:
        message["Reply-To"] = sender.reply_to
    message["Date"] = formatdate(usegmt=True)
    # An explicit domain: without it make_msgid looks up this machine's name (slow, and it leaks).
    message["Message-ID"] = make_msgid(domain=sender.address.rpartition("@")[2])
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(personalize(email.text, values), subtype="plain")
    message.add_alternative(personalize(email.html, values), subtype="html")
    return message


def list_id(config: Config) -> str:
    """RFC 2919 List-Id, e.g. "The Weekly Model" <the-weekly-model.weeklymodel.example.com>."""
    slug = re.sub(r"[^a-z0-9]+", "-", config.newsletter.name.lower()).strip("-") or "newsletter"
    domain = config.sender.address.rpartition("@")[2]
    return formataddr((config.newsletter.name, f"{slug}.{domain}"))


def list_headers(config: Config, unsubscribe_url: str) -> dict[str, str]:
    """List-Id plus RFC 2369 / RFC 8058 one-click unsubscribe, which Gmail and Yahoo require of bulk senders."""
    return {
        "List-Id": list_id(config),
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
