"""The workspace as the web app sees it, and the helpers every route uses."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup

from ..config import Config, Workspace
from ..credentials import SigningKeys
from ..db import Database
from ..db.connection import explain
from ..render import Renderer
from ..sending.notices import Notices
from ..theme import Palette, palettes
from .labels import labels


@dataclass
class Site:
    workspace: Workspace
    keys: SigningKeys
    notices: Notices
    brand_style: str
    palettes: tuple[Palette, Palette]  # light and dark, computed once (contrast search is not free)
    words: dict[str, str] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)

    @property
    def config(self) -> Config:
        return self.workspace.config

    @contextlib.contextmanager
    def database(self) -> Iterator[Database]:
        """This thread's connection, opened once and kept: opening and closing SQLite on every
        request (a WAL checkpoint each time) cost more than the request itself."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = Database(self.workspace.database)
        try:
            yield db
        except sqlite3.Error as exc:  # busy, read-only, full or damaged: a sentence, and a fresh connection next time
            self._local.db = None
            db.close()
            raise explain(exc, db.path) from None


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
