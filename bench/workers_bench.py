"""Workers benchmark: one list sent through the local SendGrid-compatible server by 1, 2 and 4
`newsletter send --worker` processes sharing a PostgreSQL ledger; then the same 100,000-recipient
send by one plain `newsletter send` on SQLite and on PostgreSQL, side by side.

A throw-away PostgreSQL server (Debian's binaries, socket only; see tests/helpers/postgres_server.py) and
the SendGrid-compatible server (tests/helpers/sendgrid_server.py, in this process) run on this machine.
Each worker is its own process, timed from the first start to the last exit; each one's peak RSS
comes from wait4 on that child. Prints the time, the requests and each worker's peak RSS, and the
speed-up over one worker. Target: 2 workers >= 1.7x one worker (on a 2-core machine the workers,
PostgreSQL and the API server share two cores: see the note printed at the end).
With a simulated provider latency of 250 ms a request, the same is done with a tenth as many recipients.
`--small` sends 100,000 recipients by 1, 2 and 4 workers (10,000 with latency) and 10,000 on each database.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository: the tests' SendGrid-compatible and throw-away PostgreSQL servers

from newsletter.db import Database, Location, Server  # noqa: E402
from newsletter.models import Subscriber  # noqa: E402
from tests.helpers.postgres_server import start_server  # noqa: E402
from tests.helpers.sendgrid_server import API_KEY, SendGridServer  # noqa: E402

ISSUE = "issues/2026-11-24.yaml"
API_LATENCY = 0.25  # seconds: a 1,000-recipient request to a real provider takes about this long
SECRET = "bench-secret-Kq3vN8xTz1bR7mW2pL9sYc4dF6"


# Each sender is started by a small launcher that reports the sender's own peak RSS: wait4 on a
# child of this (large) process would count this process's pages too, kept across exec.
LAUNCHER = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


class _Discard(list):
    def append(self, item: object) -> None:  # keep no request bodies: a million recipients would fill memory
        pass


def workspace_in(folder: Path) -> Path:
    workspace = folder / "workspace"
    shutil.copytree(ROOT / "issues", workspace / "issues")
    (workspace / "newsletter.toml").write_text((ROOT / "newsletter.toml").read_text() + '\n[send]\nprovider = "sendgrid"\n')
    return workspace


def fill(location: Location, count: int) -> float:
    start = time.perf_counter()
    with Database(location) as db:
        db.subscribers.upsert(Subscriber(f"reader{n:07d}@example.com", f"Reader {n}") for n in range(count))
    return time.perf_counter() - start


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


@dataclass
class Run:
    wall: float
    requests: int
    peaks: list[float]  # MB, each sender process
    sender_cpu: float  # seconds, all sender processes together
    api_cpu: float  # seconds, the API server (this process)
    machine_busy: float  # share of all cores busy during the run


def send(workspace: Path, server: SendGridServer, database_url: str | None, workers: int) -> Run:
    """One send by `workers` processes (0: one plain `newsletter send`), timed from the first start to the last exit."""
    env = dict(os.environ, SENDGRID_API_HOST=server.url, SENDGRID_API_KEY=API_KEY, NEWSLETTER_SECRET=SECRET)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [sys.executable, "-c", LAUNCHER, str(Path(sys.executable).with_name("newsletter")), "send", ISSUE, *(["--worker"] if workers else [])]
    requests_before = server.requests
    api_before, (busy_before, total_before) = resource.getrusage(resource.RUSAGE_SELF), machine_busy()
    start = time.perf_counter()
    children = [subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(max(workers, 1))]
    peaks, cpu = [], 0.0
    for child in children:
        _, status, usage = os.wait4(child.pid, 0)
        errors = child.stderr.read().decode() if child.stderr else ""
        if os.waitstatus_to_exitcode(status):
            sys.exit(f"a sender failed:\n{errors}")
        peaks.append(int(errors.strip().splitlines()[-1]) / 1024)  # the launcher's last line: its child's peak
        cpu += usage.ru_utime + usage.ru_stime
    wall = time.perf_counter() - start
    api, (busy, total) = resource.getrusage(resource.RUSAGE_SELF), machine_busy()
    api_cpu = api.ru_utime + api.ru_stime - api_before.ru_utime - api_before.ru_stime
    return Run(wall, server.requests - requests_before, peaks, cpu, api_cpu, (busy - busy_before) / max(total - total_before, 1e-9))


def check(location: Location, server: SendGridServer, count: int) -> str:
    with Database(location) as db:
        states = {str(state): n for state, n in db.ledger.counts("42").items() if n}
    duplicates = sum(n - 1 for n in server.delivered.values() if n > 1)
    if states != {"sent": count} or duplicates:
        sys.exit(f"unexpected result: ledger {states}, {duplicates} duplicate deliveries")
    return f"{count:,} sent once each"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100,000 recipients for the workers, 10,000 side by side")
    small = parser.parse_args().small
    many, side_by_side = (100_000, 10_000) if small else (1_000_000, 100_000)
    postgres = start_server()
    try:
        # With the server answering at once, the senders are bound by this machine's two cores; with a
        # provider's latency, by waiting, which is what more workers overlap (it does not depend on size).
        for latency, count in ((0.0, many), (API_LATENCY, many // 10)):
            answer = "answering at once" if not latency else f"answering each request after {latency * 1000:.0f} ms, as a provider across the internet does"
            print(f"{count:,} recipients, batches of 1,000, through the local SendGrid-compatible server {answer}:")
            base = None
            for workers in (1, 2, 4):
                with tempfile.TemporaryDirectory() as folder, SendGridServer() as api:
                    api.bodies = _Discard()
                    api.behaviour.latency = latency
                    url = postgres.new_database()
                    fill(Server(url), count)
                    run = send(workspace_in(Path(folder)), api, url, workers)
                    verdict = check(Server(url), api, count)
                    base = base or run.wall
                    rss = ", ".join(f"{peak:.0f}" for peak in run.peaks)
                    print(
                        f"  {workers} worker(s): {run.wall:6.2f} s, {run.requests:,} requests, x{base / run.wall:.2f} one worker, peak RSS per worker {rss} MB; "
                        f"CPU: senders {run.sender_cpu:.1f} s, API server {run.api_cpu:.1f} s, machine {run.machine_busy:.0%} busy; {verdict}"
                    )
        print(f"{side_by_side:,} recipients, one `newsletter send`, on each database:")
        for kind in ("SQLite", "PostgreSQL"):
            with tempfile.TemporaryDirectory() as folder, SendGridServer() as api:
                api.bodies = _Discard()
                workspace = workspace_in(Path(folder))
                url = postgres.new_database() if kind == "PostgreSQL" else None
                location: Location = Server(url) if url else workspace / "subscribers.db"
                fill(location, side_by_side)
                run = send(workspace, api, url, 0)
                verdict = check(location, api, side_by_side)
                print(f"  {kind:<10}: {run.wall:6.2f} s, {run.requests:,} requests, peak RSS {run.peaks[0]:.0f} MB, sender CPU {run.sender_cpu:.1f} s; {verdict}")
        print(f"(this machine has {os.cpu_count()} cores, shared by the workers, PostgreSQL and the API server in this process)")
    finally:
        postgres.stop()


if __name__ == "__main__":
    main()
