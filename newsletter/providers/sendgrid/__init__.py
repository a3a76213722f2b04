"""SendGrid, in both directions: send.py hands batches to its Mail Send API (the body built by
payload.py), events.py reads its Event Webhook into our events, and suppressions.py reads its
suppression lists for `subscribers sync`."""

from .payload import build_payload
from .send import MAX_RECIPIENTS, NAME, SendGridProvider

__all__ = ["MAX_RECIPIENTS", "NAME", "SendGridProvider", "build_payload"]
