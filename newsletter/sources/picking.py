"""`newsletter inbox pick` and `skip`: picked items are drafted as stories by the story drafter
(the code `newsletter story add` runs) and appended to the next issue file in one write; then the
inbox says so. An unknown id, or an item that cannot be drafted, changes nothing."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..issue.loading import issue_numbers, load_issue
from .errors import InboxError
from .inbox import Inbox, Item, State, load_inbox, save_inbox

if TYPE_CHECKING:
    from ..stories.draft import Draft
    from ..workspace.config import Workspace


@dataclass(frozen=True)
class Picked:
    item: Item
    draft: Draft
    section: str  # the section it went into
    from_teaser: str | None  # why the article itself could not be read (the draft used the feed's teaser), or None


def next_issue_file(workspace: Workspace) -> Path:
    """The issue file with the highest number, unless that issue was already sent (the send
    ledger knows its number): then the editor starts the next one with `newsletter new`."""
    numbers = issue_numbers(workspace.issues_dir)
    if not numbers:
        raise InboxError(f"{workspace.issues_dir}: no issue file to add stories to; start one with `newsletter new`, or name one with --issue")
    path, number = max(numbers.items(), key=lambda found: (found[1], found[0].name))
    if workspace.database.exists():
        from ..db import Database

        with Database(workspace.database, read_only=True) as db:
            sent = db.ledger.highest_issue()
        if sent >= number:
            raise InboxError(
                f"{path}: issue {number} was already sent; start the next issue with `newsletter new`, or name a file with --issue"
            )
    return path


def pick(
    workspace: Workspace, ids: list[str], issue_file: Path | None, section: str | None, timeout: float, allow_private: bool
) -> tuple[Path, list[Picked]]:
    """Draft the items `ids` into the issue file (given, or the next one) and mark them picked.
    Every draft is made before anything is written; then the issue file, then the inbox."""
    from ..stories.append import append_stories

    inbox = load_inbox(workspace.root)
    items = inbox.find(ids)
    for item in items:
        if item.state == "picked":
            raise InboxError(f"{item.id} was already picked into {item.picked_into or 'an issue'}; nothing was changed")
    path = issue_file or next_issue_file(workspace)
    load_issue(path)  # a missing or invalid issue file stops us before any fetching
    sections = {source.name: source.section for source in workspace.config.sources}
    picked = [_drafted(item, section or sections.get(item.source), timeout, allow_private) for item in items]
    appended = append_stories(path, [(one.draft, one.section or None) for one in picked])
    picked = [dataclasses.replace(one, section=added.section) for one, added in zip(picked, appended, strict=True)]
    shown = _shown(path, workspace.root)
    _mark(inbox, items, "picked", shown)
    save_inbox(workspace.root, inbox)
    return path, picked


def skip(workspace: Workspace, ids: list[str], every: bool = False) -> list[Item]:
    """Mark the items `ids` (or with `every`, every new one) skipped; an unknown id changes nothing."""
    inbox = load_inbox(workspace.root)
    items = inbox.new_items() if every else inbox.find(ids)
    _mark(inbox, items, "skipped", None)
    save_inbox(workspace.root, inbox)
    return items


def _mark(inbox: Inbox, items: list[Item], state: State, picked_into: str | None) -> None:
    chosen = {item.id for item in items}
    inbox.items = [
        item.model_copy(update={"state": state, "picked_into": picked_into}) if item.id in chosen else item for item in inbox.items
    ]


def _drafted(item: Item, section: str | None, timeout: float, allow_private: bool) -> Picked:
    """The item's story drafted from its article; when the article cannot be read (offline, a
    paywall, a refused address), from the feed's own title and teaser, with a note saying so."""
    from ..stories.draft import draft_from, draft_story
    from ..stories.errors import StoryError
    from ..stories.fetch import Fetched

    try:
        return Picked(item, draft_story(item.url, url=item.url, title=item.title, timeout=timeout, allow_private=allow_private), section or "", None)
    except StoryError as exc:
        reason = str(exc).removeprefix(f"cannot fetch {item.url}: ")
    if not item.teaser:
        raise InboxError(f"{item.id}: cannot draft it: {reason}, and its feed gave no teaser to draft from; nothing was changed")
    teaser = Fetched(data=item.teaser.encode("utf-8"), kind="text", name=item.url, url=item.url)
    try:
        draft = draft_from(teaser, url=item.url, title=item.title)
    except StoryError as exc:
        raise InboxError(f"{item.id}: cannot draft it: {reason}; from its teaser: {exc}; nothing was changed") from None
    return Picked(item, draft, section or "", reason)


def _shown(path: Path, root: Path) -> str:
    """The issue file as the inbox records it: relative to the workspace when inside it."""
    try:
        return os.path.relpath(path.resolve(), root.resolve()) if path.resolve().is_relative_to(root.resolve()) else str(path)
    except ValueError:
        return str(path)
