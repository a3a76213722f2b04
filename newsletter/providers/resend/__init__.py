"""Resend, in both directions: send.py hands batches to its API through its official SDK (client.py
is the one HTTP layer under it; payload.py builds the bodies), and events.py reads its webhook's
posts (signed the Svix way) into our events."""

from .payload import MAX_BATCH, build_batch, build_scheduled, request_preview
from .send import NAME, ResendProvider

__all__ = ["MAX_BATCH", "NAME", "ResendProvider", "build_batch", "build_scheduled", "request_preview"]
