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

from . import placeholders
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
        self.text = _EncodedBody(email.text)
        self.html = _EncodedBody(email.html)

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
        return b"".join(
            [
                headers.encode("utf-8"),
                self.body_head,
                self.text_head,
                self.text.fill(values),
                self.html_head,
                self.html.fill(letter.html_values),
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


class _EncodedBody:
    """A body part quoted-printable-encoded once, with each placeholder left as a gap.

    Each recipient's copy joins the encoded pieces with their encoded values, every value set off
    by soft line breaks ("=" at a line end, which decoding removes), so no encoded line is split
    in the middle of an escape and none grows past QP's 76 characters by much."""

    def __init__(self, text: str) -> None:
        pieces = PLACEHOLDER.split(text.replace("\r\n", "\n").replace("\r", "\n"))
        if not pieces[-1].endswith("\n"):
            pieces[-1] += "\n"
        self.static = [_qp(piece) for piece in pieces[0::2]]
        self.gaps = pieces[1::2]  # placeholder names, in order

    def fill(self, values: dict[str, str]) -> bytes:
        out = [self.static[0]]
        for gap, piece in zip(self.gaps, self.static[1:], strict=True):
            value = placeholders.value_for(gap, values)
            # A soft break on its own decodes to nothing: pieces encoded apart never share a line.
            out += [SOFT_BREAK, _qp(value), SOFT_BREAK, piece] if value else [SOFT_BREAK, piece]
        return b"".join(out)


PLACEHOLDER = re.compile("(" + placeholders.TOKEN.pattern + ")")
SOFT_BREAK = b"=\n"


QP_LINE = 76  # RFC 2045: encoded lines are at most 76 characters, a soft break's "=" included


def _qp(text: str) -> bytes:
    """Quoted-printable for a piece of a body that a soft break ("=") may follow: a trailing space
    is escaped (=20), and the last line is left short enough for that "="."""
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    if encoded.endswith((b" ", b"\t")):
        encoded = encoded[:-1] + b"=%02X" % encoded[-1]
    head, newline, last = encoded.rpartition(b"\n")
    while len(last) > QP_LINE - 1:
        cut = QP_LINE - 1
        while b"=" in last[cut - 2 : cut]:  # never split an =XX escape
            cut -= 1
        head, newline, last = head + newline + last[:cut] + b"=", b"\n", last[cut:]
    return head + newline + last
