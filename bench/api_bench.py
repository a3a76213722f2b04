"""REST API benchmark: upserts per second through `PUT /api/v1/subscribers/{email}` under gunicorn
(newsletter/web/gunicorn_conf.py, 2 workers, loopback), against a floor measured in the same run:
an empty Flask app answering the same PUT with a fixed JSON body under the same gunicorn command.

Each upsert is a new address with a name, two tags and an attribute, sent by CLIENTS threads with
kept-alive connections, closed-loop. The two servers take turns of ROUND_SECONDS, so whatever else
the machine does weighs on both alike. Afterwards the database is counted: every 201 is a
subscriber with its tags (lost 0). Prints upserts per second, the floor's requests per second,
their ratio, p50/p99 latency and the status codes. `--seconds 6` for a quick run; `--postgres URL`
runs it on PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository: the fixture settings and issue the tests use

from newsletter.db import Database, Location, Server  # noqa: E402
from newsletter.integrations.api_tokens import SCOPES, create_token  # noqa: E402
from tests.helpers.deployment import listening_port  # noqa: E402
from tests.helpers.workspace import CONFIG, SMALL_ISSUE  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the redirect bench's percentile
from redirect_bench import percentile  # noqa: E402

CLIENTS = 8
ROUND_SECONDS = 3.0
SECONDS = 30.0
SETTINGS = '\n[api]\nrate_limit = "10000000/minute"\n'


def floor_app():  # type: ignore[no-untyped-def]  # gunicorn calls it: `api_bench:floor_app()`
    """An empty Flask app answering every PUT /api/v1/subscribers/<email> with fixed JSON: what gunicorn and Flask cost alone."""
    from flask import Flask, jsonify, request

    app = Flask("floor")

    @app.put("/api/v1/subscribers/<email>")
    def upsert(email: str):  # type: ignore[no-untyped-def]
        request.get_json()
        return jsonify(email=email, created=True), 201

    return app


def database(workspace: Path) -> Location:
    return Server(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL") else workspace / "subscribers.db"


def build_workspace(folder: Path) -> tuple[Path, str]:
    workspace = folder / "workspace"
    (workspace / "templates").mkdir(parents=True)
    (workspace / "issues").mkdir()
    shutil.copy(SMALL_ISSUE, workspace / "issues" / "2026-12-01.yaml")
    (workspace / "newsletter.toml").write_text(CONFIG + SETTINGS, encoding="utf-8")
    with Database(database(workspace)) as db:
        token = create_token(db, "bench", SCOPES)
    return workspace, token


def start(folder: Path, target: str, env: dict[str, str], name: str) -> tuple[subprocess.Popen[bytes], int]:
    log = folder / f"{name}.log"
    command = [sys.executable, "-m", "gunicorn", "-c", "python:newsletter.web.gunicorn_conf", "-w", "2", "-b", "127.0.0.1:0", "--pythonpath", str(Path(__file__).parent), target]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=folder, env={**env, "XDG_RUNTIME_DIR": str(folder)}, stdout=out, stderr=subprocess.STDOUT)
    return process, listening_port(log, process)


def load(port: int, token: str, numbers: itertools.count[int], seconds: float, prefix: str) -> tuple[list[float], Counter[int]]:
    """CLIENTS threads upserting new addresses for `seconds`; (latencies in ms, status counts)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    end = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < end:
            with lock:
                n = next(numbers)
            body = json.dumps({"name": f"Reader {n}", "tags": ["bench", f"cohort-{n % 10}"], "attributes": {"n": str(n)}}).encode()
            start = time.perf_counter()
            try:
                connection.request("PUT", f"/api/v1/subscribers/{prefix}{n:07d}@example.com", body, headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            took = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(took)
                statuses[status] += 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses


def run(seconds: float) -> bool:
    os.environ["NEWSLETTER_SECRET"] = secrets.token_urlsafe(32)
    folder = Path(tempfile.mkdtemp(prefix="api-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        workspace, token = build_workspace(folder)
        env = {**os.environ, "NEWSLETTER_WORKSPACE": str(workspace), "PYTHONPATH": str(ROOT)}  # this checkout, whichever is installed
        app, app_port = start(folder, "newsletter.web:create_app()", env, "app")
        processes.append(app)
        floor, floor_port = start(folder, "api_bench:floor_app()", env, "floor")
        processes.append(floor)
        numbers = itertools.count()
        load(app_port, token, numbers, 0.5, "warm")  # each worker loads its app on its first request
        load(floor_port, token, numbers, 0.5, "warm")
        latencies: list[float] = []
        floor_latencies: list[float] = []
        statuses: Counter[int] = Counter()
        floor_statuses: Counter[int] = Counter()
        done = 0.0
        while done < seconds:
            turn = min(ROUND_SECONDS, seconds - done)
            found = load(floor_port, token, numbers, turn, "floor")
            floor_latencies += found[0]
            floor_statuses += found[1]
            found = load(app_port, token, numbers, turn, "reader")
            latencies += found[0]
            statuses += found[1]
            done += turn
        with Database(database(workspace)) as db:
            stored = sum(1 for s in db.subscribers.all() if s.email.startswith("reader"))
            tagged = db.audience.tag_counts().get("bench", 0)
        total = seconds  # each server ran `seconds` in all, in turns
        rate, floor_rate = statuses.get(201, 0) / total, sum(floor_statuses.values()) / total
        where = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
        print(f"load: {CLIENTS} kept-alive clients, closed-loop, {seconds:g} s per server in turns of {ROUND_SECONDS:g} s; gunicorn 2 workers ({where})")
        print(f"API upserts: {rate:,.0f}/s  p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms  (status {dict(sorted(statuses.items()))})")
        print(f"floor (empty Flask JSON PUT): {floor_rate:,.0f}/s  p50 {percentile(floor_latencies, 0.5):.1f} ms, p99 {percentile(floor_latencies, 0.99):.1f} ms")
        print(f"ratio (API / floor): {rate / floor_rate:.2f}x")
        lost = statuses.get(201, 0) - stored
        print(f"stored: {stored:,} subscribers for {statuses.get(201, 0):,} answered 201 ({tagged:,} tagged bench, warm-up included); lost {lost}")
        ok = lost == 0 and not any(code >= 500 or code == 0 for code in statuses)
        print("PASS" if ok else "MISS: lost writes or server errors")
        return ok
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="How long each server is loaded, in turns (default 30).")
    parser.add_argument("--postgres", metavar="URL", help="Run on this PostgreSQL database (DATABASE_URL) instead of SQLite.")
    options = parser.parse_args()
    if options.postgres:
        os.environ["DATABASE_URL"] = options.postgres
    sys.exit(0 if run(options.seconds) else 1)


if __name__ == "__main__":
    main()
