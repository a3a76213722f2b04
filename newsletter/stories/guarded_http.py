"""urllib, guarded for fetching pages a stranger chose: one deadline for the whole answer, and no
private or loopback addresses, checked on the name and again on the socket actually connected.

urllib's own timeout applies to each read, so a server sending a byte every half second (status
line and headers included) would hold us forever; a timer closes the socket at the deadline. The
name is checked before connecting for a clear message; the connected peer is checked because a
hostile DNS server can answer "public" first and "127.0.0.1" the second time (DNS rebinding).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
import time
import urllib.request
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlsplit

from .errors import StoryError

PRIVATE_HINT = "give --allow-private to fetch it anyway"
CHUNK = 65_536  # bytes per read, so the deadline and the size cap are checked as the body arrives


class Guard:
    """The rules for one fetch: its deadline and whether private addresses are allowed. `name` says
    what is asked in messages ("the model's API at ..."); by default the URL is fetched."""

    def __init__(self, url: str, timeout: float, allow_private: bool, name: str | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.allow_private = allow_private
        self.name = name
        self.deadline = time.monotonic() + timeout
        self.expired = threading.Event()
        self._timers: list[threading.Timer] = []

    def too_slow(self) -> StoryError:
        if self.name:
            return StoryError(f"{self.name} gave no complete answer within {self.timeout:g} seconds")
        return StoryError(f"cannot fetch {self.url}: no complete answer within {self.timeout:g} seconds")

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.too_slow()

    def watch(self, sock: socket.socket) -> None:
        """Close `sock` at the deadline, whatever it is doing then."""
        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._expire, [sock])
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def _expire(self, sock: socket.socket) -> None:
        self.expired.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()

    def check_peer(self, sock: socket.socket) -> None:
        if self.allow_private or urllib.request.getproxies():
            return  # with a proxy, the proxy is the peer and it resolves the names
        host = urlsplit(self.url).hostname or ""
        if not is_public(sock.getpeername()[0]):
            sock.close()
            raise StoryError(f"cannot fetch {self.url}: {host} led to a private or loopback address ({PRIVATE_HINT})")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def check_public(url: str, origin: str | None = None) -> None:
    """Raise StoryError unless every address `url`'s host resolves to is public.

    An IP literal is judged as it is (no DNS). `origin` is the URL the user gave, for the message."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]
        except (OSError, UnicodeError) as exc:
            raise StoryError(f"cannot fetch {origin or url}: {host}: {getattr(exc, 'strerror', None) or exc}") from None
    if not all(is_public(address) for address in addresses):
        raise StoryError(f"cannot fetch {origin or url}: {host} is a private or loopback address ({PRIVATE_HINT})")


class _GuardedConnection:
    """Mixed into http.client's connections: check the peer and start the deadline's timer."""

    guard: Guard

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]  # for HTTPS, this includes the TLS handshake
        sock: socket.socket = self.sock  # type: ignore[attr-defined]
        self.guard.watch(sock)
        self.guard.check_peer(sock)


class _HTTP(_GuardedConnection, http.client.HTTPConnection):
    pass


class _HTTPS(_GuardedConnection, http.client.HTTPSConnection):
    pass


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect (at most max_redirections) only to http(s), and only to a public address."""

    guard: Guard

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str) -> urllib.request.Request | None:
        fp.close()  # urllib would read the redirect's body whole, however long
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise StoryError(f"cannot fetch {self.guard.url}: it redirects to {newurl}, only http and https are followed")
        if not self.guard.allow_private:
            check_public(newurl, self.guard.url)
        self.guard.check_time()
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _EveryAnswer(urllib.request.HTTPErrorProcessor):
    """Hand back every answer as it is, a 3xx, 4xx or 5xx too: nothing is followed or raised."""

    def http_response(self, request: urllib.request.Request, response: http.client.HTTPResponse) -> http.client.HTTPResponse:  # noqa: ARG002 (urllib's handler signature)
        return response

    https_response = http_response


def read_body(response: http.client.HTTPResponse, guard: Guard, limit: int) -> bytes:
    """At most `limit` + 1 bytes, read as they arrive (read1), so the deadline and the cap apply
    while streaming. Raises the guard's StoryError when the deadline cut the answer short."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        guard.check_time()
        chunk = response.read1(CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if guard.expired.is_set():  # the timer closed the socket: what arrived is cut short
        raise guard.too_slow()
    return b"".join(chunks)


def opener(guard: Guard, follow_redirects: bool = True) -> urllib.request.OpenerDirector:
    """An opener whose connections and redirects all follow `guard`. Without `follow_redirects`,
    every answer comes back as it is (for a request that carries a key: a redirect would take the key
    elsewhere), and no proxy from the environment is used (a plain http one would see the key)."""

    def connection(kind: type) -> Any:
        def make(*args: Any, **kwargs: Any) -> Any:
            made = kind(*args, **kwargs)
            made.guard = guard
            return made

        return make

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(connection(_HTTP), req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(connection(_HTTPS), req, context=self._context)  # type: ignore[attr-defined]  # urllib's own, private

    if not follow_redirects:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}), HTTPHandler, HTTPSHandler, _EveryAnswer)
    redirects = _Redirects()
    redirects.guard = guard
    return urllib.request.build_opener(HTTPHandler, HTTPSHandler, redirects)
