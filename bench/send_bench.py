"""Send benchmark: 100,000 subscribers through the local SendGrid-compatible server.

`newsletter send` runs as its own process (as an editor runs it); this script serves the API and
prints the sender's wall time, the requests it made and its peak memory (RSS). For comparison it
then sends to 2,000 subscribers with one request per recipient (batch_size = 1).
Targets on a 2-core machine: 100,000 recipients in <= 10 s, <= 100 requests, <= 150 MB peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "send"))  # the SendGrid-compatible server used by the tests

from sendgrid_server import API_KEY, SendGridServer  # noqa: E402

from newsletter.db import Database
from newsletter.models import Subscriber  # noqa: E402


def run_send(count: int, batch_size: int) -> tuple[float, int, float, int]:
    """(wall seconds, requests, peak RSS in MB, delivered) for one send to `count` subscribers."""
    with tempfile.TemporaryDirectory() as folder, SendGridServer() as server:
        workspace = Path(folder)
        shutil.copytree(ROOT / "issues", workspace / "issues")
        config = (ROOT / "newsletter.toml").read_text()
        config += f'\n[send]\nprovider = "sendgrid"\nbatch_size = {batch_size}\n'
        (workspace / "newsletter.toml").write_text(config)
        with Database(workspace / "subscribers.db") as db:
            db.subscribers.upsert(Subscriber(f"reader{n:06d}@example.com", f"Reader {n}") for n in range(count))
        env = dict(os.environ, SENDGRID_API_HOST=server.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET="bench-secret-0123456789")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [str(Path(sys.executable).with_name("newsletter")), "send", "issues/2026-11-24.yaml"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(command, cwd=workspace, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if peak <= before:
            print("  (peak RSS of this run is not above an earlier child's; showing the larger figure)")
        return wall, server.requests, peak / 1024, sum(server.delivered.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--one-by-one", type=int, default=2_000)
    args = parser.parse_args()

    wall, requests, peak, delivered = run_send(args.recipients, 1000)
    print(f"{args.recipients:,} recipients, batches of 1000: {wall:.2f} s, {requests} requests, peak RSS {peak:.0f} MB, {delivered:,} delivered")
    wall1, requests1, _, delivered1 = run_send(args.one_by_one, 1)
    print(f"{args.one_by_one:,} recipients, one request each:  {wall1:.2f} s, {requests1} requests, {delivered1:,} delivered")
    print(f"  per recipient: {wall / args.recipients * 1e6:.0f} us batched vs {wall1 / args.one_by_one * 1e6:.0f} us one by one")


if __name__ == "__main__":
    main()
