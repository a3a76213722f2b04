"""Read an article's bytes from a local file or an http(s) URL (with a timeout), and say what kind it is."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ..files.reading import UnreadableFile, read_capped
from ..models import is_http_url
from .errors import StoryError
from .guarded_http import Guard, read_body

Kind = Literal["html", "markdown", "text"]

DEFAULT_TIMEOUT = 15.0  # seconds for the whole answer, redirects included
MAX_BYTES = 10_000_000  # an article page is far smaller; anything bigger is not an article
USER_AGENT = "newsletter-story-drafter/0.1 (+https://pypi.org/project/newsletter)"

SUFFIX_KINDS: dict[str, Kind] = {
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown",
    ".txt": "text", ".text": "text",
}
CONTENT_TYPE_KINDS: dict[str, Kind] = {
    "text/html": "html", "application/xhtml+xml": "html",
    "text/markdown": "markdown", "text/x-markdown": "markdown",
    "text/plain": "text",
}


@dataclass(frozen=True)
class Fetched:
    """An article as bytes, before any parsing."""

    data: bytes
    kind: Kind
    name: str  # what the user gave: a path or a URL, for messages and the draft comment
    url: str | None  # the address it was fetched from (after redirects), if any
    charset: str | None = None  # from the HTTP Content-Type header, if it said


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in ("http", "https")


def fetch(source: str, timeout: float = DEFAULT_TIMEOUT, *, allow_private: bool = False) -> Fetched:
    """Read `source` (a path to a .txt/.md/.html file, or an http(s) URL). Raises StoryError on failure.

    A URL (and every redirect) must lead to a public address unless `allow_private`: a page must not
    make us fetch from the user's own network (a router, a cloud metadata service)."""
    if is_url(source):
        if not is_http_url(source):  # a space or a line break would reach the request line
            raise StoryError(f"{source!r} is not a usable URL (no spaces or line breaks; http or https with a host)")
        return _fetch_url(source, timeout, allow_private)
    return _read_file(Path(source))


def _read_file(path: Path) -> Fetched:
    try:
        data = read_capped(path, MAX_BYTES, "article file")  # a FIFO blocks and /dev/zero never ends
    except FileNotFoundError:
        raise StoryError(f"{path}: no such file (give a .txt, .md or .html file, or an http(s) URL)") from None
    except UnreadableFile as exc:
        raise StoryError(f"{path}: {exc}") from None
    _refuse_binary(data, str(path))
    kind = SUFFIX_KINDS.get(path.suffix.lower()) or _sniff(data)
    return Fetched(data=data, kind=kind, name=str(path), url=None)


def _fetch_url(url: str, timeout: float, allow_private: bool) -> Fetched:
    import urllib.error  # only for URLs: keeps `newsletter --help` quick

    from .guarded_http import check_public, opener

    if not allow_private:
        check_public(url)
    guard = Guard(url, timeout, allow_private)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.9, */*;q=0.5"})
    try:
        with opener(guard).open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.strip().isdigit() and int(length) > MAX_BYTES:  # refuse before reading a byte of it
                raise StoryError(f"cannot fetch {url}: the page is larger than {MAX_BYTES // 1_000_000} MB, which is not an article")
            data = read_body(response, guard, MAX_BYTES)
            final_url = response.geturl()
            content_type = response.headers.get_content_type()
            charset = response.headers.get_content_charset()
    except urllib.error.HTTPError as exc:
        if urllib.request.HTTPRedirectHandler.inf_msg in str(exc.reason):  # urllib's own message is three lines long
            raise StoryError(f"cannot fetch {url}: it redirects in a loop or more than {urllib.request.HTTPRedirectHandler.max_redirections} times") from None
        raise StoryError(f"cannot fetch {url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        if guard.expired.is_set():
            raise guard.too_slow() from None
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise StoryError(f"cannot fetch {url}: {_reason(reason, timeout)}") from None
    finally:
        guard.close()
    if len(data) > MAX_BYTES:
        raise StoryError(f"cannot fetch {url}: the page is larger than {MAX_BYTES // 1_000_000} MB, which is not an article")
    if content_type.startswith(("image/", "audio/", "video/", "font/")) or content_type in ("application/pdf", "application/zip"):
        raise StoryError(f"cannot draft from {url}: the server sent {content_type}, not an article page")
    _refuse_binary(data, url)
    suffix_kind = SUFFIX_KINDS.get(Path(urlsplit(final_url).path).suffix.lower())
    kind = CONTENT_TYPE_KINDS.get(content_type) or suffix_kind or _sniff(data)
    return Fetched(data=data, kind=kind, name=url, url=final_url, charset=charset)


def _reason(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return f"no answer within {timeout:g} seconds (timed out)"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def _refuse_binary(data: bytes, name: str) -> None:
    if b"\x00" in data[:8192]:  # text never holds NUL bytes; PDFs, images and office files do
        raise StoryError(f"{name}: is not a text, Markdown or HTML article (it looks like a binary file)")


def _sniff(data: bytes) -> Kind:
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in head or b"<p>" in head:
        return "html"
    return "text"


def decode(fetched: Fetched) -> str:
    """The text of a non-HTML article (HTML is decoded by the extractor, which reads <meta charset>)."""
    for encoding in (fetched.charset, "utf-8-sig", "cp1252"):
        if not encoding:
            continue
        try:
            return fetched.data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return fetched.data.decode("latin-1")  # never fails: every byte is a character
