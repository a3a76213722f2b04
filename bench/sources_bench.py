"""Sources bench: `newsletter sources fetch` of 50 local feeds (20 items each, served by a local
web server), against a floor measured in the same run: the same 50 feeds fetched one after another
by a plain loop (urllib, no guard) and parsed by feedparser, nothing else.

The fetch goes through everything the command does: the guarded fetch (deadline timers, the peer
checked), 8 feeds at a time, feedparser, each teaser cleaned by nh3, canonical links, the issues
scanned for links that ran, and the inbox written whole. Measured cold (an empty inbox: 1,000 new
items) and warm (the second fetch: every feed answers 304 to its ETag). Median of 3 runs each,
interleaved with the floor's. Printed: the times and the ratios (fetch / floor; under 1 is faster).
    .venv/bin/python bench/sources_bench.py [--feeds N] [--runs N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: the tests' helpers

import feedparser

from newsletter.sources.polling import fetch_sources
from newsletter.workspace.config import load_workspace
from tests.helpers.feeds import Entry, rss, start_feed_server
from tests.helpers.workspace import add_config, make_workspace

ITEMS = 20
SUMMARY = "<p>The line reopens after <b>eight months</b> of work &amp; a new timetable.</p>" * 4


def feed(number: int) -> bytes:
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return rss([
        Entry(f"Story {item} from feed {number}", f"https://feed{number}.example.org/stories/{item}?utm_source=rss", SUMMARY,
              start - dt.timedelta(hours=item))
        for item in range(ITEMS)
    ], title=f"Feed {number}")


def floor(urls: list[str]) -> float:
    """Seconds to fetch and parse every feed, one after another, with nothing around it."""
    started = time.perf_counter()
    for url in urls:
        with urllib.request.urlopen(url, timeout=15) as response:
            parsed = feedparser.parse(io.BytesIO(response.read()))
        assert len(parsed.entries) == ITEMS
    return time.perf_counter() - started


def fetch_all(root: Path) -> float:
    workspace = load_workspace(root)
    started = time.perf_counter()
    run = fetch_sources(workspace, allow_private=True)
    elapsed = time.perf_counter() - started
    assert not any(result.problem for result in run.results), [result.line() for result in run.results if result.problem]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    server, httpd = start_feed_server()
    urls = [server.serve(f"feed{n}.xml", feed(n), etag=f'"v{n}"') for n in range(options.feeds)]
    folder = Path(tempfile.mkdtemp(prefix="sources-bench-"))
    try:
        root = make_workspace(folder / "workspace")
        add_config(root, "\n".join(f'[[sources]]\nurl = "{url}"\nlabel = "Feed {n}"\n' for n, url in enumerate(urls)))
        floor(urls[:2])  # warm-up: imports, the first connections
        fetch_all(root)
        floors, colds, warms = [], [], []
        for _ in range(options.runs):
            floors.append(floor(urls))
            (root / "inbox.json").unlink(missing_ok=True)
            colds.append(fetch_all(root))
            warms.append(fetch_all(root))  # every feed answers 304
        base, cold, warm = (statistics.median(times) for times in (floors, colds, warms))
        print(f"{options.feeds} feeds of {ITEMS} items, median of {options.runs}:")
        print(f"  floor (plain loop: urllib + feedparser): {base * 1000:7.0f} ms")
        print(f"  sources fetch, empty inbox:              {cold * 1000:7.0f} ms  x{cold / base:.2f}")
        print(f"  sources fetch, every feed 304:           {warm * 1000:7.0f} ms  x{warm / base:.2f}")
    finally:
        server.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
