"""Ways to deliver a rendered issue: the local outbox (default), SMTP, and SendGrid's API."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..workspace.config import Workspace
    from .base import Provider

NAMES = ("outbox", "smtp", "sendgrid")
SHOWN = {"outbox": "the outbox", "smtp": "SMTP", "sendgrid": "SendGrid"}  # as a sentence names them
SCHEDULES_AHEAD = {"sendgrid": dt.timedelta(hours=72)}  # SendGrid's send_at reaches at most 72 hours ahead


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


def schedules_ahead(name: str) -> dt.timedelta | None:
    """How far ahead the provider itself can hold a delivery (None: it cannot; we hold it here)."""
    return SCHEDULES_AHEAD.get(name)
