"""The workspace as the web app sees it, and the helpers every route uses."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app, render_template
from markupsafe import Markup

from ..db import Database, StoreError
from ..engagement.recorder import Recorder
from ..i18n.catalogue import labels
from ..render.pipeline import Renderer
from ..render.theme import Palette, palettes
from ..sending.notices import Notices
from ..workspace.config import Config, Workspace
from ..workspace.credentials import SigningKeys
from ..workspace.database import Server
from .background import NoticeSender
from .periodic import automation_runner, webhook_sender

T = TypeVar("T")
POOL_SIZE = 8  # PostgreSQL connections per web process: its request threads, with room to spare


@dataclass
class WebSite:
    workspace: Workspace
    keys: SigningKeys
    notices: Notices
    sender: NoticeSender  # sends what requests queue (confirmations, welcomes), outside the request
    recorder: Recorder  # writes the clicks and opens requests hand it, outside the request
    brand_style: str
    palettes: tuple[Palette, Palette]  # light and dark, computed once (contrast search is not free)
    words: dict[str, str] = field(default_factory=dict)  # the catalogue in the newsletter's language, [labels] on top
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
        PostgreSQL: one from this process's pool, checked before it is handed out, given back
        after the request. A lost connection raises ConnectionLost (see `run`)."""
        location = self.workspace.database
        if isinstance(location, Server):
            from ..db.postgres import ERRORS, explain, is_lost_connection

            try:
                with self._pool(location).connection() as raw:
                    yield Database(location, pooled=raw)
            except ERRORS as exc:
                reason = explain(exc, str(location))
                raise (ConnectionLost(str(reason)) if is_lost_connection(exc) else reason) from None
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

    def run(self, work: Callable[[Database], T]) -> T:
        """`work` done on a database connection, and done once more on a fresh one when the first
        was lost (a PostgreSQL server that restarted leaves dead connections in the pool): a
        transient fault of ours must not cost a reader their unsubscribe. `work` runs in one
        transaction, so a lost first attempt changed nothing."""
        try:
            with self.database() as db, db.transaction():
                return work(db)
        except ConnectionLost:
            with self.database() as db, db.transaction():
                return work(db)

    def _pool(self, server: Server) -> Any:
        """Made on the first request, in the process that serves it (gunicorn forks workers
        first), after one plain connection has migrated the database."""
        with self._pool_lock:
            if self._pg_pool is None:
                from ..db.postgres import pool

                Database(server).close()
                self._pg_pool = pool(server, POOL_SIZE)
            return self._pg_pool


class ConnectionLost(StoreError):
    """The database connection broke (a server restart, a network cut): worth one more try."""


def make_site(workspace: Workspace, keys: SigningKeys) -> WebSite:
    light, dark = palettes(workspace.config.brand.accent_color)
    style = f":root{{--accent:{light.accent};--accent-dark:{dark.accent}}}"
    notices = Notices(workspace, Renderer(workspace), keys)
    jobs = tuple(job for job in (webhook_sender(workspace), automation_runner(workspace)) if job is not None)
    sender = NoticeSender(notices, workspace.database, jobs)
    recorder = Recorder(workspace.database, workspace.config.tracking.clicks)
    return WebSite(workspace, keys, notices, sender, recorder, style, (light, dark), labels(workspace.config.newsletter.language, workspace.config.labels))


def site() -> WebSite:
    found: WebSite = current_app.extensions["newsletter"]
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
