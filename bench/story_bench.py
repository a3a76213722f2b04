"""Story drafting benchmark: time to draft each fixture article, and 2,000- and 20,000-word articles as text and HTML.

Run with `.venv/bin/python bench/story_bench.py`. Target on this 2-core machine: at most 200 ms to draft a
2,000-word article and 300 ms for a 20,000-word one (median of warm runs: the article already read, imports done, as in a long session).
The cold `newsletter story show` process time is printed too, for information.
"""

from __future__ import annotations

import argparse
import html
import statistics
import subprocess
import sys
import time
from pathlib import Path

from newsletter.stories.draft import draft_from
from newsletter.stories.fetch import Fetched, fetch

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "stories" / "fixtures"
TARGETS_MS = {2_000: 200.0, 20_000: 300.0}  # article length in words: drafting time target


def median_ms(fetched: Fetched, runs: int) -> float:
    draft_from(fetched)  # warm-up: imports, the segmenter's rules, trafilatura's caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        draft_from(fetched)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def long_article(length: int) -> tuple[str, str]:
    """An article of about `length` words (text and HTML) built from the fixtures' paragraphs, with headings and a list."""
    paragraphs: list[str] = []
    for path in sorted(FIXTURES.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if len(line.split()) >= 25:
                paragraphs.append(line.strip())
    body: list[str] = []
    words = 0
    index = 0
    while words < length:
        if index and index % 4 == 0:
            body.append(f"Part {index // 4} of the story")
        paragraph = paragraphs[index % len(paragraphs)]
        body.append(paragraph)
        words += len(paragraph.split())
        index += 1
    items = ["Two battery ferries, 300 passengers each", "Service starts in April 2027", "The order is worth 48 million euros"]
    text = "A long feature assembled for the benchmark\n" + "\n".join(body[:3]) + "\nKey facts\n"
    text += "\n".join(f"- {item}" for item in items) + "\n" + "\n".join(body[3:]) + "\n"
    tags = "".join(f"<h2>{html.escape(p)}</h2>" if p.startswith("Part ") else f"<p>{html.escape(p)}</p>" for p in body)
    page = (
        "<!doctype html><html lang='en'><head><title>A long feature assembled for the benchmark</title>"
        "<meta property='og:site_name' content='Bench Times'><link rel='canonical' href='https://bench.example.org/long'></head>"
        "<body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav><main><article>"
        f"<h1>A long feature assembled for the benchmark</h1>{tags}"
        "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul></article></main>"
        "<footer>Want this in your inbox? Sign up for our newsletter.</footer></body></html>"
    )
    return text, page


def cold_show_ms(source: Path, runs: int) -> float:
    command = [str(Path(sys.executable).with_name("newsletter")), "story", "show", str(source)]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per article (median reported)")
    args = parser.parse_args()

    print(f"{'article':34} {'words':>6} {'median ms':>10}")
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix in (".txt", ".md", ".html"):
            fetched = fetch(str(path))
            words = len(fetched.data.decode("utf-8").split())
            print(f"{path.name:34} {words:6d} {median_ms(fetched, args.runs):10.1f}")

    verdicts = []
    for length, target in TARGETS_MS.items():
        text, page = long_article(length)
        worst = 0.0
        for kind, data in (("text", text), ("html", page)):
            name = f"{length:,}-word article (.{'txt' if kind == 'text' else 'html'})"
            fetched = Fetched(data=data.encode("utf-8"), kind=kind, name=name, url=None)
            ms = median_ms(fetched, args.runs if length < 10_000 else max(3, args.runs // 4))
            worst = max(worst, ms)
            print(f"{name:34} {len(text.split()):6d} {ms:10.1f}")
        verdicts.append((length, worst, target))
    cold = cold_show_ms(FIXTURES / "solar-coop.html", 5)
    print(f"cold `newsletter story show` (solar-coop.html): {cold:.0f} ms (for information)")
    for length, worst, target in verdicts:
        print(f"{length:,}-word article: {worst:.1f} ms (target <= {target:.0f} ms): {'OK' if worst <= target else 'OVER TARGET'}")
    return 0 if all(worst <= target for _, worst, target in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
