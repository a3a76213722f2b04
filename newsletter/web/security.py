"""What every answer of the web app carries, and what it never lets through: security headers, the
proxies whose X-Forwarded-For is believed, and tokens kept out of logs."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

# The one script any page runs: it presses the confirm button for the reader (link scanners that
# prefetch the GET run no scripts, so they never confirm anyone).
AUTOSUBMIT_SCRIPT = 'document.getElementById("go").submit();'

TOKEN_IN_URL = re.compile(r"(token=|/confirm/)[^\s&\"' ]+")


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


def redact(text: str) -> str:
    """A URL or log line with every token replaced by [token]."""
    return TOKEN_IN_URL.sub(r"\1[token]", text)


class TrustedProxies:
    """Believe X-Forwarded-For (and -Proto) only from the proxies named in [web] trusted_proxies,
    so a client talking to the app directly cannot choose the address its rate limits count."""

    def __init__(self, app: Callable[..., Iterable[bytes]], trusted: list[str], hops: int) -> None:
        self.app = app
        self.trusted = set(trusted)
        self.behind_proxy = ProxyFix(app, x_for=hops, x_proto=hops)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REMOTE_ADDR") in self.trusted:
            return self.behind_proxy(environ, start_response)
        return self.app(environ, start_response)
