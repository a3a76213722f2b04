"""The workspace as the web app sees it, and the helpers every route uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template

from ..config import Workspace
from ..credentials import SigningKeys
from ..db import Database
from ..render import Renderer
from ..theme import palettes
from .labels import labels


@dataclass
class Site:
    workspace: Workspace
    keys: SigningKeys
    renderer: Renderer
    brand_style: str
    words: dict[str, str] = field(default_factory=dict)

    @property
    def config(self):  # type: ignore[no-untyped-def]
        return self.workspace.config

    def database(self) -> Database:
        return Database(self.workspace.database)


def make_site(workspace: Workspace, keys: SigningKeys) -> Site:
    light, dark = palettes(workspace.config.brand.accent_color)
    style = f":root{{--accent:{light.accent};--accent-dark:{dark.accent}}}"
    return Site(workspace, keys, Renderer(workspace), style, labels(workspace.config.newsletter.language))


def site() -> Site:
    found: Site = current_app.extensions["newsletter"]
    return found


def page(template: str, title: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A page in the newsletter's brand and language."""
    here = site()
    config = here.config
    light, dark = palettes(config.brand.accent_color)
    html = render_template(
        template,
        title=title,
        labels=here.words,
        language=config.newsletter.language,
        newsletter=config.newsletter,
        brand_style=here.brand_style,
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
