"""The one error the sources and the inbox raise for a user's mistake."""

from __future__ import annotations

from ..errors import NewsletterError


class InboxError(NewsletterError):
    """The inbox file cannot be read, an id is unknown, or no issue file can take a picked item."""
