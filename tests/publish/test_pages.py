"""index.html and the issue pages: what they link to, what they tell a link preview, and what they
must never hold (a reader's placeholders)."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from publishtools import add_issue, run, snapshot

from newsletter import placeholders
from newsletter.errors import OutputError
from newsletter.render import Renderer

ARCHIVE = "https://fixture.example.org/archive"


def parse(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def test_only_sent_or_marked_issues_are_published(workspace: Path) -> None:
    add_issue(workspace, 8, "2026-12-08")  # marked; issue 7 (the fixture) is neither marked nor sent, and there is no database
    run(workspace)
    assert sorted(path.name for path in (workspace / "site").glob("issue-*.html")) == ["issue-8.html"]


def test_issues_the_ledger_records_as_sent_are_published(workspace: Path) -> None:
    from newsletter.config import load_workspace
    from newsletter.db import Database

    with Database(load_workspace(workspace).database) as db, db.transaction() as sql:
        sql.execute("INSERT INTO deliveries (issue, email, state, updated_at) VALUES ('7', 'ada@example.com', 'sent', '2026-12-01T08:00:00Z')")
    run(workspace)
    assert (workspace / "site" / "issue-7.html").is_file()


def test_index_lists_the_issues_newest_first_with_subscribe_and_feed_links(published: Path) -> None:
    page = parse(published / "index.html")
    assert [a.get("href") for a in page.xpath("//li//h2/a")] == ["issue-8.html", "issue-7.html"]
    assert [a.text_content() for a in page.xpath("//li//h2/a")] == ["Issue eight & <friends>", "Robots learn to fold laundry, and a quieter data centre"]
    assert [t.get("datetime") for t in page.xpath("//li//time")] == ["2026-12-08", "2026-12-01"]
    assert page.xpath("//li/p[last()]/text()")[0] == "Two stories from the lab and one from the server room, in under three minutes."
    assert page.xpath("//a[text()='Subscribe']/@href") == ["https://fixture.example.org/subscribe"]
    assert page.xpath("//link[@rel='alternate']/@href") == ["feed.xml"]
    assert page.xpath("//link[@rel='alternate']/@type") == ["application/atom+xml"]


def test_issue_page_has_open_graph_tags_neighbour_links_subscribe_and_feed(published: Path) -> None:
    page = parse(published / "issue-7.html")
    meta = {m.get("property"): m.get("content") for m in page.xpath("//meta[@property]")}
    assert meta["og:title"] == "Robots learn to fold laundry, and a quieter data centre"
    assert meta["og:description"] == "Two stories from the lab and one from the server room, in under three minutes."
    assert meta["og:url"] == f"{ARCHIVE}/issue-7.html"
    assert meta["og:type"] == "article"
    assert page.xpath("//link[@rel='alternate'][@type='application/atom+xml']/@href") == ["feed.xml"]
    assert page.xpath("//a[@rel='next']/@href") == ["issue-8.html"]
    assert page.xpath("//a[@rel='prev']") == []
    assert "https://fixture.example.org/subscribe" in page.xpath("//a/@href")
    newest = parse(published / "issue-8.html")
    assert newest.xpath("//a[@rel='prev']/@href") == ["issue-7.html"] and newest.xpath("//a[@rel='next']") == []


def test_issue_page_is_the_renderers_web_page_at_the_address_emails_link_to(published: Path) -> None:
    from newsletter.config import load_workspace
    from newsletter.issue_file import load_issue
    from newsletter.render import web_url

    workspace = load_workspace(published.parent)
    issue = load_issue(published.parent / "issues" / "2026-12-01.yaml")
    assert web_url(workspace, issue) == f"{ARCHIVE}/issue-7.html"
    plain = lxml.html.fromstring(Renderer(workspace).render(issue).web_html)
    page = parse(published / "issue-7.html")
    assert [a.get("href") for a in plain.xpath("//h3//a")] == [a.get("href") for a in page.xpath("//h3//a")]


def test_no_page_holds_a_per_recipient_placeholder(published: Path) -> None:
    for path in published.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "%%" not in text, path.name
        assert not placeholders.FOUND.search(text)


def test_a_placeholder_in_a_page_stops_the_publish(published: Path, monkeypatch) -> None:
    before = snapshot(published)
    original = Renderer.render_web
    monkeypatch.setattr(Renderer, "render_web", lambda self, issue, site=None: original(self, issue, site).replace("</body>", f"{placeholders.UNSUBSCRIBE_URL}</body>"))
    add_issue(published.parent, 9, "2026-12-15")
    with pytest.raises(OutputError, match="placeholder %%unsubscribe_url%%"):
        run(published.parent)
    assert snapshot(published) == before
