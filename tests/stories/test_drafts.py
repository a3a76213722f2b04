"""Drafting each fixture article: facts, quote, metadata, summary length, and no junk anywhere."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from newsletter.stories.block import story_yaml
from newsletter.stories.draft import PLACEHOLDER_URL, Draft, draft_story
from newsletter.stories.quotes import normalized
from newsletter.stories.sentences import split
from newsletter.stories.summarize import MAX_WORDS

from .conftest import EXPECTED, FIXTURES

NAMES = sorted(EXPECTED)


@pytest.fixture(scope="module")
def drafts() -> dict[str, Draft]:
    return {name: draft_story(str(FIXTURES / name)) for name in NAMES}


def test_there_are_at_least_eight_fixture_articles_of_different_shapes() -> None:
    assert len(NAMES) >= 8
    assert {path.suffix for path in FIXTURES.iterdir()} >= {".txt", ".md", ".html"}


@pytest.mark.parametrize("name", NAMES)
def test_key_facts_match_the_article(drafts: dict[str, Draft], name: str) -> None:
    expected, facts = EXPECTED[name], drafts[name].story.key_facts
    if "key_facts" in expected:
        assert facts == expected["key_facts"]  # the article's own list, item for item
    else:
        assert 3 <= len(facts) <= 5, facts
        for needle in expected["facts_mention"]:
            assert any(needle in fact for fact in facts), f"no fact mentions {needle!r}: {facts}"
        assert all(len(fact) <= 125 for fact in facts), facts  # shortened to read as items


@pytest.mark.parametrize("name", NAMES)
def test_the_quote_and_its_attribution_are_found(drafts: dict[str, Draft], name: str) -> None:
    quote, expected = drafts[name].story.quote, EXPECTED[name]["quote"]
    if expected is None:
        assert quote is None
    else:
        assert quote is not None
        assert (quote.text, quote.attribution) == (expected["text"], expected["attribution"])


@pytest.mark.parametrize("name", NAMES)
def test_metadata_found_in_the_article(drafts: dict[str, Draft], name: str) -> None:
    story, expected = drafts[name].story, EXPECTED[name]
    for field in ("title", "url", "source", "author"):
        if field in expected:
            assert getattr(story, field) == expected[field]
    if "published" in expected:
        assert story.published == expected["published"]
    if "url" not in expected:
        assert story.url == PLACEHOLDER_URL  # a local file naming no URL gets the flagged placeholder


@pytest.mark.parametrize("name", NAMES)
def test_summary_is_two_or_three_article_sentences_within_sixty_words(drafts: dict[str, Draft], name: str) -> None:
    summary = drafts[name].story.summary
    sentences = split(summary)
    assert 2 <= len(sentences) <= 3, sentences
    assert len(summary.split()) <= MAX_WORDS
    text = (FIXTURES / name).read_text(encoding="utf-8")
    article = normalized(re.sub(r"\]\([^)]*\)", "", text))  # Markdown link targets are not text
    for sentence in sentences:
        assert normalized(sentence) in article  # extractive: taken from the article, not invented


@pytest.mark.parametrize("name", NAMES)
def test_no_junk_line_reaches_the_summary_facts_title_or_quote(drafts: dict[str, Draft], name: str) -> None:
    story = drafts[name].story
    texts = [story.title, story.summary, *story.key_facts]
    if story.quote:
        texts += [story.quote.text, story.quote.attribution]
    for needle in EXPECTED[name]["junk"]:
        for text in texts:
            assert needle.lower() not in " ".join(text.split()).lower(), f"{needle!r} leaked into {text!r}"


@pytest.mark.parametrize("name", ["weather-glued-quote.txt", "solar-coop.html", "library-markdown.md"])
def test_a_pull_quote_stays_out_of_the_summary_and_facts(drafts: dict[str, Draft], name: str) -> None:
    story = drafts[name].story
    assert story.quote is not None
    for text in [story.summary, *story.key_facts]:
        assert normalized(story.quote.text)[:40] not in normalized(text)
        assert normalized(story.quote.attribution) not in normalized(text)


@pytest.mark.parametrize("name", NAMES)
def test_quoted_speech_is_never_a_key_fact(drafts: dict[str, Draft], name: str) -> None:
    for fact in drafts[name].story.key_facts:
        assert not re.search(r"[“\"]\w+(?:\s+\w+){3}", fact), fact


@pytest.mark.parametrize("name", NAMES)
def test_drafting_is_deterministic(drafts: dict[str, Draft], name: str) -> None:
    again = draft_story(str(FIXTURES / name))
    assert story_yaml(again) == story_yaml(drafts[name])


def test_a_brief_without_a_headline_gets_a_title_cut_from_its_lead(drafts: dict[str, Draft]) -> None:
    draft = drafts["trees-brief.txt"]
    assert draft.story.title == "The town of Larchfield will plant 5,000 street trees this autumn"
    assert any("headline" in note for note in draft.notes)


def test_options_override_what_the_article_says(tmp_path) -> None:
    draft = draft_story(
        str(FIXTURES / "trees-brief.txt"), url="https://town.example.org/trees", title="Five thousand new street trees", site="Town Hall News"
    )
    assert (draft.story.url, draft.story.title, draft.story.source) == (
        "https://town.example.org/trees", "Five thousand new street trees", "Town Hall News"
    )
    assert draft.notes == []


def test_a_source_defaults_to_the_urls_host_when_the_page_names_no_site() -> None:
    draft = draft_story(str(FIXTURES / "ferry-key-facts.txt"), url="https://www.harbour-news.example.com/ferries")
    assert draft.story.source == "harbour-news.example.com"


def test_the_yaml_block_is_marked_as_a_draft_and_lists_what_to_fix(drafts: dict[str, Draft]) -> None:
    block = story_yaml(drafts["ferry-key-facts.txt"])
    lines = block.splitlines()
    assert lines[0].startswith("# DRAFT from ")
    assert any(line.startswith("# To do: no URL found") for line in lines)
    assert re.search(r"^- title: Harbour city moves", block, re.MULTILINE)
    assert "published: 2026-03-03\n" in block
    assert dt.date(2026, 3, 3) == drafts["ferry-key-facts.txt"].story.published


def test_what_happened_in_prose_gives_facts_from_its_sentences() -> None:
    from newsletter.stories.draft import draft_from
    from newsletter.stories.fetch import Fetched

    article = (
        "Ferry strike ends after two days\n"
        "What happened\n"
        "Crews on the island ferries walked out on Monday over new rosters. About 9,000 passengers a day were stranded "
        "on the mainland. The union and the operator agreed on Wednesday to keep the old rosters until March 2027.\n"
        "Why it matters\n"
        "The islands have no bridge, so the ferries carry food, post and patients as well as commuters.\n"
    )
    story = draft_from(Fetched(data=article.encode(), kind="text", name="strike.txt", url=None)).story
    assert 3 <= len(story.key_facts) <= 5
    assert any("9,000 passengers" in fact for fact in story.key_facts)
    assert any("March 2027" in fact for fact in story.key_facts)
    assert all(fact not in ("What happened", "Why it matters") for fact in story.key_facts)
