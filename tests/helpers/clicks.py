"""Helpers of the click tests: the sample issue sent to the outbox, its tracked links read back out
of a reader's message, the app's click recorder, and the clicks table as the tests read it."""

from __future__ import annotations

import email.utils
import re
import urllib.parse
from email.message import EmailMessage
from pathlib import Path

from newsletter.db import Database, Location
from newsletter.workspace.config import load_workspace
from tests.helpers.cli import run
from tests.helpers.web import outbox, text_of
from tests.helpers.workspace import ISSUE_NAME

ISSUE = "7"  # the sample issue's key in the ledger and in its links
TRACKED = re.compile(r"https://fixture\.example\.org(/[ro]/[^\s)\"]+)")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
LONG_AGO = "2026-01-01T00:00:00+00:00"  # a delivery far enough back that a click is no scanner's "early" one


def location_of(workspace: Path) -> Location:
    return load_workspace(workspace).database  # DATABASE_URL when a test set it


def send_sample(workspace: Path, readers: int = 2) -> dict[str, EmailMessage]:
    """The sample issue sent through the outbox to `readers` readers; each one's message by address."""
    from newsletter.models import Subscriber

    addresses = [f"reader{n:05d}@example.com" for n in range(readers)]
    with Database(location_of(workspace)) as db:
        db.subscribers.upsert(Subscriber(address, f"Reader {n}", {}) for n, address in enumerate(addresses))
    run("send", workspace / "issues" / ISSUE_NAME, cwd=workspace, ok=True)
    messages = {email.utils.parseaddr(str(message["To"]))[1]: message for message in outbox(workspace)}
    assert set(messages) == set(addresses), messages.keys()
    return messages


def tracked_links(message: EmailMessage) -> dict[str, str]:
    """The path and query of each tracked link in the message's text part, by slot."""
    links = {}
    for path in TRACKED.findall(text_of(message)):
        if path.startswith("/r/"):
            links.setdefault(path.split("/")[3], path)
    return links


def pixel_path(message: EmailMessage) -> str:
    """The path of the open pixel in the message's HTML part."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    found = re.search(r'src="https://fixture\.example\.org(/o/[^"]+)"', part.get_content())
    assert found, "no open pixel in the message"
    return found.group(1)


def target_of(path: str) -> str:
    """The link a tracked path stands for (its ?u=)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["u"][0]


def backdate_deliveries(location: Location, when: str = LONG_AGO) -> None:
    """As if the issue had gone out long ago: a click now is no scanner's early one."""
    with Database(location) as db, db.transaction():
        db.connection.db.execute("UPDATE deliveries SET updated_at = ?", (when,))


def set_variant(location: Location, email: str, variant: int) -> None:
    with Database(location) as db, db.transaction():
        db.connection.db.execute("UPDATE deliveries SET variant = ? WHERE email = ?", (variant, email))


def clicks_in(location: Location) -> list[tuple[str, str, str, str | None, int | None, str | None]]:
    """Every stored click: (issue, slot, url, email, variant, machine), in the order written."""
    with Database(location) as db:
        rows = db.connection.db.execute("SELECT issue, slot, url, email, variant, machine FROM clicks ORDER BY id")
        return [tuple(row) for row in rows]  # type: ignore[misc]


def opens_in(location: Location) -> list[tuple[str, str, str | None, str | None]]:
    """Every open the pixel recorded: (provider, issue, email, detail)."""
    with Database(location) as db:
        rows = db.connection.db.execute("SELECT provider, issue, email, detail FROM events WHERE event = 'open' ORDER BY received_at, event_id")
        return [tuple(row) for row in rows]  # type: ignore[misc]
