"""Per-recipient placeholders. The body is rendered once with these markers in it; the send step
fills them per recipient (SendGrid `substitutions`, or plain replacement for SMTP and the outbox).

The markers use only characters that survive HTML escaping, URL attributes and MIME encoding unchanged.
"""

from __future__ import annotations

import re

UNSUBSCRIBE_URL = "%%unsubscribe_url%%"
NAME = "%%name%%"
ALL = (UNSUBSCRIBE_URL, NAME)
# Anything that could be read as a placeholder, now or by a provider (SendGrid's %%name:html%%).
FOUND = re.compile(r"%%[A-Za-z0-9_:.-]*%%")


def neutralize(text: str) -> str:
    """Text from outside (an article being drafted) with anything placeholder-like broken up."""
    return FOUND.sub(lambda found: found.group(0).replace("%%", "%"), text)


def personalize(text: str, values: dict[str, str]) -> str:
    """Replace each placeholder in `text` with its value; placeholders not in `values` stay as they are."""
    for placeholder, value in values.items():
        if placeholder in text:
            text = text.replace(placeholder, value)
    return text
