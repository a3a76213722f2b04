"""Where the subscriber database lives: a SQLite file in the workspace (the default), or a
PostgreSQL server named by a URL. `[subscribers] database` in newsletter.toml says which, and
DATABASE_URL in the environment overrides it (as hosting platforms set it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import NewsletterError
from .credentials import DATABASE_URL, database_url

SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class Server:
    """A PostgreSQL database. `url` may hold a password only when it came from the environment;
    it is never shown: `str()` gives the URL without it."""

    url: str

    def __str__(self) -> str:
        return redact_password(self.url)

    def __repr__(self) -> str:
        return f"Server({redact_password(self.url)!r})"

    def exists(self) -> bool:
        """A server database is there to be read (whether it has tables is the connection's business)."""
        return True


Location = Path | Server


def locate(setting: str, root: Path, environ: dict[str, str] | None = None) -> Location:
    """The database for a workspace: DATABASE_URL if set, else the setting (a path relative to the
    workspace, `sqlite:///path`, a postgresql:// URL, or libpq's `host=… dbname=…` form).

    Anything with `://` or `=` in it is a connection string, never a file name: a mistyped one
    must not become a SQLite file named after its password."""
    from_environment = database_url() if environ is None else environ.get(DATABASE_URL) or None
    value = from_environment or setting
    where = DATABASE_URL if from_environment else "[subscribers] database in newsletter.toml"
    if value.startswith("sqlite:///"):
        return root / unquote(value.removeprefix("sqlite:///"))
    if "://" in value:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - parsing the port is what checks it
        except ValueError as exc:
            raise NewsletterError(f"{where}: {redact_password(value)!r} is not a valid URL ({exc}); e.g. postgresql://user@[::1]:5432/dbname") from None
        if parts.scheme in SCHEMES:
            return Server(value)
        raise NewsletterError(f"{where}: {redact_password(value)!r} is neither a file path, sqlite:///path nor postgresql://user@host/dbname")
    if "=" in value:
        return Server(_conninfo(value, where))
    return root / value


def _conninfo(value: str, where: str) -> str:
    """libpq's `key=value` connection string, checked as libpq reads it."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(value)
    except ProgrammingError as exc:
        words = redact_password(str(exc).strip().splitlines()[0]) if str(exc).strip() else "not understood"
        raise NewsletterError(f"{where}: {redact_password(value)!r} is not a PostgreSQL connection string ({words}); e.g. host=db.example.com dbname=news user=news") from None
    return value


# password=secret, password = 'a secret', in libpq's key=value form (and in a URL's query)
KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/\s]*@")  # up to the last @ of the address


def redact_password(url: str) -> str:
    """The connection string with any password (in the address, as `password=` in the query, or
    as libpq's password keyword) left out."""
    return KEYWORD_PASSWORD.sub(r"\1***", URL_PASSWORD.sub(r"\1***@", url))
