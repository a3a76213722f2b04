"""Messages to one person that the web app sends: the confirmation of a signup and the optional
welcome. They leave through the configured provider like an issue does, and each is recorded."""

from __future__ import annotations

import datetime as dt
import time

from ..config import Workspace
from ..credentials import SigningKeys
from ..db import Database
from ..links import Purpose, make_dated_token, make_token
from ..models import BatchResult, Email, Letter, Outcome, Subscriber
from ..providers import open_provider
from ..providers.base import Batch, Edition, ProviderError
from ..render import Renderer

WELCOME_TEMPLATE = "welcome.mjml.j2"


def confirmation_token(subscriber: Subscriber, keys: SigningKeys, now: float | None = None) -> str:
    assert subscriber.public_id
    return make_dated_token(subscriber.public_id, Purpose.CONFIRM, keys.current, int(now if now is not None else time.time()))


def send_confirmation(workspace: Workspace, renderer: Renderer, db: Database, subscriber: Subscriber, keys: SigningKeys) -> bool:
    """Send `subscriber` a link that confirms their signup. True when the provider took it."""
    config = workspace.config
    values = {"confirm_url": config.confirm_url_for(confirmation_token(subscriber, keys)), "confirm_days": config.web.confirm_days}
    email = renderer.render_notice("confirm", f"Confirm your subscription to {config.newsletter.name}", "One click and you are on the list.", values)
    return _send(workspace, db, "confirm", subscriber, email, keys)


def send_welcome(workspace: Workspace, renderer: Renderer, db: Database, subscriber: Subscriber, keys: SigningKeys) -> bool | None:
    """The welcome email, when the workspace has its own templates/welcome.mjml.j2 (None: it has not)."""
    folder = workspace.template_dir
    if folder is None or not (folder / WELCOME_TEMPLATE).is_file():
        return None
    email = renderer.render_notice("welcome", f"Welcome to {workspace.config.newsletter.name}", "You are on the list.", {})
    return _send(workspace, db, "welcome", subscriber, email, keys)


def _send(workspace: Workspace, db: Database, kind: str, subscriber: Subscriber, email: Email, keys: SigningKeys) -> bool:
    assert subscriber.public_id
    name = workspace.config.send.provider
    unsubscribe = workspace.config.unsubscribe_url_for(make_token(subscriber.public_id, Purpose.UNSUBSCRIBE, keys.current))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    batch = Batch(Edition(f"notice-{kind}", email), f"{kind}-{stamp}-{subscriber.public_id}", [Letter(subscriber.email, None, unsubscribe)])
    result = BatchResult()
    try:
        provider = open_provider(name, workspace)
        try:
            provider.send(batch, result.report)
        finally:
            provider.close()
    except ProviderError as exc:
        db.notices.record(kind, subscriber.email, name, "failed", str(exc))
        return False
    status = result.statuses.get(subscriber.email)
    outcome = status.outcome if status else Outcome.DEFERRED
    db.notices.record(kind, subscriber.email, name, str(outcome), status.detail if status else "not attempted")
    return outcome == Outcome.ACCEPTED
