"""Ways to deliver a rendered issue: the local outbox (default), SMTP, and SendGrid's API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Workspace
    from .base import Provider

NAMES = ("outbox", "smtp", "sendgrid")


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
