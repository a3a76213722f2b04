"""Ways to deliver a rendered issue: the local outbox (default), SMTP, and SendGrid's API.

REGISTRY is the one list of them: a provider's name, how a sentence names it, what a dry run checks
and how far ahead it can hold a delivery. Its code is imported only when it is used, so a command
that sends through the outbox never loads SendGrid's library. Adding a provider: its module here,
its entry in REGISTRY, its settings table in workspace/config.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from ..workspace.config import Config, Workspace
    from .base import Batch, Provider, RequestPreview, Scheduling


@dataclass(frozen=True)
class ProviderInfo:
    name: str  # as newsletter.toml and --provider name it
    label: str  # as a sentence names it
    dry_run_checks: str  # what `send --dry-run` checks, as its output says
    schedules_ahead: dt.timedelta | None = None  # how far ahead it can hold a delivery itself (None: we hold it here)


REGISTRY = {
    info.name: info
    for info in (
        ProviderInfo("outbox", "the outbox", "its folder takes files"),
        ProviderInfo("smtp", "SMTP", "connected, TLS as configured, logged in, then QUIT"),
        # SendGrid's send_at reaches at most 72 hours ahead
        ProviderInfo("sendgrid", "SendGrid", "the API key is accepted and may send mail", dt.timedelta(hours=72)),
    )
}
NAMES = tuple(REGISTRY)
SHOWN = {name: info.label for name, info in REGISTRY.items()}


def open_provider(name: str, workspace: Workspace) -> Provider:
    """The named provider, set up from newsletter.toml and the environment (secrets)."""
    config = workspace.config
    if name == "smtp":
        from .smtp import SmtpProvider

        return SmtpProvider(config)
    if name == "sendgrid":
        from .sendgrid import SendGridProvider

        return SendGridProvider(config)
    from .outbox import OutboxProvider

    return OutboxProvider(config, workspace.outbox)


def check_provider(name: str, workspace: Workspace) -> None:
    """Check the named provider as a real send would before it sends anything (SMTP: connect, TLS
    and log in, then QUIT; SendGrid: an authenticated request that sends nothing; the outbox: its
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
    if name == "sendgrid":
        from .sendgrid.payload import request_preview

        return request_preview(config, batch)
    from .base import message_preview

    return message_preview(config, batch)


def schedules_ahead(name: str) -> dt.timedelta | None:
    """How far ahead the provider itself can hold a delivery (None: it cannot; we hold it here)."""
    return REGISTRY[name].schedules_ahead


def can_schedule(provider: Provider) -> TypeGuard[Scheduling]:
    """The provider holds deliveries until a set time itself (its entry says how far ahead)."""
    return REGISTRY[provider.name].schedules_ahead is not None
