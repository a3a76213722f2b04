"""Shared fixtures: a throw-away workspace with settings, default templates and a small issue; the one
browser; the test servers. Tests that need the browser or PostgreSQL are marked so from the fixtures
they use (pytest_collection_modifyitems), so that `make test-fast` can leave them out."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMALL_ISSUE = FIXTURES / "small-issue.yaml"

CONFIG = """\
[newsletter]
name = "Fixture Weekly"
postal_address = "Fixture Weekly, 1 Test Street, Testville 12345"
archive_url = "https://fixture.example.org/archive"
unsubscribe_url = "https://fixture.example.org/unsubscribe?token={token}"

[sender]
name = "Fixture Editor"
address = "editor@fixture.example.org"
reply_to = "replies@fixture.example.org"

[brand]
accent_color = "#1d4ed8"
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh workspace folder: newsletter.toml, an empty templates/ (defaults apply) and
    issues/2026-12-01.yaml holding the small fixture issue."""
    root = tmp_path / "workspace"
    (root / "templates").mkdir(parents=True)
    (root / "issues").mkdir()
    (root / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    shutil.copy(SMALL_ISSUE, root / "issues" / "2026-12-01.yaml")
    return root


@pytest.fixture
def in_workspace(workspace: Path, monkeypatch) -> Path:
    """The workspace, as the current folder (commands that find it from there)."""
    monkeypatch.chdir(workspace)
    return workspace


@pytest.fixture
def issue_path(workspace: Path) -> Path:
    return workspace / "issues" / "2026-12-01.yaml"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `browser` every test that uses the browser fixture, and `postgres` every test that uses the
    PostgreSQL server: directly (pg_url and the fixtures built on it) or through the "postgresql"
    parameter of a fixture that runs a test on both databases and asks for pg_url only then."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        callspec = getattr(item, "callspec", None)
        if "postgres" in fixtures or (callspec is not None and "postgresql" in callspec.params.values()):
            item.add_marker(pytest.mark.postgres)


CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright, shared by the whole run: Playwright's sync API runs
    one event loop per thread, so a second browser alongside the first cannot start."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL server for the whole run (tests/postgres_server.py), or a skip
    naming the reason where Debian's `postgresql` package is not installed."""
    sys.path.insert(0, str(Path(__file__).parent))
    import postgres_server

    if postgres_server.binaries() is None:
        pytest.skip("PostgreSQL tests need the server binaries (apt-get install postgresql)")
    server = postgres_server.start_server()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres) -> str:
    """The URL of a fresh, empty database on the test server."""
    return postgres.new_database()


@pytest.fixture(scope="session")
def redis():
    """A throw-away Redis server for the whole run (tests/redis_server.py), or a skip naming the
    reason where Debian's `redis-server` package or the redis client is not installed."""
    sys.path.insert(0, str(Path(__file__).parent))
    import redis_server

    if redis_server.binary() is None:
        pytest.skip("Redis tests need the server (apt-get install redis-server)")
    pytest.importorskip("redis", reason="Redis tests need the client: pip install -e '.[all,test]'")
    server = redis_server.start_server()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis) -> str:
    """The URL of the test Redis server, every counter forgotten."""
    redis.flush()
    return redis.url
