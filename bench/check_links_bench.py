"""`check --links` benchmark: an issue of 50 links (48 stories, the sponsor, a link in the intro) on
a local server that answers each request after a short delay, as a distant site would.

Run with `.venv/bin/python bench/check_links_bench.py`. Printed against a floor measured in the same
run: the same 50 URLs fetched with the same requests (HEAD, then a GET of the first KB for an HTML
page) by plain urllib in a pool of the same size, without the guard, the judging or the findings.
Target: at most 1.5x the floor (the guard's DNS check and deadline timers, and locating findings).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: the tests' helpers

from newsletter.issue.loading import load_issue
from newsletter.links.check import POOL, check_links
from newsletter.links.collect import issue_links
from tests.helpers.link_server import Route, issue_with_links, start_link_server, stop_link_server

LINKS = 50
TARGET_RATIO = 1.5


def plain_fetch(url: str) -> None:
    """The floor's work for one link: what probe.py asks, without its guard."""
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10) as response:
        html = response.headers.get_content_type() == "text/html"
    if html:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read1(1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds each request waits before its answer")
    args = parser.parse_args()
    state, server = start_link_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder)
            (workspace / "issues").mkdir()
            paths = [f"/story/{n}" for n in range(LINKS - 2)]
            for page in [*paths, "/sponsor", "/intro"]:
                state.routes[page] = Route(delay=args.delay)
            issue_file = issue_with_links(workspace, state, *paths)
            issue = load_issue(issue_file)
            urls = [link.url for link in issue_links(issue)]
            assert len(urls) == LINKS, len(urls)
            checked, floor = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                result = check_links(issue, issue_file, allow_private=True)
                checked.append(time.perf_counter() - start)
                assert result.fetched == LINKS and not result.findings, result.findings
                start = time.perf_counter()
                with ThreadPoolExecutor(max_workers=POOL) as pool:
                    list(pool.map(plain_fetch, urls))
                floor.append(time.perf_counter() - start)
    finally:
        stop_link_server(state, server)
    ours, plain = statistics.median(checked), statistics.median(floor)
    ratio = ours / plain
    print(f"check --links, {LINKS} links, {POOL} at a time, {args.delay * 1000:.0f} ms a request: median of {args.runs} runs")
    print(f"  check_links:        {ours * 1000:7.1f} ms")
    print(f"  floor (plain pool): {plain * 1000:7.1f} ms")
    print(f"  ratio:              {ratio:7.2f}x (target at most {TARGET_RATIO}x) {'OK' if ratio <= TARGET_RATIO else 'OVER'}")


if __name__ == "__main__":
    main()
