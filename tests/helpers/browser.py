"""The `browser` fixture: Debian's Chromium, driven by Playwright, one for the whole run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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


def offline_context(browser, origin: str, **options):
    """A browser context that reaches `origin` (a served app) and nothing else: the tests run offline,
    and a page that needs anything from elsewhere fails."""
    context = browser.new_context(**options)
    own = origin.rstrip("/")

    def only_the_app(route) -> None:
        url = route.request.url
        if url == own or url.startswith(own + "/"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_app)
    return context
