"""`newsletter inbox`: listing, picking into the next issue file (through the story drafter) and
skipping; repeats are marked, never added twice; an unknown id or a failed draft changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from tests.helpers.articles import ArticleServer
from tests.helpers.cli import run
from tests.helpers.feeds import Entry, FeedServer, rss
from tests.helpers.workspace import ISSUE_NAME, add_config


def items_by_title(workspace: Path) -> dict[str, dict]:
    return {item["title"]: item for item in json.loads((workspace / "inbox.json").read_text(encoding="utf-8"))["items"]}


@pytest.fixture
def filled(workspace: Path, feed_server: FeedServer, article_server: ArticleServer) -> Path:
    """A workspace whose inbox holds three items: two articles the server has, one it has not."""
    entries = [
        Entry("Village solar roof", article_server.url("solar-coop.html"), "<p>A grain store gets 2,900 panels.</p>"),
        Entry("What happened on the line", article_server.url("rail-what-happened.txt"), "A signal failure stopped trains."),
        Entry("A vanished page", article_server.url("gone.html"),
              "<p>The harbour crane lifted its first container on Monday after twelve months of repairs.</p>"),
    ]
    add_config(workspace, f'[[sources]]\nurl = "{feed_server.serve("feed.xml", rss(entries))}"\nlabel = "Wire"\nsection = "From the wire"\n')
    run("sources", "fetch", "--allow-private", cwd=workspace, ok=True)
    return workspace


@pytest.mark.slow
def test_pick_drafts_into_the_next_issue_and_skip_sets_aside(filled: Path) -> None:
    items = items_by_title(filled)
    solar, rail, gone = (items[t]["id"] for t in ("Village solar roof", "What happened on the line", "A vanished page"))
    result = run("inbox", "pick", solar, rail, "--allow-private", cwd=filled)
    assert result.exit_code == 0, result.output
    assert f"{solar}: added a draft story to section 'From the wire' of" in result.output
    issue = load_issue(filled / "issues" / ISSUE_NAME)
    section = issue.sections[-1]
    assert section.title == "From the wire"  # the source's section, created at the end
    assert [story.title for story in section.stories] == ["Village solar roof", "What happened on the line"]
    assert "About 2,900 panels cover the old grain store" in section.stories[0].key_facts  # drafted from the article itself

    assert run("inbox", "skip", cwd=filled).exit_code == 2  # neither ids nor --all
    assert f"skipped 1 item(s): {gone}" in run("inbox", "skip", "--all", cwd=filled, ok=True).output
    after = items_by_title(filled)
    assert after["Village solar roof"]["state"] == "picked"
    assert after["Village solar roof"]["picked_into"] == f"issues/{ISSUE_NAME}"
    assert after["A vanished page"]["state"] == "skipped"
    assert "the inbox has no new items" in run("inbox", cwd=filled, ok=True).output

    again = run("inbox", "pick", solar, cwd=filled)
    assert again.exit_code == 1 and f"{solar} was already picked into issues/{ISSUE_NAME}" in again.output


def test_an_article_out_of_reach_is_drafted_from_its_teaser_with_a_note(filled: Path) -> None:
    gone = items_by_title(filled)["A vanished page"]["id"]
    result = run("inbox", "pick", gone, "--section", "Robotics", "--allow-private", cwd=filled)
    assert result.exit_code == 0, result.output
    assert "drafted from the feed's teaser, as the article could not be read (the server answered 404" in result.stderr
    story = load_issue(filled / "issues" / ISSUE_NAME).sections[0].stories[-1]  # --section wins over the source's
    assert story.title == "A vanished page" and "harbour crane" in story.summary


def test_an_unknown_id_changes_nothing(filled: Path) -> None:
    issue_file = filled / "issues" / ISSUE_NAME
    before = (issue_file.read_bytes(), (filled / "inbox.json").read_bytes())
    solar = items_by_title(filled)["Village solar roof"]["id"]
    for command in ("pick", "skip"):
        result = run("inbox", command, solar, "nope99", "--allow-private" if command == "pick" else solar, cwd=filled)
        assert result.exit_code == 1
        assert "no item nope99 in the inbox" in result.output and "nothing was changed" in result.output
    assert (issue_file.read_bytes(), (filled / "inbox.json").read_bytes()) == before


def test_a_pick_that_cannot_be_drafted_changes_nothing(filled: Path, feed_server: FeedServer) -> None:
    # The first item drafts fine; the second has neither a reachable article nor a teaser: neither goes in.
    add_config(filled, f'[[sources]]\nurl = "{feed_server.serve("bare.xml", rss([Entry("Bare", "http://127.0.0.1:9/bare")]))}"\nlabel = "Bare"\n')
    run("sources", "fetch", "--allow-private", cwd=filled, ok=True)
    items = items_by_title(filled)
    issue_file = filled / "issues" / ISSUE_NAME
    before = (issue_file.read_bytes(), (filled / "inbox.json").read_bytes())
    result = run("inbox", "pick", items["Village solar roof"]["id"], items["Bare"]["id"], "--allow-private", "--timeout", "2", cwd=filled)
    assert result.exit_code == 1 and "its feed gave no teaser to draft from; nothing was changed" in result.output
    assert (issue_file.read_bytes(), (filled / "inbox.json").read_bytes()) == before


def test_a_link_that_ran_in_an_earlier_issue_is_marked(workspace: Path, feed_server: FeedServer) -> None:
    # The fixture issue (number 7) ran https://example.org/robots/towels; the feed links it with tracking and www.
    entries = [Entry("Towels, again", "https://www.example.org/robots/towels/?utm_source=feed"), Entry("Fresh", "https://example.org/fresh")]
    add_config(workspace, f'[[sources]]\nurl = "{feed_server.serve("feed.xml", rss(entries))}"\nlabel = "Wire"\n')
    result = run("sources", "fetch", "--allow-private", cwd=workspace, ok=True)
    assert "Wire: 2 new item(s) (1 already ran) of 2 in the feed" in result.output
    assert items_by_title(workspace)["Towels, again"]["ran_in"] == "issue 7 (2026-12-01)"
    listed = run("inbox", cwd=workspace, ok=True).output
    assert "already ran in issue 7 (2026-12-01)" in listed


def test_the_same_item_twice_is_not_repeated(workspace: Path, feed_server: FeedServer) -> None:
    same = [Entry("Night trains", "https://rail.example.org/night?utm_medium=rss")]
    other = [Entry("Night trains (syndicated)", "https://www.rail.example.org/night/")]  # the same page, written otherwise
    add_config(workspace, f'[[sources]]\nurl = "{feed_server.serve("a.xml", rss(same))}"\nlabel = "A"\n\n'
                          f'[[sources]]\nurl = "{feed_server.serve("b.xml", rss(other))}"\nlabel = "B"\n')
    first = run("sources", "fetch", "--allow-private", cwd=workspace, ok=True).output
    assert "A: 1 new item(s)" in first and "B: 0 new item(s) of 1 in the feed" in first
    second = run("sources", "fetch", "--allow-private", cwd=workspace, ok=True).output
    assert "A: 0 new item(s) of 1 in the feed" in second
    assert len(items_by_title(workspace)) == 1


def test_an_item_skipped_does_not_come_back(workspace: Path, feed_server: FeedServer) -> None:
    add_config(workspace, f'[[sources]]\nurl = "{feed_server.serve("a.xml", rss([Entry("Once", "https://a.example.org/once")]))}"\nlabel = "A"\n')
    run("sources", "fetch", "--allow-private", cwd=workspace, ok=True)
    run("inbox", "skip", items_by_title(workspace)["Once"]["id"], cwd=workspace, ok=True)
    assert "A: 0 new item(s)" in run("sources", "fetch", "--allow-private", cwd=workspace, ok=True).output
    assert "no new items" in run("inbox", cwd=workspace, ok=True).output


def test_a_broken_inbox_file_is_named_and_left_as_it_is(workspace: Path, feed_server: FeedServer) -> None:
    add_config(workspace, f'[[sources]]\nurl = "{feed_server.serve("a.xml", rss([Entry("Once", "https://a.example.org/once")]))}"\n')
    broken = b'{"version": 1,\n "items": [\n  {"id": "abc"\n'
    (workspace / "inbox.json").write_bytes(broken)
    result = run("sources", "fetch", "--allow-private", cwd=workspace)
    assert result.exit_code == 1 and "inbox.json:4: is not valid JSON" in result.output
    assert feed_server.asked == []  # stopped before any fetching
    assert (workspace / "inbox.json").read_bytes() == broken


def test_a_sent_issue_takes_no_more_stories(filled: Path) -> None:
    from newsletter.db import Database

    with Database(filled / "subscribers.db") as db:  # the ledger remembers issue 7 as sent
        db.ledger.record_issue("7", f"issues/{ISSUE_NAME}", "Subject", "fingerprint")
    solar = items_by_title(filled)["Village solar roof"]["id"]
    result = run("inbox", "pick", solar, "--allow-private", cwd=filled)
    assert result.exit_code == 1 and "issue 7 was already sent; start the next issue with `newsletter new`" in result.output
    named = run("inbox", "pick", solar, "--allow-private", "--issue", filled / "issues" / ISSUE_NAME, cwd=filled)
    assert named.exit_code == 0, named.output
