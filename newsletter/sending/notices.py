"""Messages to one person that the web app sends: the confirmation of a signup and the optional
welcome. They leave through the configured provider like an issue does, and each is recorded.

Each kind is rendered once (MJML and CSS inlining cost tens of milliseconds) with a marker where
the recipient's confirmation link goes; sending one fills it in by plain substitution, the way
an issue's per-recipient values are filled."""

from __future__ import annotations

import datetime as dt
import threading
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
CONFIRM_URL = "https://confirm-url.invalid/"  # the marker; no real link can contain it


class Notices:
    """The confirmation and welcome emails of one workspace, rendered on first use."""

    def __init__(self, workspace: Workspace, renderer: Renderer, keys: SigningKeys) -> None:
        self.workspace = workspace
        self.renderer = renderer
        self.keys = keys
        self._rendered: dict[str, Email] = {}
        self._lock = threading.Lock()

    def send_confirmation(self, db: Database, subscriber: Subscriber, now: float | None = None) -> bool:
        """Send `subscriber` a link that confirms their signup. True when the provider took it."""
        assert subscriber.public_id
        token = make_dated_token(subscriber.public_id, Purpose.CONFIRM, self.keys.current, int(now if now is not None else time.time()))
        url = self.workspace.config.confirm_url_for(token)
        template = self._email("confirm")
        email = template.model_copy(update={"html": template.html.replace(CONFIRM_URL, url), "text": template.text.replace(CONFIRM_URL, url)})
        return self._send(db, "confirm", subscriber, email)

    def send_welcome(self, db: Database, subscriber: Subscriber) -> bool | None:
        """The welcome email, when the workspace has its own templates/welcome.mjml.j2 (None: it has not)."""
        folder = self.workspace.template_dir
        if folder is None or not (folder / WELCOME_TEMPLATE).is_file():
            return None
        return self._send(db, "welcome", subscriber, self._email("welcome"))

    def _email(self, kind: str) -> Email:
        with self._lock:
            if kind not in self._rendered:
                config = self.workspace.config
                name = config.newsletter.name
                if kind == "confirm":
                    values = {"confirm_url": CONFIRM_URL, "confirm_days": config.web.confirm_days}
                    self._rendered[kind] = self.renderer.render_notice(kind, f"Confirm your subscription to {name}", "One click and you are on the list.", values)
                else:
                    self._rendered[kind] = self.renderer.render_notice(kind, f"Welcome to {name}", "You are on the list.", {})
            return self._rendered[kind]

    def _send(self, db: Database, kind: str, subscriber: Subscriber, email: Email) -> bool:
        assert subscriber.public_id
        config = self.workspace.config
        name = config.send.provider
        unsubscribe = config.unsubscribe_url_for(make_token(subscriber.public_id, Purpose.UNSUBSCRIBE, self.keys.current))
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        batch = Batch(Edition(f"notice-{kind}", email), f"{kind}-{stamp}-{subscriber.public_id}", [Letter(subscriber.email, None, unsubscribe)])
        result = BatchResult()
        try:
            provider = open_provider(name, self.workspace)
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
