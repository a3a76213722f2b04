"""Providers benchmark: the same 100,000 recipients sent through each provider's local server
(SendGrid, Amazon SES, Mailgun, Postmark, Resend), as whole `newsletter send` processes, the
providers interleaved in one run (their order reversed every other round) so that a busy machine
slows them alike. Prints per provider the median wall time, the requests it made, the peak RSS of
the `newsletter send` process and, pair by pair with the SendGrid run of the same round, its ratio
to the SendGrid path; or, where the provider's own rate limit is the bound (SES's MaxSendRate,
Resend's requests per second), that bound instead of a ratio.

A provider takes part when tests/helpers/<name>_server.py exists (a note says which do not). That
module gives what the bench needs: its `<Name>Server` class (or `bench_server()` when it needs other
arguments), `bench_environment(server)` (the variables a send needs) and `bench_settings(server)`
(newsletter.toml text), the server's `.delivered` (a Counter) and `.requests`, and optionally
`bench_rate_bound(server)`, which names the provider's rate limit when it bounds the run.

`--recipients N` (default 100,000), `--only NAME` (that provider and SendGrid, the reference),
`--runs N` rounds (default 3).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: send_bench's whole-process runner
from send_bench import ROOT, run_child  # send_bench puts the repository on the path

from newsletter.db import Database
from newsletter.models import Subscriber
from newsletter.providers import NAMES

REFERENCE = "sendgrid"
WITHOUT_SERVER = ("outbox", "smtp")  # a folder, and SMTP's own bench (smtp_bench.py)
ISSUE = "issues/2026-11-24.yaml"
SECRET = "bench-secret-Kq3vN8xTz1bR7mW2pL9sYc4dF6"


@dataclass
class Figures:
    """One provider's runs."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)  # the send process's own CPU seconds (not the local server's)
    requests: list[int] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)  # MB
    bound: str | None = None  # the provider's own rate limit, when it bounds the run


def server_modules(only: str | None) -> dict[str, ModuleType]:
    """The providers with a local server, SendGrid first; a note for each without one."""
    wanted = [name for name in NAMES if name not in WITHOUT_SERVER and (only is None or name in (only, REFERENCE))]
    if only is not None and only not in NAMES:
        sys.exit(f"--only {only}: not a provider ({', '.join(name for name in NAMES if name not in WITHOUT_SERVER)})")
    found = {}
    for name in sorted(wanted, key=lambda name: name != REFERENCE):
        try:
            found[name] = importlib.import_module(f"tests.helpers.{name}_server")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.helpers.{name}_server":
                raise
            print(f"({name}: no tests/helpers/{name}_server.py yet, left out)")
    return found


def start_server(name: str, module: ModuleType) -> Any:
    """The provider's server, running: `bench_server()` if the module has one, else its class."""
    if hasattr(module, "bench_server"):
        return module.bench_server().__enter__()
    (server_class,) = [value for key, value in vars(module).items() if key.lower() == f"{name}server" and isinstance(value, type)]
    return server_class().__enter__()


def subscribers_file(folder: Path, count: int) -> Path:
    """One database of `count` active subscribers, copied into each run's workspace."""
    path = folder / "subscribers.db"
    with Database(path) as db:
        db.subscribers.upsert(Subscriber(f"reader{n:07d}@example.com", f"Reader {n}") for n in range(count))
    return path


def run_send(name: str, module: ModuleType, workspace: Path, subscribers: Path, count: int) -> tuple[float, float, int, float, str | None]:
    """(wall s, CPU s, requests, peak RSS MB, the rate bound if any) of one send to `count` recipients."""
    server = start_server(name, module)
    try:
        shutil.copytree(ROOT / "issues", workspace / "issues")
        settings = (ROOT / "newsletter.toml").read_text(encoding="utf-8") + "\n" + module.bench_settings(server)
        (workspace / "newsletter.toml").write_text(settings, encoding="utf-8")
        shutil.copy(subscribers, workspace / "subscribers.db")
        env = dict(os.environ, **module.bench_environment(server), NEWSLETTER_SECRET=SECRET, PYTHONPATH=str(ROOT))  # this checkout's code
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        wall, cpu, peak, stdout = run_child([sys.executable, "-m", "newsletter", "send", ISSUE], workspace, env)
        delivered = server.delivered
        if f"Ledger: {count} sent" not in stdout or len(delivered) != count or sum(delivered.values()) != count:
            sys.exit(f"{name}: {sum(delivered.values()):,} copies to {len(delivered):,} addresses for {count:,} recipients:\n{stdout}")
        bound = module.bench_rate_bound(server) if hasattr(module, "bench_rate_bound") else None
        return wall, cpu, int(server.requests), peak, bound
    finally:
        server.__exit__(None, None, None)


def measure(modules: dict[str, ModuleType], count: int, runs: int) -> dict[str, Figures]:
    figures = {name: Figures() for name in modules}
    with tempfile.TemporaryDirectory() as folder:  # every run sends from a new workspace; all removed at the end
        root = Path(folder)
        subscribers = subscribers_file(root, count)  # built before any clock starts
        for round_number in range(runs):
            order = list(modules) if round_number % 2 == 0 else list(reversed(modules))
            for name in order:
                wall, cpu, requests, peak, bound = run_send(name, modules[name], root / f"{name}-{round_number}", subscribers, count)
                found = figures[name]
                found.walls.append(wall)
                found.cpus.append(cpu)
                found.requests.append(requests)
                found.peaks.append(peak)
                found.bound = bound
                print(f"  round {round_number + 1}, {name}: {wall:.2f} s", flush=True)
    return figures


def comparison(name: str, found: Figures, reference: Figures | None) -> str:
    """The ratios to SendGrid's path (medians of the round-by-round ratios): the wall time, which
    includes the local server's work on the same two cores, and the send process's own CPU time,
    which is the tool's alone; and the provider's own bound where it has one."""
    bound = f"; bound by {found.bound}" if found.bound else ""
    if name == REFERENCE:
        return "the reference"
    if reference is None:
        return "no SendGrid run to compare with" + bound
    walls = [wall / sendgrid for wall, sendgrid in zip(found.walls, reference.walls, strict=True)]
    cpus = [cpu / sendgrid for cpu, sendgrid in zip(found.cpus, reference.cpus, strict=True)]
    return f"x{statistics.median(walls):.2f} of SendGrid's time, x{statistics.median(cpus):.2f} of its CPU{bound}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--only", metavar="NAME", help="this provider (and SendGrid, the reference) alone")
    parser.add_argument("--runs", type=int, default=3, help="rounds, each sending through every provider once")
    args = parser.parse_args()
    modules = server_modules(args.only)
    figures = measure(modules, args.recipients, args.runs)
    print(f"{args.recipients:,} recipients, median of {args.runs} interleaved round(s):")
    for name, found in figures.items():
        print(
            f"  {name:<9} {statistics.median(found.walls):7.2f} s ({min(found.walls):.2f} to {max(found.walls):.2f}), "
            f"CPU {statistics.median(found.cpus):.2f} s, {statistics.median(found.requests):,.0f} requests, peak RSS {statistics.median(found.peaks):.0f} MB, "
            + comparison(name, found, figures.get(REFERENCE))
        )


if __name__ == "__main__":
    main()
