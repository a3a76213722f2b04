"""The messy example article in ../shared/examples (outside the repository; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

from newsletter.issue.checks import KEY_FACT_MAX_CHARS
from newsletter.stories.draft import draft_story
from newsletter.stories.summarize import MAX_WORDS


def test_the_example_article_drafts_its_own_list_quote_and_no_junk(shared_example: Path) -> None:
    story = draft_story(str(shared_example)).story
    text = shared_example.read_text(encoding="utf-8")
    listed = text.split("Key Facts\n", 1)[1].split("\n- ")
    listed = [item.removeprefix("- ").split("\n")[0] for item in listed][:5]
    # Item for item: as written when it fits a key fact, else cut by clause (so `check` has nothing to say).
    assert len(story.key_facts) == len(listed)
    for fact, item in zip(story.key_facts, listed, strict=True):
        assert fact == item if len(item) <= KEY_FACT_MAX_CHARS else item.startswith(fact[:-1] + " ") and len(fact) <= KEY_FACT_MAX_CHARS
    assert story.quote is not None
    assert story.quote.text.endswith("what you build there.")
    assert story.quote.attribution == "AI researcher, speaking generally on pre-training methodology"
    junk = "The latest Claude AI news will track"
    assert all(junk not in part for part in [story.summary, *story.key_facts])
    assert "there.AI" not in story.summary
    assert len(story.summary.split()) <= MAX_WORDS
    assert story.summary.startswith("Anthropic has hired Andrej Karpathy")
