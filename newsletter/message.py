"""A rendered Email as a MIME message (multipart/alternative, text part first), composed once per
issue and filled per recipient.

Building a message with the `email` package costs ~4 ms per recipient; here the parts that are the
same for everyone (headers, boundaries) are encoded once, and each copy only fills its recipient's
values and quoted-printable-encodes the two bodies (binascii, in C). `tests/send/test_message.py`
checks that the result parses back to the same headers and parts as the `email` package reads them.
"""

from __future__ import annotations

import binascii
import re
import secrets
import uuid
from email.header import Header
from email.utils import formataddr, formatdate

from .addresses import ascii_form, domain_of
from .config import Config
from .models import Email, Letter, is_one_line
from .placeholders import personalize


def list_id(config: Config) -> str:
    """RFC 2919 List-Id, e.g. "The Weekly Model" <the-weekly-model.weeklymodel.example.com>."""
    slug = re.sub(r"[^a-z0-9]+", "-", config.newsletter.name.lower()).strip("-") or "newsletter"
    domain = ascii_form(config.sender.address) or config.sender.address
    return formataddr((config.newsletter.name, f"{slug}.{domain_of(domain)}"), charset="utf-8")


class AddressError(ValueError):
    """This recipient's address or name cannot go into a header on this path."""


class MessageTemplate:
    """One issue's message, with everything but the recipient's values encoded once."""

    def __init__(self, email: Email, config: Config, subject_prefix: str = "") -> None:
        sender = config.sender
        self.email = email
        self.subject = subject_prefix + email.subject
        self.boundary = f"=_nl_{secrets.token_hex(12)}"
        sender_address = ascii_form(sender.address) or sender.address
        self.id_domain = domain_of(sender_address)
        self.encoded_subject = None if "%%" in self.subject else _encode_subject(self.subject)
        fixed = [f"From: {formataddr((sender.name, sender_address), charset='utf-8')}"]
        if sender.reply_to:
            fixed.append(f"Reply-To: {ascii_form(sender.reply_to) or sender.reply_to}")
        fixed.append(f"List-Id: {list_id(config)}")
        self.fixed_headers = "\n".join(fixed)
        self.body_head = (
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
            "MIME-Version: 1.0\n"
            f'Content-Type: multipart/alternative; boundary="{self.boundary}"\n\n'
        ).encode()
        part = 'Content-Type: text/{}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
        self.text_head = f"--{self.boundary}\n{part.format('plain')}".encode()
        self.html_head = f"\n--{self.boundary}\n{part.format('html')}".encode()
        self.tail = f"\n--{self.boundary}--\n".encode()

    def render(self, letter: Letter, utf8: bool = False) -> bytes:
        """The complete message for `letter`, LF line ends (SMTP turns them into CRLF).

        With utf8 (the outbox, or an SMTP server offering SMTPUTF8) the To header may carry a
        non-ASCII address as is (RFC 6532); otherwise the domain goes out IDNA-encoded, and an
        address that cannot be written in ASCII raises AddressError."""
        values = letter.values
        subject = self.encoded_subject or _encode_subject(personalize(self.subject, values))
        headers = "\n".join(
            [
                f"Subject: {subject}",
                self.fixed_headers,
                f"To: {self._to(letter, utf8)}",
                f"Date: {formatdate(usegmt=True)}",
                f"Message-ID: <{uuid.uuid4().hex}@{self.id_domain}>",
                f"List-Unsubscribe: <{letter.unsubscribe_url}>",
                "",
            ]
        )
        text = personalize(self.email.text, values)
        html = personalize(self.email.html, letter.html_values)
        return b"".join(
            [
                headers.encode("utf-8"),
                self.body_head,
                self.text_head,
                _quoted_printable(text),
                self.html_head,
                _quoted_printable(html),
                self.tail,
            ]
        )

    def _to(self, letter: Letter, utf8: bool) -> str:
        if letter.name is not None and not is_one_line(letter.name):
            raise AddressError("the subscriber's name contains a line break, which would start a new header")
        address = letter.email if utf8 else ascii_form(letter.email)
        if address is None:
            raise AddressError("the part before the @ has non-ASCII characters, which need a mail path with SMTPUTF8")
        if not letter.name:
            return address
        if address.isascii():
            return formataddr((letter.name, address), charset="utf-8")  # quotes specials, encodes a non-ASCII name
        return f"{_quoted(letter.name)} <{address}>"  # SMTPUTF8: UTF-8 headers as they are


def _encode_subject(subject: str) -> str:
    """An RFC 2047 encoded (when not ASCII) and folded Subject value."""
    return Header(subject, "utf-8" if not subject.isascii() else "us-ascii", header_name="Subject").encode(linesep="\n")


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_printable(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\r", "\n")  # LF only: SMTP turns every LF into CRLF
    data = data if data.endswith("\n") else data + "\n"
    return binascii.b2a_qp(data.encode("utf-8"), quotetabs=False, istext=True, header=False)
