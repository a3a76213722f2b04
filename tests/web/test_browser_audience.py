"""Topics in a real Chromium: a reader signs up choosing their topics with the checkboxes, then
switches one off on their preferences page; the database holds what they chose. Every request
outside the app's own origin is refused: offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.mail.links import Purpose, make_token
from newsletter.workspace.credentials import signing_keys
from tests.helpers.web import TWO_TOPICS, Apps

READER = "reader@example.com"
TOPICS = TWO_TOPICS + """
[web]
allowed_tags = ["podcast"]
"""
DEFAULTS = {"weekly": True, "deep": False}


@pytest.fixture
def base(workspace: Path) -> Iterator[str]:
    """The app of a workspace with two topics, served on loopback: its URL."""
    apps = Apps(workspace)
    yield apps.serve(TOPICS).base
    apps.stop()


def offline_page(browser, base: str):
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    return context, context.new_page()


def topics_of(workspace: Path) -> dict[str, bool]:
    with Database(workspace / "subscribers.db") as db:
        return db.audience.topics(READER, DEFAULTS)


def test_a_reader_chooses_topics_on_the_form_then_switches_one_off(browser, base: str, workspace: Path) -> None:
    context, page = offline_page(browser, base)
    try:
        page.goto(base + "/subscribe?tags=podcast")
        weekly = page.get_by_role("checkbox", name="The Weekly")
        deep = page.get_by_role("checkbox", name="Deep Dives")
        assert weekly.is_checked() and not deep.is_checked()
        assert page.get_by_text("One long read a month.").is_visible()
        assert deep.get_attribute("aria-describedby") == "topic-deep-about"  # the description is read with its box
        page.get_by_role("group", name="Choose what you receive").wait_for()
        page.get_by_label("Email address").fill(READER)
        deep.check()
        weekly.uncheck()
        page.get_by_role("button", name="Subscribe").click()
        page.get_by_role("heading", name="Check your inbox").wait_for()
        assert topics_of(workspace) == {"weekly": False, "deep": True}
        with Database(workspace / "subscribers.db") as db:
            assert db.audience.tags(READER) == ["podcast"]
            public_id = db.subscribers.get(READER).public_id

        page.goto(f"{base}/preferences?token={make_token(public_id, Purpose.PREFERENCES, signing_keys('outbox').current)}")
        assert page.get_by_role("checkbox", name="Deep Dives").is_checked()
        page.get_by_role("checkbox", name="The Weekly").check()
        page.get_by_role("checkbox", name="Deep Dives").uncheck()
        page.get_by_role("button", name="Save my topics").click()
        page.get_by_role("status").filter(has_text="Your choice of topics is saved.").wait_for()
        assert page.get_by_role("checkbox", name="The Weekly").is_checked() and not page.get_by_role("checkbox", name="Deep Dives").is_checked()
        assert topics_of(workspace) == {"weekly": True, "deep": False}
    finally:
        context.close()
