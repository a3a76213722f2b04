"""The words of the audience: tags and topic keys, as every part (settings, imports, the CLI, the
web form, segments) checks them. Pure rules, no I/O."""

from __future__ import annotations

import re

TAG_MAX = 64
TAG_SEPARATOR = ";"  # several tags (or topics) in one CSV cell
TOPIC_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
# Letters and digits of any script, spaces and a few marks; never the cell separator, quotes,
# parentheses or control characters (a tag is written inside segment expressions and CSV cells).
TAG_CHARACTERS = re.compile(r"[\w][\w .:/+&#@-]*")


def normal_tag(value: str) -> str:
    """`value` as a tag is stored (spaces collapsed, ends trimmed), or ValueError saying why not."""
    tag = " ".join(str(value).split())
    if not tag:
        raise ValueError("a tag cannot be empty")
    if len(tag) > TAG_MAX:
        raise ValueError(f"a tag is at most {TAG_MAX} characters, got {len(tag)}")
    if not TAG_CHARACTERS.fullmatch(tag):
        raise ValueError(f"{tag!r}: a tag is letters, digits, spaces and . : / + & # @ - _ (starting with a letter or digit)")
    return tag


def topic_key_problem(value: str) -> str | None:
    if TOPIC_KEY.fullmatch(value):
        return None
    return f"{value!r}: a topic key is lower-case letters, digits, '-' and '_' (at most 32, starting with a letter or digit)"


def split_cell(cell: str) -> list[str]:
    """The items of one `;`-separated cell, blanks dropped, in order, each once."""
    seen: dict[str, None] = {}
    for part in cell.split(TAG_SEPARATOR):
        item = " ".join(part.split())
        if item:
            seen.setdefault(item, None)
    return list(seen)
