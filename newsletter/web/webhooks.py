"""SendGrid's Event Webhook: signed batches of delivery events, stored once each, that move
subscribers to bounced, complained or unsubscribed. What SendGrid's events mean, and how their
signature is checked, is the provider's (providers/sendgrid/events.py); this route reads the body,
calls it and answers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, request
from flask.typing import ResponseReturnValue

from ..workspace import credentials
from .site import site

webhooks = Blueprint("webhooks", __name__)

PUBLIC_KEY = credentials.SENDGRID_WEBHOOK_PUBLIC_KEY
MAX_BODY = 5_000_000  # SendGrid posts batches of up to a few thousand events

# The provider's module is imported at the first call, as its library was before: the app starts
# without loading SendGrid's library.


def verifier() -> Any:
    """sendgrid's EventWebhook for the key in SENDGRID_WEBHOOK_PUBLIC_KEY, made once per app; False without a usable key."""
    cached = current_app.extensions.get("sendgrid-webhook")
    if cached is None:
        from ..providers.sendgrid import events

        try:
            cached = events.signature_checker(credentials.sendgrid_webhook_public_key()) or False
        except ValueError:
            current_app.logger.error("%s is not a public key in the form SendGrid shows it; every webhook call is refused", PUBLIC_KEY)
            cached = False
        current_app.extensions["sendgrid-webhook"] = cached
    return cached


@webhooks.post("/webhooks/sendgrid")
def sendgrid_events() -> ResponseReturnValue:
    from ..providers.sendgrid import events

    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    body = request.get_data(cache=False)
    if not events.signed(verifier(), body, request.headers.get(events.SIGNATURE, ""), request.headers.get(events.TIMESTAMP, "")):
        abort(403)
    try:
        batch = events.read_events(body)
    except ValueError:
        abort(400)
    if batch.unusable:
        current_app.logger.warning("SendGrid webhook: %d event(s) name no usable email address; stored, applied to nobody", batch.unusable)
    site().run(lambda db: db.events.record(batch.events, "sendgrid"))
    return "", 204
