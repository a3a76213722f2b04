"""index.html and the issue pages: what they link to, what they tell a link preview, and what they
must never hold (a reader's placeholders)."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.errors import OutputError
from newsletter.models import placeholders
from newsletter.render.pipeline import Renderer
from tests.helpers.publishing import PAGES, add_issue, publish_workspace, snapshot, workspace_of

ARCHIVE = "https://fixture.example.org/archive"


def parse(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def test_only_sent_or_marked_issues_are_published(workspace: Path) -> None:
    add_issue(workspace, 8, "2026-12-08")  # marked; issue 7 (the fixture) is neither marked nor sent, and there is no database
    publish_workspace(workspace)
    assert sorted(path.name for path in (workspace / PAGES).glob("issue-*.html")) == ["issue-8.html"]


def test_issues_the_ledger_records_as_sent_are_published(workspace: Path) -> None:
    from newsletter.db import Database
    from newsletter.workspace.config import load_workspace

    with Database(load_workspace(workspace).database) as db, db.transaction() as sql:
        sql.execute("INSERT INTO deliveries (issue, email, state, updated_at) VALUES ('7', 'ada@example.com', 'sent', '2026-12-01T08:00:00Z')")
    publish_workspace(workspace)
    assert (workspace / PAGES / "issue-7.html").is_file()


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
    from newsletter.issue.loading import load_issue
    from newsletter.render.pipeline import web_url
    from newsletter.workspace.config import load_workspace

    workspace = load_workspace(workspace_of(published))
    issue = load_issue(workspace_of(published) / "issues" / "2026-12-01.yaml")
    assert web_url(workspace, issue) == f"{ARCHIVE}/issue-7.html"
    plain = lxml.html.fromstring(Renderer(workspace).render(issue).web_html)
    page = parse(published / "issue-7.html")
    assert [a.get("href") for a in plain.xpath("//h3//a")] == [a.get("href") for a in page.xpath("//h3//a")]


def test_no_page_holds_a_per_recipient_placeholder(published: Path) -> None:
    for path in (path for path in published.parent.rglob("*") if path.is_file()):  # robots.txt too
        text = path.read_text(encoding="utf-8")
        assert "%%" not in text, path.name
        assert not placeholders.FOUND.search(text)


def test_a_placeholder_in_a_page_stops_the_publish(published: Path, monkeypatch) -> None:
    before = snapshot(published)
    original = Renderer.render_web
    monkeypatch.setattr(Renderer, "render_web", lambda self, issue, site=None: original(self, issue, site).replace("</body>", f"{placeholders.UNSUBSCRIBE_URL}</body>"))
    add_issue(workspace_of(published), 9, "2026-12-15")
    with pytest.raises(OutputError, match="placeholder %%unsubscribe_url%%"):
        publish_workspace(workspace_of(published))
    assert snapshot(published) == before


def test_an_issue_whose_copies_may_have_gone_out_is_published(workspace: Path) -> None:
    """`unknown`: a send cut short after handing letters over. Their readers may follow the link."""
    from newsletter.db import Database
    from newsletter.workspace.config import load_workspace

    with Database(load_workspace(workspace).database) as db, db.transaction() as sql:
        sql.execute("INSERT INTO deliveries (issue, email, state, updated_at) VALUES ('7', 'ada@example.com', 'unknown', '2026-12-01T08:00:00Z')")
        sql.execute("INSERT INTO deliveries (issue, email, state, updated_at) VALUES ('7', 'bob@example.com', 'pending', '2026-12-01T08:00:00Z')")
    publish_workspace(workspace)
    assert (workspace / PAGES / "issue-7.html").is_file()


def test_a_page_of_an_issue_the_ledger_does_not_know_is_kept_and_named(in_workspace: Path, issue_path: Path) -> None:
    """Without proof from the ledger (no database here) nothing is deleted: on a machine without the
    database every sent issue would look unsent."""
    original = issue_path.read_bytes()
    issue_path.write_bytes(original + b"publish: true\n")
    assert CliRunner().invoke(cli, ["publish"]).exit_code == 0
    issue_path.write_bytes(original)  # no longer marked, and no ledger says anything about it
    result = CliRunner().invoke(cli, ["publish"])
    assert result.exit_code == 0, result.output
    assert "removed" not in result.output and f"{PAGES}/issue-7.html is no longer part of the archive; it was left in place" in result.output
    assert (in_workspace / PAGES / "issue-7.html").is_file()
    assert "issue-7" not in (in_workspace / PAGES / "index.html").read_text()


@pytest.mark.parametrize(
    "archive_url, expected",
    [
        ("https://fixture.example.org/archive?page=1", "no ?query or #fragment"),
        ("https://fixture.example.org/news/../archive", "'..' in the path"),
        ("https://fixture.example.org/old%20issues", "'old%20issues' in the path"),
    ],
)
def test_an_archive_url_whose_path_cannot_be_a_folder_is_refused(in_workspace: Path, archive_url: str, expected: str) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("https://fixture.example.org/archive", archive_url))
    result = CliRunner().invoke(cli, ["publish"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "newsletter.archive_url" in result.output and expected in result.output
    assert not (in_workspace / "site").exists()
