"""The archive in memory: which issues are published, and every file of the site as bytes.

An issue is published once at least one copy has gone out (the ledger says so), or when its file
is marked `publish: true`. Everything is read and validated before anything is rendered, and
everything is rendered before anything is written (see writer.py): a broken issue file stops the
run with its located error and leaves the published site as it was. The output depends only on
the issue files, the settings, the templates and the ledger (and, for a delivery SendGrid holds,
whether its time has come), so publishing twice gives the same bytes.

The site folder is laid out as the archive's host serves it: robots.txt at its root, where crawlers
look, and everything else under archive_url's path (site/archive/ for https://example.com/archive).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import jinja2

from ..errors import IssueFileError, OutputError
from ..files.reading import UnreadableFile, read_capped
from ..images.published import SITE_FOLDER
from ..issue.loading import MAX_FILE_BYTES, load_issue
from ..models import Issue, State, placeholders
from ..render.pipeline import Renderer, web_url
from ..workspace.config import Config, Workspace
from .cache import Cache, code_fingerprint, digest, render_fingerprint
from .images import publish_pictures

if TYPE_CHECKING:
    from ..db.ledger import Schedule

FEED_ENTRIES = 50
MAX_WORKERS = 8
PAGES_PER_WORKER = 40  # below this many pages per process, starting the processes costs more than it saves
FOLDER = SITE_FOLDER  # in the workspace: what `newsletter serve` serves
CACHE_FOLDER = Path(".cache") / "publish"
TEMPLATES = Path(__file__).parent / "templates"
BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


def default_folder(workspace: Workspace) -> Path:
    return workspace.root / FOLDER


@dataclass(frozen=True)
class Entry:
    """One published issue and where it lives."""

    path: Path  # the issue file
    issue: Issue
    archive_url: str

    @property
    def page(self) -> str:
        """The page's file name, which is also its address relative to the archive."""
        return f"issue-{self.issue.number}.html"

    @property
    def url(self) -> str:
        return f"{self.archive_url}/{self.page}"


@dataclass(frozen=True)
class Withheld:
    """An issue of the workspace that is not in the archive, and why."""

    number: int
    reason: str
    known: bool  # the ledger knows the issue (a send was made or scheduled): worth saying on every run

    @property
    def page(self) -> str:
        return f"issue-{self.number}.html"


NOT_SENT = "not sent, and not marked `publish: true`"


@dataclass
class Archive:
    entries: list[Entry]  # newest (highest number) first
    files: dict[str, bytes] = field(default_factory=dict)  # by path in the site folder ("archive/index.html", "robots.txt")
    cache: Cache = field(default_factory=lambda: Cache(None))
    archive: str = ""  # the folder of the archive's pages in the site folder: archive_url's path
    withheld: list[Withheld] = field(default_factory=list)  # issues of the workspace left out, by number


def archive_file(archive: str, name: str) -> str:
    """The path in the site folder of a file of the archive (a page, the index, the feed, the sitemap)."""
    return f"{archive}/{name}" if archive else name


def build_site(workspace: Workspace, renderer: Renderer | None = None, cache: Cache | None = None, now: dt.datetime | None = None) -> Archive:
    """Read every issue file, pick the published ones and render every file of the archive."""
    code = code_fingerprint()
    cache = cache if cache is not None else Cache(workspace.root / CACHE_FOLDER)
    issues = load_all(workspace, cache, code)
    not_out = not_gone_out(workspace, {issue.number for _, issue in issues}, now or dt.datetime.now(dt.UTC))
    archive_url = workspace.config.newsletter.archive_url.rstrip("/")
    chosen = [Entry(path, issue, archive_url) for path, issue in issues if issue.publish or not_out.get(issue.number, NOT_SENT) is None]
    pictures, shown = publish_pictures(workspace, issues, {entry.path for entry in chosen}, cache)
    chosen = [dataclasses.replace(entry, issue=shown.get(entry.path, entry.issue)) for entry in chosen]
    _refuse_duplicates(chosen)
    entries = sorted(chosen, key=lambda entry: entry.issue.number, reverse=True)
    archive = workspace.config.newsletter.archive_path
    site = Archive(entries, cache=cache, archive=archive, withheld=_withheld(issues, entries, not_out))
    fingerprint = render_fingerprint(workspace, code)
    pages: dict[str, bytes] = {}
    to_render: list[tuple[str, str, Issue, dict[str, object]]] = []
    for index, entry in enumerate(entries):
        newer = entries[index - 1] if index > 0 else None
        older = entries[index + 1] if index + 1 < len(entries) else None
        links = _links(workspace, entry, older, newer)
        key = digest(fingerprint, entry.issue.model_dump_json(), json.dumps(links, sort_keys=True))
        known = cache.get("page", key)
        if known is not None:
            pages[entry.page] = known
        else:
            to_render.append((entry.page, key, entry.issue, links))
    for (name, key, _, _), page in zip(to_render, _render_pages(workspace, renderer, [(issue, links) for _, _, issue, links in to_render]), strict=True):
        cache.put("page", key, page)
        pages[name] = page
    site.files.update((archive_file(archive, name), page) for name, page in sorted(pages.items()))
    site.files.update(_site_files(workspace, entries, pages))
    for name, data in site.files.items():
        token = placeholders.FOUND.search(data.decode("utf-8"))
        if token:
            raise OutputError(f"{name}: would publish the per-recipient placeholder {token.group(0)} (it is filled only in each reader's email); nothing was written")
    site.files.update((archive_file(archive, name), data) for name, data in sorted(pictures.items()))
    return site


def load_all(workspace: Workspace, cache: Cache, code: str) -> list[tuple[Path, Issue]]:
    """Every issue file of the workspace, validated (a file whose bytes were validated before is
    taken from the cache). The first invalid file raises its IssueFileError."""
    folder = workspace.issues_dir
    found = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:  # a regular file under the cap only: a FIFO named *.yaml would block here
            key = digest(code, read_capped(path, MAX_FILE_BYTES, "issue file"))
        except (OSError, UnreadableFile):
            key = None  # load_issue says what is wrong with it
        known = cache.get("issue", key) if key else None
        issue = None
        if known is not None:
            try:
                issue = Issue.model_validate_json(known)
            except ValueError:
                issue = None
        if issue is None:
            issue = load_issue(path)
            if key:
                cache.put("issue", key, issue.model_dump_json().encode("utf-8"))
        found.append((path, issue))
    return found


def not_gone_out(workspace: Workspace, numbers: set[int], now: dt.datetime) -> dict[int, str | None]:
    """For each of `numbers` the ledger knows: None when at least one copy has gone out, else why
    not (a phrase such as "no copy has gone out yet (12 scheduled for 2026-12-07 08:00+00:00)").
    Numbers the ledger has never seen are left out. Test copies are not in the ledger: they never count."""
    location = workspace.database
    if not numbers or (isinstance(location, Path) and not location.is_file()):
        return {}
    from ..db import Database

    found: dict[int, str | None] = {}
    with Database(workspace.database, create=False, read_only=True) as db:
        for number in numbers:
            counts = db.ledger.counts(str(number))
            schedule = db.ledger.schedule(str(number))
            if any(counts.values()) or schedule is not None:
                found[number] = why_not_gone_out(counts, schedule, now)
    return found


def why_not_gone_out(counts: dict[State, int], schedule: Schedule | None, now: dt.datetime) -> str | None:
    """None when the ledger shows a copy that went out: one the provider accepted (`sent`), one that
    may have gone (`unknown`: its reader may follow the link, so the page must be there), or one
    SendGrid holds for a time that has passed (it delivered them then; `send --due` records it)."""
    if counts[State.SENT] or counts[State.UNKNOWN]:
        return None
    if schedule is not None and schedule.held_by == "provider" and schedule.send_at <= now and counts[State.SCHEDULED]:
        return None
    parts = [f"{counts[state]} {words}" for state, words in WAITING if counts[state]]
    if counts[State.SCHEDULED]:
        when = f" for {schedule.send_at.isoformat(sep=' ', timespec='minutes')}" if schedule else ""
        parts.append(f"{counts[State.SCHEDULED]} scheduled{when}")
    still = " yet" if counts[State.PENDING] or counts[State.SCHEDULED] or counts[State.SENDING] else ""
    return f"no copy has gone out{still} ({', '.join(parts) or 'no recipient'})"


WAITING = ((State.FAILED, "failed"), (State.SKIPPED, "skipped"), (State.SENDING, "being sent"), (State.PENDING, "pending"))


def _withheld(issues: list[tuple[Path, Issue]], entries: list[Entry], not_out: dict[int, str | None]) -> list[Withheld]:
    published = {entry.issue.number for entry in entries}
    left = {issue.number for _, issue in issues} - published
    return [Withheld(number, not_out.get(number) or NOT_SENT, number in not_out) for number in sorted(left)]


def _refuse_duplicates(entries: list[Entry]) -> None:
    seen: dict[int, Path] = {}
    for entry in entries:
        other = seen.setdefault(entry.issue.number, entry.path)
        if other != entry.path:
            raise IssueFileError(f"{other} and {entry.path} are both issue {entry.issue.number}; only one can be published as {entry.page}. Nothing was written")


def _links(workspace: Workspace, entry: Entry, older: Entry | None, newer: Entry | None) -> dict[str, object]:
    """What the archive adds to the issue's web page (the template's `site`)."""
    return {
        "url": web_url(workspace, entry.issue),
        "index": "index.html",
        "feed": "feed.xml",
        "subscribe_url": f"{workspace.config.base_url}/subscribe",
        "previous": _link(older),
        "next": _link(newer),
    }


def _render_pages(workspace: Workspace, renderer: Renderer | None, jobs: list[tuple[Issue, dict[str, object]]]) -> list[bytes]:
    """The web pages of `jobs`, in order. Many pages (a first publish) are shared among worker
    processes, one per core: rendering is CPU-bound, and each page's bytes are the same either way."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS, len(jobs) // PAGES_PER_WORKER)
    if workers < 2:
        renderer = renderer or Renderer(workspace)
        return [renderer.render_web(issue, links).encode("utf-8") for issue, links in jobs]
    size = -(-len(jobs) // workers)
    chunks = [jobs[start : start + size] for start in range(0, len(jobs), size)]
    context = multiprocessing.get_context("spawn")  # not fork: the caller may run threads (the web app, tests)
    with concurrent.futures.ProcessPoolExecutor(len(chunks), mp_context=context) as pool:
        return [page for pages in pool.map(_render_chunk, [workspace] * len(chunks), chunks) for page in pages]


def _render_chunk(workspace: Workspace, jobs: list[tuple[Issue, dict[str, object]]]) -> list[bytes]:
    renderer = Renderer(workspace)
    return [renderer.render_web(issue, links).encode("utf-8") for issue, links in jobs]


def _link(entry: Entry | None) -> dict[str, object] | None:
    return {"number": entry.issue.number, "href": entry.page, "subject": entry.issue.subject} if entry else None


def _site_files(workspace: Workspace, entries: list[Entry], pages: dict[str, bytes]) -> dict[str, bytes]:
    """index.html, feed.xml, sitemap.xml and robots.txt, from the templates beside this module."""
    config = workspace.config
    archive_url = config.newsletter.archive_url.rstrip("/")
    host = urlsplit(archive_url).hostname or "localhost"
    feed = [_feed_entry(entry, pages, host) for entry in entries[:FEED_ENTRIES]]
    context = dict(
        newsletter=config.newsletter,
        sender=config.sender,
        archive_url=archive_url,
        index_url=f"{archive_url}/",
        subscribe_url=f"{config.base_url}/subscribe",
        entries=entries,
        feed_entries=feed,
        feed_id=f"{archive_url}/",  # the archive's address: it never changes, whatever is added
        # The newest issue's date: the feed changes when an issue is added, not when it is rebuilt.
        updated=_timestamp(max((entry.issue.date for entry in entries[:FEED_ENTRIES]), default=dt.date(1970, 1, 1))),
    )
    from ..render.theme import palettes

    context["light"], context["dark"] = palettes(config.brand.accent_color)
    archive = config.newsletter.archive_path
    topics = topic_feeds(config, entries, lambda entry: _feed_entry(entry, pages, host))
    context["topic_feeds"] = [(topic, name) for topic, name, _ in topics]
    context["topic_names"] = {key: topic.name for key, topic in config.topics.items()}
    context["topic_of"] = lambda issue: topic_of(config, issue)
    files = {
        archive_file(archive, "index.html"): _render("index.html.j2", context),
        archive_file(archive, "feed.xml"): _render("feed.xml.j2", dict(context, entries=feed)),
        archive_file(archive, "sitemap.xml"): _render("sitemap.xml.j2", context),
        # At the host's root, where crawlers look, whatever the archive's path; it names the sitemap's address.
        "robots.txt": _render("robots.txt.j2", context),
    }
    for topic, name, entries_of_topic in topics:  # one feed per topic, beside the one of them all
        title = f"{config.newsletter.name}: {name}"
        feed_of_topic = dict(context, entries=entries_of_topic, feed_title=title, feed_name=f"feed-{topic}.xml", feed_id=f"{archive_url}/#{topic}")
        files[archive_file(archive, f"feed-{topic}.xml")] = _render("feed.xml.j2", feed_of_topic)
    return files


def topic_of(config: Config, issue: Issue) -> str | None:
    """The topic an issue goes out in: its own `topic:`, else the workspace's default topic."""
    return issue.topic or config.default_topic


def topic_feeds(config: Config, entries: list[Entry], item: Callable[[Entry], dict[str, object]]) -> list[tuple[str, str, list[dict[str, object]]]]:
    """(key, name, feed entries) of each of the workspace's topics, newest first, at most
    FEED_ENTRIES each (counted in the topic, not in the archive)."""
    topics = []
    for key, topic in config.topics.items():
        chosen = [entry for entry in entries if topic_of(config, entry.issue) == key][:FEED_ENTRIES]
        topics.append((key, topic.name, [item(entry) for entry in chosen]))
    return topics


def _feed_entry(entry: Entry, pages: dict[str, bytes], host: str) -> dict[str, object]:
    return {
        "issue": entry.issue,
        "url": entry.url,
        "id": f"tag:{host},{entry.issue.date.isoformat()}:issue-{entry.issue.number}",
        "updated": _timestamp(entry.issue.date),
        "content": _main_content(pages[entry.page].decode("utf-8")),
    }


def _timestamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _main_content(page: str) -> str:
    """What a feed entry carries: the page's body (its styles are inline), without the head."""
    found = BODY.search(page)
    return found.group(1).strip() if found else page


_environment: jinja2.Environment | None = None


def _render(name: str, context: dict[str, object]) -> bytes:
    global _environment
    if _environment is None:
        _environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=lambda template: not (template or "").endswith(".txt.j2"),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
    return _environment.get_template(name).render(context).encode("utf-8")
