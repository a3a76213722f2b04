"""aiosmtpd on loopback, on a port the system picked, and the newsletter.toml tables that send
through it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from aiosmtpd.controller import Controller


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.senders: list[str] = []  # each message's envelope sender (MAIL FROM), in the same order
        self.sessions = 0
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
            self.senders.append(envelope.mail_from)
        return "250 Message accepted"


class LoopbackController(Controller):
    """aiosmtpd's threaded Controller listening on 127.0.0.1 at a port the system picks (port 0),
    which it sets as `port` once listening (aiosmtpd itself connects to `port` to check it is up)."""

    def __init__(self, handler: Any, **smtp_options: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **smtp_options)

    def _create_server(self):  # type: ignore[no-untyped-def]
        return self._listen()

    async def _listen(self):  # type: ignore[no-untyped-def]
        server = await self.loop.create_server(self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        return server


@contextlib.contextmanager
def serving(handler: Any, **smtp_options: Any) -> Iterator[int]:
    """An SMTP server on loopback handing what it gets to `handler`, for the block; its port.
    smtp_options go to aiosmtpd's SMTP (enable_SMTPUTF8, tls_context ...)."""
    controller = LoopbackController(handler, **smtp_options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def smtp_settings(port: int, security: str = "none", timeout: float | None = 5, retries: int | None = None) -> str:
    """newsletter.toml's tables that send through the SMTP server on loopback `port`."""
    send = '[send]\nprovider = "smtp"\n' + (f"retries = {retries}\n" if retries is not None else "")
    smtp = f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n' + (f"timeout = {timeout:g}\n" if timeout is not None else "")
    return f"{send}\n{smtp}"
