"""Outbox benchmark: `newsletter send` of the sample issue to 10,000 subscribers with the default
provider (outbox: one Maildir file per message), as a whole process.

Prints messages per second for the whole process, and for the sending alone (the send's wall time
minus that of `newsletter send --dry-run` on the same workspace: start-up, config, issue, count).
Median of 3 runs, each in a fresh workspace. Target on a 2-core machine: >= 1,500 messages/s.
Deleting many files leaves this disk slow to create files for tens of seconds, so no outbox is
removed before a measurement: every run gets a new folder, and all are removed at the very end.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.db import Database
from newsletter.models import Subscriber

ROOT = Path(__file__).resolve().parent.parent
COUNT = 10_000
RUNS = 3


def timed(command: list[str], workspace: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one process."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=workspace, env=env, check=True, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime, done.stdout


def main() -> None:
    env = dict(os.environ, NEWSLETTER_SECRET="bench-secret-Kq3vN8xTz1bR7mW2pL9sYc4dF6")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [str(Path(sys.executable).with_name("newsletter")), "send", "issues/2026-11-24.yaml"]
    dry_runs, sends, cpus = [], [], []
    with tempfile.TemporaryDirectory() as folder:  # removed at the end, after every measurement
        workspaces = [Path(folder) / f"run{n}" for n in range(RUNS)]
        for workspace in workspaces:  # all built before any measurement
            shutil.copytree(ROOT / "issues", workspace / "issues")
            shutil.copy(ROOT / "newsletter.toml", workspace)
            with Database(workspace / "subscribers.db") as db:
                db.subscribers.upsert(Subscriber(f"reader{n:07d}@example.com", f"Reader {n}") for n in range(COUNT))
        for workspace in workspaces:
            dry_runs.append(timed([*command, "--dry-run"], workspace, env)[0])
            wall, cpu, stdout = timed(command, workspace, env)
            written = len(os.listdir(workspace / "outbox" / "new"))
            if f"Ledger: {COUNT} sent" not in stdout or written != COUNT:
                sys.exit(f"unexpected result ({written} files in outbox/new):\n{stdout}")
            sends.append(wall)
            cpus.append(cpu)
        send, dry = statistics.median(sends), statistics.median(dry_runs)
        print(f"{COUNT:,} messages to the outbox, median of {RUNS}: send {send:.2f} s, dry run {dry:.2f} s")
        print(f"  whole process:       {COUNT / send:6,.0f} messages/s   (target: >= 1,500)")
        print(f"  sending (minus dry): {COUNT / (send - dry):6,.0f} messages/s")
        print("  runs: " + ", ".join(f"{wall:.2f} s (CPU {cpu:.1f} s)" for wall, cpu in zip(sends, cpus, strict=True)))


if __name__ == "__main__":
    main()
