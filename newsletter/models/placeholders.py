"""Per-recipient placeholders. The body is rendered once with these markers in it; the send step
fills them per recipient (SendGrid `substitutions`, or plain replacement for SMTP and the outbox).

The markers use only characters that survive HTML escaping, URL attributes and MIME encoding unchanged.
"""

from __future__ import annotations

import re

UNSUBSCRIBE_URL = "%%unsubscribe_url%%"
PREFERENCES_URL = "%%preferences_url%%"  # the reader's own page to see and change their subscription
NAME = "%%name%%"
CLICK = "%%click%%"  # the reader part of the tool's own tracked links and pixel (mail/clicks.py)
ALL = (UNSUBSCRIBE_URL, NAME, PREFERENCES_URL, CLICK)
# The name with a fallback for readers without one: %%name|there%% ("Hi there" rather than "Hi ,").
# The fallback is plain text that needs no escaping anywhere: no %, |, <, >, &, quotes or line breaks.
NAME_WITH_FALLBACK = re.compile(r"%%name\|([^%|<>&\"'\r\n]{1,40})%%")
TOKEN = re.compile(r"%%(?:unsubscribe_url|preferences_url|click|name(?:\|[^%|<>&\"'\r\n]{1,40})?)%%")
# Anything that could be read as a placeholder, now or by a provider (SendGrid's %%name:html%%).
FOUND = re.compile(r"%%[A-Za-z0-9_:.-]*(?:\|[^%\r\n]{0,80})?%%")


def name_token(fallback: str = "") -> str:
    """The placeholder a template puts where the reader's name goes, with `fallback` for readers
    who gave none."""
    if not fallback:
        return NAME
    token = f"%%name|{fallback}%%"
    if not NAME_WITH_FALLBACK.fullmatch(token):
        raise ValueError(f"the name fallback {fallback!r} must be 1 to 40 characters, without % | < > & quotes or line breaks")
    return token


def value_for(token: str, values: dict[str, str]) -> str:
    """A placeholder's value for one recipient; a name fallback applies when their name is empty."""
    found = values.get(token)
    if found is not None:
        return found
    fallback = NAME_WITH_FALLBACK.fullmatch(token)
    if fallback:
        return values.get(NAME) or fallback.group(1)
    return token


def tokens_in(text: str) -> list[str]:
    """The distinct placeholders in `text`, sorted."""
    return sorted(set(TOKEN.findall(text))) if "%%" in text else []


def neutralize(text: str) -> str:
    """Text from outside (an article being drafted) with anything placeholder-like broken up."""
    return FOUND.sub(lambda found: found.group(0).replace("%%", "%"), text)


def personalize(text: str, values: dict[str, str]) -> str:
    """Replace each placeholder in `text` with its value (see value_for); others stay as they are."""
    if "%%" not in text:
        return text
    return TOKEN.sub(lambda found: value_for(found.group(0), values), text)
