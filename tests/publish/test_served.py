"""The web app serves the archive folder (<workspace>/site/) when there is one, with a policy that
lets the pages' inline styles through and still no script: the pages under archive_url's path
(/archive/ in the fixture), robots.txt at the root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.errors import ConfigError
from newsletter.web import create_app
from newsletter.web.extensions import limiter
from tests.helpers.publishing import add_issue, publish_workspace

# Each path the app answers, and the file of site/ it answers with.
PATHS = {
    "/archive/": "archive/index.html",
    "/archive/index.html": "archive/index.html",
    "/archive/issue-7.html": "archive/issue-7.html",
    "/archive/feed.xml": "archive/feed.xml",
    "/archive/sitemap.xml": "archive/sitemap.xml",
    "/robots.txt": "robots.txt",
}


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
    client = app_for(published.parents[1])
    for path, name in PATHS.items():
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.data == (published.parent / name).read_bytes(), path
        policy = answer.headers["Content-Security-Policy"]
        assert "style-src 'unsafe-inline'" in policy and "script-src" not in policy and "default-src 'none'" in policy
        assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/archive/issue-7.html").mimetype == "text/html"
    assert client.get("/archive/feed.xml").mimetype in ("application/xml", "text/xml", "application/atom+xml")


def test_only_the_archive_files_are_served(app_for, published: Path) -> None:
    (published / "secret.txt").write_text("not for the web")
    (published.parent / "secret.txt").write_text("not for the web")
    client = app_for(published.parents[1])
    for path in [
        "/archive/issue-99.html",
        "/archive/secret.txt",
        "/secret.txt",
        "/site/index.html",
        "/newsletter.toml",
        "/archive/issue-..%2Fnewsletter.toml",
        "/archive/robots.txt",  # crawlers look at the root only
        "/issue-7.html",  # the pages live under archive_url's path
        "/feed.xml",
        "/archive/archive/index.html",
    ]:
        assert client.get(path).status_code == 404, path


def test_the_archive_without_its_slash_and_the_root_lead_to_its_index(app_for, published: Path) -> None:
    client = app_for(published.parents[1])
    for path in ("/archive", "/"):
        answer = client.get(path)
        # The slash matters: the index links to "issue-8.html", which from /archive would be /issue-8.html.
        assert answer.status_code == 301 and answer.headers["Location"] == "/archive/", path
    assert client.get("/archive", follow_redirects=True).data == (published / "index.html").read_bytes()


def test_an_archive_at_the_hosts_root_is_served_from_the_root(app_for, workspace: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('archive_url = "https://fixture.example.org/archive"', 'archive_url = "https://news.fixture.example.org/"'))
    add_issue(workspace, 8, "2026-12-08")
    publish_workspace(workspace)
    site = workspace / "site"
    assert sorted(path.name for path in site.iterdir()) == ["feed.xml", "index.html", "issue-8.html", "robots.txt", "sitemap.xml"]
    client = app_for(workspace)
    for path, name in {"/": "index.html", "/issue-8.html": "issue-8.html", "/robots.txt": "robots.txt", "/sitemap.xml": "sitemap.xml"}.items():
        answer = client.get(path)
        assert answer.status_code == 200 and answer.data == (site / name).read_bytes(), path
    assert "Sitemap: https://news.fixture.example.org/sitemap.xml" in (site / "robots.txt").read_text()


@pytest.mark.parametrize("path", ["subscribe", "webhooks", "static/archive"])
def test_an_archive_path_the_app_answers_itself_is_refused(workspace: Path, monkeypatch, path: str) -> None:
    monkeypatch.setenv("NEWSLETTER_SECRET", "publish-suite-secret-Qw8Zr3Tn6Lm2Vx9Kp4")
    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace("https://fixture.example.org/archive", f"https://fixture.example.org/{path}"))
    with pytest.raises(ConfigError, match=re.escape(f"cannot serve the archive under /{path}/")):
        create_app(workspace)


def test_the_app_pages_keep_the_strict_policy(app_for, published: Path) -> None:
    policy = app_for(published.parents[1]).get("/subscribe").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "script-src 'sha256-" in policy
