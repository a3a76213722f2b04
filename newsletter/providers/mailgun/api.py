"""Mailgun's HTTP API through its official SDK (`mailgun`), with the two things a sender needs and the
SDK does not do by default: no retry of its own, and one deadline for a whole request.

- Retries: the SDK retries a 429, a 5xx and a dropped connection up to three times, and its
  transport retries a failed connect three more. A POST retried after the request left can deliver a
  batch twice, so both are off (RetryPolicy(max_retries=0), a transport with retries=0); the send
  loop retries only what an answer proves was not taken.
- Deadline: the SDK's sync Client (requests) applies its timeout to each read, so a server sending a
  byte now and then would hold a send forever. Its AsyncClient (httpx2) is the same SDK over another
  HTTP client, and a request there can be cancelled as a whole: each call runs under
  asyncio.wait_for([mailgun] timeout) on this object's own event loop, in a thread of its own (the
  caller's thread may already run a loop of its own, where run_until_complete would refuse to
  start). Callers stay synchronous.

Every answer comes back as it is (status, text, headers); what it means is the caller's to say.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from mailgun import ApiError, AsyncClient
from mailgun.config import RetryPolicy

SDK_LONGEST_TIMEOUT = 300.0  # seconds: the SDK refuses a longer timeout for a single read
Request = Callable[[AsyncClient], Awaitable[Any]]


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: Mapping[str, str]


class NotSent(Exception):
    """The request never left (no connection, a name that does not resolve): nothing was taken."""


class NoAnswer(Exception):
    """The request left and no complete answer came back (deadline, dropped connection)."""


# httpx2's errors raised before any byte of the request was sent
BEFORE_SENDING = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout, httpx2.UnsupportedProtocol)


class MailgunApi:
    """One base URL of Mailgun's API with one key; close() when done."""

    def __init__(self, base_url: str, key: str, timeout: float) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mailgun-api", daemon=True)
        self._thread.start()
        transport = httpx2.AsyncHTTPTransport(retries=0, verify=_tls_context())
        self.client = AsyncClient(
            auth=("api", key), api_url=base_url, timeout=min(timeout, SDK_LONGEST_TIMEOUT),
            retry_policy=RetryPolicy(max_retries=0), client_kwargs={"transport": transport},
        )

    def call(self, request: Request) -> Answer:
        """Make one request (`request(client)`, e.g. `lambda c: c.messages.create(...)`) within the
        deadline. Raises NotSent or NoAnswer; any HTTP status is an Answer."""
        try:
            response = self._run(asyncio.wait_for(request(self.client), self.timeout))
        except TimeoutError:
            raise NoAnswer(f"no complete answer within {self.timeout:g} seconds") from None
        except ApiError as exc:  # the SDK wraps every transport error, the original as its cause
            cause = exc.__cause__
            if cause is None or isinstance(cause, BEFORE_SENDING):
                raise NotSent(f"{type(cause).__name__}: {cause}" if cause else str(exc)) from None
            raise NoAnswer(f"{type(cause).__name__}: {cause}") from None
        return Answer(response.status_code, response.text, response.headers)

    def _run(self, work: Awaitable[Any]) -> Any:
        async def run() -> Any:
            return await work

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def close(self) -> None:
        try:
            self._run(self.client.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


def _tls_context() -> ssl.SSLContext:
    """TLS 1.2 or later, as the SDK's own transport requires (ours replaces it to turn retries off)."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
