"""What the corpus pages must draft to, besides leaving the page's chrome out (test_corpus.py): the
lead's figure and names in the summary, the quote with its speaker, and facts that read as sentences."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from newsletter.stories.draft import Draft, draft_story
from newsletter.stories.sentences import has_verb

CORPUS = Path(__file__).resolve().parent / "corpus"
PAGES = sorted(path for path in CORPUS.iterdir() if path.suffix in (".html", ".txt"))


def expected(page: Path) -> Any:
    return YAML(typ="safe").load(page.with_suffix(".expected.yaml").read_text(encoding="utf-8"))


@functools.cache
def drafted(page: Path) -> Draft:
    return draft_story(str(page))


def plain(text: str) -> str:
    """Text compared without quotation marks, case or the spacing of numbers."""
    text = re.sub(r"[“”\"«»„‚‘’']", "", text)
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip().rstrip(".,").lower()


@pytest.mark.parametrize("page", [p for p in PAGES if expected(p)["lead_figure"]], ids=lambda p: p.name)
@pytest.mark.slow
def test_the_summary_keeps_the_leads_figure(page: Path) -> None:
    summary = plain(drafted(page).story.summary)
    assert plain(expected(page)["lead_figure"]) in summary, summary


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_quote_and_its_speaker(page: Path) -> None:
    quote, wanted = drafted(page).story.quote, expected(page)["quote"]
    if wanted is None:
        assert quote is None
        return
    assert quote is not None
    assert plain(quote.text) == plain(wanted["text"])
    assert plain(wanted["attribution"]).split(",")[0].split()[-1] in plain(quote.attribution)  # the speaker's surname at least


def test_summaries_keep_the_leads_names_and_figures() -> None:
    wanted = [(page, term) for page in PAGES for term in expected(page)["lead_terms"]]
    kept = [(page, term) for page, term in wanted if plain(term) in plain(drafted(page).story.summary)]
    # 0.85: a summary copies one sentence word for word at most, so a second sentence of the lead paragraph
    # that cannot be condensed (no weekday, aside or brackets to lose) stays out, with its figure.
    assert len(kept) / len(wanted) >= 0.85, sorted(set(wanted) - set(kept))


def test_drafted_facts_are_whole_sentences_under_140_characters() -> None:
    facts = [fact for page in PAGES for fact in drafted(page).story.key_facts]
    good = [fact for fact in facts if len(fact) <= 140 and has_verb(fact)]
    assert len(facts) >= 100  # the corpus gives plenty to judge
    assert len(good) / len(facts) >= 0.95, sorted(set(facts) - set(good))[:10]
