"""`newsletter sources fetch`: RSS and Atom feeds from a local server into the inbox, and a broken,
slow, huge or redirecting feed as one line of the summary while the others still come in."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from click.testing import Result

import newsletter.stories.guarded_http as guarded_http
from tests.helpers.cli import run
from tests.helpers.feeds import Entry, FeedServer, Route, atom, json_feed, rss
from tests.helpers.workspace import add_config

RAIL = [
    Entry("Night trains return to the Alps", "https://rail.example.org/night-trains?utm_source=rss",
          "<p>Three <b>sleeper</b> routes restart in May &amp; run nightly.</p><script>alert(1)</script>",
          dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)),
    Entry("A tram line opens in Tours", "https://rail.example.org/tours-tram", "<p>The line has 21 stops.</p>",
          dt.datetime(2026, 11, 28, 8, tzinfo=dt.UTC)),
]
SOLAR = [
    Entry("Solar co-op doubles its roofs", "https://sun.example.net/coop", "A co-op in Lyon now runs 400 roofs.",
          dt.datetime(2026, 12, 1, 7, tzinfo=dt.UTC)),
]


def sources(workspace: Path, *urls: str, labels: tuple[str, ...] = ()) -> None:
    tables = []
    for index, url in enumerate(urls):
        label = f'label = "{labels[index]}"\n' if index < len(labels) else ""
        tables.append(f'[[sources]]\nurl = "{url}"\n{label}')
    add_config(workspace, "\n".join(tables))


def fetch(workspace: Path, *options: str) -> Result:
    return run("sources", "fetch", "--allow-private", *options, cwd=workspace)


def inbox_items(workspace: Path) -> list[dict]:
    return json.loads((workspace / "inbox.json").read_text(encoding="utf-8"))["items"]


def test_rss_and_atom_feeds_come_into_the_inbox(workspace: Path, feed_server: FeedServer) -> None:
    sources(workspace, feed_server.serve("rail.xml", rss(RAIL)), feed_server.serve("sun.atom", atom(SOLAR), content_type="application/atom+xml"),
            labels=("Rail Watch", "Sun Daily"))
    result = fetch(workspace)
    assert result.exit_code == 0, result.output
    assert "Rail Watch: 2 new item(s) of 2 in the feed" in result.output
    assert "Sun Daily: 1 new item(s) of 1 in the feed" in result.output
    items = {item["title"]: item for item in inbox_items(workspace)}
    night = items["Night trains return to the Alps"]
    assert night["source"] == "Rail Watch" and night["state"] == "new" and night["ran_in"] is None
    assert night["canonical"] == "https://rail.example.org/night-trains"  # tracking parameters gone
    assert night["teaser"] == "Three sleeper routes restart in May & run nightly."  # tags and the script dropped
    assert night["published"].startswith("2026-11-30T08:00:00")
    assert len(night["id"]) == 6

    listed = run("inbox", cwd=workspace, ok=True).output
    order = [listed.index(title) for title in ("Solar co-op", "Night trains", "A tram line")]
    assert order == sorted(order)  # newest first
    assert f"{night['id']}  2026-11-30  Rail Watch  Night trains return to the Alps" in listed
    assert "3 new item(s)" in listed


def test_a_json_feed_comes_in_as_rss_and_atom_do(workspace: Path, feed_server: FeedServer) -> None:
    sources(workspace, feed_server.serve("feed.json", json_feed(RAIL), content_type="application/feed+json"), labels=("Rail JSON",))
    result = fetch(workspace)
    assert result.exit_code == 0, result.output
    assert "Rail JSON: 2 new item(s) of 2 in the feed" in result.output
    night = next(item for item in inbox_items(workspace) if item["title"] == "Night trains return to the Alps")
    assert night["teaser"] == "Three sleeper routes restart in May & run nightly." and night["published"].startswith("2026-11-30T08:00:00")
    sources(workspace, feed_server.serve("not.json", b'{"version": "1", "posts": []}', content_type="application/json"), labels=("Odd",))
    assert "Odd: failed: not an RSS or Atom feed, nor a JSON Feed" in fetch(workspace).output


def test_a_broken_feed_is_one_line_and_the_others_still_come_in(workspace: Path, feed_server: FeedServer) -> None:
    broken = feed_server.serve("broken.xml", b"<html><body>This is not a feed</body></html>", content_type="text/html")
    gone = feed_server.url("gone.xml")
    sources(workspace, broken, gone, feed_server.serve("rail.xml", rss(RAIL)), labels=("Broken", "Gone", "Rail"))
    result = fetch(workspace)
    assert result.exit_code == 0, result.output  # some sources failed, not all
    assert "Broken: failed: not an RSS or Atom feed" in result.output
    assert "Gone: failed: the server answered 404" in result.output
    assert "Rail: 2 new item(s)" in result.output
    assert len(inbox_items(workspace)) == 2


def test_when_every_source_fails_the_exit_status_says_so(workspace: Path, feed_server: FeedServer) -> None:
    sources(workspace, feed_server.url("nothing.xml"))
    result = fetch(workspace)
    assert result.exit_code == 1
    assert "127.0.0.1: failed: the server answered 404" in result.output and "no source could be read" in result.output
    assert not (workspace / "inbox.json").exists()


@pytest.mark.slow
def test_a_slow_feed_meets_its_deadline_while_the_others_come_in(workspace: Path, feed_server: FeedServer) -> None:
    slow = feed_server.serve("slow.xml", rss(SOLAR), delay=10)
    sources(workspace, slow, feed_server.serve("rail.xml", rss(RAIL)), labels=("Slow", "Rail"))
    started = time.monotonic()
    result = fetch(workspace, "--timeout", "0.5")
    assert time.monotonic() - started < 3
    assert "Slow: failed: no complete answer within 0.5 seconds" in result.output
    assert "Rail: 2 new item(s)" in result.output and result.exit_code == 0


def test_a_huge_feed_is_cut_at_the_cap(workspace: Path, feed_server: FeedServer) -> None:
    flood = feed_server.serve("flood.xml", rss(SOLAR)[:-20], flood=6_000_000)  # no Content-Length: read until the cap
    declared = feed_server.serve("declared.xml", b"x" * 5_000_001)  # refused on its Content-Length
    sources(workspace, flood, declared, feed_server.serve("rail.xml", rss(RAIL)), labels=("Flood", "Declared", "Rail"))
    result = fetch(workspace)
    assert "Flood: failed: the feed is larger than 5 MB" in result.output
    assert "Declared: failed: the feed is larger than 5 MB" in result.output
    assert "Rail: 2 new item(s)" in result.output


def test_a_redirect_to_a_private_address_is_refused(workspace: Path, feed_server: FeedServer, monkeypatch) -> None:
    # The test server is on loopback itself: count 127.0.0.1 (only) as public here, so that the
    # redirect to the cloud metadata service is what the guarded fetch judges.
    real = guarded_http.is_public
    monkeypatch.setattr(guarded_http, "is_public", lambda address: address == "127.0.0.1" or real(address))
    feed_server.routes["/moved.xml"] = Route(location="http://169.254.169.254/latest/meta-data")
    sources(workspace, feed_server.url("moved.xml"), feed_server.serve("rail.xml", rss(RAIL)), labels=("Moved", "Rail"))
    result = run("sources", "fetch", "--timeout", "3", cwd=workspace)  # no --allow-private
    assert "Moved: failed: 169.254.169.254 is a private or loopback address" in result.output
    assert "Rail: 2 new item(s)" in result.output and result.exit_code == 0


def test_a_loopback_feed_needs_allow_private(workspace: Path, feed_server: FeedServer) -> None:
    sources(workspace, feed_server.serve("rail.xml", rss(RAIL)), labels=("Rail",))
    result = run("sources", "fetch", cwd=workspace)
    assert result.exit_code == 1
    assert "Rail: failed: 127.0.0.1 is a private or loopback address (give --allow-private to fetch it anyway)" in result.output


def test_the_second_fetch_asks_with_the_etag_and_a_304_writes_nothing(workspace: Path, feed_server: FeedServer) -> None:
    sources(workspace, feed_server.serve("rail.xml", rss(RAIL), etag='"v1"'), labels=("Rail",))
    fetch(workspace)
    before = (workspace / "inbox.json").read_bytes()
    assert json.loads(before)["sources"][feed_server.url("rail.xml")]["etag"] == '"v1"'
    result = fetch(workspace)
    assert "Rail: unchanged since the last fetch" in result.output and result.exit_code == 0
    assert feed_server.asked[-1][1].get("If-None-Match") == '"v1"'
    assert (workspace / "inbox.json").read_bytes() == before


def test_a_feed_file_in_the_workspace_is_read(workspace: Path) -> None:
    (workspace / "feeds").mkdir()
    (workspace / "feeds" / "bookmarks.xml").write_bytes(rss(SOLAR))
    sources(workspace, "feeds/bookmarks.xml")
    result = run("sources", "fetch", cwd=workspace, ok=True)
    assert "bookmarks.xml: 1 new item(s)" in result.output


def test_a_feed_file_outside_the_workspace_is_a_settings_error(workspace: Path) -> None:
    sources(workspace, "../elsewhere/feed.xml")
    result = run("sources", "fetch", cwd=workspace)
    assert result.exit_code == 1
    line = (workspace / "newsletter.toml").read_text().splitlines().index('url = "../elsewhere/feed.xml"') + 1
    assert f"newsletter.toml:{line}: sources.0.url: a feed file must be a path inside the workspace" in result.output


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('url = "ftp://feeds.example.org/x"', "sources.0.url: expected an http(s) feed URL or a file path in the workspace"),
        ('url = "https://a.example.org/feed"\nlabl = "A"', "sources.0.labl: is not a known setting; did you mean `label`?"),
        ('label = "A"', "sources.0.url: is required but missing"),
    ],
)
def test_a_mistake_in_a_source_names_its_line(workspace: Path, table: str, expected: str) -> None:
    add_config(workspace, f"[[sources]]\n{table}\n")
    result = run("sources", "fetch", cwd=workspace)
    assert result.exit_code == 1 and expected in result.output and "newsletter.toml:" in result.output


def test_without_sources_fetch_says_how_to_add_one(workspace: Path) -> None:
    result = run("sources", "fetch", cwd=workspace)
    assert result.exit_code == 1 and "has no [[sources]]" in result.output
