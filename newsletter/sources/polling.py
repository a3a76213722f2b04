"""`newsletter sources fetch`: every source read at once (a small pool of threads), each with its
own deadline and size cap, then the inbox written once. One feed's failure is one line of the
summary; it never stops the others, and nothing is written half."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NewsletterError
from .archive import links_that_ran
from .feeds import FeedAnswer, Validators, read_feed
from .inbox import load_inbox, save_inbox

if TYPE_CHECKING:
    from pathlib import Path

    from ..workspace.config import SourceSettings, Workspace

DEFAULT_TIMEOUT = 15.0  # seconds for one feed's whole answer, redirects included
WORKERS = 8  # feeds read at once: network-bound, and a small pool is kind to the servers


@dataclass(frozen=True)
class SourceResult:
    """What one source gave: new items (and how many of them already ran), unchanged, or a problem."""

    name: str
    added: int = 0
    marked: int = 0
    seen: int = 0  # items in the feed, new or not
    unchanged: bool = False  # the server said 304 Not Modified
    problem: str | None = None

    def line(self) -> str:
        if self.problem:
            return f"{self.name}: failed: {self.problem}"
        if self.unchanged:
            return f"{self.name}: unchanged since the last fetch"
        ran = f" ({self.marked} already ran)" if self.marked else ""
        return f"{self.name}: {self.added} new item(s){ran} of {self.seen} in the feed"


@dataclass(frozen=True)
class FetchRun:
    results: list[SourceResult]
    inbox: Path | None  # the inbox file written, or None when nothing changed

    @property
    def all_failed(self) -> bool:
        return bool(self.results) and all(result.problem for result in self.results)


def fetch_sources(workspace: Workspace, timeout: float = DEFAULT_TIMEOUT, allow_private: bool = False) -> FetchRun:
    """Read every [[sources]] feed into the workspace's inbox. Raises InboxError for a broken inbox
    file before any feed is fetched."""
    import feedparser  # noqa: F401  here, not in a thread: a missing `stories` part is told as such

    sources = workspace.config.sources
    inbox = load_inbox(workspace.root)  # a broken inbox stops the run before any network
    with ThreadPoolExecutor(max_workers=min(WORKERS, max(len(sources), 1)), thread_name_prefix="feed") as pool:
        answers = list(pool.map(lambda source: _read(source, workspace.root, inbox.validators(source.url), timeout, allow_private), sources))
    ran = links_that_ran(workspace.issues_dir)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    results: list[SourceResult] = []
    changed = False
    for source, answer in zip(sources, answers, strict=True):
        if isinstance(answer, str):
            results.append(SourceResult(source.name, problem=answer))
            continue
        if answer.validators != inbox.validators(source.url):
            inbox.remember(source.url, answer.validators)
            changed = True
        if answer.unchanged:
            results.append(SourceResult(source.name, unchanged=True))
            continue
        added, marked = inbox.take_in(source.name, answer.items, ran, now)
        changed = changed or added > 0
        results.append(SourceResult(source.name, added=added, marked=marked, seen=len(answer.items)))
    return FetchRun(results, save_inbox(workspace.root, inbox) if changed else None)


def _read(source: SourceSettings, root: Path, remembered: Validators, timeout: float, allow_private: bool) -> FeedAnswer | str:
    """The feed's answer, or why it could not be read (one line)."""
    try:
        return read_feed(source, root, remembered, timeout, allow_private)
    except NewsletterError as exc:
        return _one_line(str(exc).removeprefix(f"cannot fetch {source.url}: "))
    except ValueError as exc:
        return _one_line(str(exc))
    except Exception as exc:  # noqa: BLE001  a feed that breaks the parser is that feed's problem, never the run's
        return _one_line(f"could not be read as a feed ({type(exc).__name__}: {exc})")


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:299] + "…"
