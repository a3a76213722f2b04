"""Telling a mail scanner's click from a person's, and a proxy's open from a reader's: pure
functions over what a request showed (its method, its User-Agent) and when it came.

A click judged a machine's is still stored, with `machine` saying why (db/clicks.py), and never
counted as a person's:
- "head": a HEAD request. A browser following a link sends GET; link checkers and scanners ask
  for the headers alone.
- "agent": a User-Agent of a known scanner or HTTP library (SCANNER_AGENTS).
- "early": within EARLY_SECONDS of the copy leaving (deliveries.updated_at of its `sent` row): a
  gateway scanning the message on arrival, before any person could have read it.
- "burst": BURST_LINKS distinct links of one copy within BURST_SECONDS: a scanner opening every
  link of the message; no person reads that fast. Every click of the burst is marked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

EARLY_SECONDS = 10.0
BURST_SECONDS = 2.0
# Three, not two: a reader may open two stories in new tabs within two seconds; a scanner opens
# every link of the message (the smallest issue has a story, the sponsor and more).
BURST_LINKS = 3

# Lower-case parts of the User-Agent header of link scanners and HTTP libraries. Sources: each
# vendor's documentation or published sightings, as noted; a library's default agent is in its code.
SCANNER_AGENTS: tuple[str, ...] = (
    "barracuda",  # Barracuda Email Security Gateway's link protection ("Barracuda Sentinel")
    "ppe-",  # Proofpoint's URL Defense fetcher ("ppe-h/…"; Proofpoint TAP documentation)
    "proofpoint",
    "mimecast",  # Mimecast URL Protect
    "microsoft office",  # Safe Links / Office link preview ("Microsoft Office/16.0 …")
    "bingpreview",  # Microsoft's Bing link preview, used by Outlook.com
    "ms-office",
    "msoffice",
    "symantec",  # Symantec/Broadcom Email Security.cloud click-time protection
    "forcepoint",
    "trendmicro",
    "fortiguard",
    "python-requests",  # requests' default User-Agent
    "python-urllib",  # urllib's default User-Agent
    "python-httpx",
    "aiohttp",
    "curl/",  # curl's default
    "wget/",
    "go-http-client",  # Go's net/http default
    "java/",  # Java's HttpURLConnection default
    "okhttp",
    "libwww-perl",
    "headlesschrome",  # a scripted Chrome, as sandboxes run (Chrome's own headless agent)
    "phantomjs",
    "bot/",  # crawlers say so: "Googlebot/2.1", "bingbot/2.0", "Twitterbot/1.0" (not a bare "bot": phones named CUBOT)
    "slackbot",  # Slack's link expander ("Slackbot-LinkExpanding 1.0")
    "facebookexternalhit",  # Facebook's link preview
    "spider",
    "crawler",
)

# Opens (the pixel): a fetch that is not a person looking. Apple Mail Privacy Protection fetches
# every image of every message through its proxy, sending the bare agent "Mozilla/5.0" (as every
# provider that labels machine opens documents, e.g. SendGrid's sg_machine_open); the same
# scanners and libraries as above prefetch images too.
APPLE_PROXY_AGENT = "mozilla/5.0"


def scanner_agent(user_agent: str | None) -> bool:
    """A User-Agent of a known scanner, HTTP library or crawler; an empty or missing one too (every
    browser sends one)."""
    agent = (user_agent or "").strip().lower()
    return not agent or any(part in agent for part in SCANNER_AGENTS)


def machine_open(user_agent: str | None, head: bool = False) -> bool:
    """A pixel fetch that is not a reader's: Apple's proxy, a scanner or prefetcher, or a HEAD."""
    agent = (user_agent or "").strip().lower()
    return head or agent == APPLE_PROXY_AGENT or scanner_agent(agent)


def too_soon(clicked_at: float, sent_at: str | None, seconds: float = EARLY_SECONDS) -> bool:
    """Clicked within `seconds` of the copy leaving (`sent_at`: ISO 8601, to the second)."""
    if sent_at is None:
        return False
    try:
        sent = dt.datetime.fromisoformat(sent_at).timestamp()
    except ValueError:
        return False
    # The ledger keeps whole seconds: a click in the same second as the stamp is at most one early.
    return clicked_at - sent < seconds + 1


def request_reason(head: bool, user_agent: str | None) -> str | None:
    """Why a click is a machine's from the request alone (None: nothing says so)."""
    if head:
        return "head"
    if scanner_agent(user_agent):
        return "agent"
    return None


def in_bursts(clicks: Sequence[tuple[float, str]], seconds: float = BURST_SECONDS, links: int = BURST_LINKS) -> set[int]:
    """Indices of the clicks (time, link) of ONE copy that belong to a burst: a window of at most
    `seconds` holding `links` or more distinct links. Every click in such a window is in it."""
    order = sorted(range(len(clicks)), key=lambda n: clicks[n][0])
    found: set[int] = set()
    start = 0
    for end, index in enumerate(order):
        while clicks[index][0] - clicks[order[start]][0] > seconds:
            start += 1
        window = order[start : end + 1]
        if len({clicks[n][1] for n in window}) >= links:
            found.update(window)
    return found
