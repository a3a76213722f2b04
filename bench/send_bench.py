"""Send benchmark: 100,000 then 1,000,000 subscribers through the local SendGrid-compatible server.

`newsletter send` runs as its own process (as an editor runs it), batches of 1000 (the default);
this script serves the API and prints, for each size, the sender's wall time, the requests it made,
its own peak memory (RSS, from wait4 on that one child), the recipients delivered and the time per
recipient; then how the time per recipient grows from the small run to the large one.
Targets on a 2-core machine: 1,000,000 recipients in <= 40 s, <= 1,000 requests, <= 150 MB peak RSS,
and (time per recipient at 1M) / (time per recipient at 100k) <= 1.3.
`--small` sends to 10,000 and 100,000 instead, for a quick check (the targets are for the full run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository: the SendGrid-compatible server the tests use

from newsletter.db import Database  # noqa: E402
from newsletter.models import Subscriber  # noqa: E402
from tests.helpers.sendgrid_server import API_KEY, SendGridServer  # noqa: E402


class _Discard(list):
    def append(self, item: object) -> None:  # the server keeps no request bodies: 1M recipients would
        pass  # hold GBs in this process and slow its answers with garbage collection


def run_child(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one process; wait4 gives that child's own figures."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if child.returncode:
            sys.exit(f"{' '.join(command)} failed ({child.returncode}):\n{err.read().decode()}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def run_send(count: int) -> tuple[float, float, int, float, int]:
    """(wall s, CPU s, requests, peak RSS MB, delivered) for one send to `count` subscribers."""
    with tempfile.TemporaryDirectory() as folder, SendGridServer() as server:
        workspace = Path(folder)
        shutil.copytree(ROOT / "issues", workspace / "issues")
        config = (ROOT / "newsletter.toml").read_text() + '\n[send]\nprovider = "sendgrid"\n'
        (workspace / "newsletter.toml").write_text(config)
        with Database(workspace / "subscribers.db") as db:  # built before the clock starts
            db.subscribers.upsert(Subscriber(f"reader{n:07d}@example.com", f"Reader {n}") for n in range(count))
        server.bodies = _Discard()
        env = dict(os.environ, SENDGRID_API_HOST=server.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET="bench-secret-Kq3vN8xTz1bR7mW2pL9sYc4dF6")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [str(Path(sys.executable).with_name("newsletter")), "send", "issues/2026-11-24.yaml"]
        wall, cpu, peak, stdout = run_child(command, workspace, env)
        if f"Ledger: {count} sent" not in stdout:
            sys.exit(f"unexpected result for {count:,} recipients:\n{stdout}")
        delivered = sum(server.delivered.values())
        if len(server.delivered) != delivered:
            print(f"  ({delivered - len(server.delivered):,} duplicate deliveries)")
        return wall, cpu, server.requests, peak, delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 and 100,000 recipients (a quick check)")
    sizes = (10_000, 100_000) if parser.parse_args().small else (100_000, 1_000_000)

    per_recipient = []
    for count in sizes:
        wall, cpu, requests, peak, delivered = run_send(count)
        per_recipient.append(wall / count)
        line = f"{count:>9,} recipients: {wall:6.2f} s (CPU {cpu:.1f} s), {requests} requests, peak RSS {peak:.0f} MB, "
        line += f"{delivered:,} delivered, {wall / count * 1e6:.1f} us/recipient"
        print(line + ("   (targets: <= 40 s, <= 1,000 requests, <= 150 MB)" if count == 1_000_000 else ""))
    ratio = per_recipient[1] / per_recipient[0]
    print(f"per-recipient time {sizes[1]:,} / {sizes[0]:,}: {ratio:.2f}   (target: <= 1.3 for 1M / 100k)")


if __name__ == "__main__":
    main()
