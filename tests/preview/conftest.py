"""Preview fixtures: a running preview of the fixture workspace and a real Chromium page on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.preview.app import start_preview
from tests.helpers.workspace import ISSUE_NAME, make_workspace


@pytest.fixture
def preview(issue_path: Path):
    running = start_preview(issue_path)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shared_preview(tmp_path_factory: pytest.TempPathFactory):
    """One preview of a fresh fixture workspace for the tests of a module that only look at it (they
    change no file): started and rendered once, not once per test."""
    workspace = make_workspace(tmp_path_factory.mktemp("shared-preview") / "workspace")
    running = start_preview(workspace / "issues" / ISSUE_NAME)
    yield running
    running.stop()


def open_page(browser, preview) -> Iterator[Any]:
    """A page on `preview`. Requests anywhere else (the story images) are refused: tests stay offline."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    tab = context.new_page()
    tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(preview.url) else route.abort())
    tab.goto(preview.url)
    tab.wait_for_function("document.body.dataset.emailVersion === '1'")
    yield tab
    context.close()


@pytest.fixture
def page(browser, preview):
    """A page on this test's own preview, for a test that edits the workspace."""
    yield from open_page(browser, preview)


@pytest.fixture
def look(browser, shared_preview):
    """A page of its own on the module's shared preview, for a test that only looks."""
    yield from open_page(browser, shared_preview)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach a screenshot of the preview page (and those a test saved) to a failing browser test."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    tab = item.funcargs.get("page") or item.funcargs.get("look")
    saved = list(getattr(item, "screenshots", []))
    if tab is not None and "tmp_path" in item.funcargs:
        path = item.funcargs["tmp_path"] / "at-failure.png"
        try:
            tab.screenshot(path=str(path), full_page=True)
            saved.append(path)
        except Exception as exc:  # noqa: BLE001 (the page may be what broke)
            saved.append(f"(no screenshot: {exc})")
    if saved:
        report.sections.append(("screenshots", "\n".join(str(path) for path in saved)))
