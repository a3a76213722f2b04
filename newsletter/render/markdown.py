"""Markdown fields (intro, summaries, outro) to safe HTML and to plain text.

The HTML comes from markdown-it with raw HTML disabled and is then sanitized by nh3 (ammonia),
so neither a <script> nor a javascript: link in an issue file can reach the email as markup.
The plain text is rendered from the same tokens, so both parts say the same thing.

Typography follows the newsletter's language ([newsletter] language): its quotation marks
(i18n.quote_marks), and in French a no-break space before : ; ! ? and inside « ». Both are applied
to the parsed text only, never to URLs, code or markup.
"""

from __future__ import annotations

import re
import textwrap
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore, replace, smartquotes
from markdown_it.token import Token

from ..i18n import catalogue as i18n

ALLOWED_TAGS = {"p", "a", "em", "strong", "code", "ul", "ol", "li", "br", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=16)
def _parser(language: str = "en") -> MarkdownIt:
    # "typographer" turns "quotes" and -- into typographic ones, in both the HTML and the text.
    options = {"html": False, "typographer": True, "quotes": list(i18n.quote_marks(language))}
    md = MarkdownIt("commonmark", options).enable(["replacements", "smartquotes"])
    if i18n.spaces_before_punctuation(language):
        md.core.ruler.push("french_spacing", french_spacing)  # last: after text_join has merged escapes
    return md


# French: a no-break space before : ; ! ? when they end a word ("Attention : ", "Vraiment ?"),
# replacing an ordinary space or added where there is none. Only before punctuation followed by a
# space, a closing mark or the end, so 10:30, https://, ?q=1 and ::1 stay as they are.
PUNCTUATION_AFTER_WORD = re.compile(r"(?:^|(?<=[^\s:;!?«]))[ \u00a0\u202f]?([:;!?]+)(?=[\s»)\]”’\"'.,…*_]|$)")
GUILLEMET_OPEN = re.compile(r"«[ \u00a0\u202f]?")
GUILLEMET_CLOSE = re.compile(r"[ \u00a0\u202f]?»")


def french_spaced(text: str, after_word: bool = False) -> str:
    """`text` with French no-break spaces: U+202F (narrow) before ; ! ? and inside « », U+00A0
    before : (the Imprimerie nationale's rule). `after_word`: whether a word ends just before
    `text` (the text after **bold**), so that punctuation at its very start is spaced too."""

    def spaced(match: re.Match[str]) -> str:
        if match.start() == 0 and not after_word:
            return match.group(0)
        marks = match.group(1)
        return (i18n.NBSP if marks[0] == ":" else i18n.NARROW_NBSP) + marks

    text = PUNCTUATION_AFTER_WORD.sub(spaced, text)
    text = GUILLEMET_OPEN.sub("«" + i18n.NARROW_NBSP, text)
    return GUILLEMET_CLOSE.sub(i18n.NARROW_NBSP + "»", text)


def french_spacing(state: StateCore) -> None:
    """markdown-it core rule: french_spaced() on the text of every paragraph, leaving the text of
    autolinks (<https://...>, the URL itself) alone."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        in_autolink, previous = False, None
        for token in block.children:
            if token.type == "link_open":
                in_autolink = token.markup in ("autolink", "linkify")
            elif token.type == "link_close":
                in_autolink = False
            elif token.type == "text" and not in_autolink:
                token.content = french_spaced(token.content, after_word=previous is not None and previous.type not in ("softbreak", "hardbreak"))
            previous = token


@lru_cache(maxsize=512)
def to_html(source: str, language: str = "en") -> str:
    """Render Markdown to sanitized HTML (cached: previews re-render the same fields often)."""
    html = _parser(language).render(source)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=None).strip()


@lru_cache(maxsize=2048)
def smart_quotes(text: str, language: str = "en") -> str:
    """The Markdown fields' typography for a plain field (title, key fact, quote, name): straight
    quotes and apostrophes to curly ones, -- to an en dash, ... to an ellipsis and so on.

    It runs markdown-it's own "replacements" and "smartquotes" rules, with the parser's options, on
    the text as one literal text token (line breaks as soft breaks, as in a paragraph), so the
    result matches the Markdown fields while *, _, `, backslashes and &entities; stay as written.
    Returns plain text: escaping it for HTML is the template's job (autoescape).
    """
    md = _parser(language)
    active = md.get_active_rules()["core"]
    children: list[Token] = []
    for number, line in enumerate(text.split("\n")):
        if number:
            children.append(Token("softbreak", "br", 0))
        children.append(Token("text", "", 0, content=line))
    inline = Token("inline", "", 0, content=text, children=children)
    state = StateCore(text, md, {}, [inline])
    for name, rule in (("replacements", replace), ("smartquotes", smartquotes), ("french_spacing", french_spacing)):  # the parser's order
        if name in active:
            rule(state)
    return "\n".join(child.content for child in children if child.type == "text")


@lru_cache(maxsize=512)
def to_text(source: str, width: int = 72, indent: str = "", language: str = "en") -> str:
    """Render Markdown to wrapped plain text: links as 'words (url)', lists as '- item'."""
    blocks: list[tuple[str, int]] = []  # (text, number of the list it belongs to, or 0)
    lists_seen = 0
    prefix_stack: list[str] = []
    number_stack: list[int] = []
    for token in _parser(language).parse(source):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists_seen += not number_stack
            number_stack.append(int(token.attrs.get("start", 1) or 1) if token.type == "ordered_list_open" else 0)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            number_stack.pop()
        elif token.type == "list_item_open":
            if number_stack and number_stack[-1]:
                prefix_stack.append(f"{number_stack[-1]}. ")
                number_stack[-1] += 1
            else:
                prefix_stack.append("- ")
        elif token.type == "list_item_close":
            prefix_stack.pop()
        elif token.type == "inline":
            text = inline_text(token.children or [])
            bullet = prefix_stack[-1] if prefix_stack else ""
            depth = "  " * max(len(prefix_stack) - 1, 0)
            block = wrap(text, width, indent + depth + bullet, indent + depth + " " * len(bullet))
            blocks.append((block, lists_seen if prefix_stack else 0))
        elif token.type in ("fence", "code_block"):
            blocks.append((textwrap.indent(token.content.rstrip("\n"), indent + "    "), 0))
    # List items sit on consecutive lines; other blocks are separated by a blank line.
    out = ""
    for number, (block, in_list) in enumerate(blocks):
        if number:
            out += "\n" if in_list and in_list == blocks[number - 1][1] else "\n\n"
        out += block
    return out


def inline_text(tokens: list[Token]) -> str:
    parts: list[str] = []
    href: str | None = None
    link_words: list[str] = []
    for token in tokens:
        if token.type == "link_open":
            href, link_words = str(token.attrs.get("href", "")), []
        elif token.type == "link_close":
            words = "".join(link_words)
            parts.append(words if words == href else f"{words} ({href})")
            href = None
        else:
            piece = {"softbreak": " ", "hardbreak": "\n"}.get(token.type, token.content)
            (link_words if href is not None else parts).append(piece)
    return "".join(parts)


@lru_cache(maxsize=4096)
def wrap(text: str, width: int = 72, first: str = "", rest: str = "") -> str:
    """Wrap for a plain-text mail client; long URLs stay whole so they remain clickable. Cached, as
    the Markdown fields are: a preview renders the same words again on every save."""
    lines = []
    for number, paragraph in enumerate(text.split("\n")):
        lines.append(
            textwrap.fill(
                paragraph,
                width=width,
                initial_indent=first if number == 0 else rest,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


# A sentence ends at . ! or ? (and any closing quote or bracket) before a space and a capital,
# a figure or an opening quote: "U.S. 3.5%" and "e.g. this" stay whole.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[A-Z0-9\"“‘(\[*_])")


def first_sentences(source: str, count: int) -> str:
    """The first `count` sentences of a Markdown field's first paragraph (the digest's summary)."""
    paragraph = " ".join(source.strip().split("\n\n", 1)[0].split())
    ends = [match.end() for match in SENTENCE_END.finditer(paragraph)]
    return paragraph if len(ends) < count else paragraph[: ends[count - 1]].rstrip()


@lru_cache(maxsize=512)
def to_inline_html(source: str, language: str = "en") -> str:
    """One line of Markdown to sanitized HTML without a paragraph around it (inside a <p> of the template)."""
    html = _parser(language).renderInline(" ".join(source.split()))
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=None).strip()
