"""Assemble a Story draft from an article: the one entry point the CLI and the bench call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import ValidationError

from ..models import Quote, Story, is_http_url, placeholders
from . import facts, quotes, sentences, summarize
from .clean import Cleaned, clean
from .errors import StoryError
from .extract import PageMeta, extract
from .fetch import DEFAULT_TIMEOUT, Fetched, fetch

# A local file that names no URL gets these; `newsletter check` reports any field holding "TODO".
PLACEHOLDER_URL = "https://TODO.example.com/replace-with-the-article-url"
PLACEHOLDER_SOURCE = "TODO: name the site"
PLACEHOLDER_SUMMARY = "TODO: write a summary (the article has no running text to draft one from)."
TITLE_CHARS = 100
WORDS_PER_MINUTE = 230  # an adult's silent reading speed for non-fiction


@dataclass(frozen=True)
class Draft:
    """A drafted story, where it came from, and what the editor must still fill in."""

    story: Story
    origin: str  # the path or URL it was drafted from
    notes: list[str] = field(default_factory=list)
    article: str = ""  # the article's own text, as extracted (what --llm gives the model)


def draft_story(
    source: str,
    *,
    url: str | None = None,
    title: str | None = None,
    site: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_private: bool = False,
) -> Draft:
    """Fetch and read the article at `source` (a file path or an http(s) URL) and draft its story.

    `url`, `title` and `site` override what the article says about itself. `allow_private` lets a URL
    lead to a private or loopback address. Raises StoryError."""
    fetched = fetch(source, timeout, allow_private=allow_private)
    return draft_from(fetched, url=url, title=title, site=site)


def draft_from(fetched: Fetched, *, url: str | None = None, title: str | None = None, site: str | None = None) -> Draft:
    """Draft a story from an article already read (the bench uses this to time drafting alone)."""
    extracted = extract(fetched)
    cleaned = clean(extracted.blocks, extracted.meta.title)
    found = sentences.story_sentences(cleaned.blocks)
    items = cleaned.of_kind("item")
    if not found and not items:
        raise StoryError(f"{fetched.name}: found no story text in it (only headings, links or promotion)")
    notes: list[str] = []

    headline = _one_line(title or extracted.meta.title or cleaned.title)
    if not headline:
        lead = found[0].text if found else items[0].text
        headline = facts.shorten(lead, TITLE_CHARS)
        notes.append("the article has no headline: the title was cut from its first sentence")
    subject = sentences.terms(headline) + (found[0].terms if found else ())

    chosen = summarize.summarize(found, subject)
    summary_text = summarize.summary_text(chosen)
    if not summary_text:
        summary_text = PLACEHOLDER_SUMMARY
        notes.append("no summary could be drafted: write one")
    key_facts = facts.key_facts(cleaned.blocks, found, subject, chosen)
    pull_quote = quotes.best_quote(
        ((b.text, b.attribution) for b in cleaned.of_kind("quote")), (b.text for b in cleaned.of_kind("paragraph"))
    )

    story_url = _story_url(url, extracted.meta, cleaned, fetched)
    if story_url is None:
        story_url = PLACEHOLDER_URL
        notes.append("no URL found in the article: replace the url placeholder (or pass --url)")
    story_site = _one_line(site or extracted.meta.site or cleaned.site) or _host(story_url)
    if story_site is None:
        story_site = PLACEHOLDER_SOURCE
        notes.append("no site name found: replace the source placeholder (or pass --site)")

    # Text from the page: anything that looks like a per-recipient placeholder is broken up, so a
    # hostile page cannot plant %%unsubscribe_url%% in the issue (the loader would refuse it).
    neutral = placeholders.neutralize
    article = "\n\n".join(block.text for block in cleaned.blocks)
    author = _one_line(extracted.meta.author or cleaned.author)
    try:
        story = Story(
            title=neutral(headline),
            url=neutral(story_url),
            source=neutral(story_site),
            author=neutral(author) if author else None,
            published=extracted.meta.published or cleaned.published,
            reading_minutes=reading_minutes(article),
            summary=neutral(summary_text),
            key_facts=[neutral(line) for fact in key_facts if (line := _one_line(fact))],
            quote=Quote(text=neutral(pull_quote.text), attribution=neutral(pull_quote.attribution)) if pull_quote else None,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise StoryError(f"{fetched.name}: the drafted story is not valid: {problems}") from None
    return Draft(story=story, origin=fetched.name, notes=notes, article=article)


def reading_minutes(article: str) -> int:
    """Minutes to read `article` at 230 words a minute, rounded up (a 100-word brief is 1)."""
    return max(1, math.ceil(len(article.split()) / WORDS_PER_MINUTE))


def _story_url(option: str | None, meta: PageMeta, cleaned: Cleaned, fetched: Fetched) -> str | None:
    """--url, else the page's canonical URL, else a URL line in the text, else where it was fetched from."""
    if option:
        if not is_http_url(option):
            raise StoryError(f"--url: expected an http(s) URL such as https://example.com/article, got {option!r}")
        return option
    for candidate in (meta.url, cleaned.url, fetched.url):
        if candidate and is_http_url(candidate):
            return candidate
    return None


def _host(url: str) -> str | None:
    if url == PLACEHOLDER_URL:
        return None
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return host or None


def _one_line(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None
