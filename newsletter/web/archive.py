"""The web archive (`newsletter publish` writes it to <workspace>/site/), served by the app too:
the index, the issue pages, the feed and the sitemap under archive_url's path (/archive/ for
https://example.com/archive, where the emails' "View in browser" links point), robots.txt at the
root where crawlers look, the issues' published pictures (images/<issue>/<name>-<hash>.<ext>), and
nothing else from that folder. The folder is laid out the same way
(site/archive/..., site/robots.txt), so a URL's path is its file's path in it.

Issue pages are the MJML web edition, full of inline styles, so they get their own policy: inline
styles and images, still no script, no framing and no forms. It is set here on the response; the
app's after_request keeps a policy a view has set (see __init__.py)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, redirect, send_from_directory
from werkzeug.wrappers import Response as WerkzeugResponse

from ..errors import ConfigError
from ..images.published import FOLDER as IMAGES_FOLDER
from ..images.published import NAME
from ..publish.site import FOLDER
from .site import site

ARCHIVE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'self' https: data:",  # story images live on the sources' own sites, local ones in the archive
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

archive = Blueprint("archive", __name__)  # under archive_url's path: see register_archive
crawlers = Blueprint("crawlers", __name__)  # at the root


def register_archive(app: Flask, path: str) -> None:
    """Serve the archive under `path` (archive_url's path without slashes; "" for the root).
    Register it after the app's own pages: a path they already answer under is refused."""
    first = path.split("/")[0]
    taken = sorted({rule.rule for rule in app.url_map.iter_rules() if path and rule.rule.split("/")[1] == first})
    if taken:
        raise ConfigError(
            f"newsletter.archive_url: the web app answers {taken[0]} itself, so it cannot serve the archive under /{path}/; "
            "choose another path for the archive (such as /archive)"
        )
    app.register_blueprint(archive, url_prefix=f"/{path}" if path else None)
    app.register_blueprint(crawlers)
    if path:
        # The pages link to each other relatively ("issue-8.html"): the index must be asked for
        # as /archive/, or its links would resolve beside it, outside the archive.
        app.add_url_rule(f"/{path}", "archive_without_slash", _to_index, strict_slashes=True)
        app.add_url_rule("/", "archive_home", _to_index)


def _to_index() -> WerkzeugResponse:
    return redirect(f"/{_path()}/", code=301)  # a path on this site, whatever the Host header says


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


@archive.get("/images/<int:number>/<name>")
def picture(number: int, name: str) -> Response:
    if not NAME.fullmatch(name):  # only the names publish writes: no dot files, no other folder
        abort(404)
    return _send(f"{IMAGES_FOLDER}/{number}/{name}")


@crawlers.get("/robots.txt")
def robots() -> Response:
    return _send("robots.txt", in_archive=False)


def _path() -> str:
    return site().config.newsletter.archive_path


def _send(name: str, in_archive: bool = True) -> Response:
    folder = site().workspace.root / FOLDER
    if in_archive and _path():
        folder = folder / _path()
    if not folder.is_dir():
        abort(404)
    response = send_from_directory(folder.resolve(), name)  # 404 for a file that is not there
    response.headers["Content-Security-Policy"] = ARCHIVE_POLICY
    return response
