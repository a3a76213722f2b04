"""Postmark, in both directions: send.py hands batches to its batch API (the body built by
payload.py) over HTTPS without its SDK, and events.py reads its webhooks into our events."""

from .payload import build_payload
from .send import NAME, PostmarkProvider

__all__ = ["NAME", "PostmarkProvider", "build_payload"]
