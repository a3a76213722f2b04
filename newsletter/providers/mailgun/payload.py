"""The form fields of Mailgun's POST /v3/{domain}/messages for one batch, built without any network:
tested by comparing them, and shown by `send --dry-run`.

One request carries up to 1,000 recipients (repeated `to`) and one rendered body. Each reader's
own values travel in `recipient-variables` (JSON keyed by address), and the body names them as
`%recipient.x%`: Mailgun fills them per recipient in the subject, the parts and the `h:` headers
alike, so each reader's List-Unsubscribe is `<%recipient.unsubscribe%>`. The HTML part gets its
own HTML-escaped variables (`unsubscribe_html`, `name_html`...), as SendGrid's payload does: a
name like `<b>Bo</b> & Co` then reads the same in every part and never becomes markup.

Send options (`o:`, `h:`, `v:`, `t:` fields) are limited to 16 KB per request; everything per
reader is in recipient-variables, so the options stay a few hundred bytes whatever the batch.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import secrets
from typing import Any

import orjson

from ...mail.message import feedback_id, list_id, list_unsubscribe, slug
from ...models import Letter, placeholders
from ...models.addresses import ascii_form
from ...models.placeholders import personalize
from ...workspace.config import Config
from ..base import Batch, RequestPreview

Fields = dict[str, str | list[str]]
FORM_BOUNDARY_BYTES = 24  # random bytes of the multipart boundary, checked against the body anyway

SHOWN_CHARACTERS = 200  # of the text and html parts in a dry run's preview
SHOWN_READERS = 3  # recipient-variables of this many readers in a dry run's preview
MAX_OPTION_BYTES = 16 * 1024  # Mailgun: "Send options (o:, h:, v:, t:) are limited to 16KB total"
OPTION_PREFIXES = ("o:", "h:", "v:", "t:")
UNSUBSCRIBE = "unsubscribe"  # the one variable every reader has: their List-Unsubscribe header names it
# Our placeholders and the recipient variables that hold their values.
VARIABLES = {placeholders.UNSUBSCRIBE_URL: UNSUBSCRIBE, placeholders.NAME: "name", placeholders.PREFERENCES_URL: "preferences", placeholders.CLICK: "click"}
HTML = "_html"  # a variable's HTML-escaped twin, for the HTML part


def build_fields(config: Config, batch: Batch) -> Fields:
    """The form fields of POST /v3/{domain}/messages for one batch (recipients in the batch's order)."""
    edition = batch.edition
    rendered = edition.email
    plain_tokens = placeholders.tokens_in(edition.subject + "\n" + rendered.text)
    html_tokens = placeholders.tokens_in(rendered.html)
    names = variable_names(plain_tokens + html_tokens)
    plain = {token: names[token] for token in plain_tokens}
    html = {token: names[token] + HTML for token in html_tokens}
    fields: Fields = {
        "from": mailbox(config.sender.name, config.sender.address),
        "to": [letter.email for letter in batch.letters],
        "subject": personalize(edition.subject, referenced(plain)),
        "text": personalize(rendered.text, referenced(plain)),
        "html": personalize(rendered.html, referenced(html)),
        "recipient-variables": orjson.dumps({letter.email: recipient_variables(letter, plain, html) for letter in batch.letters}).decode(),
    }
    return fields | options(config, batch)


def variable_names(tokens: list[str]) -> dict[str, str]:
    """Each placeholder's recipient variable: unsubscribe, name, preferences; a name with a
    fallback (%%name|there%%, rare) gets one of its own, name_or_1, name_or_2..."""
    fallbacks = sorted({token for token in tokens if token not in VARIABLES})
    return {**VARIABLES, **{token: f"name_or_{number}" for number, token in enumerate(fallbacks, 1)}}


def referenced(variables: dict[str, str]) -> dict[str, str]:
    """What each placeholder becomes in the body Mailgun gets: a reference to its variable."""
    return {token: f"%recipient.{name}%" for token, name in variables.items()}


def recipient_variables(letter: Letter, plain: dict[str, str], html: dict[str, str]) -> dict[str, str]:
    """One reader's values: those the issue uses (plain, and escaped for the HTML part), and always
    the unsubscribe link, which the List-Unsubscribe header names."""
    values = {UNSUBSCRIBE: letter.unsubscribe_url}
    if plain:
        text_values = letter.values
        values.update({name: placeholders.value_for(token, text_values) for token, name in plain.items()})
    if html:
        html_values = letter.html_values
        values.update({name: placeholders.value_for(token, html_values) for token, name in html.items()})
    return values


def options(config: Config, batch: Batch) -> Fields:
    """What every recipient of the batch shares besides the body: headers, variables Mailgun echoes
    in its events (v:issue, v:send_id), the tag, tracking and the delivery time."""
    edition = batch.edition
    fields: Fields = {
        "h:List-Unsubscribe": list_unsubscribe(config, f"%recipient.{UNSUBSCRIBE}%"),
        "h:List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "h:List-Id": list_id(config),
        "h:Feedback-ID": feedback_id(config, edition.issue, edition.topic),
        "v:issue": edition.issue,
        "v:send_id": batch.send_id,
        "o:tag": [slug(config.newsletter.name)],  # Mailgun's tags are ASCII, at most 128 characters
        # Mailgun never rewrites a link: what the reader sees is what the issue says. Opens are left
        # to the domain's own setting (a pixel, no link changed), as SendGrid's account setting is.
        "o:tracking-clicks": "no",
    }
    if config.sender.reply_to:
        fields["h:Reply-To"] = ascii_form(config.sender.reply_to) or config.sender.reply_to
    if edition.send_at is not None:
        fields["o:deliverytime"] = email.utils.format_datetime(edition.send_at.astimezone(dt.UTC))
    if edition.schedule_id is not None:
        fields["v:schedule"] = edition.schedule_id
        fields["o:tag"] = [*fields["o:tag"], f"schedule-{edition.schedule_id}"]
    return fields


def mailbox(name: str, address: str) -> str:
    """`"Name" <address>`, the name encoded (RFC 2047) when it is not ASCII, the domain IDNA-encoded."""
    plain = ascii_form(address) or address
    try:
        return email.utils.formataddr((name, plain))
    except UnicodeEncodeError:  # an address with a non-ASCII local part: Mailgun takes it as it is
        return f"{json.dumps(name, ensure_ascii=False)} <{plain}>"


def option_bytes(fields: Fields) -> int:
    """The size of the send options (o:, h:, v:, t:), as Mailgun's 16 KB limit counts them."""
    return sum(
        len(key.encode()) + len(value.encode())
        for key, values in fields.items()
        if key.startswith(OPTION_PREFIXES)
        for value in (values if isinstance(values, list) else [values])
    )


def request_preview(config: Config, batch: Batch) -> RequestPreview:
    """The first request a send would make, as a dry run shows it: its form fields as JSON, the parts
    cut short and the recipient variables of the first readers only, decoded."""
    fields: dict[str, Any] = dict(build_fields(config, batch))
    for part in ("text", "html"):
        fields[part] = str(fields[part])[:SHOWN_CHARACTERS] + "..."
    readers = json.loads(str(fields["recipient-variables"]))
    fields["recipient-variables"] = dict(list(readers.items())[:SHOWN_READERS])
    more = len(readers) - SHOWN_READERS
    heading = "First request (POST /v3/{domain}/messages, form fields), parts shortened" + (f", recipient-variables of {more} more readers left out:" if more > 0 else ":")
    return RequestPreview(heading.replace("{domain}", config.mailgun.domain or "<[mailgun] domain>"), json.dumps(fields, indent=2, ensure_ascii=False))


def form_body(fields: Fields) -> tuple[bytes, str]:
    """The fields as a multipart/form-data body, and its Content-Type. Written here rather than by
    the HTTP client: its URL-encoding escapes a batch's half megabyte byte by byte in Python (about
    45 ms a request, more than the rest of the batch's work), while multipart carries each value as
    it is. A value may hold anything but the boundary, which is random and checked."""
    encoded = [(name.encode(), value.encode()) for name, values in fields.items() for value in ([values] if isinstance(values, str) else values)]
    boundary = secrets.token_hex(FORM_BOUNDARY_BYTES).encode()
    while any(boundary in value for _, value in encoded):
        boundary = secrets.token_hex(FORM_BOUNDARY_BYTES).encode()
    parts = [b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, name, value) for name, value in encoded]
    return b"".join([*parts, b"--%s--\r\n" % boundary]), f"multipart/form-data; boundary={boundary.decode()}"
