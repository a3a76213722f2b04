"""Fetch one link as `check --links` does: HEAD first, then GET where the server refuses HEAD or the
page is HTML (a paywall shows in its body). Through the story drafter's guarded fetch: no private
or loopback address (on the name, each redirect and the connected socket), and one deadline for
the link, both requests and every redirect included. At most PAYWALL_WINDOW bytes are read."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from ..stories.errors import StoryError
from ..stories.guarded_http import Guard, check_public, opener, read_body

HEAD_REFUSED = frozenset({403, 405, 501})  # servers that answer HEAD so, but GET properly
PAYWALL_WINDOW = 1_024  # the first KB of the body: where check.py looks for a paywall's marker
USER_AGENT = "newsletter-link-check/0.1 (+https://pypi.org/project/newsletter)"


@dataclass(frozen=True)
class Probe:
    """What one link gave: its last answer's status and URL (after redirects), the start of a GET's
    body, or why there is no answer (`error`: too slow, a private address, no such host)."""

    url: str
    status: int | None = None
    final_url: str | None = None
    body: bytes = b""
    method: str = "HEAD"  # the request whose answer this is
    error: str | None = None


def probe(url: str, timeout: float, allow_private: bool = False) -> Probe:
    """Fetch `url` within `timeout` seconds in all; never raises for what the link does."""
    deadline = time.monotonic() + timeout
    try:
        if not allow_private:
            check_public(url)  # before any connection: a clear message, and nothing sent there
        head, html = _request(url, "HEAD", deadline, allow_private)
        if head.status in HEAD_REFUSED or (html and head.status is not None and head.status < 300):
            return _request(url, "GET", deadline, allow_private)[0]
        return head
    except StoryError as exc:
        if time.monotonic() >= deadline:  # each request's guard knows only the time left to it
            return Probe(url, error=f"no complete answer within {timeout:g} seconds")
        return Probe(url, error=str(exc).removeprefix("cannot fetch ").removeprefix(f"{url}: "))


def _request(url: str, method: str, deadline: float, allow_private: bool) -> tuple[Probe, bool]:
    """One request, redirects followed under the guard; its answer, and whether it says the page is HTML."""
    remaining = deadline - time.monotonic()
    guard = Guard(url, max(remaining, 0.001), allow_private)
    if remaining <= 0:
        raise guard.too_slow()
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, "Accept": "text/html, */*;q=0.5"})
    try:
        with opener(guard).open(request, timeout=remaining) as response:
            status, final_url = response.status, response.geturl()
            html = response.headers.get_content_type() in ("text/html", "application/xhtml+xml")
            body = read_body(response, guard, PAYWALL_WINDOW)[:PAYWALL_WINDOW] if method == "GET" else b""
    except urllib.error.HTTPError as exc:  # a 4xx or 5xx: an answer all the same
        exc.close()
        if urllib.request.HTTPRedirectHandler.inf_msg in str(exc.reason):
            raise StoryError(f"it redirects in a loop or more than {urllib.request.HTTPRedirectHandler.max_redirections} times") from None
        return Probe(url, exc.code, exc.geturl(), method=method), False
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        if guard.expired.is_set() or time.monotonic() >= deadline:
            raise guard.too_slow() from None
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, StoryError):  # a redirect the guard refused
            raise reason from None
        raise StoryError(getattr(reason, "strerror", None) or str(reason)) from None
    finally:
        guard.close()
    return Probe(url, status, final_url, body, method), html
