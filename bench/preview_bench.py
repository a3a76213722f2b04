"""Preview latency: from saving the issue file to the browser showing the new render.

Runs the preview of a copy of the sample issue, opens it in Debian's chromium (Playwright), edits
the issue file 20 times and prints the median and worst time until the new title is visible in the
desktop frame. Target: <= 300 ms (median) on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from newsletter.preview.app import start_preview

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Anthropic hires Andrej Karpathy to run pre-training for Claude"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        shutil.copy(ROOT / "newsletter.toml", workspace)
        shutil.copytree(ROOT / "templates", workspace / "templates")
        shutil.copytree(ROOT / "issues", workspace / "issues")
        issue = workspace / "issues" / "2026-11-24.yaml"
        original = issue.read_text()

        preview = start_preview(issue)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            )
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(preview.url) else route.abort())
            page.goto(preview.url)
            page.wait_for_function("document.body.dataset.emailVersion === '1'")
            times = []
            for edit in range(1, args.edits + 1):
                marker = f"{TITLE} (edit {edit})"
                start = time.perf_counter()
                issue.write_text(original.replace(TITLE, marker))
                page.frame_locator("#frame-desktop").get_by_role("heading", name=marker).wait_for(timeout=10_000)
                times.append(time.perf_counter() - start)
                time.sleep(0.1)  # let the page settle, as between two real saves
            browser.close()
        preview.stop()

    print(f"save -> new render visible in the browser, {args.edits} edits of the sample issue:")
    print(f"  median {statistics.median(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms, best {min(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
