"""Web abuse benchmark: the web app as the README deploys it, attacked. One function per figure;
each measures its own baseline in the same run and prints the attacked figures against it.

- slow clients: GET /healthz answered, and how fast, while 100 connections (each from its own
  loopback address) send a request a byte at a time and never finish it, half stalled in their
  headers, half in a body: behind nginx (the README's configuration and gunicorn command, run by
  tests/deployment.py), and against gunicorn alone for comparison. Baseline: the same health
  checks with no slow client.

`--clients N` and `--probes N` change the attack and the number of health checks.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fixture settings, and the README's deployment as the tests run it

import deployment  # noqa: E402
from conftest import CONFIG, SMALL_ISSUE  # noqa: E402
from deployment import SlowClients, health_checks  # noqa: E402

DRIP_SECONDS = 5.0  # a byte every 5 s: within nginx's 10 s timeouts, so nginx has to keep every slow client
PROBE_SPACING = 0.1
PROBE_TIMEOUT = 5.0


def workspace(folder: Path) -> Path:
    """The tests' fixture workspace with the README's [web] settings for its nginx."""
    root = folder / "workspace"
    (root / "templates").mkdir(parents=True)
    (root / "issues").mkdir()
    (root / "newsletter.toml").write_text(CONFIG + "\n" + deployment.proxy_settings(), encoding="utf-8")
    shutil.copy(SMALL_ISSUE, root / "issues" / "2026-12-01.yaml")
    return root


def summary(checks: list[float | None]) -> tuple[int, float, float]:
    """(answered, p50 ms, p95 ms) of health checks; latencies of the answered ones."""
    answered = [c * 1000 for c in checks if c is not None]
    if not answered:
        return 0, float("nan"), float("nan")
    return len(answered), statistics.median(answered), deployment.percentile(answered, 0.95)


def line(label: str, checks: list[float | None], baseline: list[float | None]) -> str:
    answered, p50, p95 = summary(checks)
    base_answered, base_p50, base_p95 = summary(baseline)
    ratio = f"p50 {p50:.1f} ms (x{p50 / base_p50:.2f}), p95 {p95:.1f} ms (x{p95 / base_p95:.2f})" if answered else "no answer"
    return (
        f"  {label:<16} answered {answered}/{len(checks)} (no slow clients: {base_answered}/{len(baseline)}); "
        f"{ratio} against p50 {base_p50:.1f} ms, p95 {base_p95:.1f} ms"
    )


def slow_clients(clients: int, probes: int) -> list[str]:
    """Health checks answered during `clients` slow clients, behind nginx and against gunicorn alone."""
    with tempfile.TemporaryDirectory() as folder:
        running = deployment.start(workspace(Path(folder)), {"NEWSLETTER_SECRET": secrets.token_urlsafe(32)})
        try:
            assert running.nginx is not None
            tls, nginx, gunicorn = running.tls(), running.nginx_port, running.gunicorn_port
            nginx_baseline = health_checks(nginx, probes, PROBE_SPACING, PROBE_TIMEOUT, tls)
            gunicorn_baseline = health_checks(gunicorn, probes, PROBE_SPACING, PROBE_TIMEOUT)

            with SlowClients(nginx, clients, interval=DRIP_SECONDS, tls=tls) as slow:
                time.sleep(1)  # every slow client has sent its first bytes
                behind_nginx = health_checks(nginx, probes, PROBE_SPACING, PROBE_TIMEOUT, tls)
                held = slow.still_open()
            with SlowClients(gunicorn, clients, interval=DRIP_SECONDS):
                time.sleep(1)
                # Each unanswered check costs PROBE_TIMEOUT: a few say enough.
                alone = health_checks(gunicorn, min(probes, 5), PROBE_SPACING, PROBE_TIMEOUT)
        finally:
            running.stop()
    return [
        f"slow clients: {clients} connections, each sending a byte every {DRIP_SECONDS:.0f} s and never finishing its request "
        f"(half in the headers, half in a body); GET /healthz every {PROBE_SPACING} s, {PROBE_TIMEOUT:.0f} s timeout; gunicorn 2 workers x 4 threads",
        line("behind nginx", behind_nginx, nginx_baseline),
        f"  {'':<16} (nginx still held {held} of the {clients} slow clients at the end)",
        line("gunicorn alone", alone, gunicorn_baseline),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100, help="slow clients (at most 250: one loopback address each)")
    parser.add_argument("--probes", type=int, default=50, help="health checks per measure")
    args = parser.parse_args()
    for figure in (slow_clients(args.clients, args.probes),):
        print("\n".join(figure))


if __name__ == "__main__":
    main()
