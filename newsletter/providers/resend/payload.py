"""The bodies of Resend's requests, built without any network: tested by comparing JSON, and shown by
`send --dry-run`.

Resend has no per-recipient substitutions (only published templates, kept at Resend), so each reader
gets an email of their own in the batch, with their values filled here: the subject and text part
with plain values, the HTML part with HTML-escaped ones (as MessageTemplate fills a MIME message).
One batch (POST /emails/batch) carries up to 100 of them; a scheduled edition goes out one email per
request (POST /emails with scheduled_at), since the batch endpoint cannot schedule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ...mail.message import feedback_id, list_id, list_unsubscribe
from ...models import Letter, is_one_line, placeholders
from ...models.addresses import ascii_form
from ...workspace.config import Config
from ..base import Batch, Edition, RequestPreview

MAX_BATCH = 100  # emails per POST /emails/batch
SHOWN_CHARACTERS = 200  # of the html and text of the first email in a dry run's preview
TAG_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")  # a tag's name and value: ASCII letters, digits, _ and - only
MAX_TAG = 256


class Filler:
    """A text with placeholders, cut at them once, so each reader's copy is a join of the pieces
    and their values (a 100,000-reader send fills the 70 KB HTML part 100,000 times)."""

    def __init__(self, text: str) -> None:
        self.pieces = placeholders.TOKEN.split(text) if "%%" in text else [text]
        self.tokens = placeholders.TOKEN.findall(text) if "%%" in text else []

    def fill(self, values: dict[str, str]) -> str:
        if not self.tokens:
            return self.pieces[0]
        parts = [self.pieces[0]]
        for token, piece in zip(self.tokens, self.pieces[1:], strict=True):
            parts += [placeholders.value_for(token, values), piece]
        return "".join(parts)


@dataclass(frozen=True)
class Composer:
    """What every email of one edition shares (sender, headers, tags but the send id), and its
    three parts cut at their placeholders: made once per edition and reused for each batch."""

    edition: Edition
    shared: dict[str, Any]
    subject: Filler
    html: Filler
    text: Filler

    @classmethod
    def of(cls, config: Config, edition: Edition) -> Composer:
        email = edition.email
        sender = config.sender
        shared: dict[str, Any] = {"from": mailbox(sender.name, ascii_form(sender.address) or sender.address)}
        if sender.reply_to:
            shared["reply_to"] = ascii_form(sender.reply_to) or sender.reply_to
        headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": list_id(config), "Feedback-ID": feedback_id(config, edition.issue, edition.topic)}
        shared["headers"] = headers
        return cls(edition, shared, Filler(edition.subject), Filler(email.html), Filler(email.text))

    def email(self, config: Config, letter: Letter, tags: list[dict[str, str]]) -> dict[str, Any]:
        """One reader's SendEmailRequest: their address, their values, their unsubscribe link."""
        values = letter.values
        return {
            "from": self.shared["from"],
            "to": [mailbox(letter.name, ascii_form(letter.email) or letter.email)],
            "subject": self.subject.fill(values),
            "html": self.html.fill(letter.html_values),
            "text": self.text.fill(values),
            **({"reply_to": self.shared["reply_to"]} if "reply_to" in self.shared else {}),
            "headers": {"List-Unsubscribe": list_unsubscribe(config, letter.unsubscribe_url), **self.shared["headers"]},
            "tags": tags,
        }


def tags(issue: str, send_id: str) -> list[dict[str, str]]:
    """The tags Resend echoes in every event of the email (data.tags), naming its issue and claim."""
    return [{"name": "issue", "value": tag_value(issue)}, {"name": "send_id", "value": tag_value(send_id)}]


def tag_value(value: str) -> str:
    """`value` as Resend takes a tag value: other characters become _, at most 256 of them."""
    return TAG_CHARACTER.sub("_", value)[:MAX_TAG] or "_"


def mailbox(name: str | None, address: str) -> str:
    """`"Name" <address>` (the name quoted, so a comma or an @ in it stays part of the name), or
    the bare address when there is no usable name."""
    if not name or not is_one_line(name):
        return address
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def build_batch(config: Config, batch: Batch, composer: Composer | None = None) -> list[dict[str, Any]]:
    """The JSON body of POST /emails/batch: one email per letter, in the batch's order (Resend's
    per-email errors name that position)."""
    composer = composer or Composer.of(config, batch.edition)
    shared_tags = tags(batch.edition.issue, batch.send_id)
    return [composer.email(config, letter, shared_tags) for letter in batch.letters]


def build_scheduled(config: Config, batch: Batch, letter: Letter, composer: Composer | None = None) -> dict[str, Any]:
    """The JSON body of POST /emails for one reader of a scheduled edition (scheduled_at in ISO 8601)."""
    edition = batch.edition
    assert edition.send_at is not None
    composer = composer or Composer.of(config, edition)
    return {**composer.email(config, letter, tags(edition.issue, batch.send_id)), "scheduled_at": edition.send_at.isoformat()}


def request_preview(config: Config, batch: Batch) -> RequestPreview:
    """The first request a send would make, as a dry run shows it: the JSON body (the first email's
    html and text cut short, and the other emails of the batch counted, not shown)."""
    if batch.edition.send_at is not None:
        body: Any = build_scheduled(config, batch, batch.letters[0])
        heading = "First request body (POST /emails, one per reader: a scheduled send at Resend), html and text shortened:"
        shown = body
    else:
        body = build_batch(config, Batch(batch.edition, batch.send_id, batch.letters[:MAX_BATCH]))
        heading = f"First request body (POST /emails/batch, {len(body)} email(s), one per reader; the first shown), html and text shortened:"
        shown = body[0]
    for part in ("html", "text"):
        shown[part] = shown[part][:SHOWN_CHARACTERS] + "..."
    return RequestPreview(heading, json.dumps(shown, indent=2, ensure_ascii=False))
