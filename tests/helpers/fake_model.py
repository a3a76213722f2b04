"""A local server that speaks the OpenAI chat API and answers as the test says (the hostile suite's
LLM section; on a port the system picks)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = Callable[[BaseHTTPRequestHandler, "FakeModel"], None]


@dataclass
class FakeModel:
    """What the fake API answers, and the requests it got."""

    url: str = ""
    answer: Answer | None = None  # how to answer every request; by default a completion of `summary`
    summary: str = "A short summary."
    requests: list[tuple[dict[str, str], dict]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)  # ends a drip at teardown


def completion(text: str) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


def reply(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "application/json") -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def serve(fake: FakeModel) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 answering for `fake` (sets fake.url); the caller runs and stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append((dict(self.headers), body))
            try:
                if fake.answer:
                    fake.answer(self, fake)
                else:
                    reply(self, 200, json.dumps(completion(fake.summary)).encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up, as it should at its deadline

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return server
