"""The one HTTP layer between us and Resend: its official SDK (`resend`), set up in one place, with a
transport of our own under it, and every failure read into a `Failure` (status, Resend's error name
and words, the answer's headers, whether the request may have reached Resend).

Why a transport of our own (the SDK's documented extension point, `resend.default_http_client`):
- the SDK turns every transport exception into the same ResendError(500, "HttpClientError"), so a
  refused connection (nothing sent: retry) and a timeout after the request left (maybe delivered:
  never retry) would look alike; ours records which it was before the SDK hides it;
- the SDK's default client takes no timeout from us and makes a new connection per request; ours
  keeps one session, the [resend] timeout, no automatic retry and no redirect (a repeated POST
  could deliver twice);
- the SDK reads a 2xx answer with an unreadable body as a 500; ours records the real status, so
  that answer is taken as "may have been delivered", never as "retry".

The SDK keeps its settings in module globals (api_key, api_url, default_http_client): they are set
under one lock right before each call, so two providers in one process (or a web app's threads)
never send with each other's key. The same lock spaces the calls ([resend] requests_per_second),
for the whole process, since Resend counts requests per team.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import requests
import resend
from requests.adapters import HTTPAdapter
from resend.exceptions import ResendError
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from ...workspace.credentials import mask_secrets

T = TypeVar("T")
_SDK = threading.Lock()  # the SDK's globals, and the spacing of calls, for the whole process
_last_call = [0.0]  # time.monotonic() when the latest call started, under _SDK


@dataclass
class Failure(Exception):
    """A call that did not succeed: Resend's answer, or none."""

    status: int | None  # HTTP status; None when no answer came
    name: str  # Resend's error name (rate_limit_exceeded, validation_error ...), or what the transport met
    words: str  # Resend's message (secrets masked), or the transport's
    headers: dict[str, str] = field(default_factory=dict)  # the answer's, names in lower case
    reached: bool = True  # False: the request never left (no connection): nothing can have been taken

    def __str__(self) -> str:
        return self.words

    def header_seconds(self, name: str) -> float | None:
        """A header holding a number of seconds (retry-after, ratelimit-reset), if it does."""
        value = self.headers.get(name)
        try:
            seconds = float(value) if value is not None else None
        except ValueError:
            return None
        return seconds if seconds is not None and 0 <= seconds < 86_400 else None


class _NoAnswer(Exception):
    def __init__(self, reached: bool, detail: str) -> None:
        super().__init__(detail)
        self.reached = reached


class Transport(resend.HTTPClient):
    """The SDK's HTTP client: one session, our timeout, no retry, no redirect, and a record of what
    happened on the wire (read by ResendApi under the lock, right after the call)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.session = requests.Session()
        self.session.mount("https://", HTTPAdapter(max_retries=Retry(total=0, redirect=0, raise_on_status=False)))
        self.session.mount("http://", HTTPAdapter(max_retries=Retry(total=0, redirect=0, raise_on_status=False)))
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.no_answer: _NoAnswer | None = None

    def reset(self) -> None:
        self.status, self.headers, self.no_answer = None, {}, None

    def request(
        self, method: str, url: str, headers: Mapping[str, str], json: dict[str, object] | list[object] | None = None,
        files: dict[str, Any] | None = None, data: dict[str, str] | None = None,  # noqa: ARG002 (the SDK's signature; we send no files)
    ) -> tuple[bytes, int, Mapping[str, str]]:
        body = None if json is None else orjson.dumps(json)
        sent_headers = {**headers, "Content-Type": "application/json"} if body is not None else dict(headers)
        try:
            response = self.session.request(method, url, headers=sent_headers, data=body, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            self.no_answer = _NoAnswer(not _never_connected(exc), f"{type(exc).__name__}: {exc}")
            raise self.no_answer from None
        self.status = response.status_code
        self.headers = {name.lower(): value for name, value in response.headers.items()}
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        self.session.close()


def _never_connected(exc: requests.RequestException) -> bool:
    """The request never reached Resend: the connection itself failed (refused, no such host, no
    connection in time). Anything later (a read timeout, a dropped connection) may have delivered."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.SSLError):
        reason = exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else None
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


class ResendApi:
    """Calls into the SDK with our key, base URL, transport and pace; failures raised as Failure."""

    def __init__(self, api_key: str, api_url: str, timeout: float, requests_per_second: float) -> None:
        self.api_key = api_key
        self.api_url = api_url.rstrip("/")
        self.transport = Transport(timeout)
        self.interval = 1.0 / requests_per_second

    def call(self, request: Callable[[], T]) -> T:
        """Run one SDK call (e.g. `lambda: resend.Batch.send(...)`), spaced from the last one."""
        with _SDK:
            before = resend.api_key, resend.api_url, resend.default_http_client
            resend.api_key, resend.api_url, resend.default_http_client = self.api_key, self.api_url, self.transport
            self._wait_for_turn()
            self.transport.reset()
            try:
                return request()
            except ResendError as exc:
                raise self._failure(exc) from None
            finally:  # the key stays in the SDK's globals only while our call runs
                resend.api_key, resend.api_url, resend.default_http_client = before

    def _wait_for_turn(self) -> None:
        """Start no sooner than `interval` after the previous call started (Resend counts arrivals)."""
        pause = _last_call[0] + self.interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        _last_call[0] = time.monotonic()

    def _failure(self, exc: ResendError) -> Failure:
        transport = self.transport
        if transport.no_answer is not None:
            return Failure(None, "no_answer", transport.no_answer.args[0], reached=transport.no_answer.reached)
        words = mask_secrets(str(exc.message or exc.error_type or "")).strip()[:500]
        status = transport.status
        if status is not None and status < 400:
            # Answered as a success, but the SDK could not read the body: it may have been taken.
            return Failure(None, "unreadable_answer", f"answered {status} with a body that could not be read ({words})")
        code = status if status is not None else _as_int(exc.code)
        return Failure(code, str(exc.error_type or ""), words, transport.headers)

    def close(self) -> None:
        self.transport.close()


def _as_int(code: object) -> int | None:
    try:
        return int(str(code))
    except ValueError:
        return None
