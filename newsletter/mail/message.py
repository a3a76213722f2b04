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
import unicodedata
import uuid
from collections.abc import Iterator
from email.charset import Charset
from email.header import Header
from email.utils import formataddr, formatdate
from itertools import groupby
from typing import TYPE_CHECKING

from ..models import Email, Letter, is_one_line, placeholders
from ..models.addresses import ascii_form, domain_of
from ..models.placeholders import personalize

if TYPE_CHECKING:  # the settings come from the caller: mail never reads the workspace
    from ..workspace.config import Config

HEADER_LINE = 78  # RFC 5322: a header line SHOULD stay within 78 characters; folding keeps it there

# Letters that Unicode does not decompose into a base letter and an accent.
LETTERS_TO_ASCII = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "ı": "i"})


SLUG_CHARS = 63  # the List-Id's first label, as long as a DNS label may be (RFC 2919 list ids are domain-like)


def slug(name: str) -> str:
    """`name` as lower-case ASCII words joined by hyphens, accents dropped rather than the letters
    that carry them: "Le modèle de la semaine" -> "le-modele-de-la-semaine", "Straße" -> "strasse".
    At most 63 characters, cut after a whole word."""
    plain = unicodedata.normalize("NFKD", name.translate(LETTERS_TO_ASCII))
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    words = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    if len(words) > SLUG_CHARS:
        cut = words[: SLUG_CHARS + 1]
        words = cut.rsplit("-", 1)[0] if "-" in cut else cut[:SLUG_CHARS]
    return words or "newsletter"


def list_id(config: Config) -> str:
    """RFC 2919 List-Id, e.g. "The Weekly Model" <the-weekly-model.weeklymodel.example.com>."""
    domain = ascii_form(config.sender.address) or config.sender.address
    return _mailbox(config.newsletter.name, f"{slug(config.newsletter.name)}.{domain_of(domain)}", len("List-Id: "))


FEEDBACK_PART = re.compile(r"[^A-Za-z0-9._-]+")


def feedback_id(config: Config, issue: str, topic: str | None) -> str:
    """Gmail's Feedback-ID, `issue:topic:newsletter:sender`: its feedback loop reports complaint
    rates per value of each field, so a spike can be traced to one issue or one topic. Colons are
    the separator, so no field holds one."""
    sender = ascii_form(config.sender.address) or config.sender.address
    fields = (issue, topic or "all", slug(config.newsletter.name), domain_of(sender))
    return ":".join(FEEDBACK_PART.sub("-", field)[:63].strip("-") or "-" for field in fields)


def list_unsubscribe(config: Config, url: str) -> str:
    """The List-Unsubscribe value: the one-click https link first (RFC 8058), then, when
    [newsletter] unsubscribe_mailto is set, a mailto: for clients that only offer mail."""
    mailbox = config.newsletter.unsubscribe_mailto
    if not mailbox:
        return f"<{url}>"
    return f"<{url}>, <mailto:{ascii_form(mailbox) or mailbox}?subject=unsubscribe>"


def folded(line: str, limit: int = HEADER_LINE) -> str:
    """A header line ("Name: value") folded before spaces so that each line is at most `limit`
    characters where a space allows it; a word longer than that (a long URL) stays whole. Never
    right after the name: readers such as Python's would keep the fold's space in the value.
    Unfolding (removing the line breaks) gives back `line` exactly."""
    if len(line) <= limit or " " not in line:
        return line
    name, first, *words = line.split(" ")
    lines: list[str] = []
    current = f"{name} {first}"
    for word in words:
        if len(current) + 1 + len(word) > limit and current.strip():
            lines.append(current)
            current = ""
        current += " " + word
    return "\n".join([*lines, current])


def _mailbox(name: str, address: str, before: int) -> str:
    """ "name <address>" for a header, the name quoted or RFC 2047 encoded as it needs. A non-ASCII
    name that would take the line (`before` characters already on it) past 78 characters is
    written as words that can be folded between: its plain words as they are, the others encoded."""
    mailbox = formataddr((name, address), charset="utf-8")
    if before + len(mailbox) <= HEADER_LINE or name.isascii():
        return mailbox
    return f"{_foldable_phrase(name, HEADER_LINE - before)} <{address}>"


ENCODED_WORD = 75  # RFC 2047: an encoded word is at most 75 characters
PLAIN_WORD = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")  # an RFC 5322 atom: needs neither quotes nor encoding


def _foldable_phrase(name: str, room: int) -> str:
    """`name` as a phrase of plain words and encoded words, each at most `room` characters: the
    runs of words that need encoding are encoded together (their spaces inside), so that a space
    between two words is always outside or always inside an encoded word, and every reader keeps
    it. (A run too long for one encoded word becomes several, as Python's own generator does.)"""
    length = min(ENCODED_WORD, room)
    out: list[str] = []
    for plain, words in groupby(name.split(" "), key=_is_plain_word):
        run = " ".join(words)
        out += [run] if plain else [str(word) for word in Charset("utf-8").header_encode_lines(run, _lengths(length))]
    return " ".join(out)


def _is_plain_word(word: str) -> bool:
    return PLAIN_WORD.fullmatch(word) is not None and "=?" not in word  # "=?" would read as an encoded word


def _lengths(length: int) -> Iterator[int]:
    """The endless line lengths header_encode_lines asks for."""
    while True:
        yield length


class AddressError(ValueError):
    """This recipient's address or name cannot go into a header on this path."""


class MessageTemplate:
    """One issue's message, with everything but the recipient's values encoded once."""

    def __init__(self, email: Email, config: Config, subject_prefix: str = "", feedback: str | None = None) -> None:
        sender = config.sender
        self.subject = subject_prefix + email.subject
        self.boundary = f"=_nl_{secrets.token_hex(12)}"
        sender_address = ascii_form(sender.address) or sender.address
        self.id_domain = domain_of(sender_address)
        self.encoded_subject = None if "%%" in self.subject else _encode_subject(self.subject)
        self.config = config
        fixed = [f"From: {_mailbox(sender.name, sender_address, len('From: '))}"]
        if sender.reply_to:
            fixed.append(f"Reply-To: {ascii_form(sender.reply_to) or sender.reply_to}")
        fixed.append(f"List-Id: {list_id(config)}")
        if feedback:
            fixed.append(f"Feedback-ID: {feedback}")
        self.fixed_headers = "\n".join(folded(line) for line in fixed)
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
                folded(f"To: {self._to(letter, utf8)}"),
                f"Date: {formatdate(usegmt=True)}",
                f"Message-ID: <{uuid.uuid4().hex}@{self.id_domain}>",
                folded(f"List-Unsubscribe: {list_unsubscribe(self.config, letter.unsubscribe_url)}"),
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
            return _mailbox(letter.name, address, len("To: "))  # quotes specials, encodes a non-ASCII name
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
        pieces = SPLIT_AT_PLACEHOLDERS.split(text.replace("\r\n", "\n").replace("\r", "\n"))
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


SPLIT_AT_PLACEHOLDERS = re.compile("(" + placeholders.TOKEN.pattern + ")")
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
