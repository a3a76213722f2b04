"""Decide what each raw line of an article is: heading, paragraph, list item, pull quote, byline, date,
metadata or junk. Real articles are messy: headings are often bare lines, bullets come as -, *, • or
numbers, hard-wrapped text needs its lines joined, and promotion sits between the paragraphs.

A page copied whole also brings the site around the story: menus, share bars, teaser lists of other stories,
sign-up boxes, comments, footers and cookie banners. Those come in *stanzas* (lines between blank lines) of
short lines, and `_page_furniture` takes them out before the lines are read one by one."""

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
WRAP_SLACK = 2  # a wrapped line may stop this far short of the widest line (a space or a mark of difference)
BYLINE = re.compile(
    r"^(?:by|written by|words by|story by|reporting by|compiled by|posted by|posted on .{1,40}? by|author:?|von|par)\s+"
    r"(?P<rest>\S.*)$",
    re.IGNORECASE,
)
AUTHOR_JOIN = r"(?:and|und|et|&)"  # "Ana Ruiz and Li Wei", "Svenja Harder und Malte Brink"
NAME_WORD = re.compile(r"^(?:[A-Z][\w'’.-]*|van|von|de|del|der|da|di|du|la|le|al|bin|ibn|el)$")
METADATA_LINE = re.compile(
    r"^(?P<key>url|link|canonical(?: url)?|source url|original(?:ly published)?(?: at| on)?|source|site|publication)"
    r"\s*:\s*(?P<value>\S.*)$",
    re.IGNORECASE,
)
NOT_A_NAME = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "then", "now", "contrast"}
MAX_TITLE_WORDS = 25  # before the story starts, a line this short without a closing full stop is its headline...
MAX_TITLE_CHARS = 160
MIN_TITLE_WORDS = 4  # ...and a shorter one is a kicker ("Local News", "Verkehrswende") or the site's name
PROSE_WORDS = 20  # a line this long is running text: another story's teaser or a menu is shorter
TEASER_WORDS = 25  # the one-sentence teaser under another story's headline is at most this long
MIN_BOX_LINES = 3  # fewer short lines in a row may be a kicker, a headline and a byline


@dataclass(frozen=True)
class TextBlock:
    """One piece of the story's own text. `section` is the heading it sits under, if any."""

    kind: Kind
    text: str
    section: str | None = None
    attribution: str | None = None  # quotes only


@dataclass(frozen=True)
class Dropped:
    """A line of the page left out of the story, and why (for the corpus bench and for debugging)."""

    text: str
    reason: str


@dataclass
class Cleaned:
    """The story's blocks plus what the text itself says about the article (bylines, datelines...)."""

    blocks: list[TextBlock] = field(default_factory=list)
    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    url: str | None = None
    site: str | None = None
    dropped: list[Dropped] = field(default_factory=list)

    def of_kind(self, kind: Kind) -> list[TextBlock]:
        return [block for block in self.blocks if block.kind == kind]


def clean(raw: list[RawBlock], known_title: str | None = None) -> Cleaned:
    """Classify and filter raw blocks. `known_title` (from page metadata) keeps the headline out of the body."""
    result = Cleaned()
    state = _State(known_title=quotes.normalized(known_title) if known_title else None)
    blocks = _join_wrapped(raw)
    furniture = _page_furniture(blocks)
    starts = _stanza_starts(blocks)
    for index, block in enumerate(blocks):
        if index in starts:
            state.new_stanza()
        if block.kind == "blank":
            continue
        text = " ".join(block.text.split())
        if state.story_over:
            _drop(result, text, "after the story's end mark")
        elif junk.ends_story(text):
            state.story_over = True
            _drop(result, text, "the story's end mark")
        elif index in furniture:
            _drop(result, text, furniture[index])
            state.page_box_dropped()
        elif state.in_others:
            _drop(result, text, "comments or press contacts")
        else:
            _content(result, state, block, text)
    if not result.title:
        result.title = state.title or state.cleared_title or state.kicker
    return result


def _content(result: Cleaned, state: _State, block: RawBlock, text: str) -> None:
    """A block that is not page furniture, by its kind: a quote, a heading, a list item or a line."""
    if block.kind == "quote":
        _add(result, state, TextBlock("quote", quotes.strip_quote_marks(text), attribution=block.attribution))
    elif block.kind == "heading":
        _heading(result, state, text)
    elif block.kind == "item":
        if state.navigation or junk.is_junk(text):
            _drop(result, text, "navigation" if state.navigation else "junk")
        else:
            _add(result, state, TextBlock("item", _strip_bullet(text)))
    else:
        _line(result, state, text)


@dataclass
class _State:
    known_title: str | None
    section: str | None = None
    # After "More from ..." ("list") other stories' headlines and teasers follow, until the story's own text
    # resumes; after a junk heading ("weak") only to the end of its stanza or the next paragraph.
    navigation: Literal["list", "weak"] | None = None
    after_headline: bool = False  # the line before was another story's headline (in navigation)
    in_others: bool = False  # comments or a press contact box, to the end of the stanza
    story_over: bool = False  # after a press release's "###"
    body_started: bool = False
    title: str | None = None  # the headline found in the text (when the page's metadata names none)
    title_fixed: bool = False  # a byline, date or section followed it: it is not the site's tagline
    cleared_title: str | None = None
    kicker: str | None = None  # a short line above the headline ("Local News"): the title if nothing better

    def new_stanza(self) -> None:
        self.in_others = False
        self.after_headline = False
        if self.navigation == "weak":
            self.navigation = None

    def fix_title(self) -> None:
        self.title_fixed = self.title_fixed or self.title is not None

    def page_box_dropped(self) -> None:
        """A menu or banner after a headline-like line shows that line was the site's tagline, not the headline."""
        if self.title and not self.title_fixed and not self.body_started:
            self.cleared_title, self.title = self.title, None


def _add(result: Cleaned, state: _State, block: TextBlock) -> None:
    result.blocks.append(TextBlock(block.kind, block.text, state.section, block.attribution))


def _drop(result: Cleaned, text: str, reason: str) -> None:
    if text:
        result.dropped.append(Dropped(text, reason))


def _heading(result: Cleaned, state: _State, text: str) -> None:
    text = text.strip(" #*_").strip()
    if not text:
        return
    if junk.is_label(text):
        _drop(result, text, "label")
        return
    if junk.opens_others_section(text):
        state.in_others = True
        _drop(result, text, "comments or press contacts")
        return
    if junk.opens_navigation(text) or junk.is_junk(text):
        state.navigation = "list" if junk.opens_navigation(text) else state.navigation or "weak"
        _drop(result, text, "navigation")
        return
    if state.navigation:
        state.after_headline = True
        _drop(result, text, "navigation")
        return
    if state.known_title and _same_title(text, state.known_title):
        return  # the page's headline, repeated as the first heading
    if not state.body_started and not state.known_title and _headline(result, state, text):
        return
    state.fix_title()
    state.section = text.rstrip(":").strip()
    result.blocks.append(TextBlock("heading", state.section, None))


def _headline(result: Cleaned, state: _State, text: str) -> bool:
    """Before the story starts and without a headline yet, a heading is the headline, or a kicker above it."""
    if state.title is not None:
        return False
    if len(text.split()) >= MIN_TITLE_WORDS:
        state.title = text
        return True
    if len(text.split()) >= 3 and state.kicker is None:
        state.kicker = text
    _drop(result, text, "kicker or site name above the headline")
    return True


def _same_title(text: str, known: str) -> bool:
    words = quotes.normalized(text)
    return bool(words) and (words == known or known.startswith(words + " ") or words.startswith(known + " "))


def _line(result: Cleaned, state: _State, text: str) -> None:
    if _metadata(result, text) or _byline(result, text) or _date_line(result, text) or junk.is_date_stamp(text):
        state.fix_title()
        return
    if junk.opens_others_section(text):
        state.in_others = True
        _drop(result, text, "comments or press contacts")
        return
    if junk.opens_navigation(text):
        state.navigation = "list"
        _drop(result, text, "navigation")
        return
    if junk.is_junk(text):
        _drop(result, text, "junk")
        return
    if state.navigation and _in_list(state, text):
        _drop(result, text, "navigation")
        return
    text = junk.strip_label(text)
    glued = quotes.split_glued_quote(text)
    if glued:
        _add(result, state, TextBlock("quote", glued[0], attribution=glued[1]))
        return
    last = result.blocks[-1] if result.blocks else None
    under_quote = last is not None and last.kind == "quote" and not last.attribution
    if last is not None and under_quote and text[0] in quotes.DASHES and quotes.looks_like_attribution(text):
        result.blocks.pop()  # "— Name, role" under a quote line
        result.blocks.append(TextBlock("quote", last.text, last.section, quotes.clean_attribution(text)))
        return
    if BULLET.match(text):
        _add(result, state, TextBlock("item", _strip_bullet(text)))
        return
    if _is_quote_line(text):
        text_, attribution = quotes.split_quote_lines([text])
        _add(result, state, TextBlock("quote", text_, attribution=attribution))
        return
    if looks_like_heading(text) or (not state.body_started and looks_like_title(text)):
        _heading(result, state, text)
        return
    text, published = dates.strip_date_prefix(text)
    if published and not result.published:
        result.published = published
    state.navigation = None
    state.body_started = True
    state.fix_title()
    _add(result, state, TextBlock("paragraph", text))


def _in_list(state: _State, text: str) -> bool:
    """In a list of other stories: a headline, a bulleted link, or the short teaser under a headline."""
    if BULLET.match(text):
        state.after_headline = False  # a bulleted link has no teaser under it
        return True
    if looks_like_heading(text) or looks_like_title(text):
        state.after_headline = True
        return True
    teaser = state.after_headline and len(text.split()) < TEASER_WORDS
    state.after_headline = False
    return teaser


def looks_like_title(text: str) -> bool:
    """A headline: longer than a section heading may be, but still no sentence (no closing full stop)."""
    words = text.split()
    if not words or len(words) > MAX_TITLE_WORDS or len(text) > MAX_TITLE_CHARS:
        return False
    if text[-1] in ".,;:…" or (text[-1] in "\"”’')" and text[-2:-1] in (".", ",")):
        return False
    return text[0].isupper() or text[0].isdigit() or text[0] in "“\"'‘"


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
    names = [n.strip() for n in re.split(rf",\s*|\s+{AUTHOR_JOIN}\s+", names_part) if n.strip()]
    if not names or not _is_name(names[0]):
        return False  # "By 2030 the city..." is a sentence
    # Names joined by "and" are authors; what follows a comma ("Staff Writer") is a role.
    joined = [n for n in names[1:] if _is_name(n) and re.search(rf"{AUTHOR_JOIN}\s+{re.escape(n)}", names_part)]
    result.author = result.author or " and ".join([names[0], *joined])
    result.published = result.published or dates.first_date(text)  # "Posted on March 12, 2024 by Sam Reyes"
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


# --- the page around the story ---------------------------------------------------------------------


def _stanza_starts(blocks: list[RawBlock]) -> set[int]:
    """Where each stanza (a run of blocks between blank lines) starts."""
    return {0} | {index + 1 for index, block in enumerate(blocks) if block.kind == "blank"}


def _stanzas(blocks: list[RawBlock]) -> list[list[int]]:
    """The indices of each run of plain lines between blank lines (markup headings, items and quotes end a run)."""
    runs: list[list[int]] = [[]]
    for index, block in enumerate(blocks):
        if block.kind == "line":
            runs[-1].append(index)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _page_furniture(blocks: list[RawBlock]) -> dict[int, str]:
    """The lines that are the page's boxes rather than the story, each with the reason it is dropped."""
    dropped: dict[int, str] = {}
    for stanza in _stanzas(blocks):
        texts = [" ".join(blocks[index].text.split()) for index in stanza]
        if junk.is_comment(texts):
            dropped.update(dict.fromkeys(stanza, "a reader's comment"))
        elif _is_page_box(texts):
            dropped.update(dict.fromkeys(stanza, "page box: menu, share bar, sign-up, footer or banner"))
        else:
            dropped.update(_menu_runs(stanza, texts))
            dropped.update(_teaser_cards(stanza, texts))
    return dropped


def _is_furniture(text: str) -> bool:
    """A menu entry, button or share link, or a line of promotion."""
    return not BYLINE.match(text) and (junk.is_junk(text) or _is_menu_item(text))


def _is_menu_item(text: str) -> bool:
    """A menu entry; not the article's byline ("By Ana Ruiz"), a "Source: Site" line or a bullet, as short as it."""
    return junk.is_menu_item(text) and not (BYLINE.match(text) or METADATA_LINE.match(text) or BULLET.match(text))


def _is_page_box(texts: list[str]) -> bool:
    """A stanza of short lines, two in three of them menu entries, buttons or promotion: a menu, share bar,
    sign-up box, footer or cookie banner. The story's own stanzas hold sentences."""
    if len(texts) < MIN_BOX_LINES or any(len(t.split()) >= PROSE_WORDS and not junk.is_junk(t) for t in texts):
        return False
    return 3 * sum(map(_is_furniture, texts)) >= 2 * len(texts)


def _menu_runs(stanza: list[int], texts: list[str]) -> dict[int, str]:
    """Three or more menu entries in a row inside a longer stanza (a text copied without blank lines)."""
    found: dict[int, str] = {}
    run: list[int] = []
    for index, text in [*zip(stanza, texts, strict=True), (-1, "")]:
        if index >= 0 and _is_menu_item(text):
            run.append(index)
            continue
        if len(run) >= MIN_BOX_LINES:
            found.update(dict.fromkeys(run, "menu"))
        run = []
    return found


def _teaser_cards(stanza: list[int], texts: list[str]) -> dict[int, str]:
    """A "Read more" link, with the headline and teaser above it that present the other story it leads to."""
    found: dict[int, str] = {}
    for position, text in enumerate(texts):
        if not junk.is_link_label(text) or junk.opens_navigation(text):
            continue  # "Sur le même sujet" heads a list of them: clean() skips that list as navigation
        if position >= 1 and junk.opens_navigation(texts[position - 1]):
            continue  # "More from X" and "See more →" head a list of other stories, read as navigation
        card = [position]
        if position >= 2 and _is_teaser(texts[position - 1]) and _is_other_headline(texts[position - 2]):
            card += [position - 1, position - 2]
        elif position >= 1 and _is_other_headline(texts[position - 1]):
            card.append(position - 1)
        found.update({stanza[p]: "teaser of another story" for p in card})
    return found


def _is_other_headline(text: str) -> bool:
    return len(text.split()) >= 3 and looks_like_title(text) and not junk.is_link_label(text)


def _is_teaser(text: str) -> bool:
    return len(text.split()) < TEASER_WORDS and text.rstrip("”\"’' ").endswith((".", "!", "?", "…"))


def _join_wrapped(raw: list[RawBlock]) -> list[RawBlock]:
    """Join the lines of hard-wrapped paragraphs (and wrapped bullets) back into one line each.

    Only for texts that are hard-wrapped: where every line is short. A text that keeps one paragraph per
    line (most copies from a browser) is left alone, so a heading is never glued to its paragraph."""
    long_lines = [len(block.text) for block in raw if block.kind == "line" and len(block.text) >= WRAP_MIN_CHARS]
    if len(long_lines) < 2 or sum(length > WRAP_MAX_CHARS for length in long_lines) > len(long_lines) // 10:
        return raw
    width = max(long_lines)
    joined: list[RawBlock] = []
    wrapped = False  # whether joined[-1] is already two lines or more
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
            and not (not wrapped and _headline_above(previous.text, block.text, width))
        ) or (
            block.kind == "line"
            and previous is not None
            and previous.kind == "line"
            and BULLET.match(previous.text)
            and block.text[:1].isspace()  # an indented line under a bullet continues it
            and not BULLET.match(block.text)
        ):
            joined[-1] = RawBlock("line", f"{previous.text.rstrip()} {block.text.strip()}")
            wrapped = True
        else:
            joined.append(block)
            wrapped = False
    return joined


def _headline_above(line: str, following: str, width: int) -> bool:
    """Whether `line` is a headline of its own rather than the first line of a wrapped paragraph: it reads
    like one and stops well short of the text's width (the next line's first word would have fit), and the
    next line opens a sentence. "Ferry app goes live" above "The model predicts delays." stays apart."""
    line, first_word = line.rstrip(), following.split()[0]
    short = len(line) + 1 + len(first_word) <= width - WRAP_SLACK
    return short and looks_like_title(line) and first_word[:1].isupper()
