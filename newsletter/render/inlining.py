"""CSS inlining with premailer, remembering what it has done.

premailer matches every rule of email.css.j2 against every element of a document, which was most
of a render's time. The card's blocks (card.mjml.j2: a table per story) are inlined on their own,
once for each content, and the document around them once for its own: the email and the web page
share their blocks, and a preview that re-renders after an edit inlines only what changed. The
result is byte for byte what inlining the whole document gives (tests/render/test_inlining.py):
no rule of email.css.j2 looks outside a block.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from .. import speedups

# Where a block stood in the document while the rest was inlined (card_block in render.py puts it there).
BLOCK_MARK = "<!--nl-block:{}-->"
BLOCK_MARKS = re.compile(r"<!--nl-block:(\d+)-->")
# Between blocks inlined together in one document: a comment, which lxml keeps as it is.
BLOCK_SPLIT = "<!--nl-block-split-->"
BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)


class Inliner:
    """premailer for a document whose card blocks were set aside (their marks left in their place)."""

    def __init__(self, remembered: int = 1024) -> None:
        self._done: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._remembered = remembered
        self._lock = threading.Lock()  # the preview server may render from more than one thread

    def inline(self, html: str, css: str, blocks: list[str]) -> str:
        if not blocks:  # not an issue (a confirmation email, one per reader): nothing worth remembering
            return inline_css(html, css)
        inlined = self._blocks(blocks, css)
        if inlined is None:  # a block that is not whole elements (a workspace template): inline it in place
            return inline_css(BLOCK_MARKS.sub(lambda found: blocks[int(found.group(1))], html), css)
        # The document around the blocks (masthead, sponsor, footer) changes only with the issue's own fields.
        document = self._recall(css, html)
        if document is None:
            document = self._remember(css, html, inline_css(html, css))
        return BLOCK_MARKS.sub(lambda found: inlined[int(found.group(1))], document)

    def _recall(self, css: str, html: str) -> str | None:
        with self._lock:
            done = self._done.get((css, html))
            if done is not None:
                self._done.move_to_end((css, html))
            return done

    def _remember(self, css: str, html: str, done: str) -> str:
        with self._lock:
            self._done[(css, html)] = done
            while len(self._done) > self._remembered:
                self._done.popitem(last=False)
        return done

    def _blocks(self, blocks: list[str], css: str) -> list[str] | None:
        known = {block: self._recall(css, block) for block in blocks}
        missing = [block for block, done in known.items() if done is None]
        if missing:  # one premailer run for all of them: most of its cost is per run
            document = _premailed(f"<html><head></head><body>{BLOCK_SPLIT.join(missing)}</body></html>", css)
            found = BODY.search(document)
            pieces = found.group(1).split(BLOCK_SPLIT) if found else []
            if len(pieces) != len(missing):  # the parser moved markup across a split
                return None
            for block, piece in zip(missing, pieces, strict=True):
                known[block] = self._remember(css, block, piece)
        return [known[block] or "" for block in blocks]


# A style attribute as premailer writes it ("a:1; b:2"); the space after each ";" is ~2% of the email.
INLINE_STYLE = re.compile(r"""style=(?:"[^"]*"|'[^']*')""")


def inline_css(html: str, css: str) -> str:
    """Inline our stylesheet with premailer; keep MRML's own <style> blocks and all @media rules as they are."""
    # premailer (lxml) drops the doctype MJML wrote; email clients need it for standards mode.
    body = re.sub(r"^<!DOCTYPE[^>]*>\s*", "", _premailed(html, css), flags=re.IGNORECASE).rstrip("\n")
    return f"<!doctype html>\n{body}\n"


def _premailed(html: str, css: str) -> str:
    Premailer = speedups.caching_premailer()
    speedups.quiet_cssutils()
    # MJML leaves its reset CSS in <style>; inlining it would add ~70 bytes to every table cell.
    html = html.replace("<style", '<style data-premailer="ignore"')
    inlined = Premailer(
        html,
        css_text=css,
        allow_network=False,  # never fetch a stylesheet (speedups.import_premailer counts on it)
        disable_validation=True,
        align_floating_images=False,  # we never float images; it re-parses every img style, slowly
        # Keep our pixel width/height attributes (Outlook sizes images by them) rather than
        # replacing them with the CSS values (width:100% is for phones).
        disable_basic_attributes=["width", "height"],
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)
    inlined = inlined.replace(' data-premailer="ignore"', "")
    return INLINE_STYLE.sub(lambda found: found.group(0).replace("; ", ";"), inlined)
