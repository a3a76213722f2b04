"""The body of SendGrid's POST /v3/mail/send for one batch, built without any network: tested by
comparing JSON, and shown by `send --dry-run`.

One request carries up to 1000 recipients (one personalization each) and one rendered body; the
per-recipient values travel as `substitutions`, and each recipient's own one-click unsubscribe
URL as a personalization header. Addresses go out with their domain IDNA-encoded.
"""

from __future__ import annotations

import json
from typing import Any

from ...mail.message import feedback_id, list_id, list_unsubscribe
from ...models import Letter, escape_html, placeholders
from ...models.addresses import ascii_form
from ...models.placeholders import personalize
from ...workspace.config import Config
from ..base import Batch, RequestPreview

SHOWN_CHARACTERS = 200  # of each part of the body in a dry run's preview


def html_placeholder(placeholder: str) -> str:
    """The name a placeholder gets in the HTML part, whose value is HTML-escaped: %%name%% -> %%name:html%%."""
    return placeholder[:-2] + ":html%%"


def build_payload(config: Config, batch: Batch) -> dict[str, Any]:
    """The JSON body of POST /v3/mail/send for one batch (recipients in the batch's order).
    Every letter must have an ASCII form (see deliverable())."""
    edition = batch.edition
    email = edition.email
    # SendGrid fills the same substitutions in every part, so the HTML part gets its own
    # (escaped) placeholders: a name with `<` or `&` then reads the same in both parts. Only
    # the placeholders the issue uses travel, once per recipient.
    html = personalize(email.html, {placeholder: html_placeholder(placeholder) for placeholder in placeholders.tokens_in(email.html)})
    plain = [p for p in placeholders.ALL if p in edition.subject or p in email.text]
    escaped = [p for p in placeholders.ALL if html_placeholder(p) in html]
    url, name, preferences = placeholders.UNSUBSCRIBE_URL, placeholders.NAME, placeholders.PREFERENCES_URL
    url_html, name_html, preferences_html = html_placeholder(url), html_placeholder(name), html_placeholder(preferences)
    clicks = [p for p in (placeholders.CLICK,) if p in plain] + [html_placeholder(p) for p in (placeholders.CLICK,) if p in escaped]
    # Names with a fallback (%%name|there%%), rare: one substitution each, by the general rule.
    with_fallback = [t for t in placeholders.tokens_in(edition.subject + email.text) if t not in placeholders.ALL]
    with_fallback_html = [t for t in placeholders.tokens_in(email.html) if t not in placeholders.ALL]
    personalizations = []
    for letter in batch.letters:  # a million of these in a big send: plain dicts, no helpers
        to = {"email": ascii_form(letter.email) or letter.email}
        if letter.name:
            to["name"] = letter.name
        substitutions = {}
        if url in plain:
            substitutions[url] = letter.unsubscribe_url
        if name in plain:
            substitutions[name] = letter.name or ""
        if url in escaped:
            substitutions[url_html] = escape_html(letter.unsubscribe_url)
        if name in escaped:
            substitutions[name_html] = escape_html(letter.name or "")
        if preferences in plain:
            substitutions[preferences] = letter.preferences_link
        if preferences in escaped:
            substitutions[preferences_html] = escape_html(letter.preferences_link)
        substitutions.update(dict.fromkeys(clicks, letter.click_token))  # base64url and dots: nothing to escape
        for token in with_fallback:
            substitutions[token] = letter.name or placeholders.value_for(token, {})
        for token in with_fallback_html:
            substitutions[html_placeholder(token)] = escape_html(letter.name or "") or placeholders.value_for(token, {})
        personalization: dict[str, Any] = {"to": [to], "headers": {"List-Unsubscribe": list_unsubscribe(config, letter.unsubscribe_url)}}
        if substitutions:
            personalization["substitutions"] = substitutions
        personalizations.append(personalization)
    return {"personalizations": personalizations, **message_fields(config, batch, html)}


def message_fields(config: Config, batch: Batch, html: str) -> dict[str, Any]:
    """What every recipient of the batch shares: sender, subject, content, headers and settings."""
    sender = config.sender
    edition = batch.edition
    fields: dict[str, Any] = {
        "from": {"email": ascii_form(sender.address) or sender.address, "name": sender.name},
        "subject": edition.subject,
        "content": [{"type": "text/plain", "value": edition.email.text}, {"type": "text/html", "value": html}],
        "headers": {"List-Id": list_id(config), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "Feedback-ID": feedback_id(config, edition.issue, edition.topic)},
        "categories": [config.sendgrid.category or config.newsletter.name],
        "custom_args": {"issue": edition.issue, "send_id": batch.send_id},  # values must be strings
        "tracking_settings": tracking_settings(config),
    }
    if sender.reply_to:
        fields["reply_to"] = {"email": ascii_form(sender.reply_to) or sender.reply_to}
    if config.sendgrid.asm_group_id:
        fields["asm"] = {"group_id": config.sendgrid.asm_group_id}
    if config.sendgrid.sandbox:
        fields["mail_settings"] = {"sandbox_mode": {"enable": True}}
    if edition.send_at is not None:
        fields["send_at"] = int(edition.send_at.timestamp())
        fields["batch_id"] = edition.schedule_id
    return fields


def tracking_settings(config: Config) -> dict[str, Any]:
    """Click tracking as [sendgrid] click_tracking says, whatever the account's own setting: on,
    SendGrid rewrites every link of the HTML part through its redirect (never the text part's,
    which stays readable). `newsletter check` counts those longer links against Gmail's clip."""
    return {"click_tracking": {"enable": config.sendgrid.click_tracking, "enable_text": False}}


def deliverable(letter: Letter) -> bool:
    """Whether SendGrid can take this address at all (its local part must be ASCII)."""
    return ascii_form(letter.email) is not None


def request_preview(config: Config, batch: Batch) -> RequestPreview:
    """The first request a send would make, as a dry run shows it: the JSON body, each part of
    the content cut short."""
    body = build_payload(config, batch)
    for part in body["content"]:
        part["value"] = part["value"][:SHOWN_CHARACTERS] + "..."
    return RequestPreview("First request body (POST /v3/mail/send), content shortened:", json.dumps(body, indent=2, ensure_ascii=False))
