"""Ways to deliver a rendered issue: the local outbox (default), SMTP, SendGrid, Amazon SES, Mailgun,
Postmark and Resend.

REGISTRY is the one list of them: a provider's name, how a sentence names it, what a dry run checks,
how far ahead it can hold a delivery, and where its code lives. That code is imported only when it is
used, so a command that sends through the outbox never loads a provider's library. Adding a provider:
its package here (send.py; events.py if it posts events), its entry in REGISTRY, its settings table
in workspace/config.py and its keys in workspace/credentials.py."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from ..workspace.config import Config, Workspace
    from .base import Batch, Provider, RequestPreview, Scheduling
    from .events import Receiver


@dataclass(frozen=True)
class ProviderInfo:
    name: str  # as newsletter.toml and --provider name it
    label: str  # as a sentence names it
    dry_run_checks: str  # what `send --dry-run` checks, as its output says
    schedules_ahead: dt.timedelta | None = None  # how far ahead it can hold a delivery itself (None: we hold it here)
    sender: str = ""  # "module:Class" (relative to this package) of its Provider, made from the Config
    preview: str | None = None  # "module:function" showing its first request in a dry run; None: the MIME headers
    events: str | None = None  # "module:function" making the web app's Receiver of its event posts; None: it posts none
    cancel_margin: dt.timedelta = dt.timedelta(minutes=10)  # closer to the time than this, a cancellation is not guaranteed


REGISTRY = {
    info.name: info
    for info in (
        ProviderInfo("outbox", "the outbox", "its folder takes files"),
        ProviderInfo("smtp", "SMTP", "connected, TLS as configured, logged in, then QUIT", sender=".smtp:SmtpProvider"),
        # SendGrid's send_at reaches at most 72 hours ahead
        ProviderInfo(
            "sendgrid", "SendGrid", "the API key is accepted and may send mail", dt.timedelta(hours=72),
            sender=".sendgrid:SendGridProvider", preview=".sendgrid.payload:request_preview", events=".sendgrid.events:receiver",
        ),
        ProviderInfo("ses", "Amazon SES", "the keys are accepted and the account may send (GetAccount)", sender=".ses:SesProvider", events=".ses.events:receiver"),
        # o:deliverytime reaches 3 days ahead on every plan (7 on some)
        ProviderInfo(
            "mailgun", "Mailgun", "the API key is accepted for [mailgun] domain", dt.timedelta(days=3),
            sender=".mailgun:MailgunProvider", preview=".mailgun.payload:request_preview", events=".mailgun.events:receiver",
        ),
        ProviderInfo(
            "postmark", "Postmark", "the server token is accepted and [postmark] message_stream is a Broadcast stream",
            sender=".postmark:PostmarkProvider", preview=".postmark.payload:request_preview", events=".postmark.events:receiver",
        ),
        # scheduled_at reaches 30 days ahead
        ProviderInfo(
            "resend", "Resend", "the API key is accepted and may send", dt.timedelta(days=30),
            sender=".resend:ResendProvider", preview=".resend.payload:request_preview", events=".resend.events:receiver",
        ),
    )
}
# Events from any other service (Postal, Brevo, a relay of one's own), in one documented shape.
OTHER_EVENTS = {"generic": ".generic:receiver"}
NAMES = tuple(REGISTRY)
SHOWN = {name: info.label for name, info in REGISTRY.items()}
# Whoever may post events to the web app (/webhooks/<name>), and the receiver that reads them
RECEIVERS = {**{name: info.events for name, info in REGISTRY.items() if info.events}, **OTHER_EVENTS}
EVENT_SOURCES = tuple(RECEIVERS)


def _load(reference: str) -> object:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module, __name__), attribute)


def open_provider(name: str, workspace: Workspace) -> Provider:
    """The named provider, set up from newsletter.toml and the environment (secrets)."""
    info = REGISTRY[name]
    if not info.sender:
        from .outbox import OutboxProvider

        return OutboxProvider(workspace.config, workspace.outbox)
    provider: Provider = _load(info.sender)(workspace.config)  # type: ignore[operator]
    return provider


def check_provider(name: str, workspace: Workspace) -> None:
    """Check the named provider as a real send would before it sends anything (SMTP: connect, TLS
    and log in, then QUIT; an API: an authenticated request that sends nothing; the outbox: its
    folder takes files), changing nothing. Raises ProviderError with the provider's words."""
    if name == "outbox":
        from .outbox import check_folder

        check_folder(workspace.outbox)  # without making it: a dry run writes nothing
        return
    provider = open_provider(name, workspace)
    try:
        provider.check()
    finally:
        provider.close()


def first_request(name: str, config: Config, batch: Batch) -> RequestPreview:
    """What the named provider's first request for `batch` would be, for a dry run to show; sends nothing."""
    preview = REGISTRY[name].preview
    if preview:
        shown: RequestPreview = _load(preview)(config, batch)  # type: ignore[operator]
        return shown
    from .base import message_preview

    return message_preview(config, batch)


def event_receiver(name: str, config: Config) -> Receiver | None:
    """The web app's reader of the named provider's event posts (or "generic"), with its secret
    from the environment; None when the provider posts no events. Raises ConfigError when the secret is
    missing or unusable (every post is then refused)."""
    events = RECEIVERS.get(name)
    if not events:
        return None
    receiver: Receiver = _load(events)(config)  # type: ignore[operator]
    return receiver


def schedules_ahead(name: str) -> dt.timedelta | None:
    """How far ahead the provider itself can hold a delivery (None: it cannot; we hold it here)."""
    return REGISTRY[name].schedules_ahead


def can_schedule(provider: Provider) -> TypeGuard[Scheduling]:
    """The provider holds deliveries until a set time itself (its entry says how far ahead)."""
    return REGISTRY[provider.name].schedules_ahead is not None
