"""The one error the story drafter raises for a user's mistake or an unreachable article."""

from __future__ import annotations

from ..errors import NewsletterError


class StoryError(NewsletterError):
    """The article cannot be read or drafted, or the draft cannot be added to the issue file."""
