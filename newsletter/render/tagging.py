"""Tagged links: UTM parameters added to the links to stories (and the sponsor), when [links] utm is on.

The URL an editor wrote stays byte for byte what it was: the parameters are appended to its query by
string surgery, never by parsing and re-encoding it (which would reorder parameters, turn `%2F`
into `/` or `+` into `%2B`, or percent-encode an IRI's non-ASCII characters).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_plus, urlsplit

if TYPE_CHECKING:
    from ..models import Issue, Story
    from ..workspace.config import Config

SAFE = "-_.~"  # unreserved characters; everything else in an added value is percent-encoded
SPONSOR_SLOT = "sponsor"  # the utm_content of the sponsor's link


def tag_url(url: str, params: dict[str, str]) -> str:
    """`url` with `params` appended to its query, the rest of it unchanged (the fragment stays last).

    A link that already carries attribution keeps it: a key already in the query is never added
    again or overwritten, so `?utm_source=partner` keeps its source and gets only the keys it lacks
    (the medium, campaign and content still describe this send). A `ref` parameter is a partner's
    or sponsor's own tracking: a URL with one gets no parameters at all, so their report is not
    mixed with ours. Links that are not http(s) (mailto:, tel:, a relative path) are left alone.
    """
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unbalanced [ in the host: not ours to fix
        return url
    if scheme not in ("http", "https") or not params:
        return url
    # urlsplit's own rules: the fragment starts at the first "#", the query at the first "?" before it
    # (neither can occur in the host or path), so slicing the original string gives the same parts.
    base, hash_mark, fragment = url.partition("#")
    before, question_mark, query = base.partition("?")
    present = {unquote_plus(pair.partition("=")[0]).lower() for pair in query.split("&") if pair}
    if "ref" in present:
        return url
    added = "&".join(f"{quote(key, safe=SAFE)}={quote(value, safe=SAFE)}" for key, value in params.items() if key.lower() not in present)
    if not added:
        return url
    separator = "&" if query and not query.endswith("&") else ""
    return f"{before}?{query}{separator}{added}{hash_mark}{fragment}"


def default_source(name: str) -> str:
    """The newsletter's name as a slug: "The Weekly Model" -> "the-weekly-model"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "newsletter"


def utm_params(config: Config, number: int, slot: int | str) -> dict[str, str]:
    """The UTM parameters of one link of issue `number`: `slot` is a story's 1-based position in the
    issue, or a name used as the content as it is (SPONSOR_SLOT)."""
    links = config.links
    campaign = (links.utm_campaign or "issue-{number}").replace("{number}", str(number))
    content = (links.utm_content or "story-{slot}").replace("{slot}", str(slot)) if isinstance(slot, int) else slot
    return {
        "utm_source": links.utm_source or default_source(config.newsletter.name),
        "utm_medium": links.utm_medium,
        "utm_campaign": campaign,
        "utm_content": content,
    }


def slot_of(issue: Issue, story: Story) -> int | None:
    """The story's 1-based position among all the issue's stories, or None if it is not one of them."""
    for position, candidate in enumerate(issue.stories, start=1):
        if candidate is story:
            return position
    return None


def tagged(config: Config, issue: Issue, url: str, slot: int | str | Story) -> str:
    """`url` as a link in `issue` goes out: tagged when [links] utm is on, else unchanged.

    `slot` is the story the link belongs to (or its position), or a name such as SPONSOR_SLOT."""
    if not config.links.utm:
        return url
    if not isinstance(slot, int | str):
        position = slot_of(issue, slot)
        if position is None:  # a story from somewhere else: its position here is unknown
            return url
        slot = position
    return tag_url(url, utm_params(config, issue.number, slot))
