"""Webhooks bench: deliveries per second from the outbox to a local receiver, against a floor
measured in the same run: the same bodies POSTed by a plain loop with the same HTTP client
(newsletter/webhooks_out/client.py: one kept-alive connection), no database and no signing.

The deliveries go through everything `newsletter webhooks deliver` does: fan-out of the outbox's
events, claims of 16 committed before the network, a signature per body, one settle per delivery
(the attempt logged), on SQLite. Median of 3 runs each, interleaved. Printed: both rates and
their ratio (deliveries / floor); the database's share is what the ratio does not reach 1 by.
    .venv/bin/python bench/webhooks_bench.py [--events N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: the tests' helpers

from newsletter.db import Database
from newsletter.webhooks_out.client import Client
from newsletter.webhooks_out.delivery import Deliverer, receivers
from newsletter.webhooks_out.signing import body
from newsletter.workspace.config import WebhookSettings
from tests.helpers.local_server import QuietServer
from tests.helpers.webhook_receiver import SECRET


class Handler(BaseHTTPRequestHandler):
    """A receiver that takes the body and answers 200 (the same one for both loops)."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body are two writes: no Nagle delay between them

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def deliveries_per_second(url: str, events: int) -> float:
    with tempfile.TemporaryDirectory() as folder, Database(Path(folder) / "subscribers.db") as db:
        with db.transaction():
            for n in range(events):
                db.subscribers.sign_up(f"reader{n:06d}@example.com", f"Reader {n}")
        deliverer = Deliverer(receivers([WebhookSettings(url=url, events=["*"], secret_env="BENCH_HOOK_SECRET")]))
        start = time.perf_counter()
        done = deliverer.run_pass(db)
        took = time.perf_counter() - start
        deliverer.close()
        if done.counts != {"delivered": events}:
            sys.exit(f"unexpected result: {done.counts}")
    return events / took


def floor_per_second(url: str, events: int) -> float:
    data = [{"id": f"s{n}", "email": f"reader{n:06d}@example.com", "name": f"Reader {n}", "status": "pending", "channel": "web"} for n in range(events)]
    bodies = [body("subscriber.created", "2026-12-08T00:00:00+00:00", item) for item in data]
    client = Client()
    start = time.perf_counter()
    for n, payload in enumerate(bodies):
        if not client.post(url, payload, {"content-type": "application/json", "webhook-id": f"evt_{n}"}).ok:
            sys.exit("the receiver refused a plain POST")
    took = time.perf_counter() - start
    client.close()
    return events / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["BENCH_HOOK_SECRET"] = SECRET  # the bench's own, as a shell would export it
    server = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    floors, rates = [], []
    for _ in range(args.runs):
        floors.append(floor_per_second(url, args.events))
        rates.append(deliveries_per_second(url, args.events))
    server.shutdown()
    floor, rate = statistics.median(floors), statistics.median(rates)
    print(f"{args.events} events, median of {args.runs} runs")
    print(f"plain POST loop (floor): {floor:,.0f} requests/s")
    print(f"webhooks deliver:        {rate:,.0f} deliveries/s (x{rate / floor:.2f} of the floor)")


if __name__ == "__main__":
    main()
