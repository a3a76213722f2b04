"""Where the rate-limit counters live ([web] rate_limit_storage): `memory://`, each process counting
alone, or Redis, shared by every gunicorn worker on every machine.

Redis's client is an extra (`pip install 'newsletter-desk[redis]'`). A Redis that does not answer, at
start or later, never turns a request into an error: Flask-Limiter's in-memory fallback counts the
limits in each process meanwhile, tries Redis again now and then, and goes back to it once it
answers. The log says so in a sentence naming the setting and the URL, without its password."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask
from limits.errors import ConfigurationError

from ..errors import ConfigError
from ..workspace.config import CONFIG_NAME, Workspace
from .extensions import limiter

REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
# A Redis nearby answers in a millisecond: one that does not answer within this long holds a request
# no longer before the limits fall back to this process's own counters.
REDIS_TIMEOUT_SECONDS = 1.0


def shown(url: str) -> str:
    """The storage URL as it may be printed: no user, no password, no query (a password can go in
    any of them)."""
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number: show the address part as typed, minus credentials
        host, port = parts.netloc.rpartition("@")[2], ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _setting(workspace: Workspace) -> str:
    return f'{workspace.root / CONFIG_NAME}: [web] rate_limit_storage = "{shown(workspace.config.web.rate_limit_storage)}"'


def check_storage_client(workspace: Workspace) -> None:
    """Raise ConfigError, a sentence, when the storage needs a client library that is not installed."""
    if urlsplit(workspace.config.web.rate_limit_storage).scheme in REDIS_SCHEMES:
        try:
            import redis  # noqa: F401
        except ImportError:
            raise ConfigError(f"{_setting(workspace)} needs the Redis client, which is not installed: pip install 'newsletter-desk[redis]'") from None


def init_limiter(app: Flask, workspace: Workspace) -> None:
    """Bind the rate limiter to `app` with the workspace's storage. Raises ConfigError, a sentence,
    when the storage cannot be used at all (an unknown scheme, a missing client library)."""
    url = workspace.config.web.rate_limit_storage
    setting = _setting(workspace)
    scheme = urlsplit(url).scheme
    check_storage_client(workspace)
    if scheme in REDIS_SCHEMES:
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS}
    app.config["RATELIMIT_STORAGE_URI"] = url
    # While a storage elsewhere is away, the declared limits are counted in each process. (memory://
    # cannot be away; and Flask-Limiter takes any exception while checking limits for the storage
    # being away, a client's stalled body included.)
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = scheme != "memory"
    limiter._storage_dead = False  # Flask-Limiter keeps this across init_app; it was about the previous app's storage
    try:
        limiter.init_app(app)
    except ConfigurationError as exc:  # an unknown scheme, or memcached:// etc. without its client
        raise ConfigError(f"{setting} cannot be used: {exc}") from None
    except ValueError as exc:  # redis-py refuses the URL (a port that is not a number ...)
        raise ConfigError(f"{setting} is not a storage URL such as redis://host:6379: {exc}") from None
    announcer = _announcer(app, shown(url))
    if scheme != "memory" and not limiter.storage.check():
        announcer.away(at_start=True)


class _Announcer(logging.Filter):
    """Turns Flask-Limiter's two log lines about its storage (which name neither the setting nor the
    URL, and go nowhere by default) into sentences in the app's log, when they are true: Flask-Limiter
    says "unreachable" after any exception while checking a request's limits. Lets its other lines
    through as they were."""

    passed_level = logging.WARNING  # what the logger let through before it was opened to INFO for "recovered"

    def __init__(self, app: Flask, url: str) -> None:
        super().__init__()
        self.logger = app.logger
        self.url = url
        self.said_away = False

    def away(self, at_start: bool = False) -> None:
        when = "at start" if at_start else "any more"
        self.logger.warning(
            "[web] rate_limit_storage %s does not answer %s: each worker counts the rate limits alone until it does", self.url, when
        )
        self.said_away = True

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Rate limit storage unreachable"):
            if not self.said_away and not limiter.storage.check():
                self.away()
            return False
        if message.startswith("Rate limit storage recovered"):  # logged as INFO
            if self.said_away:
                self.logger.warning("[web] rate_limit_storage %s answers again: the rate limits are shared again", self.url)
                self.said_away = False
            return False
        return record.levelno >= self.passed_level


def _announcer(app: Flask, url: str) -> _Announcer:
    """The one announcer of this process (the limiter is one per process), now for this app."""
    announcer = _Announcer(app, url)
    previous = next((found for found in limiter.logger.filters if isinstance(found, _Announcer)), None)
    if previous is not None:
        limiter.logger.removeFilter(previous)
        announcer.passed_level = previous.passed_level
    else:
        announcer.passed_level = limiter.logger.getEffectiveLevel()
        limiter.logger.setLevel(min(logging.INFO, announcer.passed_level))
    limiter.logger.addFilter(announcer)
    return announcer
