"""A link scanner that runs scripts (as Defender and Barracuda's sandboxes do) opens the
confirmation link: the page loads, its script runs, and nothing is confirmed, because no person
moved a pointer or pressed a key. A person's first gesture, or the button, confirms in one go."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newsletter.db import Database
from tests.helpers.web import Client, link_in, outbox

CONFIRM_LINK = r"https://fixture\.example\.org/confirm/\S+"


def status_of(workspace: Path, address: str) -> str:
    with Database(workspace / "subscribers.db") as db:
        found = db.subscribers.get(address)
        assert found is not None
        return str(found.status)


@contextlib.contextmanager
def confirm_page(browser, client: Client, workspace: Path, address: str) -> Iterator[Any]:
    """`address` signs up; its confirmation link opened in a fresh browser, the page loaded."""
    assert client.subscribe(address).status == 200
    path = link_in(outbox(workspace)[-1], CONFIRM_LINK)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(client.base + path, wait_until="networkidle")
        yield page
    finally:
        context.close()


def test_a_scanner_that_runs_the_page_script_confirms_nobody(browser, client: Client, workspace: Path) -> None:
    with confirm_page(browser, client, workspace, "scanned@example.com") as page:
        page.wait_for_timeout(3000)  # longer than scanners wait, and long enough for any script
        assert page.get_by_role("heading", name="Confirm your subscription").is_visible()
    assert status_of(workspace, "scanned@example.com") == "pending"


def test_a_persons_first_gesture_confirms(browser, client: Client, workspace: Path) -> None:
    with confirm_page(browser, client, workspace, "person@example.com") as page:
        page.keyboard.press("Tab")
        page.get_by_role("heading", name="You are subscribed").wait_for(timeout=10_000)
    assert status_of(workspace, "person@example.com") == "active"


def test_a_script_that_fakes_a_gesture_confirms_nobody(browser, client: Client, workspace: Path) -> None:
    with confirm_page(browser, client, workspace, "faked@example.com") as page:
        page.evaluate("for (const t of ['pointermove','pointerdown','keydown','touchstart','wheel']) window.dispatchEvent(new Event(t))")
        page.wait_for_timeout(1000)
    assert status_of(workspace, "faked@example.com") == "pending"
