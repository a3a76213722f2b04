"""The web archive (`newsletter publish` writes it to <workspace>/site/), served by the app too:
the index, the issue pages, the feed, the sitemap and robots.txt, and nothing else from that folder.

Issue pages are the MJML web edition, full of inline styles, so they get their own policy: inline
styles and images, still no script, no framing and no forms. It is set here on the response; the
app's after_request keeps a policy a view has set (see __init__.py)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory

from ..publish.site import FOLDER
from .site import site

ARCHIVE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src https: data:",  # story images live on the sources' own sites
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

archive = Blueprint("archive", __name__)


@archive.get("/")
@archive.get("/index.html")
def index() -> Response:
    return _send("index.html")


@archive.get("/issue-<int:number>.html")
def issue(number: int) -> Response:
    return _send(f"issue-{number}.html")


@archive.get("/feed.xml")
def feed() -> Response:
    return _send("feed.xml")


@archive.get("/sitemap.xml")
def sitemap() -> Response:
    return _send("sitemap.xml")


@archive.get("/robots.txt")
def robots() -> Response:
    return _send("robots.txt")


def _send(name: str) -> Response:
    folder = site().workspace.root / FOLDER
    if not folder.is_dir():
        abort(404)
    response = send_from_directory(folder.resolve(), name)  # 404 for a file that is not there
    response.headers["Content-Security-Policy"] = ARCHIVE_POLICY
    return response
