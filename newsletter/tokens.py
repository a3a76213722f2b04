"""Per-recipient placeholders. The body is rendered once with these tokens in it; the send step
fills them per recipient (SendGrid `substitutions`, or plain replacement for SMTP and the outbox).

The tokens use only characters that survive HTML escaping, URL attributes and MIME encoding unchanged.
"""

from __future__ import annotations

UNSUBSCRIBE_URL = "%%unsubscribe_url%%"
NAME = "%%name%%"
ALL = (UNSUBSCRIBE_URL, NAME)


def personalize(text: str, values: dict[str, str]) -> str:
    """Replace each token in `text` with its value; tokens not in `values` stay as they are."""
    for token, value in values.items():
        text = text.replace(token, value)
    return text
