"""Each provider's events, posted to /webhooks/<provider>: checked by the provider's own scheme,
stored once each, and moving subscribers to bounced, complained or unsubscribed. What a provider's
events mean and how its posts are checked is the provider's (providers/<name>/events.py, named in
providers.REGISTRY); this route reads the body, calls it and answers."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from ..errors import ConfigError
from ..providers import EVENT_SOURCES, event_receiver
from ..providers.events import Forged, Receiver, Unavailable, Unreadable
from .site import site

webhooks = Blueprint("webhooks", __name__)

MAX_BODY = 5_000_000  # SendGrid posts batches of up to a few thousand events; the others one at a time
WEBHOOK_PATHS = frozenset(f"/webhooks/{name}" for name in EVENT_SOURCES)  # bodies above the form cap


def receiver(name: str) -> Receiver | None:
    """The provider's receiver, made once per app (its library is imported at the first post, so the
    app starts without loading it); None when its secret is missing or unusable, said once in the log."""
    receivers = current_app.extensions.setdefault("event-receivers", {})
    if name not in receivers:
        try:
            receivers[name] = event_receiver(name, site().config)
        except ConfigError as exc:
            current_app.logger.error("%s", exc)
            receivers[name] = None
    made: Receiver | None = receivers[name]
    return made


@webhooks.post("/webhooks/<name>")
def provider_events(name: str) -> ResponseReturnValue:
    if name not in EVENT_SOURCES:
        abort(404)
    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    body = request.get_data(cache=False)
    reader = receiver(name)
    if reader is None:
        abort(403)
    try:
        batch = reader.receive({header.lower(): value for header, value in request.headers.items()}, body)
    except Forged:
        abort(403)
    except Unavailable as exc:
        current_app.logger.warning("%s webhook: %s; answered 503 so that it is posted again", name, exc)
        return "", 503, {"Retry-After": "60"}
    except Unreadable as exc:
        # The receiver's reason (which event, which field), for whoever is writing the sender to
        # read: a bare 400 leaves them guessing. Receivers word it without the values posted.
        return jsonify(error=str(exc)), 400
    if batch.note:
        current_app.logger.info("%s webhook: %s", name, batch.note)
    if batch.unusable:
        current_app.logger.warning("%s webhook: %d event(s) name no usable email address; stored, applied to nobody", name, batch.unusable)
    if batch.events:
        site().run(lambda db: db.events.record(batch.events, name))
    return "", 204
