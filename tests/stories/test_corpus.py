"""The story corpus (tests/stories/corpus/): full pages in English, German and French, each as HTML and as the
same page copied as text, with the page chrome that must never reach a draft. Plus the junk rules on their own,
on lines and sentences that are not from the corpus."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from newsletter.stories import junk
from newsletter.stories.block import story_yaml
from newsletter.stories.clean import clean
from newsletter.stories.draft import draft_story
from newsletter.stories.extract import RawBlock
from newsletter.stories.fetch import fetch
from tests.helpers.articles import REPO_ROOT


def _bench() -> ModuleType:
    """bench/story_corpus.py: the test measures the junk filter exactly as the bench reports it."""
    spec = importlib.util.spec_from_file_location("story_corpus", REPO_ROOT / "bench" / "story_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


bench = _bench()
PAGES = bench.corpus_pages()
MIN_RECALL = 0.95
MIN_PRECISION = 0.9


def test_the_corpus_has_every_article_as_html_and_as_text() -> None:
    names = {expected.name for _, expected in PAGES}
    assert len(names) >= 26
    assert {path.suffix for path, _ in PAGES} == {".html", ".txt"}
    assert {expected.language for _, expected in PAGES} >= {"en", "de", "fr"}
    assert all(path.is_file() for path, _ in PAGES)


@pytest.mark.parametrize(("path", "expected"), PAGES, ids=[path.name for path, _ in PAGES])
@pytest.mark.slow
def test_the_chrome_is_on_the_page_and_nowhere_in_the_draft(path: Path, expected: Any) -> None:
    page = " ".join(bench.page_blocks(fetch(str(path))))
    assert bench.contains_chrome(page, expected.must_not) == list(expected.must_not)  # else this test proves nothing
    draft = story_yaml(draft_story(str(path)))
    assert bench.contains_chrome(draft, expected.must_not) == [], draft


@pytest.mark.parametrize(("path", "expected"), PAGES, ids=[path.name for path, _ in PAGES])
def test_the_title_is_the_headline_the_page_shows(path: Path, expected: Any) -> None:
    assert draft_story(str(path)).story.title == expected.title


@pytest.mark.slow
def test_the_junk_filter_finds_the_chrome_and_spares_the_article() -> None:
    figures = bench.figures(bench.measure_corpus())
    assert figures.pages == len(PAGES)
    assert figures.recall >= MIN_RECALL, figures
    assert figures.precision >= MIN_PRECISION, figures


# --- the rules, on text that is not in the corpus -----------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "The post Harbour tolls rise again appeared first on Coast Weekly.",
        "Der Beitrag Neue Brücke eröffnet erschien zuerst auf Stadtblatt.",
        "L'article Le port s'agrandit est apparu en premier sur Ouest Matin.",
        "Lesen Sie auch: Straßenbahn fährt bald bis zum Stadion",
        "À lire également : la piscine rouvre ses portes",
        "Read next: Port authority approves dredging of the north channel",
        "Read the story",
        "Mehr lesen",
        "Lire l'article",
        "Full article at the Daily Ledger →",
        "Our best stories, every morning, straight to your inbox.",
        "Jeden Morgen die wichtigsten Nachrichten direkt in Ihr Postfach.",
        "Recevez l'essentiel de l'actualité dans votre boîte mail.",
        "Jetzt anmelden",
        "Je m'abonne",
        "You can unsubscribe at any time.",
        "We and our partners use cookies to personalise content and ads.",
        "Diese Seite nutzt Cookies, um Zugriffe zu analysieren.",
        "Ce site utilise des cookies pour mesurer l'audience.",
        "Our take",
        "The Big Picture:",
        "Share this post",
        "Beitrag teilen",
        "Partager sur Facebook",
        "Startseite › Politik › Landtag",
        "Werbung",
        "FOR IMMEDIATE RELEASE",
        "press@example.org",
        "The new pier at dusk. Photo by Sam Lee",
    ],
)
def test_page_chrome_is_junk(line: str) -> None:
    assert junk.is_junk(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "The bakery will stay open until the end of the month, its owner said.",
        "Anmelden können sich Interessierte bis Freitag im Rathaus.",
        "Le maire a déclaré que la mesure serait revue en septembre.",
        "Subscribers to the service will pay 4 euros more a month.",
        "Readers who want more detail can find the full budget on the city's website.",
        "The cookies sold out by nine, as they do every Saturday.",
        "Registered voters can cast their ballots until 8 p.m.",
        "Why it matters",
    ],
)
def test_the_story_s_own_sentences_are_not_junk(sentence: str) -> None:
    assert not junk.is_junk(sentence)


@pytest.mark.parametrize(
    ("heading", "opens"),
    [
        ("Popular stories", True),
        ("Das könnte Sie auch interessieren", True),
        ("À lire également", True),
        ("Local elections: More coverage", True),
        ("What the council decided", False),
        ("Why it matters", False),
    ],
)
def test_a_heading_over_other_stories_opens_navigation(heading: str, opens: bool) -> None:
    assert junk.opens_navigation(heading) is opens


def test_a_digest_label_in_front_of_a_sentence_is_taken_off() -> None:
    assert junk.strip_label("Key Development: The plant will open in May.") == "The plant will open in May."
    assert junk.strip_label("Development of the site starts in May.") == "Development of the site starts in May."


def lines(text: str) -> list[RawBlock]:
    return [RawBlock("line", line) if line.strip() else RawBlock("blank") for line in text.splitlines()]


STORY = (
    "The city will open three new night bus routes in June, transport officials said on Tuesday, "
    "after a year in which late-evening ridership grew by a fifth."
)


def test_menus_teaser_lists_and_sign_up_boxes_around_a_text_page_are_dropped() -> None:
    page = (
        "City Chronicle\nNews\nSport\nCulture\nOpinion\n\n"
        "Night buses return to three routes\nBy Mia Lund\n\n"
        f"{STORY}\n\n"
        "Share\nFacebook\nEmail\n\n"
        "Popular stories\n"
        "Park cafe wins best brunch award\nJudges praised its pancakes.\nRead the story\n"
        "Bridge repairs start next week\nTraffic will be cut to one lane.\nRead the story\n\n"
        "The Morning Chronicle\nOur best stories, every morning, straight to your inbox.\nSign me up\n\n"
        "About\nContact\nPrivacy\n"
    )
    result = clean(lines(page))
    assert result.title == "Night buses return to three routes"
    assert result.author == "Mia Lund"
    assert [block.text for block in result.blocks] == [STORY]


def test_comments_and_what_follows_a_press_release_end_mark_are_dropped() -> None:
    comments = "3 comments\nAl says:\nGreat news for night shifts, finally.\nReply\n\nBo says:\nAbout time too.\nReply\n"
    assert [block.text for block in clean(lines(f"{STORY}\n\n{comments}")).blocks] == [STORY]
    release = f"{STORY}\n\n###\n\nAbout the City\nThe city runs 40 bus routes and a ferry."
    assert [block.text for block in clean(lines(release)).blocks] == [STORY]


def test_a_lone_comment_label_above_the_headline_is_not_a_comment_section() -> None:
    result = clean(lines(f"Comment\nNight buses are worth every cent\nBy Mia Lund\n\n{STORY}\n"))
    assert result.title == "Night buses are worth every cent"
    assert [block.text for block in result.blocks] == [STORY]


def test_the_site_s_tagline_above_the_menu_is_not_taken_for_the_headline() -> None:
    page = f"Neighbourhood Notes\nStories from the streets we live on\n\nHome\nAbout\nContact\n\nNight buses return to three routes\n\n{STORY}\n"
    assert clean(lines(page)).title == "Night buses return to three routes"
