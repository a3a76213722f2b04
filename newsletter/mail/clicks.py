"""The tool's own click tracking: each link of an email goes through the web app's redirect.

A tracked link is `<base_url>/r/<issue>/<slot>/<signature>/<reader>?u=<the link>`:
- `slot` is the story's 1-based position in the issue, `sponsor`, or `0` for any other link;
- `signature` is the HMAC (Purpose.REDIRECT) of the issue, the slot and the link, so the redirect
  only ever goes where an issue linked: no one can make it send a reader anywhere else;
- `reader` is the %%click%% placeholder, filled per copy with `<public id>.<signature>`
  (Purpose.CLICK, bound to the issue), or NO_READER for a copy without a reader (a proof).
The issue is still rendered once: only the placeholder differs per reader. With [tracking] clicks =
"aggregate" the web app uses the reader part only to tell a mail scanner from a person and to credit a
subject variant, and stores nobody.

The unsubscribe, preferences and view-in-browser links, and every other link to the newsletter's own
site, are left as they are. The same link in the text part becomes the same tracked link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..models import Email, Issue, placeholders
from ..render.tagging import SPONSOR_SLOT, tagged
from .links import PUBLIC_ID, Purpose, signature

if TYPE_CHECKING:
    from ..workspace.config import Config
    from ..workspace.credentials import SigningKeys

SIZING_KEY = b"only-measures-how-long-the-links-get"  # never signs a link that goes out
# 96 bits: a forger must still guess, online, one of 2**96 values per link; each of the email's
# dozens of links is 12 characters shorter than with the 128 bits of the other tokens.
SIGNATURE_BYTES = 12
READER_PART_CHARS = 16 + 1 + 16  # a public id, a dot, a signature: what %%click%% becomes in a copy
NO_READER = "-"  # the reader part of a copy nobody on the list gets: its clicks are counted for no one
OTHER_SLOT = "0"  # a link outside any story (the intro, the outro)
SLOT = re.compile(r"(?:[0-9]{1,4}|sponsor)")
ISSUE = re.compile(r"[A-Za-z0-9_-]{1,32}")
SAFE_IN_QUERY = ":/?=@"  # left as they are in ?u=: a link stays readable; & # + % and the rest are encoded
HREF = re.compile(r'href="(https?://[^"]+)"', re.IGNORECASE)
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"]+")
URL_IN_MARKDOWN = re.compile(r"https?://[^\s<>\"()\[\]]+")
PIXEL = '<img src="{src}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" aria-hidden="true">'


@dataclass(frozen=True)
class TrackedLink:
    """What a genuine tracked link says: the issue, the slot and where it goes."""

    issue: str
    slot: str
    url: str


@dataclass(frozen=True)
class StoryLink:
    """One story of an issue as it went out, kept with the ledger so reports by story outlive edits
    to the issue file: its slot, place and what it carried."""

    slot: str
    position: int | None
    title: str
    source: str | None
    section: str | None
    url: str  # as linked (UTM parameters included)
    has_image: bool = False
    has_quote: bool = False
    has_facts: bool = False


def link_signature(issue: str, slot: str, url: str, secret: bytes) -> str:
    return _b64(signature(f"{issue}\0{slot}\0{url}", Purpose.REDIRECT, secret)[:SIGNATURE_BYTES])


def tracked_url(base_url: str, issue: str, slot: str, url: str, secret: bytes, reader: str = placeholders.CLICK) -> str:
    """The redirect that stands for `url` (slot `slot` of `issue`) in the email."""
    return f"{base_url}/r/{issue}/{slot}/{link_signature(issue, slot, url, secret)}/{reader}?u={quote(url, safe=SAFE_IN_QUERY)}"


def verify_link(issue: str, slot: str, sig: str, url: str, keys: SigningKeys) -> TrackedLink | None:
    """The link a genuine redirect stands for; None for anything forged, damaged or changed."""
    if not ISSUE.fullmatch(issue) or not SLOT.fullmatch(slot) or not sig.isascii() or not url.isprintable():
        return None
    if not url.startswith(("http://", "https://")):  # never javascript:, data: or a relative path, signed or not
        return None
    if any(hmac.compare_digest(sig, link_signature(issue, slot, url, key)) for key in keys.accepted):
        return TrackedLink(issue, slot, url)
    return None


def reader_signer(secret: bytes, issue: str) -> Callable[[str], str]:
    """The reader part of every tracked link in one reader's copy of `issue`: `<public id>.<signature>`
    (the signature covers the issue too, which the path carries already). Prepared once per batch."""
    keyed = hmac.new(secret, digestmod=hashlib.sha256)
    prefix = f"newsletter-link\0{Purpose.CLICK}\0".encode()
    suffix = f".{issue}".encode()

    def reader(public_id: str) -> str:
        mac = keyed.copy()
        mac.update(prefix + public_id.encode() + suffix)
        return f"{public_id}.{_b64(mac.digest()[:SIGNATURE_BYTES])}"

    return reader


def verify_reader(reader: str, issue: str, keys: SigningKeys) -> str | None:
    """The public id of the reader a genuine reader part was made for, in `issue`; None for NO_READER
    or anything forged."""
    public_id, dot, sig = reader.partition(".")
    if not dot or not PUBLIC_ID.fullmatch(public_id) or not ISSUE.fullmatch(issue) or not sig.isascii():
        return None
    body = f"{public_id}.{issue}"
    return public_id if any(hmac.compare_digest(sig, _b64(signature(body, Purpose.CLICK, key)[:SIGNATURE_BYTES])) for key in keys.accepted) else None


def pixel_url(base_url: str, issue: str) -> str:
    """The open pixel of `issue` ([tracking] opens = true), with the reader's placeholder."""
    return f"{base_url}/o/{issue}/{placeholders.CLICK}"


def story_links(config: Config, issue: Issue) -> list[StoryLink]:
    """Every story (and the sponsor) of `issue`, as its links go out."""
    found = []
    position = 0
    for section in issue.sections:
        for story in section.stories:
            position += 1
            found.append(
                StoryLink(
                    str(position), position, story.title, story.source, section.title, tagged(config, issue, story.url, position),
                    story.image is not None, story.quote is not None, bool(story.key_facts),
                )
            )  # fmt: skip
    if issue.sponsor is not None:
        found.append(StoryLink(SPONSOR_SLOT, None, issue.sponsor.name, None, None, tagged(config, issue, issue.sponsor.url, SPONSOR_SLOT)))
    return found


def link_slots(config: Config, issue: Issue) -> dict[str, str]:
    """Each link of the issue and the slot it is credited to: a story's own link, then the links
    in its text; a link in two stories goes to the first."""
    slots: dict[str, str] = {}
    for link in story_links(config, issue):
        slots.setdefault(link.url, link.slot)
    position = 0
    for section in issue.sections:
        for story in section.stories:
            position += 1
            texts = [story.summary, *story.key_facts, story.quote.text if story.quote else ""]
            for url in URL_IN_MARKDOWN.findall("\n".join(texts)):
                slots.setdefault(url, str(position))
    if issue.sponsor is not None:
        for url in URL_IN_MARKDOWN.findall(issue.sponsor.text):
            slots.setdefault(url, SPONSOR_SLOT)
    return slots


def track_email(email: Email, issue: Issue, key: str, config: Config, secret: bytes) -> Email:
    """`email` with every outside link through the redirect (and the pixel, with [tracking] opens);
    unchanged with [tracking] clicks = "off" and opens off."""
    tracking = config.tracking
    base = config.base_url
    own = tuple({base + "/", config.newsletter.archive_url.rstrip("/") + "/", config.newsletter.archive_url})
    slots = link_slots(config, issue)
    rewritten: dict[str, str] = {}

    def tracked(url: str) -> str:
        if url.startswith(own) or url == base or placeholders.CLICK in url or "%%" in url:
            return url
        if url not in rewritten:
            rewritten[url] = tracked_url(base, key, slots.get(url, OTHER_SLOT), url, secret)
        return rewritten[url]

    body, text = email.html, email.text
    if tracking.clicks != "off":
        body = HREF.sub(lambda found: f'href="{html.escape(tracked(html.unescape(found.group(1))))}"', body)
        known = sorted(rewritten, key=len, reverse=True)
        text = URL_IN_TEXT.sub(lambda found: _in_text(found.group(0), known, rewritten), text)
    if tracking.opens:
        pixel = PIXEL.format(src=html.escape(pixel_url(base, key)))
        at = body.rfind("</body>")
        body = body[:at] + pixel + body[at:] if at >= 0 else body + pixel
    return email.model_copy(update={"html": body, "text": text})


def tracking_growth(email: Email, issue: Issue, key: str, config: Config) -> int:
    """How many bytes the tool's own tracking adds to each copy's HTML, reader part included: what
    Gmail's clip must count. Signatures have the same length whatever the key."""
    if config.tracking.clicks == "off" and not config.tracking.opens:
        return 0
    tracked = track_email(email, issue, key, config, SIZING_KEY).html
    filled = tracked.replace(placeholders.CLICK, "x" * READER_PART_CHARS)
    return len(filled.encode("utf-8")) - email.html_bytes


def _in_text(found: str, known: list[str], rewritten: dict[str, str]) -> str:
    """A URL of the text part as its tracked link when the HTML part has it (the longest known link
    it starts with: a sentence's full stop may follow it)."""
    for url in known:
        if found.startswith(url):
            return rewritten[url] + found[len(url) :]
    return found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
