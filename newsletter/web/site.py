"""The workspace as the web app sees it, and the helpers every route uses."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup

from ..config import Config, Workspace
from ..credentials import SigningKeys
from ..db import Database
from ..db.location import Server
from ..render import Renderer
from ..sending.notices import Notices
from ..theme import Palette, palettes
from .labels import labels

POOL_SIZE = 8  # PostgreSQL connections per web process: its request threads, with room to spare


@dataclass
class Site:
    workspace: Workspace
    keys: SigningKeys
    notices: Notices
    brand_style: str
    palettes: tuple[Palette, Palette]  # light and dark, computed once (contrast search is not free)
    words: dict[str, str] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _pg_pool: Any = None
    _pool_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def config(self) -> Config:
        return self.workspace.config

    @contextlib.contextmanager
    def database(self) -> Iterator[Database]:
        """A connection for one request. SQLite: this thread's own, opened once and kept (opening
        and closing it on every request, a WAL checkpoint each time, cost more than the request).
        PostgreSQL: one from this process's pool, given back after the request."""
        location = self.workspace.database
        if isinstance(location, Server):
            with self._pool(location).connection() as raw:
                pooled = Database(location, pooled=raw)
                try:
                    yield pooled
                except pooled.connection.errors as exc:
                    raise pooled.connection.explain(exc) from None
            return
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = Database(location)
        try:
            yield db
        except db.connection.errors as exc:  # busy, read-only, full or damaged: a sentence, and a fresh connection next time
            self._local.db = None
            db.close()
            raise db.connection.explain(exc) from None

    def _pool(self, server: Server) -> Any:
        """Made on the first request, in the process that serves it (gunicorn forks workers
        first), after one plain connection has migrated the database."""
        with self._pool_lock:
            if self._pg_pool is None:
                from ..db.postgres import pool

                Database(server).close()
                self._pg_pool = pool(server, POOL_SIZE)
            return self._pg_pool


def make_site(workspace: Workspace, keys: SigningKeys) -> Site:
    light, dark = palettes(workspace.config.brand.accent_color)
    style = f":root{{--accent:{light.accent};--accent-dark:{dark.accent}}}"
    return Site(workspace, keys, Notices(workspace, Renderer(workspace), keys), style, (light, dark), labels(workspace.config.newsletter.language))


def site() -> Site:
    found: Site = current_app.extensions["newsletter"]
    return found


def page(template: str, title: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A page in the newsletter's brand and language."""
    here = site()
    config = here.config
    light, dark = here.palettes
    html = render_template(
        template,
        title=title,
        labels=here.words,
        language=config.newsletter.language,
        newsletter=config.newsletter,
        brand_style=Markup(here.brand_style),  # ours, and hashed in the CSP: byte for byte
        light=light,
        dark=dark,
        link=context.pop("link", None),
        **context,
    )
    return html, status


def masked(email: str) -> str:
    """ada.lovelace@example.com -> a***@example.com: enough for its owner to recognise it, and
    nothing for someone who found the link."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"
