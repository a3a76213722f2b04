"""What every answer of the web app carries, and what it never lets through: security headers, the
proxies whose X-Forwarded-For is believed, and tokens kept out of logs."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

# The one script any page runs: it presses the confirm button for the reader at their first
# gesture on the page (a pointer moved or pressed, a key, a touch, the wheel). Opening the link
# alone confirms nothing: link scanners load the page, some run its scripts, none of them moves a
# pointer. Without scripts, the reader presses the button.
AUTOSUBMIT_SCRIPT = (
    '(function(){var f=document.getElementById("go"),done=false;'
    'function go(e){if(!done&&e.isTrusted){done=true;f.submit();}}'
    '["pointermove","pointerdown","keydown","touchstart","wheel"].forEach(function(t){addEventListener(t,go,{passive:true});});})();'
)

TOKEN_IN_URL = re.compile(r"(token=|/confirm/)[^\s&\"' ]+")
# The reader part of a tracked link or pixel (web/clicks.py) names the reader: kept out of logs, so
# that clicks = "aggregate" stores nothing per person anywhere. Only at a path's start: a link in ?u=
# may have /r/ in it too.
READER_IN_URL = re.compile(r"(?<![^\s\"])(/r/[^/\s?]+/[^/\s?]+/[^/\s?]+/|/o/[^/\s?]+/)[^\s&\"'?/ ]+")


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(brand_style: str) -> str:
    """No script but the hashed auto-submit, no style but ours, no framing, forms only to us."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {csp_hash(AUTOSUBMIT_SCRIPT)}",
            f"style-src 'self' {csp_hash(brand_style)}",
            "img-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def security_headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",  # a token in this page's URL must not travel to a linked site
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def redact_tokens(text: str) -> str:
    """A URL or log line with every token replaced by [token]."""
    return READER_IN_URL.sub(r"\1[token]", TOKEN_IN_URL.sub(r"\1[token]", text))


def client_group(address: str | None) -> str:
    """The rate-limit key of a client address: an IPv4 address as it is, an IPv6 address by its
    /64 (one subscriber line usually gets a whole /64, so one client can use millions)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class TrustedProxies:
    """Believe X-Forwarded-For (and -Proto) only from the proxies named in [web] trusted_proxies
    (addresses or CIDR ranges), so a client talking to the app directly cannot choose the address
    its rate limits count."""

    def __init__(self, app: Callable[..., Iterable[bytes]], trusted: list[str], hops: int) -> None:
        self.app = app
        self.trusted = [ipaddress.ip_network(entry, strict=False) for entry in trusted]
        self.behind_proxy = ProxyFix(app, x_for=hops, x_proto=hops)

    def is_trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == network.version and ip in network for network in self.trusted)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.is_trusted(environ.get("REMOTE_ADDR")):
            return self.behind_proxy(environ, start_response)
        return self.app(environ, start_response)
