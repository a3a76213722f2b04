"""Messages to one person that the web app asks for: the confirmation of a signup, the optional
welcome, and the link that confirms a new address a reader asked for (sent to that address). A request only queues one (db.notice_queue); a background sender sends it, so no answer
of the web app waits on a provider (its time would tell who is subscribed). They leave through the
configured provider like an issue does, and each attempt is recorded.

Each kind is rendered once (MJML and CSS inlining cost tens of milliseconds) with a marker where
the recipient's confirmation link goes; sending one fills it in by plain substitution, the way
an issue's per-recipient values are filled."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

from ..db import Database, QueuedNotice
from ..i18n.catalogue import labels
from ..mail.links import Purpose, make_dated_token, make_token
from ..models import BatchResult, Email, Letter, Outcome, Status, Subscriber
from ..providers import open_provider
from ..providers.base import Ambiguous, Batch, Edition, ProviderError, RetryLater
from ..render.pipeline import Renderer
from ..workspace.config import Workspace
from ..workspace.credentials import SigningKeys
from .sign_in import ADMIN_SIGN_IN, LINK_SPACING, SIGN_IN_PATH, new_link, sign_in_email

WELCOME_TEMPLATE = "welcome.mjml.j2"
# Either half in the workspace's templates asks for a welcome; the other half comes from the defaults.
WELCOME_TEMPLATES = (WELCOME_TEMPLATE, "welcome.txt.j2")
CONFIRM_URL = "https://confirm-url.invalid/"  # the marker; no real link can contain it
# Who may be sent a confirmation: anyone not already on the list.
CONFIRMABLE = (Status.PENDING, Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)
MAX_ATTEMPTS = 5  # a notice the provider keeps deferring is given up after this many tries
FIRST_RETRY = dt.timedelta(seconds=30)  # doubled at each deferral


def _unwanted(notice: QueuedNotice, subscriber: Subscriber | None, has_welcome: bool) -> str | None:
    """Why a queued notice is no longer to be sent (the reader's standing changed since), if it is not."""
    if subscriber is None:
        return "no longer asked for" if notice.kind == "address" else "no longer on the list"
    if notice.kind == "confirm" and subscriber.status not in CONFIRMABLE:
        return f"already {subscriber.status}"
    if notice.kind == "welcome" and subscriber.status != Status.ACTIVE:
        return f"{subscriber.status} before it was sent"
    if notice.kind == "welcome" and not has_welcome:
        return f"no {' or '.join(WELCOME_TEMPLATES)} in the templates"
    return None


class Notices:
    """The confirmation and welcome emails of one workspace, rendered on first use."""

    def __init__(self, workspace: Workspace, renderer: Renderer, keys: SigningKeys) -> None:
        self.workspace = workspace
        self.renderer = renderer
        self.keys = keys
        self._rendered: dict[str, Email] = {}
        self._lock = threading.Lock()

    @property
    def has_welcome(self) -> bool:
        """The workspace has its own welcome template, either half of the pair (a workspace without
        one sends no welcome: the defaults' pair only fills in a missing half)."""
        folder = self.workspace.template_dir
        return folder is not None and any((folder / name).is_file() for name in WELCOME_TEMPLATES)

    def send_due(self, db: Database, limit: int | None = None) -> Counter[str]:
        """Send the queued notices that are due, oldest first, until none is left (or `limit`
        were handled). Returns how many ended in each state (sent, failed, skipped, unknown,
        queued again). Rows a dead sender left are settled `unknown` first."""
        handled: Counter[str] = Counter()
        for kind, email in db.notice_queue.settle_abandoned():
            db.notices.record(kind, email, self.workspace.config.send.provider, str(Outcome.UNKNOWN), "the sender stopped while handing it over")
            handled["unknown"] += 1
        while limit is None or handled.total() < limit:
            notice = db.notice_queue.claim()
            if notice is None:
                break
            handled[self._deliver(db, notice)] += 1
        return handled

    def _deliver(self, db: Database, notice: QueuedNotice) -> str:
        if notice.kind == ADMIN_SIGN_IN:
            return self._deliver_sign_in(db, notice)
        # A new address's link goes to that address, for the subscriber who asked for it.
        requester = db.audience.requester_of(notice.email) if notice.kind == "address" else notice.email
        subscriber = db.subscribers.get(requester) if requester else None
        skipped = _unwanted(notice, subscriber, self.has_welcome)
        if skipped or subscriber is None:
            db.notice_queue.settle(notice, "skipped", skipped)
            return "skipped"
        if notice.kind == "confirm":
            email = self._confirmation_for(subscriber, db.subscribers.last_change(subscriber.email))
        elif notice.kind == "address":
            email = self._linked("address", subscriber, Purpose.ADDRESS, self.workspace.config.base_url + "/address/")
        else:
            email = self._email("welcome")
        outcome, detail = self._send(notice.kind, subscriber, email, to=notice.email)
        db.notices.record(notice.kind, subscriber.email, self.workspace.config.send.provider, str(outcome), detail)
        if outcome == Outcome.DEFERRED and notice.attempts < MAX_ATTEMPTS:
            db.notice_queue.retry_later(notice, FIRST_RETRY * 2 ** (notice.attempts - 1), detail)
            return "queued again"
        state = {Outcome.ACCEPTED: "sent", Outcome.UNKNOWN: "unknown"}.get(outcome, "failed")
        db.notice_queue.settle(notice, state, detail)
        return state

    def _deliver_sign_in(self, db: Database, notice: QueuedNotice) -> str:
        """An editor's sign-in link. Every address typed into /admin/login is queued (so the page
        takes the same time for any): the sender mails only the editors listed now."""
        config = self.workspace.config
        if notice.email not in config.admin.editors:
            db.notice_queue.settle(notice, "skipped", "not an editor")
            return "skipped"
        if db.admin.link_sent_within(notice.email, LINK_SPACING):
            # Asked again (or flooded by someone else): the link in the latest email still works.
            db.notice_queue.settle(notice, "skipped", "a link was sent minutes ago and still works")
            return "skipped"
        email = sign_in_email(config.newsletter.name, new_link(db, notice.email, config.base_url))
        outcome, detail = self._send_to(notice.kind, notice.email, email, config.base_url + SIGN_IN_PATH, "admin")
        db.notices.record(notice.kind, notice.email, config.send.provider, str(outcome), detail)
        state = {Outcome.ACCEPTED: "sent", Outcome.UNKNOWN: "unknown"}.get(outcome, "failed")
        db.notice_queue.settle(notice, state, detail)  # never retried: the editor asks for a new link
        return state

    def _confirmation_for(self, subscriber: Subscriber, last_change: int) -> Email:
        """The confirmation email with its link: dated, and naming the last status change it
        follows, so that any later change (an unsubscribe in the same second) outranks it."""
        assert subscriber.public_id
        token = make_dated_token(subscriber.public_id, Purpose.CONFIRM, self.keys.current, int(time.time()), last_change)
        url = self.workspace.config.confirm_url_for(token)
        template = self._email("confirm")
        return template.model_copy(update={"html": template.html.replace(CONFIRM_URL, url), "text": template.text.replace(CONFIRM_URL, url)})

    def _linked(self, kind: str, subscriber: Subscriber, purpose: Purpose, url: str) -> Email:
        """The `kind` email with its dated link (`url` + token) in place of the marker."""
        assert subscriber.public_id
        link = url + make_dated_token(subscriber.public_id, purpose, self.keys.current, int(time.time()))
        template = self._email(kind)
        return template.model_copy(update={"html": template.html.replace(CONFIRM_URL, link), "text": template.text.replace(CONFIRM_URL, link)})

    def _email(self, kind: str) -> Email:
        with self._lock:
            if kind not in self._rendered:
                config = self.workspace.config
                words = labels(config.newsletter.language, config.labels)
                subject = words[f"{kind}_subject"].format(name=config.newsletter.name)
                values = {"confirm_url": CONFIRM_URL, "confirm_days": config.web.confirm_days} if kind in ("confirm", "address") else {}
                self._rendered[kind] = self.renderer.render_notice(kind, subject, words[f"{kind}_preheader"], values)
            return self._rendered[kind]

    def _send(self, kind: str, subscriber: Subscriber, email: Email, to: str) -> tuple[Outcome, str | None]:
        """What the provider said about this one email, sent `to` the subscriber (or the new
        address they asked for)."""
        assert subscriber.public_id
        config = self.workspace.config
        unsubscribe = config.unsubscribe_url_for(make_token(subscriber.public_id, Purpose.UNSUBSCRIBE, self.keys.current))
        return self._send_to(kind, to, email, unsubscribe, subscriber.public_id)

    def _send_to(self, kind: str, to: str, email: Email, unsubscribe: str, who: str) -> tuple[Outcome, str | None]:
        """What the provider said about one `kind` email to `to` (`who` names the send's batch)."""
        config = self.workspace.config
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        batch = Batch(Edition(f"notice-{kind}", email), f"{kind}-{stamp}-{who}", [Letter(to, None, unsubscribe)])
        result = BatchResult()
        try:
            provider = open_provider(config.send.provider, self.workspace)
            try:
                provider.send(batch, result.report)
            finally:
                provider.close()
        except RetryLater as exc:
            return Outcome.DEFERRED, str(exc)
        except Ambiguous as exc:
            return Outcome.UNKNOWN, str(exc)
        except ProviderError as exc:
            return Outcome.REJECTED, str(exc)
        status = result.statuses.get(to)
        if status is None:
            return Outcome.DEFERRED, "not attempted"
        return status.outcome, status.detail
