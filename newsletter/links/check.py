"""`check --links`: every link of an issue fetched in parallel (probe.py) and judged.

A link is broken (an error: `check` exits 1) when its page is gone, 404 or 410. Warnings: a link
that redirects to its site's home page (a moved or deleted article often does), a page that shows
a paywall's marker in its first KB, a story link that ends on another page than the story's
`url`, an other error status, and a link that could not be checked (too slow, a private address,
no such host)."""

from __future__ import annotations

import concurrent.futures
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..issue.checks import Finding
from ..issue.prepare import locate
from ..models import Issue
from ..models.canonical import canonical_url
from .collect import IssueLink, issue_links
from .probe import Probe, probe

POOL = 8  # links fetched at once: enough to hide latency, few enough not to flood one site
LINK_TIMEOUT = 10.0  # seconds for one link, both requests and redirects included
TOTAL_DEADLINE = 60.0  # seconds for all of them
GONE = frozenset({404, 410})
# Words in the first KB of a page that say it is for subscribers only (compared in lower case,
# spaces dropped): sites' own words, and schema.org's flag that Google asks paywalled pages to set.
PAYWALL_MARKERS = (
    "subscribe to continue",
    "subscribe to read",
    "subscribers only",
    "this article is for subscribers",
    '"isaccessibleforfree": false',
    '"isaccessibleforfree": "false"',
)
_MARKERS = tuple(re.sub(r"\s+", "", marker) for marker in PAYWALL_MARKERS)

LINK_BROKEN = "link-broken"
LINK_TO_HOME_PAGE = "link-to-home-page"
LINK_PAYWALL = "link-paywall"
LINK_ELSEWHERE = "link-elsewhere"  # a story's link ends on another page than the story's url
LINK_ERROR_STATUS = "link-error-status"
LINK_UNCHECKED = "link-unchecked"


@dataclass(frozen=True)
class LinkCheck:
    findings: list[Finding]  # located in the issue file
    fetched: int  # distinct links (by canonical form) asked for


def check_links(
    issue: Issue, issue_file: Path, timeout: float = LINK_TIMEOUT, deadline: float = TOTAL_DEADLINE, allow_private: bool = False
) -> LinkCheck:
    """Fetch each link of `issue` once (links equal in canonical form are one), at most POOL at a
    time, each within `timeout` seconds and all within `deadline`; the findings, located in `issue_file`."""
    links = issue_links(issue)
    first: dict[str, str] = {}  # canonical form -> the link as first written, which is fetched
    for link in links:
        first.setdefault(canonical_url(link.url), link.url)
    probes = _probe_all(list(first.values()), timeout, deadline, allow_private)
    findings: list[Finding] = []
    for link in links:
        fetched = first[canonical_url(link.url)]
        findings += judge(link, probes.get(fetched) or Probe(fetched, error=ran_out(deadline)))
    return LinkCheck(locate(sorted(findings, key=lambda f: f.level != "error"), issue_file), len(first))


def _probe_all(urls: list[str], timeout: float, deadline: float, allow_private: bool) -> dict[str, Probe]:
    """Each URL's probe; a URL missing from the answer was not done by the deadline."""
    ends = time.monotonic() + deadline
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=POOL, thread_name_prefix="link-check")
    futures = {pool.submit(_probe_before, url, timeout, ends, deadline, allow_private): url for url in urls}
    done, _ = concurrent.futures.wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)  # those still running end at their own timeout
    answers = {futures[future]: future.result() for future in done}
    return {url: answer for url, answer in answers.items() if answer is not None}


def _probe_before(url: str, timeout: float, ends: float, deadline: float, allow_private: bool) -> Probe | None:
    """`url` probed within `timeout` and never past `ends`; None when it was queued past `ends`."""
    remaining = ends - time.monotonic()
    if remaining <= 0:
        return None
    answer = probe(url, min(timeout, remaining), allow_private)
    if answer.error is not None and remaining < timeout and time.monotonic() >= ends:
        return Probe(url, error=ran_out(deadline))  # cut short by the total deadline, not its own
    return answer


def ran_out(deadline: float) -> str:
    return f"the {deadline:g} seconds for all links ran out"


def judge(link: IssueLink, answer: Probe) -> list[Finding]:
    """What is wrong with `link`, given what fetching it gave."""
    if answer.error is not None or answer.status is None:
        return [Finding("warning", f"{link.url} was not checked: {answer.error}", link.field, code=LINK_UNCHECKED)]
    if answer.status in GONE:
        return [Finding("error", f"{link.url} is broken: the server answered {answer.status} ({'not found' if answer.status == 404 else 'gone'})", link.field, code=LINK_BROKEN)]
    if answer.status >= 400:
        return [Finding("warning", f"{link.url}: the server answered {answer.status} to {answer.method}", link.field, code=LINK_ERROR_STATUS)]
    found: list[Finding] = []
    final = answer.final_url or link.url
    if _is_home_page(final) and not _is_home_page(link.url):
        found.append(Finding("warning", f"{link.url} redirects to its site's home page, {final}: the article may have moved or gone", link.field, code=LINK_TO_HOME_PAGE))
    elif link.story_url is not None and canonical_url(final) != canonical_url(link.story_url):
        found.append(Finding("warning", f"{link.url} ends on another page, {final}; link to that page, or check that it is still the story", link.field, code=LINK_ELSEWHERE))
    marker = paywall_marker(answer.body)
    if marker:
        found.append(Finding("warning", f"{link.url} seems to be behind a paywall (its page says {marker!r})", link.field, code=LINK_PAYWALL))
    return found


def paywall_marker(body: bytes) -> str | None:
    """The first of PAYWALL_MARKERS in `body` (the first KB of a page), if any."""
    text = re.sub(r"\s+", "", body.decode("utf-8", "replace").lower())
    for marker, squeezed in zip(PAYWALL_MARKERS, _MARKERS, strict=True):
        if squeezed in text:
            return marker
    return None


def _is_home_page(url: str) -> bool:
    return urlsplit(url).path in ("", "/")
