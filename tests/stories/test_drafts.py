"""Drafting each fixture article: facts, quote, metadata, summary length, and no junk anywhere."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys

import pytest

from newsletter.issue.checks import CUT_SHORT
from newsletter.stories.block import story_yaml
from newsletter.stories.draft import PLACEHOLDER_URL, Draft, draft_story
from newsletter.stories.quotes import normalized
from newsletter.stories.sentences import has_verb, split
from newsletter.stories.summarize import MAX_WORDS
from tests.helpers.articles import EXPECTED, FIXTURES, REPO_ROOT

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
        # Never padded: fewer than three when the article has fewer good sentences the summary does not give.
        assert expected.get("min_facts", 1) <= len(facts) <= 5, facts
        for needle in expected["facts_mention"]:
            assert any(needle in fact for fact in facts), f"no fact mentions {needle!r}: {facts}"
        summary = normalized(drafts[name].story.summary)
        for fact in facts:
            assert len(fact) <= 125, fact  # shortened to read as items
            assert fact.endswith(".") and has_verb(fact) and not CUT_SHORT.search(fact.rstrip(".")), fact  # whole sentences
            assert normalized(fact.rstrip(".")) not in summary, fact  # not a summary sentence again


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


def in_order(words: list[str], article: list[str]) -> bool:
    """Whether `words` appear in `article` in this order (with other words between them, maybe)."""
    remaining = iter(article)
    return all(word in remaining for word in words)


@pytest.mark.parametrize("name", NAMES)
def test_summary_is_article_sentences_within_sixty_words_copying_one_at_most(drafts: dict[str, Draft], name: str) -> None:
    summary = drafts[name].story.summary
    sentences = split(summary)
    assert 1 <= len(sentences) <= 3, sentences
    assert len(summary.split()) <= MAX_WORDS
    text = (FIXTURES / name).read_text(encoding="utf-8")
    article = normalized(re.sub(r"\]\([^)]*\)", "", text))  # Markdown link targets are not text
    for sentence in sentences:
        assert in_order(normalized(sentence).split(), article.split()), sentence  # the article's words, never invented
    assert sum(normalized(sentence) in article for sentence in sentences) <= 1, sentences  # one copied sentence at most


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
        "Ferry strike ends after three days\n"
        "What happened\n"
        "Crews on the island ferries walked out on Monday over new rosters, and about 9,000 passengers a day were "
        "stranded on the mainland. The union and the operator agreed on Wednesday to keep the old rosters until "
        "March 2027. Two chartered boats carried 640 patients and carers across on Tuesday. Freight sailings "
        "restarted at 5:30 on Thursday, a day before the passenger services.\n"
        "Why it matters\n"
        "The islands have no bridge, so the ferries carry food, post and patients as well as commuters.\n"
    )
    story = draft_from(Fetched(data=article.encode(), kind="text", name="strike.txt", url=None)).story
    assert 1 <= len(story.key_facts) <= 5, story.key_facts
    assert any("640 patients" in fact for fact in story.key_facts), story.key_facts
    assert all(fact not in ("What happened", "Why it matters") for fact in story.key_facts)
    assert all(fact.endswith(".") for fact in story.key_facts), story.key_facts


# --- the corpus bench's full-sentence check (bench/story_corpus.py: "facts ok") ----------------------


def _bench_module():
    spec = importlib.util.spec_from_file_location("story_corpus_for_drafts", REPO_ROOT / "bench" / "story_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("fact", "language"),
    [
        ("The pilot runs for 18 months before the council votes again.", "en"),
        ("Tollund rates the battery at around 200 hours.", "en"),
        ("There's no monthly fee for members.", "en"),
        ("General tickets cost $16 on weekdays.", "en"),
        ("Das Museum zeigt künftig rund 1.400 Objekte.", "de"),
        ("Danach kostet eine Karte 12 Euro.", "de"),
        ("Ces derniers financent une partie du trajet.", "fr"),
        ("Elle prendra ses fonctions le 1er janvier.", "fr"),
    ],
)
def test_the_bench_counts_a_sentence_with_a_present_or_future_verb_as_full(fact: str, language: str) -> None:
    assert _bench_module().is_full_sentence(fact, language)


@pytest.mark.parametrize(
    ("fact", "language"),
    [
        ("Two battery ferries, 300 passengers each.", "en"),
        ("Investment: $1.8 billion over four years.", "en"),
        ("Prices for farmers in the valley.", "en"),
        ("The council approved a 12 percent rise in bus fares", "en"),  # no closing full stop
        ("Eine leichte Verbesserung im März.", "de"),
        ("Die zweite Brücke über den Fluss.", "de"),
        ("Un budget de 12 millions pour la ville.", "fr"),
        ("Le président de la région et son adjoint.", "fr"),
    ],
)
def test_the_bench_counts_no_verbless_item_or_unfinished_sentence_as_full(fact: str, language: str) -> None:
    assert not _bench_module().is_full_sentence(fact, language)


@pytest.mark.parametrize("name", [name for name in NAMES if "key_facts" not in EXPECTED[name]])
def test_drafted_facts_pass_the_benchs_full_sentence_check(drafts: dict[str, Draft], name: str) -> None:
    bench = _bench_module()
    for fact in drafts[name].story.key_facts:
        assert bench.is_full_sentence(fact), fact
