"""The web app serves the archive folder (<workspace>/site/) when there is one, with a policy that
lets the pages' inline styles through and still no script."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.web import create_app
from newsletter.web.extensions import limiter

PATHS = {"/": "index.html", "/index.html": "index.html", "/issue-7.html": "issue-7.html", "/feed.xml": "feed.xml", "/sitemap.xml": "sitemap.xml", "/robots.txt": "robots.txt"}


@pytest.fixture
def app_for(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", "publish-suite-secret-Qw8Zr3Tn6Lm2Vx9Kp4")

    apps = []

    def make(workspace: Path):
        apps.append(create_app(workspace))
        limiter.reset()
        return apps[-1].test_client()

    yield make
    for app in apps:
        app.extensions["newsletter"].sender.stop()  # the background sender its first request started


def test_without_a_published_archive_every_archive_path_is_not_found(app_for, workspace: Path) -> None:
    client = app_for(workspace)
    for path in PATHS:
        assert client.get(path).status_code == 404, path


def test_the_archive_is_served_byte_for_byte_with_its_own_policy(app_for, published: Path) -> None:
    client = app_for(published.parent)
    for path, name in PATHS.items():
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.data == (published / name).read_bytes(), path
        policy = answer.headers["Content-Security-Policy"]
        assert "style-src 'unsafe-inline'" in policy and "script-src" not in policy and "default-src 'none'" in policy
        assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/issue-7.html").mimetype == "text/html"
    assert client.get("/feed.xml").mimetype in ("application/xml", "text/xml", "application/atom+xml")


def test_only_the_archive_files_are_served(app_for, published: Path) -> None:
    (published / "secret.txt").write_text("not for the web")
    client = app_for(published.parent)
    for path in ["/issue-99.html", "/secret.txt", "/site/index.html", "/newsletter.toml", "/issue-..%2Fnewsletter.toml"]:
        assert client.get(path).status_code == 404, path


def test_the_app_pages_keep_the_strict_policy(app_for, published: Path) -> None:
    policy = app_for(published.parent).get("/subscribe").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "script-src 'sha256-" in policy
