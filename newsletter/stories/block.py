"""A drafted story as the YAML block that `story add` appends and `story show` prints."""

from __future__ import annotations

import io
import re
import textwrap

from ..issue.checks import DRAFT_COMMENT
from .draft import Draft

SUMMARY_WIDTH = 88  # like the hand-written summaries in the sample issue


CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def story_yaml(draft: Draft, indent: int = 0) -> str:
    """The story as one YAML list item (`- title: ...`) with its dash at column `indent`, preceded by
    a comment that marks it as a draft to review. Ends with a newline."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import LiteralScalarString

    story = draft.story
    item = CommentedMap()
    item["title"] = story.title
    item["url"] = story.url
    item["source"] = story.source
    if story.author:
        item["author"] = story.author
    if story.published:
        item["published"] = story.published
    if story.reading_minutes:
        item["reading_minutes"] = story.reading_minutes
    wrapped = textwrap.fill(story.summary, SUMMARY_WIDTH, break_long_words=False, break_on_hyphens=False)
    item["summary"] = LiteralScalarString(wrapped + "\n")
    if story.key_facts:
        item["key_facts"] = list(story.key_facts)
    if story.quote:
        item["quote"] = CommentedMap([("text", story.quote.text), ("attribution", story.quote.attribution)])

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)  # "key_facts:\n  - fact", as the sample issue writes lists
    yaml.width = 4096  # never fold a long fact or title over two lines
    out = io.StringIO()
    yaml.dump([item], out)
    body = [line[2:] for line in out.getvalue().splitlines()]  # the top-level dash is at column 2: move it to 0
    # The origin is a file name or URL the user gave: a line break in it would end the comment and
    # write YAML, so every control character is shown as "?".
    origin = CONTROL.sub("?", draft.origin)
    comments = [f"{DRAFT_COMMENT} from {origin} (newsletter story add): check it against the article and rewrite"]
    comments.append("# the summary in your own words, then delete these comment lines.")
    comments += [f"# To do: {note}." for note in draft.notes]
    pad = " " * indent
    return "".join(f"{pad}{line}\n" if line else "\n" for line in [*comments, *body])
