"""Read one feed: over http(s) through the story drafter's guarded fetch (no private addresses,
redirects checked, one deadline, a size cap) with a conditional GET, or from a file in the
workspace; parsed with feedparser into items."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..files.reading import UnreadableFile, read_capped
from ..models import is_http_url
from ..stories.errors import StoryError
from ..stories.guarded_http import Guard, read_body

if TYPE_CHECKING:
    from ..workspace.config import SourceSettings

MAX_FEED_BYTES = 5_000_000  # a feed of 100 full articles is about 1 MB
MAX_ITEMS = 200  # per feed and fetch: the newest; an endless feed is a mistake or an attack
TEASER_CHARS = 160
USER_AGENT = "newsletter-sources/0.1 (+https://pypi.org/project/newsletter)"
ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
# One feed parsed at a time: parsing is pure Python, and threads taking turns at the GIL
# mid-parse cost more than they overlap; the fetching around it still runs in parallel.
PARSING = threading.Lock()
# Controls (ESC and the rest) from a feed must not reach a terminal or an issue file.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Validators:
    """What the server said identifies its last answer, sent back to ask "anything new?"."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FeedItem:
    title: str
    url: str
    published: dt.datetime | None
    teaser: str  # one line of plain text


@dataclass(frozen=True)
class FeedAnswer:
    items: list[FeedItem]
    unchanged: bool  # a 304: nothing new since the validators
    validators: Validators


def read_feed(source: SourceSettings, root: Path, remembered: Validators, timeout: float, allow_private: bool) -> FeedAnswer:
    """The items of `source`'s feed. Raises StoryError (a fetch) or ValueError (a feed) naming the problem."""
    if urlsplit(source.url).scheme.lower() in ("http", "https"):
        fetched = _fetch(source.url, remembered, timeout, allow_private)
        if fetched is None:
            return FeedAnswer([], True, remembered)
        data, headers, validators = fetched
    else:
        data, headers, validators = _read_file(source.url, root), {}, Validators()
    with PARSING:
        return FeedAnswer(parse_items(data, headers), False, validators)


def _read_file(name: str, root: Path) -> bytes:
    path = root / name
    if not path.resolve().is_relative_to(root.resolve()):  # a symbolic link out of the workspace
        raise StoryError(f"{name}: leads outside the workspace; a feed file must be inside it")
    try:
        return read_capped(path, MAX_FEED_BYTES, "feed file")
    except FileNotFoundError:
        raise StoryError(f"{name}: no such file in the workspace") from None
    except UnreadableFile as exc:
        raise StoryError(f"{name}: {exc}") from None


def _fetch(url: str, remembered: Validators, timeout: float, allow_private: bool) -> tuple[bytes, dict[str, str], Validators] | None:
    """The body, headers and validators of the feed; None for 304 Not Modified."""
    import http.client
    import urllib.error
    import urllib.request

    from ..stories.guarded_http import check_public, opener

    if not allow_private:
        check_public(url)
    guard = Guard(url, timeout, allow_private)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if remembered.etag:
        headers["If-None-Match"] = remembered.etag
    if remembered.last_modified:
        headers["If-Modified-Since"] = remembered.last_modified
    try:
        with opener(guard).open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.strip().isdigit() and int(length) > MAX_FEED_BYTES:  # refused before a byte of it is read
                raise StoryError(f"the feed is larger than {MAX_FEED_BYTES // 1_000_000} MB")
            data = read_body(response, guard, MAX_FEED_BYTES)
            answer = {
                "content-type": response.headers.get("Content-Type", ""),
                "content-location": response.geturl(),  # relative links resolve against where it ended up
            }
            validators = Validators(_header(response.headers.get("ETag")), _header(response.headers.get("Last-Modified")))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return None
        if urllib.request.HTTPRedirectHandler.inf_msg in str(exc.reason):
            raise StoryError("it redirects in a loop or too many times") from None
        raise StoryError(f"the server answered {exc.code} {_one_line(str(exc.reason))}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        if guard.expired.is_set():
            raise StoryError(f"no complete answer within {timeout:g} seconds") from None
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise StoryError(f"no complete answer within {timeout:g} seconds") from None
        raise StoryError(_one_line(getattr(reason, "strerror", None) or str(reason))) from None
    finally:
        guard.close()
    if len(data) > MAX_FEED_BYTES:
        raise StoryError(f"the feed is larger than {MAX_FEED_BYTES // 1_000_000} MB")
    return data, answer, validators


def _header(value: str | None) -> str | None:
    """A validator to send back: one line, a sane length, or nothing."""
    if not value or len(value) > 500 or CONTROLS.search(value) or "\n" in value:
        return None
    return value


def parse_items(data: bytes, headers: dict[str, str]) -> list[FeedItem]:
    """The feed's entries with an http(s) link, newest first, at most MAX_ITEMS. Raises ValueError
    when `data` is no RSS, Atom or JSON Feed at all."""
    import feedparser

    if data.lstrip()[:1] == b"{":
        return _newest(_json_feed_items(data))

    # A stream, never bytes or str: feedparser takes a string that looks like a URL or a path as
    # one to open, and a hostile body must not make it read a local file.
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise ValueError(f"not an RSS or Atom feed{f' ({_one_line(str(problem))})' if problem else ''}")
    return _newest([item for entry in parsed.entries if (item := _item(entry)) is not None])


def _newest(items: list[FeedItem]) -> list[FeedItem]:
    items.sort(key=lambda item: item.published or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return items[:MAX_ITEMS]


def _json_feed_items(data: bytes) -> list[FeedItem]:
    """A JSON Feed (https://jsonfeed.org, versions 1 and 1.1: a JSON object, read by the json
    module), which feedparser does not read. Raises ValueError when it is not one."""
    import json

    try:
        feed = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError("not an RSS or Atom feed, nor a JSON Feed (the JSON does not parse)") from None
    if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith("https://jsonfeed.org/version/1") or not isinstance(feed.get("items"), list):
        raise ValueError("not an RSS or Atom feed, nor a JSON Feed (no jsonfeed.org version and items)")
    entries = [entry for entry in feed["items"][: MAX_ITEMS * 5] if isinstance(entry, dict)]
    return [item for entry in entries if (item := _json_item(entry)) is not None]


def _json_item(entry: dict[str, Any]) -> FeedItem | None:
    link = str(entry.get("url") or entry.get("external_url") or "").strip()
    if not is_http_url(link) or len(link) > 2000:
        return None
    title = _one_line(_plain(str(entry.get("title") or "")))
    summary = entry.get("summary") or entry.get("content_text") or _plain(str(entry.get("content_html") or ""))
    return FeedItem(title=title[:300] or link, url=link, published=_json_date(entry), teaser=teaser(_plain(str(summary))))


def _json_date(entry: dict[str, Any]) -> dt.datetime | None:
    for key in ("date_published", "date_modified"):
        try:
            stamp = dt.datetime.fromisoformat(str(entry.get(key) or "").replace("Z", "+00:00"))
        except ValueError:
            continue
        return stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    return None


def _item(entry: Any) -> FeedItem | None:
    link = str(entry.get("link") or "").strip()
    if not is_http_url(link) or len(link) > 2000:
        return None
    title = _one_line(_plain(str(entry.get("title") or "")))
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    return FeedItem(title=title[:300] or link, url=link, published=_published(entry), teaser=teaser(_plain(str(summary))))


def _published(entry: Any) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        stamp = entry.get(key)
        if stamp:
            try:
                year, month, day, hour, minute, second = stamp[:6]
                return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
            except (TypeError, ValueError):
                continue
    return None


def _plain(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped by nh3 (scripts and styles with their content)."""
    import nh3

    return html.unescape(nh3.clean(fragment, tags=set()))


def _one_line(text: str) -> str:
    return " ".join(CONTROLS.sub(" ", text).split())


def teaser(text: str) -> str:
    """One line of at most TEASER_CHARS, cut at a word and marked "…" when cut."""
    line = _one_line(text)
    if len(line) <= TEASER_CHARS:
        return line
    cut = line.rfind(" ", 0, TEASER_CHARS)
    return line[: cut if cut > 0 else TEASER_CHARS].rstrip(" ,;:—–-") + "…"
