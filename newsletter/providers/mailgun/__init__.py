"""Mailgun, in both directions: send.py hands batches to its messages API through the official SDK
(api.py: no retries of its own, one deadline per request), the fields built by payload.py, and
events.py reads its webhooks into our events."""

from .payload import build_fields
from .send import MAX_RECIPIENTS, NAME, MailgunProvider

__all__ = ["MAX_RECIPIENTS", "NAME", "MailgunProvider", "build_fields"]
