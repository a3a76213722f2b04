"""feed.xml, read as a feed reader reads it (feedparser); sitemap.xml and robots.txt."""

from __future__ import annotations

import time
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from tests.helpers.publishing import PAGES, add_issue, publish_workspace, workspace_of

ARCHIVE = "https://fixture.example.org/archive"


def test_feed_entries_are_the_issues_newest_first_with_absolute_links_and_stable_ids(published: Path) -> None:
    feed = feedparser.parse((published / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "Fixture Weekly"
    assert feed.feed.link == f"{ARCHIVE}/"
    assert feed.feed.updated_parsed[:3] == (2026, 12, 8)
    assert [entry.id for entry in feed.entries] == ["tag:fixture.example.org,2026-12-08:issue-8", "tag:fixture.example.org,2026-12-01:issue-7"]
    assert [entry.link for entry in feed.entries] == [f"{ARCHIVE}/issue-8.html", f"{ARCHIVE}/issue-7.html"]
    assert [entry.title for entry in feed.entries] == ["Issue eight & <friends>", "Robots learn to fold laundry, and a quieter data centre"]
    assert [time.strftime("%Y-%m-%d", entry.updated_parsed) for entry in feed.entries] == ["2026-12-08", "2026-12-01"]
    assert feed.entries[0].summary == "Two stories from the lab and one from the server room, in under three minutes."


def test_feed_content_is_the_whole_issue_with_absolute_links(published: Path) -> None:
    entry = feedparser.parse((published / "feed.xml").read_bytes()).entries[1]
    content = entry.content[0]
    assert content.type == "text/html"
    assert "A home robot folds towels at human speed" in content.value
    assert "https://example.org/robots/towels" in content.value
    # The page's own relative links (to the neighbours) resolve against the archive (xml:base).
    assert f'href="{ARCHIVE}/issue-8.html"' in content.value
    assert "%%" not in content.value


def test_feed_holds_the_latest_50_issues(workspace: Path, monkeypatch) -> None:
    from newsletter.publish import site

    monkeypatch.setattr(site, "FEED_ENTRIES", 2)
    for number, day in [(1, "2026-01-05"), (2, "2026-01-12"), (3, "2026-01-19")]:
        add_issue(workspace, number, day)
    publish_workspace(workspace)
    feed = feedparser.parse((workspace / PAGES / "feed.xml").read_bytes())
    assert [entry.link.rsplit("/", 1)[1] for entry in feed.entries] == ["issue-3.html", "issue-2.html"]
    assert site.FEED_ENTRIES == 2 and (workspace / PAGES / "issue-1.html").is_file()  # the archive keeps them all


def test_sitemap_lists_the_index_and_every_issue_page(published: Path) -> None:
    tree = etree.fromstring((published / "sitemap.xml").read_bytes())
    spaces = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    assert tree.xpath("//s:loc/text()", namespaces=spaces) == [f"{ARCHIVE}/", f"{ARCHIVE}/issue-8.html", f"{ARCHIVE}/issue-7.html"]
    assert tree.xpath("//s:lastmod/text()", namespaces=spaces) == ["2026-12-08", "2026-12-08", "2026-12-01"]


def test_robots_keeps_crawlers_off_the_token_pages(published: Path) -> None:
    lines = (workspace_of(published) / "site" / "robots.txt").read_text().splitlines()  # the host's root, not the archive's folder
    assert not (published / "robots.txt").exists()
    for path in ("/unsubscribe", "/confirm/", "/preferences", "/address/"):
        assert f"Disallow: {path}" in lines
    assert f"Sitemap: {ARCHIVE}/sitemap.xml" in lines


@pytest.mark.slow
def test_each_topic_has_its_own_feed_beside_the_feed_of_them_all(workspace: Path) -> None:
    from tests.helpers.workspace import add_config

    add_config(workspace, '[topics.weekly]\nname = "The weekly"\n\n[topics.ai]\nname = "AI notes"\ndefault = false\n')
    add_issue(workspace, 1, "2026-01-05")
    ai = add_issue(workspace, 2, "2026-01-12", subject="Only for the AI readers")
    ai.write_text(ai.read_text(encoding="utf-8") + "topic: ai\n", encoding="utf-8")
    publish_workspace(workspace)
    folder = workspace / PAGES

    def links(name: str) -> list[str]:
        feed = feedparser.parse((folder / name).read_bytes())
        assert not feed.bozo, feed.bozo_exception
        return [entry.link.rsplit("/", 1)[1] for entry in feed.entries]

    assert links("feed.xml") == ["issue-2.html", "issue-1.html"]
    assert links("feed-ai.xml") == ["issue-2.html"]
    assert links("feed-weekly.xml") == ["issue-1.html"]  # no `topic:`: the default topic
    ai_feed = feedparser.parse((folder / "feed-ai.xml").read_bytes()).feed
    assert ai_feed.title == "Fixture Weekly: AI notes"
    assert ai_feed.id != feedparser.parse((folder / "feed.xml").read_bytes()).feed.id  # a reader subscribed to both sees two feeds
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert 'href="feed-ai.xml"' in index and "AI notes &middot; Issue 2" in index


def test_a_workspace_without_topics_has_one_feed(published: Path) -> None:
    assert sorted(path.name for path in published.glob("feed*.xml")) == ["feed.xml"]
    assert "feed-" not in (published / "index.html").read_text(encoding="utf-8")
