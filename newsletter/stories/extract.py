"""Turn fetched bytes into raw blocks (lines, headings, list items, quotes) plus the page's metadata.

HTML goes through trafilatura (main-content extraction and metadata), Markdown through markdown-it-py,
plain text line by line. Deciding what each plain line *is* (heading, bullet, byline, junk) is clean.py's job.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import StoryError
from .fetch import Fetched, decode
from .quotes import html_pull_quotes, normalized, split_quote_lines

BlockKind = Literal["line", "blank", "heading", "item", "quote"]


@dataclass(frozen=True)
class RawBlock:
    """One piece of the article before cleaning. "line" is a plain line whose role clean.py decides;
    "blank" separates paragraphs; headings, items and quotes are known from the markup."""

    kind: BlockKind
    text: str = ""
    attribution: str | None = None  # quotes only, when the markup names the speaker
    level: int = 2  # headings only: 1 is the page title


@dataclass(frozen=True)
class PageMeta:
    """What the page says about itself (HTML metadata, Markdown front matter)."""

    title: str | None = None
    url: str | None = None
    site: str | None = None
    author: str | None = None
    published: dt.date | None = None


@dataclass(frozen=True)
class Extracted:
    meta: PageMeta
    blocks: list[RawBlock] = field(default_factory=list)


def extract(fetched: Fetched) -> Extracted:
    """Split the article into raw blocks and read its metadata. Raises StoryError when there is no text."""
    if fetched.kind == "html":
        extracted = _from_html(fetched)
    elif fetched.kind == "markdown":
        extracted = _from_markdown(decode(fetched))
    else:
        extracted = Extracted(PageMeta(), _text_blocks(decode(fetched)))
    if not any(block.text.strip() for block in extracted.blocks):
        raise StoryError(f"{fetched.name}: found no article text in it")
    return extracted


# --- plain text ------------------------------------------------------------------------------------


def _text_blocks(text: str) -> list[RawBlock]:
    return [RawBlock("line", line.rstrip()) if line.strip() else RawBlock("blank") for line in text.splitlines()]


# --- HTML ------------------------------------------------------------------------------------------


def _from_html(fetched: Fetched) -> Extracted:
    import trafilatura  # heavy import; only HTML articles need it

    markup: str | bytes = fetched.data
    if fetched.charset:
        try:
            markup = fetched.data.decode(fetched.charset)
        except (UnicodeDecodeError, LookupError):
            pass  # let trafilatura guess from <meta charset> and the bytes
    document: Any = trafilatura.bare_extraction(  # a Document (as_dict is off)
        markup,
        url=fetched.url,
        with_metadata=True,
        include_formatting=True,
        include_comments=False,
        # Precision over recall: trafilatura leaves out more of the page around the story (kickers, decks,
        # link lists, boxes) at the cost of an odd borderline paragraph; clean.py catches what still gets through.
        favor_precision=True,
        include_tables=False,
        include_images=False,
        include_links=False,
        deduplicate=False,
        # Dates from the page's markup only (no guessing "2026-06-01" from a /2026/06/ URL), and the same
        # answer whatever today's date is.
        date_extraction_params={"extensive_search": False, "original_date": True, "max_date": "2100-12-31"},
    )
    if document is None or document.body is None:
        raise StoryError(f"{fetched.name}: found no article text in this page")
    page_quotes = html_pull_quotes(markup)
    blocks = _tree_blocks(document.body, {normalized(q.text): q.attribution for q in page_quotes})
    kept = {normalized(block.text) for block in blocks if block.kind == "quote"}
    # trafilatura drops a quote inside a <figure> whole: add it back, after the text.
    blocks += [RawBlock("quote", q.text, attribution=q.attribution) for q in page_quotes if normalized(q.text) not in kept]
    site = _clean_meta(document.sitename)
    if site and " " not in site and site.lower() in urlsplit(document.url or fetched.url or "").netloc.lower():
        site = None  # trafilatura's fallback is the bare host; the drafter names hosts itself (no port, no www.)
    meta = PageMeta(
        title=_displayed_headline(markup, _clean_meta(document.title)),
        url=_clean_meta(document.url),
        site=site,
        author=_clean_meta(document.author),
        published=_parse_iso_date(document.date),
    )
    return Extracted(meta, blocks)


def _displayed_headline(markup: str | bytes, meta_title: str | None) -> str | None:
    """The headline as the page shows it: its article's <h1>. og:title and <title> are often a shortened or
    search-engine version ("Goodbye to Marlowe's Bakery" for the full headline), so the <h1> wins when it is
    about the same thing (half the words of the metadata title at least: not a logo in an <h1>)."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(markup)
    except (ValueError, lxml.etree.ParserError):
        return meta_title
    in_article = tree.xpath("//article//h1")
    headings = in_article[:1] or tree.xpath("//h1")
    if len(headings) != 1:
        return meta_title  # no headline, or several and no telling which
    headline = _clean_meta(headings[0].text_content())
    if not headline or not meta_title:
        return headline or meta_title
    shown, meta = set(normalized(headline).split()), normalized(meta_title).split()
    return headline if 2 * sum(word in shown for word in meta) >= len(meta) else meta_title


def _tree_blocks(body: Any, attributions: dict[str, str]) -> list[RawBlock]:
    """Walk trafilatura's XML body (head, p, list/item, quote) into raw blocks."""
    blocks: list[RawBlock] = []
    for element in body:
        tag = element.tag
        if tag == "head":
            rend = element.get("rend") or "h2"
            level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
            blocks.append(RawBlock("heading", _element_text(element).strip(), level=level))
        elif tag == "p":
            blocks += [RawBlock("line", line) for line in _element_text(element).splitlines() if line.strip()]
            blocks.append(RawBlock("blank"))
        elif tag == "list":
            blocks += [RawBlock("item", text) for text in _list_items(element)]
        elif tag == "quote":
            lines = [line for line in _quote_lines(element) if line.strip()]
            text, attribution = split_quote_lines(lines)
            if text:
                attribution = attribution or attributions.get(normalized(text))
                blocks.append(RawBlock("quote", text, attribution=attribution))
    return blocks


def _element_text(element: Any, skip: tuple[str, ...] = ("list",)) -> str:
    """The text of an element; <lb/> becomes a line break, nested lists are left out."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag not in skip:
            parts.append(_element_text(child, skip))
        parts.append(child.tail or "")
    return re.sub(r"[ \t\r\f\v]+", " ", "".join(parts))


def _list_items(element: Any) -> list[str]:
    items: list[str] = []
    for item in element.iterchildren("item"):
        text = " ".join(_element_text(item).split())
        if text:
            items.append(text)
        for nested in item.iterchildren("list"):
            items += _list_items(nested)
    return items


def _quote_lines(element: Any) -> list[str]:
    """A quote's paragraphs and loose text, in order (a glued attribution stays glued for quotes.py)."""
    lines = [element.text or ""]
    for child in element:
        lines.append(" ".join(_element_text(child, skip=()).split()))
        lines.append(child.tail or "")
    return [" ".join(line.split()) for line in lines]


def _clean_meta(value: str | None) -> str | None:
    value = " ".join(value.split()) if value else None
    return value or None


def _parse_iso_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


# --- Markdown --------------------------------------------------------------------------------------

FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
META_KEYS = {
    "title": ("title", "headline"),
    "url": ("url", "canonical_url", "canonical", "link", "permalink", "source_url"),
    "site": ("source", "site", "site_name", "sitename", "publication", "publisher"),
    "author": ("author", "authors", "byline", "by"),
    "published": ("published", "date", "published_at", "pubdate", "publish_date", "created"),
}


def _from_markdown(text: str) -> Extracted:
    from markdown_it import MarkdownIt

    meta, text = _front_matter(text)
    reader = _MarkdownBlocks()
    for token in MarkdownIt("commonmark").parse(text):
        reader.take(token)
    return Extracted(meta, reader.blocks)


class _MarkdownBlocks:
    """markdown-it's tokens, in order, turned into raw blocks."""

    def __init__(self) -> None:
        self.blocks: list[RawBlock] = []
        # Open containers, innermost last: ("quote", lines) or ("item", parts); an item is emitted when its
        # own text is complete, before any nested list, so items keep the article's order.
        self.stack: list[tuple[str, list[str]]] = []
        self.heading_level: int | None = None

    def take(self, token: Any) -> None:
        kind = token.type
        if kind == "heading_open":
            self.heading_level = int(token.tag[1])
        elif kind == "blockquote_open":
            self.stack.append(("quote", []))
        elif kind == "list_item_open":
            self.stack.append(("item", []))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            self._emit_item()
        elif kind == "list_item_close":
            self._emit_item()
            self.stack.pop()
        elif kind == "blockquote_close":
            self._close_quote()
        elif kind == "inline":
            self._text(_inline_text(token))

    def _emit_item(self) -> None:
        if self.stack and self.stack[-1][0] == "item" and self.stack[-1][1]:
            self.blocks.append(RawBlock("item", " ".join(" ".join(self.stack[-1][1]).split())))
            self.stack[-1][1].clear()

    def _close_quote(self) -> None:
        _, lines = self.stack.pop()
        quote, attribution = split_quote_lines([" ".join(line.split()) for line in lines if line.strip()])
        if quote:
            self.blocks.append(RawBlock("quote", quote, attribution=attribution))

    def _text(self, content: str) -> None:
        if self.heading_level is not None:
            self.blocks.append(RawBlock("heading", " ".join(content.split()), level=self.heading_level))
            self.heading_level = None
        elif any(container == "quote" for container, _ in self.stack):
            next(lines for container, lines in reversed(self.stack) if container == "quote").extend(content.splitlines())
        elif self.stack:
            self.stack[-1][1].append(content)
        else:  # a paragraph: its lines may still be headings, bullets or bylines (see clean.py)
            self.blocks += [RawBlock("line", line.strip()) for line in content.splitlines() if line.strip()]
            self.blocks.append(RawBlock("blank"))


def _inline_text(token: Any) -> str:
    """Plain text of an inline token: emphasis markers, link targets and images dropped."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _front_matter(text: str) -> tuple[PageMeta, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return PageMeta(), text
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(match.group(1))
    except YAMLError:
        return PageMeta(), text  # not front matter after all; read it as text
    if not isinstance(data, dict):
        return PageMeta(), text
    lowered = {str(key).lower(): value for key, value in data.items()}

    def first(name: str) -> Any:
        return next((lowered[key] for key in META_KEYS[name] if lowered.get(key)), None)

    author = first("author")
    if isinstance(author, list):
        author = ", ".join(str(name) for name in author)
    published = first("published")
    if isinstance(published, str):
        published = _parse_iso_date(published.strip())
    elif isinstance(published, dt.datetime):
        published = published.date()
    meta = PageMeta(
        title=_clean_meta(str(first("title") or "")),
        url=_clean_meta(str(first("url") or "")),
        site=_clean_meta(str(first("site") or "")),
        author=_clean_meta(str(author or "")),
        published=published if isinstance(published, dt.date) else None,
    )
    return meta, text[match.end() :]
