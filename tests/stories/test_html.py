"""HTML pages: the ways sites mark up a pull quote and its speaker, and metadata fallbacks."""

from __future__ import annotations

import pytest

from newsletter.stories.draft import draft_from
from newsletter.stories.fetch import Fetched
from tests.helpers.articles import FIXTURES

PAGE = (FIXTURES / "solar-coop.html").read_text(encoding="utf-8")
QUOTE = "We wanted the money our village spends on power to stay in the village, and now a good part of it will."
SPEAKER = "Amira Haddad, chair of the co-op"


def draft_page(page: str):
    return draft_from(Fetched(data=page.encode("utf-8"), kind="html", name="page.html", url=None)).story


def with_quote(markup: str) -> str:
    start, end = PAGE.index("<blockquote>"), PAGE.index("</blockquote>") + len("</blockquote>")
    return PAGE[:start] + markup + PAGE[end:]


@pytest.mark.parametrize(
    "markup",
    [
        f"<blockquote><p>{QUOTE}</p><cite>{SPEAKER}</cite></blockquote>",
        f"<blockquote><p>{QUOTE}</p><footer>— {SPEAKER}</footer></blockquote>",
        f"<figure><blockquote><p>{QUOTE}</p></blockquote><figcaption>— {SPEAKER}</figcaption></figure>",
        f"<blockquote><p>“{QUOTE}”</p><p>— {SPEAKER}</p></blockquote>",
        f'<aside class="pull-quote"><p>{QUOTE}</p><span>{SPEAKER}</span></aside>',
        f"<p>{QUOTE}{SPEAKER}</p>",  # glued by a careless copy of the page
    ],
    ids=["cite", "footer", "figcaption", "dash-paragraph", "pull-quote-class", "glued"],
)
def test_a_pull_quote_and_its_speaker_in_every_common_markup(markup: str) -> None:
    story = draft_page(with_quote(markup))
    assert story.quote is not None
    assert (story.quote.text, story.quote.attribution) == (QUOTE, SPEAKER)
    assert QUOTE[:30] not in story.summary


def test_a_quote_in_a_sidebar_is_not_the_articles() -> None:
    page = with_quote("").replace("</aside>", f"<blockquote><p>{QUOTE}</p><cite>{SPEAKER}</cite></blockquote></aside>")
    assert draft_page(page).quote is None


def test_without_open_graph_tags_the_title_and_author_come_from_the_page() -> None:
    page = "\n".join(line for line in PAGE.splitlines() if 'property="og:' not in line and 'name="author"' not in line)
    story = draft_page(page)
    assert story.title == "Village co-op finishes the county's largest community solar roof"
    assert story.author == "Rosa Lindqvist"  # from the "By ..." line in the article


def test_a_page_in_another_encoding_is_decoded_from_its_meta_charset() -> None:
    page = PAGE.replace('<meta charset="utf-8">', '<meta charset="iso-8859-1">').replace("Marsh End", "Marsh Énd")
    story = draft_from(Fetched(data=page.encode("iso-8859-1"), kind="html", name="page.html", url=None)).story
    assert "Marsh Énd" in story.summary


def test_no_date_is_guessed_from_the_url() -> None:
    page = "\n".join(line for line in PAGE.splitlines() if "published_time" not in line)
    assert draft_page(page).published is None  # the canonical URL has /2026/06/, which is not a date


def test_a_date_line_in_the_article_gives_the_date_when_the_markup_has_none() -> None:
    page = "\n".join(line for line in PAGE.splitlines() if "published_time" not in line)
    page = page.replace('<p class="byline">By Rosa Lindqvist</p>', '<p class="byline">By Rosa Lindqvist</p><p>June 18, 2026</p>')
    assert str(draft_page(page).published) == "2026-06-18"
