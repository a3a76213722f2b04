"""Tags and topic choices changed from the command line: which of the given addresses are on the
list, and what changed for them. An address not on the list is named, never silently skipped,
and nothing is added for it (tagging someone must not put them on the list)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NewsletterError

if TYPE_CHECKING:
    from ..db import Database


class TopicError(NewsletterError):
    """A topic key the workspace does not have, or topics in a workspace without [topics]."""


@dataclass(frozen=True)
class Changed:
    changed: int  # subscribers whose tags or topics changed
    unknown: list[str]  # the given addresses not on the list


def retag(db: Database, emails: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> Changed:
    """Add the tags `add` to the subscribers among `emails`, and take `remove` off them."""
    from ..db.audience_writes import retag as write

    with db.transaction():
        known, unknown = _split(db, emails)
        return Changed(write(db.connection, known, add, remove), unknown)


def check_topics(topics: Mapping[str, object], keys: Sequence[str]) -> None:
    """Raise TopicError unless every key of `keys` is one of `topics` (the workspace's)."""
    if not topics:
        raise TopicError("this workspace has no topics: add [topics.<key>] tables to newsletter.toml (see the README, \"Topics\")")
    for key in keys:
        if key not in topics:
            raise TopicError(f"{key!r} is not one of this workspace's topics ({', '.join(topics)}); nothing was changed")


def choose_topics(db: Database, emails: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> Changed:
    """Record that the subscribers among `emails` get the topics `add` and not `remove` (keys
    checked with check_topics), as their own explicit choice."""
    choices = {**{key: False for key in remove}, **{key: True for key in add}}
    with db.transaction():
        known, unknown = _split(db, emails)
        changed = sum(bool(db.audience.choose_topics(email, choices)) for email in known)
    return Changed(changed, unknown)


def _split(db: Database, emails: Sequence[str]) -> tuple[list[str], list[str]]:
    """(on the list, not on the list) of `emails`, each in the given order."""
    known = db.subscribers.known(emails)
    return [e for e in emails if e in known], [e for e in emails if e not in known]
