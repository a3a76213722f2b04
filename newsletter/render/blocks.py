"""The email's card blocks: which stories share one table.

Outlook for Windows breaks tables taller than about 1,800 px and leaves gaps, so the card is a stack
of short tables. A standard story (image, facts, quote) is a block of its own; digest stories are
short, so up to DIGEST_BLOCK of a section share one, which keeps a 25-story digest small. A sponsor
placed after the first story closes the first block there.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Issue, Section, Story

DIGEST_BLOCK = 5  # digest stories are ~200 px tall: five stay well under Outlook's ~1,800 px


@dataclass(frozen=True)
class CardBlock:
    section: Section
    stories: list[tuple[int, Story]]  # (place in the issue, from 1: the index links to #story-N), story
    opens_section: bool  # the section's name and accent band go above it
    sponsor_after: bool


def story_blocks(issue: Issue, layout: str) -> list[CardBlock]:
    size = DIGEST_BLOCK if layout == "digest" else 1
    sponsor_after_first = issue.sponsor is not None and issue.sponsor.position == "after_first"
    blocks: list[CardBlock] = []
    number = 0
    for section in issue.sections:
        start = 0
        while start < len(section.stories):
            lead = sponsor_after_first and number == 0
            group = section.stories[start : start + (1 if lead else size)]
            blocks.append(CardBlock(section, [(number + k + 1, story) for k, story in enumerate(group)], start == 0, lead))
            number += len(group)
            start += len(group)
    return blocks
