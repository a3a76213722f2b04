"""A link's canonical form, to tell whether two links name the same page: what the inbox and
`check` compare against the links of earlier issues. Tracking parameters, fragments, default
ports, `www.` and a trailing slash make no difference; the rest of the query does.

    canonical_url("https://www.Example.com/a/?utm_source=x&id=7#top") == "https://example.com/a?id=7"
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Parameters that say how a reader came, not which page: analytics' and mail tools' own.
TRACKING = re.compile(
    r"^(utm_\w+|mc_(cid|eid)|fbclid|gclid|dclid|msclkid|yclid|igshid|_hsenc|_hsmi|mkt_tok|vero_(id|conv)|"
    r"oly_(anon|enc)_id|rb_clickid|s_cid|ref_?src|ref|cmpid|__s|ck_subscriber_id)$",
    re.IGNORECASE,
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """`url` reduced to what names the page. A text that is no http(s) URL comes back stripped."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return text
    host = parts.hostname.rstrip(".")
    host = host[4:] if host.startswith("www.") else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted((key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(key))
    # http and https name the same page for every site a newsletter links to.
    return urlunsplit(("https", host, path, urlencode(query), ""))
