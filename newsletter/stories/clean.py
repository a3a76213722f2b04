"""Decide what each raw line of an article is: heading, paragraph, list item, pull quote, byline, date,
metadata or junk. Real articles are messy: headings are often bare lines, bullets come as -, *, • or
numbers, hard-wrapped text needs its lines joined, and promotion sits between the paragraphs."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from . import dates, junk, quotes
from .extract import RawBlock

Kind = Literal["heading", "paragraph", "item", "quote"]

BULLET = re.compile(r"^\s*(?:[-*•‣◦▪●·]|\(?\d{1,2}[.)])\s+(?=\S)")
MAX_HEADING_WORDS = 12
MAX_HEADING_CHARS = 90
SENTENCE_END = tuple(".!?:;…\"”’')")
WRAP_MIN_CHARS = 45  # a hard-wrapped line that is not the last of its paragraph is at least this long
WRAP_MAX_CHARS = 100  # ...and no line of a hard-wrapped text is longer than this
BYLINE = re.compile(r"^(?:by|written by|words by|story by|reporting by|author:?)\s+(?P<rest>\S.*)$", re.IGNORECASE)
NAME_WORD = re.compile(r"^(?:[A-Z][\w'’.-]*|van|von|de|del|der|da|di|du|la|le|al|bin|ibn|el)$")
METADATA_LINE = re.compile(
    r"^(?P<key>url|link|canonical(?: url)?|source url|original(?:ly published)?(?: at| on)?|source|site|publication)"
    r"\s*:\s*(?P<value>\S.*)$",
    re.IGNORECASE,
)
NOT_A_NAME = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "then", "now", "contrast"}


@dataclass(frozen=True)
class Block:
    """One piece of the story's own text. `section` is the heading it sits under, if any."""

    kind: Kind
    text: str
    section: str | None = None
    attribution: str | None = None  # quotes only


@dataclass
class Cleaned:
    """The story's blocks plus what the text itself says about the article (bylines, datelines...)."""

    blocks: list[Block] = field(default_factory=list)
    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    url: str | None = None
    site: str | None = None

    def of_kind(self, kind: Kind) -> list[Block]:
        return [block for block in self.blocks if block.kind == kind]


def clean(raw: list[RawBlock], known_title: str | None = None) -> Cleaned:
    """Classify and filter raw blocks. `known_title` (from page metadata) keeps the headline out of the body."""
    result = Cleaned()
    state = _State(known_title=quotes.normalized(known_title) if known_title else None)
    for block in _join_wrapped(raw):
        if block.kind == "blank":
            continue
        text = " ".join(block.text.split())
        if block.kind == "quote":
            _add(result, state, Block("quote", quotes.strip_quote_marks(text), attribution=block.attribution))
        elif block.kind == "heading":
            _heading(result, state, text, block.level)
        elif block.kind == "item":
            if not state.in_navigation and not junk.is_junk(text):
                _add(result, state, Block("item", _strip_bullet(text)))
        else:
            _line(result, state, text)
    if not result.title and state.title_candidate:
        result.title = state.title_candidate
    return result


@dataclass
class _State:
    known_title: str | None
    section: str | None = None
    in_navigation: bool = False  # after "More from ...": other stories' headlines follow
    body_started: bool = False
    title_candidate: str | None = None


def _add(result: Cleaned, state: _State, block: Block) -> None:
    result.blocks.append(Block(block.kind, block.text, state.section, block.attribution))


def _heading(result: Cleaned, state: _State, text: str, level: int) -> None:
    text = text.strip(" #*_").strip()
    if not text:
        return
    if junk.opens_navigation(text) or junk.is_junk(text):
        state.in_navigation = True
        return
    if state.in_navigation:
        return
    if state.known_title and _same_title(text, state.known_title):
        return  # the page's headline, repeated as the first heading
    if not state.body_started and not state.known_title and not state.title_candidate and len(text.split()) >= 3:
        state.title_candidate = text  # the first heading-like line before the story starts is its headline
        return
    state.section = text.rstrip(":").strip()
    result.blocks.append(Block("heading", state.section, None))


def _same_title(text: str, known: str) -> bool:
    words = quotes.normalized(text)
    return bool(words) and (words == known or known.startswith(words + " ") or words.startswith(known + " "))


def _line(result: Cleaned, state: _State, text: str) -> None:
    if _metadata(result, text):
        return
    if _byline(result, text) or _date_line(result, text):
        return
    if junk.opens_navigation(text):
        state.in_navigation = True
        return
    if junk.is_junk(text):
        return
    glued = quotes.split_glued_quote(text)
    if glued:
        _add(result, state, Block("quote", glued[0], attribution=glued[1]))
        return
    last = result.blocks[-1] if result.blocks else None
    under_quote = last is not None and last.kind == "quote" and not last.attribution
    if last is not None and under_quote and text[0] in quotes.DASHES and quotes.looks_like_attribution(text):
        result.blocks.pop()  # "— Name, role" under a quote line
        result.blocks.append(Block("quote", last.text, last.section, quotes.clean_attribution(text)))
        return
    if BULLET.match(text):
        if not state.in_navigation:
            _add(result, state, Block("item", _strip_bullet(text)))
        return
    if _is_quote_line(text):
        text_, attribution = quotes.split_quote_lines([text])
        _add(result, state, Block("quote", text_, attribution=attribution))
        return
    if looks_like_heading(text):
        _heading(result, state, text, level=2)
        return
    text, published = dates.strip_date_prefix(text)
    if published and not result.published:
        result.published = published
    state.in_navigation = False
    state.body_started = True
    _add(result, state, Block("paragraph", text))


def looks_like_heading(text: str) -> bool:
    """A bare line that is a heading: short, no closing full stop, starts with a capital or a digit."""
    words = text.split()
    if not words or len(words) > MAX_HEADING_WORDS or len(text) > MAX_HEADING_CHARS:
        return False
    if text[-1] in ".,;…" or (text[-1] in "\"”’'" and text[-2:-1] in (".", ",")):
        return False
    if text[-1] in "?!" and len(words) > 10:
        return False
    return text[0].isupper() or text[0].isdigit() or text[0] in "“\"'‘"


def _strip_bullet(text: str) -> str:
    return BULLET.sub("", text, count=1).strip()


def _is_quote_line(text: str) -> bool:
    """A whole line in quotation marks ("“...”" or "“...” — Name"): a pull quote, not narrative."""
    if text[0] not in "“\"" or len(text.split()) < quotes.MIN_QUOTE_WORDS:
        return False
    closing = max(text.rfind("”"), text.rfind('"'))
    return closing == len(text) - 1 or bool(re.match(rf"\s*[{quotes.DASHES}]", text[closing + 1 :]))


def _metadata(result: Cleaned, text: str) -> bool:
    """'URL: https://...' and 'Source: Site Name' lines at the top or bottom of a saved article."""
    match = METADATA_LINE.match(text)
    if not match:
        return False
    key, value = match["key"].lower(), match["value"].strip()
    if re.match(r"https?://\S+$", value):
        result.url = result.url or value
        return True
    if key in ("source", "site", "publication") and len(value.split()) <= 6:
        result.site = result.site or value.rstrip(".")
        return True
    return False


def _byline(result: Cleaned, text: str) -> bool:
    """'By Ana Ruiz | View author profile', 'By Ana Ruiz and Li Wei, March 3, 2026', 'By Ana Ruiz, Staff Writer'."""
    match = BYLINE.match(text)
    if not match or len(text.split()) > 20:
        return False
    rest = match["rest"]
    names_part = re.split(r"\s+[|/·•—–-]\s+|\s*[|/·•]\s*", rest)[0]
    names_part = dates.DATE_PATTERN.sub("", names_part).strip(" ,")
    names = [n.strip() for n in re.split(r",\s*|\s+(?:and|&)\s+", names_part) if n.strip()]
    if not names or not _is_name(names[0]):
        return False  # "By 2030 the city..." is a sentence
    # Names joined by "and" are authors; what follows a comma ("Staff Writer") is a role.
    joined = [n for n in names[1:] if _is_name(n) and re.search(rf"(?:and|&)\s+{re.escape(n)}", names_part)]
    result.author = result.author or " and ".join([names[0], *joined])
    result.published = result.published or dates.first_date(rest)
    return True


def _is_name(text: str) -> bool:
    words = text.split()
    if not 1 <= len(words) <= 5 or words[0].lower().strip(".,") in NOT_A_NAME:
        return False
    return all(NAME_WORD.match(word) for word in words) and words[0][0].isupper() and not any(ch.isdigit() for ch in text)


def _date_line(result: Cleaned, text: str) -> bool:
    found = dates.date_line(text)
    if found is None:
        return False
    result.published = result.published or found
    return True


def _stands_alone(line: str) -> bool:
    """Lines that are never the continuation of a wrapped paragraph."""
    line = line.strip()
    return bool(METADATA_LINE.match(line) or BYLINE.match(line) or dates.date_line(line)) or junk.is_junk(line)


def _join_wrapped(raw: list[RawBlock]) -> list[RawBlock]:
    """Join the lines of hard-wrapped paragraphs (and wrapped bullets) back into one line each.

    Only for texts that are hard-wrapped: where every line is short. A text that keeps one paragraph per
    line (most copies from a browser) is left alone, so a heading is never glued to its paragraph."""
    long_lines = [len(block.text) for block in raw if block.kind == "line" and len(block.text) >= WRAP_MIN_CHARS]
    if len(long_lines) < 2 or sum(length > WRAP_MAX_CHARS for length in long_lines) > len(long_lines) // 10:
        return raw
    joined: list[RawBlock] = []
    for block in raw:
        previous = joined[-1] if joined else None
        if (
            block.kind == "line"
            and previous is not None
            and previous.kind == "line"
            and len(previous.text.strip()) >= WRAP_MIN_CHARS
            and not previous.text.rstrip().endswith(SENTENCE_END)
            and not BULLET.match(block.text)
            and not _stands_alone(block.text)
        ) or (
            block.kind == "line"
            and previous is not None
            and previous.kind == "line"
            and BULLET.match(previous.text)
            and block.text[:1].isspace()  # an indented line under a bullet continues it
            and not BULLET.match(block.text)
        ):
            joined[-1] = RawBlock("line", f"{previous.text.rstrip()} {block.text.strip()}")
        else:
            joined.append(block)
    return joined
