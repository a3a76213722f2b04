"""What the providers' local servers (sendgrid_, ses_, mailgun_, postmark_ and resend_server.py)
share: an HTTP server on a free port of 127.0.0.1 that takes clients killed mid-request quietly,
started and stopped with `with`, and the choice of the next injected fault from a `Behaviour`
(its `forced` faults first, in order, then `fault_rate` of requests meeting one of `faults`)."""

from __future__ import annotations

import random
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: Any  # the provider's server object, which the handler reads

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # a client killed mid-request is expected here


class LocalServer:
    """Base of a provider's local server: `httpd` (a QuietServer), `behaviour`, `lock` and `random`
    are set by the subclass."""

    httpd: QuietServer
    behaviour: Any
    lock: threading.Lock
    random: random.Random

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_fault(self) -> str | None:
        with self.lock:
            if self.behaviour.forced:
                return self.behaviour.forced.pop(0)
            if self.behaviour.fault_rate and self.random.random() < self.behaviour.fault_rate:
                return self.random.choice(self.behaviour.faults)
        return None
