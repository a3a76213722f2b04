"""The messy parts of real articles, one at a time: bullets, bare headings, bylines, dates, glued quotes,
promotion and navigation lines, hard-wrapped text."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.stories.clean import clean
from newsletter.stories.extract import extract
from newsletter.stories.facts import shorten
from newsletter.stories.fetch import Fetched
from newsletter.stories.junk import is_junk
from newsletter.stories.quotes import inline_quote, split_glued_quote


def cleaned(text: str, kind: str = "text"):
    extracted = extract(Fetched(data=text.encode("utf-8"), kind=kind, name="article", url=None))
    return clean(extracted.blocks, extracted.meta.title)


def kinds(text: str, kind: str = "text") -> list[tuple[str, str]]:
    return [(block.kind, block.text) for block in cleaned(text, kind).blocks]


PARAGRAPH = "The council approved the new budget on Tuesday after a long debate about bus routes."


@pytest.mark.parametrize("marker", ["-", "*", "•", "1.", "2)", "(3)"])
def test_every_bullet_style_becomes_a_list_item(marker: str) -> None:
    assert kinds(f"{PARAGRAPH}\n{marker} Fares stay the same next year\n") == [
        ("paragraph", PARAGRAPH),
        ("item", "Fares stay the same next year"),
    ]


def test_a_short_bare_line_is_a_heading_and_sections_follow_it() -> None:
    result = cleaned(f"Budget passes after long debate\n{PARAGRAPH}\nWhat changes for riders\n{PARAGRAPH}\n")
    assert result.title == "Budget passes after long debate"
    assert [(b.kind, b.section) for b in result.blocks] == [
        ("paragraph", None), ("heading", None), ("paragraph", "What changes for riders"),
    ]


def test_a_question_heading_is_a_heading_not_a_sentence() -> None:
    assert ("heading", "Who pays for it?") in kinds(f"{PARAGRAPH}\nWho pays for it?\n{PARAGRAPH}\n")


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("By Marta Ruiz", "Marta Ruiz"),
        ("By Marta Ruiz | View author profile", "Marta Ruiz"),
        ("By Marta Ruiz / View author profile", "Marta Ruiz"),
        ("By Marta Ruiz, Transport Correspondent", "Marta Ruiz"),
        ("By Marta Ruiz and Tom de Vries", "Marta Ruiz and Tom de Vries"),
        ("Written by Marta Ruiz · 4 min read", "Marta Ruiz"),
    ],
)
def test_bylines_give_the_author_and_leave_the_body(line: str, author: str) -> None:
    result = cleaned(f"{line}\nView author profile\n{PARAGRAPH}\n")
    assert result.author == author
    assert [b.text for b in result.blocks] == [PARAGRAPH]


def test_a_sentence_starting_with_by_is_not_a_byline() -> None:
    text = "By 2030 the city wants every bus in its fleet to run on electricity, the mayor said."
    result = cleaned(text + "\n")
    assert result.author is None
    assert [b.text for b in result.blocks] == [text]


@pytest.mark.parametrize(
    ("text", "published"),
    [
        (f"March 3, 2026 — {PARAGRAPH}", dt.date(2026, 3, 3)),
        (f"3 March 2026: {PARAGRAPH}", dt.date(2026, 3, 3)),
        (f"LISBON, Sept. 4, 2025 - {PARAGRAPH}", dt.date(2025, 9, 4)),
        (f"Published 12 May 2026, 08:15 BST\n{PARAGRAPH}", dt.date(2026, 5, 12)),
        (f"Updated: Tuesday, March 3, 2026 at 10:15 AM\n{PARAGRAPH}", dt.date(2026, 3, 3)),
        (f"2026-03-03\n{PARAGRAPH}", dt.date(2026, 3, 3)),
    ],
)
def test_date_prefixes_and_date_lines_give_the_date_and_leave_the_text(text: str, published: dt.date) -> None:
    result = cleaned(text + "\n")
    assert result.published == published
    assert [b.text for b in result.blocks] == [PARAGRAPH]


def test_a_date_inside_a_sentence_is_not_a_dateline() -> None:
    text = "The bridge reopened on March 3, 2026 after two years of repairs to its cables."
    result = cleaned(text + "\n")
    assert result.published is None
    assert [b.text for b in result.blocks] == [text]


def test_a_pull_quote_glued_to_its_attribution_is_split() -> None:
    line = "Good maps change how people move. We just drew the first one.Ana Costa, founder of MapCo"
    assert split_glued_quote(line) == ("Good maps change how people move. We just drew the first one.", "Ana Costa, founder of MapCo")
    assert kinds(f"{PARAGRAPH}\n{line}\n")[1] == ("quote", "Good maps change how people move. We just drew the first one.")


@pytest.mark.parametrize(
    "line",
    [
        "The plant opened in May.It employs 40 people from the valley and two nearby towns",  # a missing space, not a quote
        "She moved to the U.S.Army base in Texas in 2019 to run the training programme there",
        "Some cities, e.g.The Hague and Utrecht, already publish their bus data every night",
        "Everything in this paragraph is one ordinary sentence without any glued words.",
    ],
)
def test_text_that_only_looks_glued_is_not_split(line: str) -> None:
    assert split_glued_quote(line) is None


@pytest.mark.parametrize(
    ("sentence", "text", "attribution"),
    [
        ('"We will run the buses all night," said Rui Santos, the network planner.', "We will run the buses all night.", "Rui Santos, the network planner"),
        ("“We will run the buses all night,” Santos said.", "We will run the buses all night.", "Santos"),
        ("“We will run the buses all night,” Santos told Radio Sul.", "We will run the buses all night.", "Santos"),
        ("Rui Santos, the network planner, said: “We will run the buses all night.”", "We will run the buses all night.", "Rui Santos, the network planner"),
        ("“We will run the buses all night,” said Dr. Ana Lima, who chairs the board.", "We will run the buses all night.", "Dr. Ana Lima, who chairs the board"),
        ("Speaking on Tuesday, Rui Santos said: “We will run the buses all night.”", "We will run the buses all night.", "Rui Santos"),
    ],
)
def test_quotes_inside_paragraphs_are_found_with_their_speaker(sentence: str, text: str, attribution: str) -> None:
    found = inline_quote(sentence)
    assert found is not None
    assert (found.text, found.attribution) == (text, attribution)


def test_a_quote_line_followed_by_a_dash_attribution_is_one_quote() -> None:
    result = cleaned(f"{PARAGRAPH}\n“Buses are the backbone of this city and always will be.”\n— Rui Santos, network planner\n")
    quote = result.of_kind("quote")[0]
    assert (quote.text, quote.attribution) == ("Buses are the backbone of this city and always will be.", "Rui Santos, network planner")


@pytest.mark.parametrize(
    "line",
    [
        "Want this in your inbox? Sign up for our morning briefing.",
        "Want stories like this delivered to your inbox every week?",
        "Read more in our Transport section.",
        "More from City Desk",
        "The latest transit news will track how the new routes perform.",
        "Subscribe to our newsletter for weekly updates.",
        "Share this article",
        "Advertisement",
        "View author profile",
        "Photo: City archive",
        "© 2026 City Paper. All rights reserved.",
        "This article was originally published by City Paper.",
        "5 min read",
        "Related stories",
    ],
)
def test_promotion_and_navigation_are_junk(line: str) -> None:
    assert is_junk(line)
    assert cleaned(f"{PARAGRAPH}\n{line}\n").blocks == cleaned(f"{PARAGRAPH}\n").blocks


@pytest.mark.parametrize(
    "sentence",
    [
        "More than 3,000 riders used the new night bus in its first week.",
        "The latest figures show ridership up 12 percent on last year.",
        "Readers who subscribe to the service pay 4 euros a month.",
        "Sharing bikes is now cheaper than taking the bus for short trips.",
    ],
)
def test_ordinary_sentences_are_not_junk(sentence: str) -> None:
    assert not is_junk(sentence)


def test_links_after_more_from_are_skipped_until_the_story_resumes() -> None:
    text = f"{PARAGRAPH}\nMore from City Desk\nNew cycle lanes open on the river road\n- Parking fees rise in the centre\n{PARAGRAPH}\n"
    assert kinds(text) == [("paragraph", PARAGRAPH), ("paragraph", PARAGRAPH)]


def test_hard_wrapped_paragraphs_and_bullets_are_joined() -> None:
    text = (
        "The council approved the new budget on Tuesday after a long\n"
        "debate about bus routes, cycle lanes and the price of parking\n"
        "permits in the old town.\n\n"
        "Main points:\n"
        "- Night buses will run on all six main routes from the first\n"
        "  of June.\n"
        "- Parking permits rise by ten euros a year.\n"
    )
    assert kinds(text) == [
        ("paragraph", "The council approved the new budget on Tuesday after a long debate about bus routes, cycle lanes and the price of parking permits in the old town."),
        ("heading", "Main points"),
        ("item", "Night buses will run on all six main routes from the first of June."),
        ("item", "Parking permits rise by ten euros a year."),
    ]


def test_one_paragraph_per_line_is_never_joined() -> None:
    text = "Who is paying for the new buses\n" + "A long paragraph that has no full stop at its end because the writer forgot to add one\nNext heading here\n"
    assert [k for k, _ in kinds(text)][-1] == "heading"


def test_markdown_formatting_links_and_images_are_dropped() -> None:
    text = "# Night buses return\n\nThe **council** approved [night buses](https://x.example/a) on *Tuesday* for all six routes.\n\n![a bus](https://x.example/bus.jpg)\n"
    result = cleaned(text, kind="markdown")
    assert result.title == "Night buses return"
    assert [b.text for b in result.blocks] == ["The council approved night buses on Tuesday for all six routes."]


@pytest.mark.parametrize(
    ("sentence", "fact"),
    [
        ("Anthropic has hired Ada Lee, one of the original co-founders of a rival lab, to lead its pre-training research team in London.",
         "Anthropic has hired Ada Lee to lead its pre-training research team in London"),
        ("A pilot storage plant near the coast kept 92 percent of its capacity after a winter of daily cycling at temperatures as low as minus 25 degrees, its operator said.",
         "A pilot storage plant near the coast kept 92 percent of its capacity"),
        ("The line will carry 40,000 riders a day.", "The line will carry 40,000 riders a day"),
    ],
)
def test_long_sentences_are_shortened_at_a_clause_boundary(sentence: str, fact: str) -> None:
    assert shorten(sentence) == fact
    assert len(shorten(sentence)) <= 120
