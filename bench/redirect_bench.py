"""Click redirect benchmark: the tool's own redirect (GET /r/…) as the README deploys the web app
(`newsletter serve --production`: gunicorn with newsletter/web/gunicorn_conf.py, 2 workers x 4
threads, behind the README's nginx over TLS), at a steady 200 requests/s for 60 s.

The load is open-loop: request n is due at start + n/rate whatever the answers before it did, and
its latency counts from when it was due (a slow answer delays the next ones, and they pay for it).
Each request is a genuine tracked link of the sample issue (a random story or the sponsor) of one
of 1,000 readers, with a browser's User-Agent. After the load, gunicorn is stopped cleanly (SIGTERM)
and the clicks table is counted: every 302 answered must be a row (loss 0).

Baseline, in the same run: the same gunicorn (same configuration and workers) behind the same nginx
serving a fixed 302 from an empty Flask app, at the same rate, for the same time, the two taking
turns of 5 s so that whatever else the machine does weighs on both alike. Prints p50/p99
latency (ms) of both, their ratio, the requests sent, the clicks found and the loss, and PASS/MISS:
p99 <= 20 ms and zero loss. `--seconds 10` for a short run while developing.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import queue
import random
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository: the tests' helpers (fixture settings, the README's deployment)

from newsletter.db import Database  # noqa: E402
from newsletter.mail.clicks import reader_signer, tracked_url  # noqa: E402
from newsletter.models import Subscriber  # noqa: E402
from newsletter.workspace.credentials import signing_keys  # noqa: E402
from tests.helpers import deployment, nginx_server  # noqa: E402
from tests.helpers.workspace import CONFIG, SMALL_ISSUE  # noqa: E402

RATE = 200.0
SECONDS = 60.0
READERS = 1_000
CLIENTS = 16  # threads, each with its own kept-alive TLS connection to nginx
P99_MS = 20.0
ROUND_SECONDS = 5.0  # the redirect and the baseline take turns this long
ISSUE = "7"
LINKS = [  # the sample issue's stories and sponsor, as its tracked links carry them
    ("1", "https://example.org/robots/towels"),
    ("2", "https://example.org/robots/map-format"),
    ("3", "https://example.org/infra/quiet-cooling"),
    ("sponsor", "https://sponsor.example.org/?ref=fixture"),
]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def baseline_app():  # type: ignore[no-untyped-def]  # gunicorn calls it: `redirect_bench:baseline_app()`
    """An empty Flask app answering every /r/… with a fixed 302: what gunicorn and nginx cost alone."""
    from flask import Flask

    app = Flask("baseline")

    @app.get("/r/<path:rest>")
    def redirect(rest: str):  # type: ignore[no-untyped-def]  # noqa: ARG001
        return "", 302, {"Location": LINKS[0][1]}

    return app


def build_workspace(folder: Path, clicks: str = "aggregate") -> tuple[Path, list[str]]:
    """The fixture workspace with the README's proxy settings and READERS readers; their links."""
    workspace = folder / "workspace"
    (workspace / "templates").mkdir(parents=True)
    (workspace / "issues").mkdir()
    shutil.copy(SMALL_ISSUE, workspace / "issues" / "2026-12-01.yaml")
    settings = CONFIG + "\n" + deployment.proxy_settings() + f'\n[tracking]\nclicks = "{clicks}"\n'
    (workspace / "newsletter.toml").write_text(settings, encoding="utf-8")
    with Database(workspace / "subscribers.db") as db:
        db.subscribers.upsert(Subscriber(f"reader{n:05d}@example.com", None, {}) for n in range(READERS))
        public_ids = [s.public_id for s in db.subscribers.all() if s.public_id]
    secret = signing_keys("outbox").current
    sign = reader_signer(secret, ISSUE)
    chances = random.Random(27)
    paths = []
    for public_id in public_ids:
        slot, url = chances.choice(LINKS)
        paths.append(tracked_url("", ISSUE, slot, url, secret, reader=sign(public_id)))
    return workspace, paths


def start_baseline(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], nginx_server.Server, Path]:
    log = folder / "baseline.log"
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:newsletter.web.gunicorn_conf", "-w", "2", "-b", "127.0.0.1:0",
        "--pythonpath", str(Path(__file__).parent), "redirect_bench:baseline_app()",
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=folder, env={**env, "XDG_RUNTIME_DIR": str(folder)}, stdout=out, stderr=subprocess.STDOUT)
    port = deployment.listening_port(log, process)
    root = nginx_server.scratch()
    nginx = nginx_server.start_server(root, lambda listen: deployment.nginx_site(listen, port, root))
    return process, nginx, log


def load(port: int, tls: ssl.SSLContext, paths: list[str], rate: float, seconds: float) -> tuple[list[float], Counter[int]]:
    """Send len = rate x seconds requests, each due at its time; (latencies in ms, status counts)."""
    count = int(rate * seconds)
    due: queue.Queue[tuple[float, str] | None] = queue.Queue()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def connect() -> http.client.HTTPSConnection:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls)
        connection.connect()
        return connection

    def client() -> None:
        connection: http.client.HTTPSConnection | None = connect()  # the TLS handshake before the clock starts
        while (job := due.get()) is not None:
            at, path = job
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = 0
            for _ in range(2):  # once more on a fresh connection when nginx closed the kept-alive one
                try:
                    if connection is None:
                        connection = connect()
                    connection.request("GET", path, headers={"Host": "localhost", "User-Agent": BROWSER})
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                    break
                except (OSError, http.client.HTTPException):
                    if connection is not None:
                        connection.close()
                    connection = None
            took = (time.perf_counter() - at) * 1000
            with lock:
                latencies.append(took)
                statuses[status] += 1
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 1.0  # every client connected by then
    for n in range(count):
        due.put((start + n / rate, paths[n % len(paths)]))
    for _ in threads:
        due.put(None)
    for thread in threads:
        thread.join()
    return latencies, statuses


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))] if ordered else float("nan")


def stop_cleanly(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM, as a service manager stops it: gunicorn's graceful stop; the exit status."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def warm(port: int, tls: ssl.SSLContext, paths: list[str]) -> int:
    """A few requests first (each worker loads its app on its first), not timed; how many got a 302."""
    return load(port, tls, paths, 50.0, 0.4)[1].get(302, 0)


def gunicorn_times(log: Path, skip: int) -> list[float]:
    """The time gunicorn took for each 302 it logged (ms), past the first `skip` (warming up)."""
    found = [int(match.group(1)) / 1000 for match in re.finditer(r"^TIMED GET 302 (\d+)$", log.read_text(errors="replace"), re.M)]
    return found[skip:]


def run(rate: float, seconds: float, clicks: str = "aggregate") -> bool:
    os.environ["NEWSLETTER_SECRET"] = secrets.token_urlsafe(32)  # this process signs the links with it too
    # Each access log line with the time the request took inside gunicorn (µs): the app's own share,
    # apart from nginx, TLS and the client on the same machine.
    os.environ["GUNICORN_CMD_ARGS"] = '--access-logformat "TIMED %(m)s %(s)s %(D)s"'
    env = dict(os.environ)
    folder = Path(tempfile.mkdtemp(prefix="redirect-bench-"))
    running: list[subprocess.Popen[bytes]] = []
    servers: list[nginx_server.Server] = []
    try:
        workspace, paths = build_workspace(folder, clicks)
        warm_paths = paths[:10]

        baseline, baseline_nginx, baseline_log = start_baseline(folder, {**env, "NEWSLETTER_WORKSPACE": str(workspace)})
        running.append(baseline)
        servers.append(baseline_nginx)
        base_tls = ssl.create_default_context(cafile=str(baseline_nginx.certificate))
        app = deployment.start(workspace, env)
        running.append(app.gunicorn)
        assert app.nginx is not None
        servers.append(app.nginx)
        tls = app.tls()
        base_warm = warm(baseline_nginx.port, base_tls, warm_paths)
        warm_clicks = warm(app.nginx_port, tls, warm_paths)

        # Both run all along, loaded in turns of ROUND_SECONDS: what else this machine does at the
        # time slows both alike, so the ratio holds even when the absolute figures move.
        latencies: list[float] = []
        base_latencies: list[float] = []
        statuses: Counter[int] = Counter()
        base_statuses: Counter[int] = Counter()
        done = 0.0
        while done < seconds:
            turn = min(ROUND_SECONDS, seconds - done)
            offset = int(done * rate)
            turn_paths = paths[offset % len(paths) :] + paths[: offset % len(paths)]
            found_latencies, found_statuses = load(baseline_nginx.port, base_tls, turn_paths, rate, turn)
            base_latencies += found_latencies
            base_statuses += found_statuses
            found_latencies, found_statuses = load(app.nginx_port, tls, turn_paths, rate, turn)
            latencies += found_latencies
            statuses += found_statuses
            done += turn
        baseline_nginx.stop()
        stop_cleanly(baseline)
        app.nginx.stop()
        stopped = stop_cleanly(app.gunicorn)
        with Database(workspace / "subscribers.db") as db:
            found = db.clicks.count(ISSUE, people_only=False)
            machines = found - db.clicks.count(ISSUE)
        answered = statuses.get(302, 0) + warm_clicks
        loss = answered - found

        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        b50, b99 = percentile(base_latencies, 0.50), percentile(base_latencies, 0.99)
        print(f"load: {rate:g} requests/s for {seconds:g} s, open-loop, {CLIENTS} kept-alive TLS connections to nginx; gunicorn 2 workers x 4 threads")
        print(f"redirect:  {sum(statuses.values()):,} requests sent, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms  (status {dict(sorted(statuses.items()))})")
        base_codes = dict(sorted(base_statuses.items()))
        inside, base_inside = gunicorn_times(app.gunicorn_log, warm_clicks), gunicorn_times(baseline_log, base_warm)
        print(f"baseline:  {sum(base_statuses.values()):,} requests sent, p50 {b50:.1f} ms, p99 {b99:.1f} ms, max {max(base_latencies):.1f} ms  (fixed 302: {base_codes})")
        print(f"ratio (redirect / baseline): p50 {p50 / b50:.2f}x, p99 {p99 / b99:.2f}x")
        i50, i99, j50, j99 = (percentile(inside, 0.5), percentile(inside, 0.99), percentile(base_inside, 0.5), percentile(base_inside, 0.99))
        print(f"inside gunicorn (its access log): redirect p50 {i50:.2f} ms, p99 {i99:.2f} ms; baseline p50 {j50:.2f} ms, p99 {j99:.2f} ms", end="")
        print(f" ({len(inside):,} and {len(base_inside):,} requests)")
        print(f"clicks in the database after a clean stop (exit {stopped}): {found:,} of {answered:,} redirects answered", end="")
        print(f" ({warm_clicks} of them warming up; {machines:,} marked as a machine's); loss: {loss}")
        errors = [line for line in app.logs().splitlines() if "Traceback" in line or "[ERROR]" in line or "not recorded" in line]
        for line in errors[:5]:
            print(f"  ! {line[:200]}")
        targets = [
            (f"p99 <= {P99_MS:g} ms: {p99:.1f} ms", p99 <= P99_MS),
            (f"zero clicks lost: {loss}", loss == 0),
            ("every request answered 302", set(statuses) == {302}),
        ]
        for name, ok in targets:
            print(f"{'PASS' if ok else 'MISS'}  {name}")
        return all(ok for _, ok in targets)
    finally:
        for server in servers:
            server.stop()
        for process in running:
            if process.poll() is None:
                stop_cleanly(process)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help=f"how long each load runs (default {SECONDS:g}; use 10 while developing)")
    parser.add_argument("--rate", type=float, default=RATE, help=f"requests per second (default {RATE:g})")
    parser.add_argument("--clicks", choices=["aggregate", "reader", "off"], default="aggregate", help="[tracking] clicks (off: no recording, to see its cost)")
    args = parser.parse_args()
    sys.exit(0 if run(args.rate, args.seconds, args.clicks) else 1)


if __name__ == "__main__":
    main()
