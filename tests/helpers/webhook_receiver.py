"""A webhook receiver on loopback that checks every delivery's Standard Webhooks signature with
standardwebhooks' own Webhook.verify, as a real receiver would, and answers as told: `answers`
is a list of what the next requests get ("ok", "500", "hang", "huge", "redirect", "echo"), then "ok".

`accepted` holds (webhook-id, body) of each delivery it answered 2xx, `forged` counts the
requests whose signature did not verify."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from standardwebhooks import Webhook

from .local_server import QuietServer

SECRET = "whsec_" + base64.b64encode(b"a test secret of 32 bytes, fixed").decode()
HUGE_BYTES = 100 * 1024 * 1024


class Receiver:
    def __init__(self, secret: str = SECRET, port: int = 0) -> None:
        self.verifier = Webhook(secret)
        self.answers: list[str] = []
        self.accepted: list[tuple[str, dict[str, Any]]] = []
        self.forged = 0
        self.echo = ""  # what an "echo" answer adds after the request's headers
        self.delay = 0.0  # seconds before each answer (a receiver doing some work)
        self.requests = 0
        self.lock = threading.Lock()
        self.httpd = QuietServer(("127.0.0.1", port), _Handler)
        self.httpd.fake = self

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def ids(self) -> list[str]:
        with self.lock:
            return [message_id for message_id, _ in self.accepted]

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind nginx

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the answer's headers and body go as two writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: Receiver = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        with fake.lock:
            fake.requests += 1
            answer = fake.answers.pop(0) if fake.answers else "ok"
        time.sleep(fake.delay)
        try:
            payload = fake.verifier.verify(raw, dict(self.headers))
        except Exception:  # noqa: BLE001  # any failure to verify is a forgery here
            with fake.lock:
                fake.forged += 1
            self._answer(401, b"bad signature")
            return
        if answer == "hang":
            time.sleep(3600)  # never answers; the sender's deadline must end it
        elif answer == "huge":
            self.send_response(200)
            self.send_header("content-length", str(HUGE_BYTES))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(HUGE_BYTES // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the sender stopped reading, as it should
            return
        elif answer == "redirect":
            self.send_response(307)
            self.send_header("location", "http://127.0.0.1:9/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        elif answer == "echo":  # a receiver's debug page, repeating what it was sent and what it knows
            self._answer(500, (fake.echo + " " + str(dict(self.headers))).encode())
            return
        elif answer.isdigit():
            self._answer(int(answer), f"Internal trouble {answer}: the database is down\nsecond line".encode())
            return
        with fake.lock:
            fake.accepted.append((self.headers["webhook-id"], payload))
        self._answer(200, json.dumps({"ok": True}).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
