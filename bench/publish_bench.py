"""Publish benchmark: the web archive of 500 issues from scratch, then again after one new issue.

Run with `.venv/bin/python bench/publish_bench.py`. Targets on a 2-core machine: from scratch
(nothing on disk, no cache) <= 10 s; after one new issue (only its page, its neighbour's, the
index, the feed and the sitemap change) <= 1 s. Both are timed in-process (`publish()`), and the
incremental run also as a whole `newsletter publish` process (start-up included) for reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.publish import publish
from newsletter.workspace.config import load_workspace

ROOT = Path(__file__).resolve().parent.parent
SMALL_ISSUE = ROOT / "tests" / "fixtures" / "small-issue.yaml"
CONFIG = ROOT / "newsletter.toml"
FIRST_DAY = dt.date(2016, 1, 4)
SCRATCH_TARGET = 10.0
INCREMENTAL_TARGET = 1.0


def write_issue(folder: Path, number: int) -> None:
    """The small fixture issue as issue `number`, a week after the one before, marked publish: true."""
    day = FIRST_DAY + dt.timedelta(weeks=number - 1)
    source = SMALL_ISSUE.read_text(encoding="utf-8")
    source = re.sub(r"(?m)^number: .*$", f"number: {number}", source)
    source = re.sub(r"(?m)^date: .*$", f"date: {day.isoformat()}", source)
    source = re.sub(r"(?m)^subject: .*$", f'subject: "Issue {number}: robots learn to fold laundry"', source)
    (folder / f"{day.isoformat()}.yaml").write_text(source + "publish: true\n", encoding="utf-8")


def verdict(seconds: float, target: float) -> str:
    return "PASS" if seconds <= target else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as temp:
        root = Path(temp)
        (root / "issues").mkdir()
        shutil.copy(CONFIG, root / "newsletter.toml")
        for number in range(1, args.issues + 1):
            write_issue(root / "issues", number)
        workspace = load_workspace(root)

        start = time.perf_counter()
        first = publish(workspace)
        scratch = time.perf_counter() - start
        print(f"from scratch, {args.issues} issues: {scratch:6.2f} s  ({len(first.written)} files written)  target <= {SCRATCH_TARGET:.0f} s  {verdict(scratch, SCRATCH_TARGET)}")

        start = time.perf_counter()
        again = publish(workspace)
        unchanged = time.perf_counter() - start
        print(f"again, nothing changed:       {unchanged:6.2f} s  ({len(again.written)} files written)")

        write_issue(root / "issues", args.issues + 1)
        start = time.perf_counter()
        incremental = publish(workspace)
        seconds = time.perf_counter() - start
        names = ", ".join(path.name for path in incremental.written)
        print(f"after one new issue:          {seconds:6.2f} s  ({names})  target <= {INCREMENTAL_TARGET:.0f} s  {verdict(seconds, INCREMENTAL_TARGET)}")

        write_issue(root / "issues", args.issues + 2)
        command = [str(Path(sys.executable).with_name("newsletter")), "publish"]
        start = time.perf_counter()
        subprocess.run(command, cwd=root, check=True, capture_output=True)
        process = time.perf_counter() - start
        print(f"after one more, as a process: {process:6.2f} s  (`newsletter publish`, start-up included; for reference)")


if __name__ == "__main__":
    main()
