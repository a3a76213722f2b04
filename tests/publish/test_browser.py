"""The published pages in Chromium, opened from disk with every request outside file:// aborted."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("name", ["index.html", "issue-7.html", "issue-8.html"])
def test_pages_never_scroll_sideways_at_320_px(browser, published: Path, name: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 800})
    try:
        tab = context.new_page()
        tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
        tab.goto((published / name).as_uri())
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert tab.evaluate("window.innerWidth") == 320
    finally:
        context.close()
    assert overflow <= 0


def test_neighbour_links_work_from_disk(browser, published: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        tab = context.new_page()
        tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
        tab.goto((published / "issue-7.html").as_uri())
        tab.click("a[rel=next]")
        assert tab.url.endswith("/issue-8.html")
        tab.click("text=All issues >> nth=0")
        assert tab.url.endswith("/index.html")
    finally:
        context.close()
