"""The body of Postmark's POST /email/batch for one batch, built without any network: tested by
comparing JSON, and shown by `send --dry-run`.

Postmark's batch holds up to 500 whole messages and has no per-recipient substitutions, so each
reader gets a message of their own: the subject and both bodies are split at their placeholders
once per edition (`Filled`), and each reader's copy joins the pieces with that reader's values, the
same as `personalize()` gives (the HTML part with HTML-escaped values, as the outbox fills it).

Everything goes out on [postmark] message_stream, which `check()` makes sure is a Broadcast stream.
On such a stream Postmark adds its own List-Unsubscribe header and unsubscribe link unless its
support has switched the stream to "manage unsubscribes yourself"; the headers sent here are ours
(each reader's own one-click link), and they are the ones readers see once that switch is made.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any

import orjson

from ...mail.message import feedback_id, list_id, list_unsubscribe
from ...models import Letter, is_one_line, placeholders
from ...models.addresses import ascii_form
from ...workspace.config import Config
from ..base import Batch, Edition, RequestPreview

MAX_MESSAGES = 500  # Postmark's limit on one batch request
MAX_BATCH_BYTES = 50 * 1024 * 1024  # ...and on its size (attachments included)
SHOWN_CHARACTERS = 200  # of each body in a dry run's preview
SHOWN_MESSAGES = 3  # of the first request's messages, in a dry run's preview (each like the others)
SPLIT_AT_PLACEHOLDERS = re.compile("(" + placeholders.TOKEN.pattern + ")")


class Filled:
    """A text with its placeholders as gaps, split once; `fill(values)` is personalize(text, values)
    without searching the text again for each reader."""

    def __init__(self, text: str) -> None:
        pieces = SPLIT_AT_PLACEHOLDERS.split(text) if "%%" in text else [text]
        self.static = pieces[0::2]
        self.gaps = pieces[1::2]  # the placeholders, in order

    def fill(self, values: dict[str, str]) -> str:
        if not self.gaps:
            return self.static[0]
        out = [self.static[0]]
        for gap, piece in zip(self.gaps, self.static[1:], strict=True):
            out.append(placeholders.value_for(gap, values))
            out.append(piece)
        return "".join(out)

    @cached_property
    def encoded(self) -> list[bytes]:
        return [json_text(piece) for piece in self.static]

    def fill_json(self, values: dict[str, str], out: list[bytes]) -> None:
        """fill(values) as the inside of a JSON string, added to `out` piece by piece: the text's
        pieces were encoded once, so only the values are encoded per reader (JSON escapes character
        by character, so the encoded pieces join into the encoded whole)."""
        encoded = self.encoded
        out.append(encoded[0])
        for gap, piece in zip(self.gaps, encoded[1:], strict=True):
            out.append(json_text(placeholders.value_for(gap, values)))
            out.append(piece)


def json_text(text: str) -> bytes:
    """`text` as the inside of a JSON string (orjson's encoding, without the quotes)."""
    return orjson.dumps(text)[1:-1]


class Messages:
    """One edition's messages: what every reader's message shares, built once; `message()` makes
    one reader's."""

    def __init__(self, config: Config, edition: Edition) -> None:
        self.config = config
        self.edition = edition
        self.subject = Filled(edition.subject)
        self.html = Filled(edition.email.html)
        self.text = Filled(edition.email.text)
        sender = config.sender
        self.sender = mailbox(sender.name, ascii_form(sender.address) or sender.address)
        self.reply_to = (ascii_form(sender.reply_to) or sender.reply_to) if sender.reply_to else None
        self.shared_headers = [
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
            {"Name": "List-Id", "Value": list_id(config)},
            {"Name": "Feedback-ID", "Value": feedback_id(config, edition.issue, edition.topic)},
        ]

    def message(self, letter: Letter, send_id: str) -> dict[str, Any]:
        """The whole message for one reader, as a dict (the dry run, the tests)."""
        values = letter.values
        return self._message(
            recipient(letter), self.subject.fill(values), self.html.fill(letter.html_values), self.text.fill(values),
            list_unsubscribe(self.config, letter.unsubscribe_url), send_id,
        )

    def encode(self, letters: list[Letter], send_id: str) -> bytes:
        """The JSON body of POST /email/batch for `letters`, byte for byte orjson's encoding of
        build_payload()'s, made without it: each message is the skeleton's encoded pieces joined with
        that reader's encoded values, all joined once (a 500-message batch of a real issue is ~20 MB:
        building the dicts and encoding them took 6 to 10 times as long)."""
        skeleton = self.skeleton
        if skeleton is None:
            return orjson.dumps([self.message(letter, send_id) for letter in letters])
        head, after_to, after_subject, after_html, after_text, after_unsubscribe, tail = skeleton
        batch = json_text(send_id)
        subject, html, text, config = self.subject.fill_json, self.html.fill_json, self.text.fill_json, self.config
        out = [b"["]
        for letter in letters:  # a hundred thousand of these in a big send: every piece joined once, at the end
            values = letter.values
            out += (head, json_text(recipient(letter)), after_to)
            subject(values, out)
            out.append(after_subject)
            html(letter.html_values, out)
            out.append(after_html)
            text(values, out)
            out += (after_text, json_text(list_unsubscribe(config, letter.unsubscribe_url)), after_unsubscribe, batch, tail, b",")
        out[-1] = b"]" if letters else b"[]"
        return b"".join(out)

    @cached_property
    def skeleton(self) -> list[bytes] | None:
        """The encoded message cut at its six per-reader values (To, Subject, HtmlBody, TextBody,
        the List-Unsubscribe value, the send id): seven pieces. None in the unlikely case that a
        setting holds the private-use character that marks the cuts (then each message is encoded whole)."""
        marks = [f"\ue000{slot}\ue000" for slot in range(6)]
        encoded = orjson.dumps(self._message(*marks))
        cut = re.split(rb"\xee\x80\x80([0-5])\xee\x80\x80", encoded)
        if cut[1::2] != [str(slot).encode() for slot in range(6)]:
            return None
        return cut[0::2]

    def _message(self, to: str, subject: str, html: str, text: str, unsubscribe: str, send_id: str) -> dict[str, Any]:
        message: dict[str, Any] = {"From": self.sender, "To": to}
        if self.reply_to:
            message["ReplyTo"] = self.reply_to
        message["Subject"] = subject
        message["HtmlBody"] = html
        message["TextBody"] = text
        message["MessageStream"] = self.config.postmark.message_stream
        message["Tag"] = self.edition.issue
        message["Headers"] = [{"Name": "List-Unsubscribe", "Value": unsubscribe}, *self.shared_headers]
        message["Metadata"] = {"issue": self.edition.issue, "send_id": send_id}  # echoed in every event: each names its issue
        # Stated, so that tracking switched on for the server cannot add a pixel or rewrite links unseen.
        message["TrackOpens"] = False
        message["TrackLinks"] = "None"
        return message


def mailbox(name: str | None, address: str) -> str:
    """`"name" <address>`, the name always quoted (Postmark refuses punctuation in an unquoted one,
    its error 300); the address alone when there is no name, or one that could break a header."""
    if not name or not is_one_line(name):
        return address
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def recipient(letter: Letter) -> str:
    """The To of a reader's message: their name and address, the domain IDNA-encoded (Postmark takes
    ASCII addresses only: see deliverable())."""
    return mailbox(letter.name, ascii_form(letter.email) or letter.email)


def deliverable(letter: Letter) -> bool:
    """Whether Postmark can take this address at all (its local part must be ASCII)."""
    return ascii_form(letter.email) is not None


def build_payload(config: Config, batch: Batch, messages: Messages | None = None) -> list[dict[str, Any]]:
    """The JSON body of POST /email/batch: one message per letter, in the batch's order (Postmark
    answers in that order). `messages`: the edition's, when the caller keeps them between batches."""
    made = messages or Messages(config, batch.edition)
    return [made.message(letter, batch.send_id) for letter in batch.letters]


def request_preview(config: Config, batch: Batch) -> RequestPreview:
    """The first request a send would make, as a dry run shows it: the JSON body, each body cut short."""
    first = Batch(batch.edition, batch.send_id, batch.letters[:MAX_MESSAGES])
    body = build_payload(config, Batch(first.edition, first.send_id, first.letters[:SHOWN_MESSAGES]))
    for message in body:
        for part in ("HtmlBody", "TextBody"):
            message[part] = message[part][:SHOWN_CHARACTERS] + "..."
    shown = f"the first {len(body)} shown" if len(body) < len(first.letters) else "all shown"
    heading = f"First request body (POST /email/batch: {len(first.letters)} message(s), one per reader; {shown}, bodies shortened):"
    return RequestPreview(heading, json.dumps(body, indent=2, ensure_ascii=False))
