"""`sources fetch` fed hostile feeds: entities reaching for local files, a body that names a file,
terminal escapes in titles, endless entries, links that are not http. (Slow, huge and redirecting
feeds: tests/sources/test_fetch.py; the guarded fetch itself: test_story_sources.py.)"""

from __future__ import annotations

from pathlib import Path

from newsletter.sources.feeds import MAX_ITEMS, parse_items
from tests.helpers.cli import run
from tests.helpers.feeds import Entry, FeedServer, rss
from tests.helpers.workspace import add_config

SECRET_FILE_LINE = "root:"  # what /etc/passwd starts with


def test_an_external_entity_is_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the-secret-words", encoding="utf-8")
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>t</title><item><title>a &xxe; b</title><link>https://e.example.org/a</link>'
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()
    items = parse_items(feed, {})
    assert all("the-secret-words" not in item.title + item.teaser for item in items)


def test_a_body_that_names_a_local_file_is_not_opened() -> None:
    # feedparser opens a string that looks like a path; the body must be read as a document only.
    for body in (b"/etc/passwd", b"file:///etc/passwd"):
        try:
            items = parse_items(body, {})
        except ValueError as exc:
            assert SECRET_FILE_LINE not in str(exc)
            continue
        assert all(SECRET_FILE_LINE not in item.title + item.teaser for item in items)


def test_terminal_escapes_in_a_feed_never_reach_the_terminal(workspace: Path, feed_server: FeedServer) -> None:
    entry = Entry("Bold \u009b31m claim", "https://e.example.org/a", "<p>Teaser \u001b]0;title\u0007 here</p>")
    add_config(workspace, f'[[sources]]\nurl = "{feed_server.serve("f.xml", rss([entry]))}"\nlabel = "Evil"\n')
    run("sources", "fetch", "--allow-private", cwd=workspace, ok=True)
    listed = run("inbox", cwd=workspace, ok=True).output
    assert "\u009b" not in listed and "\u001b" not in listed and "\u0007" not in listed


def test_a_feed_of_endless_entries_is_cut_to_the_newest() -> None:
    entries = [Entry(f"Item {n}", f"https://e.example.org/{n}") for n in range(MAX_ITEMS + 300)]
    assert len(parse_items(rss(entries), {})) == MAX_ITEMS


def test_links_that_are_not_http_are_left_out() -> None:
    entries = [Entry("Script", "javascript:alert(1)"), Entry("Data", "data:text/html,hi"), Entry("Fine", "https://e.example.org/fine")]
    assert [item.title for item in parse_items(rss(entries), {})] == ["Fine"]
