"""The inbox: one JSON file in the workspace (inbox.json), read whole and written whole through
the one writer. It holds every item ever taken in (new, picked or skipped, so that none comes
back) and what each feed's server last said identifies its answer (for the conditional GET)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..files.reading import UnreadableFile, read_capped
from ..files.writing import write_files
from ..models.canonical import canonical_url
from .errors import InboxError
from .feeds import FeedItem, Validators

INBOX_NAME = "inbox.json"
MAX_INBOX_BYTES = 50_000_000  # a year of 20 feeds is a few MB
ID_CHARS = 6  # enough to tell apart thousands of items; longer only where two would share it

State = Literal["new", "picked", "skipped"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(_Record):
    id: str
    source: str  # the source's label
    title: str
    url: str
    canonical: str  # canonical_url(url): what repeats are told by
    published: dt.datetime | None = None
    found: dt.datetime  # when `sources fetch` took it in
    teaser: str = ""
    state: State = "new"
    ran_in: str | None = None  # "issue 41 (2026-11-24)" when its link already ran
    picked_into: str | None = None  # the issue file it was drafted into

    @property
    def when(self) -> dt.datetime:
        return self.published or self.found


class Remembered(_Record):
    etag: str | None = None
    last_modified: str | None = None


class Inbox(_Record):
    version: Literal[1] = 1
    sources: dict[str, Remembered] = {}  # by the source's url
    items: list[Item] = []

    def validators(self, url: str) -> Validators:
        memory = self.sources.get(url)
        return Validators(memory.etag, memory.last_modified) if memory else Validators()

    def remember(self, url: str, validators: Validators) -> None:
        self.sources[url] = Remembered(etag=validators.etag, last_modified=validators.last_modified)

    def new_items(self) -> list[Item]:
        """The items waiting for a decision, newest first."""
        return sorted((item for item in self.items if item.state == "new"), key=lambda item: item.when, reverse=True)

    def take_in(self, source: str, found: Iterable[FeedItem], ran: dict[str, str], now: dt.datetime) -> tuple[int, int]:
        """Add the items whose link the inbox does not hold yet; one whose link ran in an issue
        comes in marked with where. Returns (added, of them marked)."""
        known = {item.canonical for item in self.items}
        taken = {item.id for item in self.items}
        added = marked = 0
        for entry in found:
            canonical = canonical_url(entry.url)
            if canonical in known:
                continue
            known.add(canonical)
            item_id = _new_id(canonical, taken)
            taken.add(item_id)
            where = ran.get(canonical)
            self.items.append(
                Item(id=item_id, source=source, title=entry.title, url=entry.url, canonical=canonical, published=entry.published,
                     found=now, teaser=entry.teaser, ran_in=where)
            )
            added += 1
            marked += where is not None
        return added, marked

    def find(self, ids: Iterable[str]) -> list[Item]:
        """The items with these ids, in the order given. Raises InboxError naming every unknown id."""
        by_id = {item.id: item for item in self.items}
        wanted = [given.strip().lower() for given in ids]
        unknown = [given for given in wanted if given not in by_id]
        if unknown:
            raise InboxError(f"{INBOX_NAME}: no item {', '.join(unknown)} in the inbox (see `newsletter inbox` for the ids); nothing was changed")
        return [by_id[given] for given in dict.fromkeys(wanted)]


def _new_id(canonical: str, taken: set[str]) -> str:
    """A short id that stays the same for the same link, lengthened only where it would clash."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    size = ID_CHARS
    while digest[:size] in taken and size < len(digest):
        size += 1
    return digest[:size]


def inbox_path(root: Path) -> Path:
    return root / INBOX_NAME


def load_inbox(root: Path) -> Inbox:
    """The workspace's inbox (empty when there is no file yet). Raises InboxError naming the file,
    line and field of a mistake in it."""
    path = inbox_path(root)
    try:
        data = read_capped(path, MAX_INBOX_BYTES, "inbox file")
    except FileNotFoundError:
        return Inbox()
    except UnreadableFile as exc:
        raise InboxError(f"{path}: {exc}") from None
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InboxError(f"{path}: is not UTF-8 text (byte {exc.start + 1}); nothing was changed") from None
    except json.JSONDecodeError as exc:
        raise InboxError(f"{path}:{exc.lineno}: is not valid JSON ({exc.msg}); fix it or delete the file to start an empty inbox") from None
    try:
        return Inbox.model_validate(parsed)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        item_hint = _item_line(data, first["loc"])
        raise InboxError(f"{path}:{item_hint}: {where}: {first['msg']}; fix it or delete the file to start an empty inbox") from None


def _item_line(data: bytes, loc: tuple[int | str, ...]) -> int:
    """The line of the item an error is in (the line of its `"id"` key), or 1."""
    if len(loc) < 2 or loc[0] != "items" or not isinstance(loc[1], int):
        return 1
    lines = data.decode("utf-8").splitlines()
    seen = -1
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith('"id"'):
            seen += 1
            if seen == loc[1]:
                return number
    return 1


def save_inbox(root: Path, inbox: Inbox) -> Path:
    """Write the inbox whole (a temporary file, then a rename): whole or unchanged, never half."""
    text = json.dumps(inbox.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"
    return write_files(root, {INBOX_NAME: text.encode("utf-8")}, parents=False)[0]
