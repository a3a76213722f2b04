"""Web abuse benchmark: the web app as the README deploys it, attacked. One function per figure;
each measures its own baseline in the same run and prints the attacked figures against it.

- slow clients: GET /healthz answered, and how fast, while 100 connections (each from its own
  loopback address) send a request a byte at a time and never finish it, half stalled in their
  headers, half in a body: behind nginx (the README's configuration and gunicorn command, run by
  tests/helpers/deployment.py), and against gunicorn alone for comparison. Baseline: the same health
  checks with no slow client.

- signup timing: 200 JSON signups alternating between new addresses and subscribed ones, timed
  by the client, with confirmations going out through an SMTP server that takes 300 ms a message
  (as the report measured); a threshold trained on the first half classifies the second half. The
  figure is its accuracy; the baseline, the same classifier on two groups of new addresses (what
  chance gives on this machine), and the 300 ms a confirmation would add if it were sent inline.
- one-click across a PostgreSQL restart: one-click unsubscribes posted one after another to the
  app under gunicorn (2 workers) on PostgreSQL, the server restarted after a quarter of them;
  answered 200, and readers left subscribed. Baseline: the same run with no restart.

`--clients N` and `--probes N` change the slow-client attack and the number of health checks;
`--only NAME` runs one figure (slow-clients, signup-timing, restart).
"""

from __future__ import annotations

import argparse
import http.client
import secrets
import shutil
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository: the tests' helpers (fixture settings, the README's deployment, the probes)

from newsletter.db import Database, Server  # noqa: E402
from newsletter.mail.links import Purpose, make_token  # noqa: E402
from newsletter.models import Status, Subscriber  # noqa: E402
from tests.helpers import deployment  # noqa: E402
from tests.helpers.deployment import SlowClients, health_checks  # noqa: E402
from tests.helpers.probes import Probe, classifier_accuracy, probe_signups, slow_smtp  # noqa: E402
from tests.helpers.smtp_server import smtp_settings  # noqa: E402
from tests.helpers.workspace import CONFIG, SMALL_ISSUE  # noqa: E402

DRIP_SECONDS = 5.0  # a byte every 5 s: within nginx's 10 s timeouts, so nginx has to keep every slow client
PROBE_SPACING = 0.1
PROBE_TIMEOUT = 5.0
SMTP_SECONDS = 0.3  # the slow mail server of the report: 297 ms a message
TIMING_PROBES = 200
ONE_CLICKS = 200


def workspace(folder: Path, extra_web: str = "", extra: str = "") -> Path:
    """The tests' fixture workspace with the README's [web] settings for its nginx (plus `extra_web`
    lines in that table, and `extra` tables)."""
    root = folder / "workspace"
    (root / "templates").mkdir(parents=True)
    (root / "issues").mkdir()
    (root / "newsletter.toml").write_text(CONFIG + "\n" + deployment.proxy_settings() + "\n" + extra_web + "\n" + extra, encoding="utf-8")
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def inline_send_ms(port: int) -> float:
    """What sending one confirmation through the slow server takes: what a request that sent it
    inline would have waited."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail("editor@fixture.example.org", ["someone@example.com"], b"Subject: x\r\n\r\nx\r\n")
    return (time.perf_counter() - started) * 1000


def signup_timing(probes: int) -> list[str]:
    """How well a signup's answer time tells a new address from a subscribed one."""
    pairs = probes // 2
    with slow_smtp(SMTP_SECONDS) as (port, _), tempfile.TemporaryDirectory() as folder:
        root = workspace(Path(folder), 'subscribe_rate = "100000/minute"', smtp_settings(port))
        known = [f"known{n:04d}@example.com" for n in range(pairs)]
        with Database(root / "subscribers.db") as db:
            db.subscribers.upsert(Subscriber(address, None, {}, Status.ACTIVE) for address in known)
        running = deployment.start(root, {"NEWSLETTER_SECRET": secrets.token_urlsafe(32)}, with_nginx=False)
        base = f"http://127.0.0.1:{running.gunicorn_port}"
        try:
            probe_signups(base, [f"warm{n}@example.com" for n in range(10)], [f"warm{n}b@example.com" for n in range(10)])  # warm both workers
            attacked = probe_signups(base, [f"new{n:04d}@example.com" for n in range(pairs)], known)
            chance = probe_signups(base, [f"a{n:04d}@example.com" for n in range(pairs)], [f"b{n:04d}@example.com" for n in range(pairs)])
        finally:
            running.stop()
        inline = inline_send_ms(port)

    def medians(found: list[Probe]) -> str:
        new = statistics.median(p.seconds for p in found if not p.subscribed) * 1000
        old = statistics.median(p.seconds for p in found if p.subscribed) * 1000
        return f"p50 {new:.1f} ms new, {old:.1f} ms subscribed"

    accuracy, baseline = classifier_accuracy(attacked), classifier_accuracy(chance)
    return [
        f"signup timing: {probes} JSON signups alternating new and subscribed addresses, confirmations through an SMTP server taking "
        f"{SMTP_SECONDS * 1000:.0f} ms a message; a threshold trained on the first half classifies the second half (target: at most 60%)",
        f"  new vs subscribed   accuracy {accuracy:.0%} ({medians(attacked)})",
        f"  new vs new (chance) accuracy {baseline:.0%} ({medians(chance)}); ratio x{accuracy / baseline:.2f}",
        f"  a confirmation sent inside the request would add {inline:.0f} ms to each new address's answer",
    ]


def one_clicks(port: int, tokens: list[str], restart_after: int | None, restart: object) -> list[int]:
    """Post each one-click in turn (a new connection each, as mail clients do); restart the
    database server after `restart_after` of them. The statuses, 0 for no answer."""
    statuses = []
    for index, token in enumerate(tokens):
        if index == restart_after:
            restart()  # type: ignore[operator]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            connection.request("POST", f"/unsubscribe?token={token}", b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})
            statuses.append(connection.getresponse().status)
        except OSError:
            statuses.append(0)
        finally:
            connection.close()
    return statuses


def restart(count: int) -> list[str]:
    """One-click unsubscribes across a PostgreSQL server restart, against the same with none."""
    from tests.helpers import postgres_server

    if postgres_server.binaries() is None:
        return ["one-click across a PostgreSQL restart: skipped (apt-get install postgresql)"]
    server = postgres_server.start_server()
    secret = secrets.token_urlsafe(32)
    try:
        url = server.new_database()
        readers = [f"reader{n:04d}@example.com" for n in range(2 * count)]
        with Database(Server(url)) as db:
            db.subscribers.upsert(Subscriber(address, None, {}, Status.ACTIVE) for address in readers)
            tokens = [make_token(db.subscribers.get(address).public_id, Purpose.UNSUBSCRIBE, secret.encode()) for address in readers]  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as folder:
            running = deployment.start(workspace(Path(folder)), {"NEWSLETTER_SECRET": secret, "DATABASE_URL": url}, with_nginx=False)
            try:
                port = running.gunicorn_port
                one_clicks(port, tokens[:20], None, None)  # fill both workers' pools, as a day of traffic would
                started = time.perf_counter()
                calm = one_clicks(port, tokens[20:count], None, None)
                calm_seconds = time.perf_counter() - started
                started = time.perf_counter()
                stormy = one_clicks(port, tokens[count:], count // 4, server.restart)
                stormy_seconds = time.perf_counter() - started
            finally:
                running.stop()
        with Database(Server(url)) as db:
            left = sum(1 for address in readers if db.subscribers.get(address).status != Status.UNSUBSCRIBED)  # type: ignore[union-attr]
    finally:
        server.stop()

    def shown(statuses: list[int], seconds: float) -> str:
        ok = statuses.count(200)
        others = sorted({s for s in statuses if s != 200})
        return f"{ok}/{len(statuses)} answered 200 ({ok / len(statuses):.0%}){', others: ' + str(others) if others else ''} in {seconds:.1f} s"

    rate = (stormy.count(200) / len(stormy)) / (calm.count(200) / len(calm)) if calm.count(200) else float("nan")
    return [
        f"one-click across a PostgreSQL restart: one-click unsubscribes one after another, gunicorn 2 workers on PostgreSQL, the server restarted after {count // 4}",
        f"  with a restart    {shown(stormy, stormy_seconds)}; ratio x{rate:.2f}",
        f"  no restart        {shown(calm, calm_seconds)}",
        f"  readers still subscribed afterwards: {left} of {len(readers)}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100, help="slow clients (at most 250: one loopback address each)")
    parser.add_argument("--probes", type=int, default=50, help="health checks per measure")
    parser.add_argument("--only", choices=["slow-clients", "signup-timing", "restart"], help="run one figure")
    args = parser.parse_args()
    figures = {
        "slow-clients": lambda: slow_clients(args.clients, args.probes),
        "signup-timing": lambda: signup_timing(TIMING_PROBES),
        "restart": lambda: restart(ONE_CLICKS),
    }
    for name, figure in figures.items():
        if args.only in (None, name):
            print("\n".join(figure()), flush=True)


if __name__ == "__main__":
    main()
