"""`newsletter diff --shots DIR`: both versions' email photographed at a phone's and a desktop's
width, to lay side by side in a review. Debian's Chromium through Playwright (the `shots` part),
offline: the page is given its HTML, and every request it makes (images, fonts) is refused, so a
review never calls out to the sites an issue links to.

The files, in DIR: a-375.png, b-375.png, a-800.png, b-800.png (A and B as given to `diff`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OutputError
from ..files.writing import output_folder, write_files
from .diff import IssueDiff

if TYPE_CHECKING:
    from playwright.sync_api._context_manager import PlaywrightContextManager

CHROMIUM = "/usr/bin/chromium"
WIDTHS = (375, 800)  # an iPhone's width, and a desktop client's reading pane
MAX_HEIGHT = 16_000  # Chromium's own limit for one capture is about 16,384 px
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def shot_names() -> list[str]:
    """The files `take_shots` writes, in order: each width, A then B."""
    return [f"{side}-{width}.png" for width in WIDTHS for side in ("a", "b")]


def take_shots(diff: IssueDiff, folder: Path) -> list[Path]:
    """Photograph A's and B's email HTML at each of WIDTHS into `folder` (a folder that exists,
    or a new one in a folder that does). Raises OutputError when Chromium is missing or fails."""
    from playwright.sync_api import sync_playwright  # a missing `shots` part is said before Chromium is looked for

    output_folder(folder)
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        raise OutputError(f"diff --shots needs Chromium at {CHROMIUM} (apt-get install chromium); nothing was written")
    pages = {"a": diff.a.prepared.email.html, "b": diff.b.prepared.email.html}
    # Playwright's sync API refuses to start in a thread that already runs an event loop (a host
    # that embeds the tool, a second Playwright): a thread of its own always works.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsletter-shots") as pool:
        images = pool.submit(_photograph, sync_playwright, executable, pages).result()
    ordered = {name: images[name] for name in shot_names()}
    return write_files(folder, ordered, parents=False)


def _photograph(sync_playwright: Callable[[], PlaywrightContextManager], executable: str, pages: dict[str, str]) -> dict[str, bytes]:
    """Each page at each of WIDTHS, as PNG bytes named like the files."""
    from playwright.sync_api import Error

    images: dict[str, bytes] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
            try:
                for width in WIDTHS:
                    context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=False)
                    context.route("**/*", lambda route: route.abort())  # offline: nothing leaves the page
                    page = context.new_page()
                    for side, html in pages.items():
                        page.set_content(html, wait_until="load")
                        height = min(MAX_HEIGHT, max(1, int(page.evaluate("document.documentElement.scrollHeight"))))
                        clip = {"x": 0, "y": 0, "width": width, "height": height}
                        images[f"{side}-{width}.png"] = page.screenshot(full_page=True, clip=clip)  # type: ignore[arg-type]
                    context.close()
            finally:
                browser.close()
    except Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OutputError(f"Chromium could not take the screenshots ({first}); nothing was written") from None
    return images
