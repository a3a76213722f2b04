"""Render benchmark: warm render times, the cold `newsletter build` process, and HTML sizes.

Run with `make bench` (or `.venv/bin/python bench/render_bench.py`). Targets on a 2-core machine:
warm render of a 10-story issue <= 6 ms (median); cold `newsletter build` <= 300 ms; the sample
<= 40 KB, <= 1.8 KB per extra story, 25 stories < 70 KB (standard) and < 45 KB (digest).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.issue.loading import load_issue
from newsletter.models import Issue, Section
from newsletter.render.pipeline import Renderer
from newsletter.workspace.config import load_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"


def with_stories(issue: Issue, count: int) -> Issue:
    """The sample issue with `count` stories, cycling its own (realistic) stories over 3 sections."""
    stories = [issue.stories[i % len(issue.stories)] for i in range(count)]
    sections = [
        Section(title=f"Section {n + 1}", stories=stories[n::3]) for n in range(min(3, count)) if stories[n::3]
    ]
    return issue.model_copy(update={"sections": sections})


def warm_ms(renderer: Renderer, issue: Issue, runs: int) -> float:
    renderer.render(issue)  # warm-up: templates compiled, caches filled
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        renderer.render(issue)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def cold_build_ms(runs: int) -> tuple[float, float]:
    """Median and best wall time of `newsletter build` as a fresh process."""
    command = [str(Path(sys.executable).with_name("newsletter")), "build", str(SAMPLE)]
    # As on an editor's machine: Python may cache compiled modules (some sandboxes turn that off).
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as out:
        command += ["--out", out]
        subprocess.run(command, check=True, capture_output=True, env=env)  # first run writes bytecode caches
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="warm renders per measurement")
    parser.add_argument("--cold-runs", type=int, default=20, help="cold build processes")
    args = parser.parse_args()
    if not shutil.which("newsletter", path=str(Path(sys.executable).parent)):
        sys.exit("run inside the project's virtualenv (make bench)")

    workspace = load_workspace(ROOT)
    renderer = Renderer(workspace)
    sample = load_issue(SAMPLE)
    cases = {
        f"sample issue ({len(sample.stories)} stories)": sample,
        "10 stories": with_stories(sample, 10),
        "25 stories": with_stories(sample, 25),
    }
    print(f"warm render (email HTML + text + web page), median of {args.runs}:")
    for name, issue in cases.items():
        print(f"  {name:28} {warm_ms(renderer, issue, args.runs):6.1f} ms")

    median, best = cold_build_ms(args.cold_runs)
    print(f"cold `newsletter build` of the sample, whole process, median of {args.cold_runs}: {median:.0f} ms (best {best:.0f} ms)")

    print("HTML size (email.html, UTF-8 bytes):")
    sizes = {count: renderer.render(with_stories(sample, count)).html_bytes for count in (1, 10, 25)}
    sizes_sample = renderer.render(sample).html_bytes
    per_story = (sizes[25] - sizes[1]) / 24
    print(f"  sample issue                 {sizes_sample / 1000:6.1f} KB")
    for count, size in sizes.items():
        print(f"  {count:2} stories                   {size / 1000:6.1f} KB")
    print(f"  base (no story)              {(sizes[1] - per_story) / 1000:6.1f} KB")
    print(f"  per additional story         {per_story / 1000:6.2f} KB")
    digest = renderer.render(with_stories(sample, 25).model_copy(update={"layout": "digest"})).html_bytes
    print(f"  25 stories, digest layout    {digest / 1000:6.1f} KB")


if __name__ == "__main__":
    main()
