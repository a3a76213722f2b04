"""Where the subscriber database lives: a SQLite file in the workspace (the default), or a
PostgreSQL server named by a URL. `[subscribers] database` in newsletter.toml says which, and
DATABASE_URL in the environment overrides it (as hosting platforms set it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import NewsletterError

SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class Server:
    """A PostgreSQL database. `url` may hold a password only when it came from the environment;
    it is never shown: `str()` gives the URL without it."""

    url: str

    def __str__(self) -> str:
        return redact(self.url)

    def exists(self) -> bool:
        """A server database is there to be read (whether it has tables is the connection's business)."""
        return True


Location = Path | Server


def locate(setting: str, root: Path, environ: dict[str, str] | None = None) -> Location:
    """The database for a workspace: DATABASE_URL if set, else the setting (a path relative to the
    workspace, `sqlite:///path`, or a postgresql:// URL)."""
    environ = dict(os.environ) if environ is None else environ
    value = environ.get("DATABASE_URL") or setting
    if value.startswith("sqlite:///"):
        return root / unquote(value.removeprefix("sqlite:///"))
    if urlsplit(value).scheme in SCHEMES:
        return Server(value)
    if "://" in value:  # some other scheme (mysql://, a typo): not a path either
        where = "DATABASE_URL" if environ.get("DATABASE_URL") else "[subscribers] database in newsletter.toml"
        raise NewsletterError(f"{where}: {redact(value)!r} is neither a file path, sqlite:///path nor postgresql://user@host/dbname")
    return root / value


def password_in(url: str) -> bool:
    return urlsplit(url).password is not None


def redact(url: str) -> str:
    """The URL with any password (in the address or as `password=` in the query) left out."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = "&".join("password=***" if item.lower().startswith("password=") else item for item in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

