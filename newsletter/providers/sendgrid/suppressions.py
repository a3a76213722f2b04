"""SendGrid's suppression lists (unsubscribes, bounces, spam reports, an unsubscribe group): read
page by page, and each entry turned into what it means for our list (`subscribers sync`)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...models import Status
from ...models.addresses import normalize

# Suppression lists `subscribers sync` reads: (kind, path). A page holds at most 500 entries.
SUPPRESSION_LISTS = (("unsubscribes", "unsubscribes"), ("bounces", "bounces"), ("spam_reports", "spam_reports"))
# The status each suppression list gives a subscriber here.
SUPPRESSION_STATUS = {
    "unsubscribes": Status.UNSUBSCRIBED,
    "group_unsubscribes": Status.UNSUBSCRIBED,
    "bounces": Status.BOUNCED,
    "spam_reports": Status.COMPLAINED,
}
PAGE = 500


@dataclass(frozen=True)
class Suppressed:
    """One of SendGrid's suppression lists, as our list reads it."""

    kind: str  # unsubscribes, bounces, spam_reports or group_unsubscribes
    status: Status  # the status it gives a subscriber here
    listed: int  # entries at SendGrid
    addresses: set[str]  # as our list stores them
    skipped: int  # entries that are not usable addresses


def read_suppressions(client: Any, call: Callable[[str, Callable[[], Any]], Any], group: int | None) -> dict[str, list[str]]:
    """Addresses SendGrid will not mail, by list: unsubscribes, bounces, spam_reports, and
    group_unsubscribes when [sendgrid] asm_group_id is set (`group`). As SendGrid writes them (an
    IDN domain as xn--...): suppressed() normalizes them. An entry without an address is given as
    "", so that it is counted as unusable rather than lost silently. `call(purpose, request)`
    makes one API call, a failure becoming one error for the user."""
    found: dict[str, list[str]] = {}
    for kind, path in SUPPRESSION_LISTS:
        found[kind] = []
        endpoint = client.suppression._(path)
        for offset in range(0, 10**9, PAGE):
            response = call(f"read its {kind} list", functools.partial(endpoint.get, query_params={"limit": PAGE, "offset": offset}))
            page = json.loads(response.body or b"[]")
            page = page if isinstance(page, list) else []
            found[kind].extend(_text(entry.get("email") if isinstance(entry, dict) else None) for entry in page)
            if len(page) < PAGE:
                break
    if group:
        endpoint = client.asm.groups._(str(group)).suppressions
        response = call(f"read unsubscribe group {group}", lambda: endpoint.get())
        listed = json.loads(response.body or b"[]")
        found["group_unsubscribes"] = [_text(address) for address in (listed if isinstance(listed, list) else [])]
    return found


def suppressed(found: dict[str, list[str]]) -> list[Suppressed]:
    """The lists read_suppressions() found, each with the status it gives and its addresses as
    our list stores them."""
    return [Suppressed(kind, SUPPRESSION_STATUS[kind], len(emails), *stored_forms(emails)) for kind, emails in found.items()]


def stored_forms(addresses: list[str]) -> tuple[set[str], int]:
    """Addresses as the list stores them (SendGrid gives IDNA domains as xn--...), and how many
    were skipped because they are not usable addresses."""
    stored, skipped = set(), 0
    for address in addresses:
        try:
            stored.add(normalize(address))
        except ValueError:
            skipped += 1
    return stored, skipped


def _text(value: Any) -> str:
    """A string SendGrid gave, or "" for anything else (counted as unusable)."""
    return value if isinstance(value, str) else ""
