"""Pictures of the sample issue's email: issues/2026-11-24.yaml rendered with the project's own
workspace and templates, and full-page screenshots of the email HTML at 600 px wide, taken by
Debian's chromium through Playwright. Every request outside file:, about: and data: is aborted, so
nothing is fetched and the (remote) images show their alt text, as in a client with images off.

    .venv/bin/python bench/email_screenshots.py             # writes docs/email-standard.png and docs/email-digest.png
    .venv/bin/python bench/email_screenshots.py --out DIR   # writes them into DIR

Never runs `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.issue.loading import load_issue  # noqa: E402
from newsletter.models import Issue  # noqa: E402
from newsletter.render.pipeline import Renderer  # noqa: E402
from newsletter.workspace.config import load_workspace  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"
WIDTH = 600
LOCAL = ("file:", "about:", "data:")


def variants(issue: Issue) -> dict[str, Issue]:
    """The PNG names and the issue each shows: one per built-in layout."""
    return {"email-standard.png": issue.model_copy(update={"layout": "standard"}), "email-digest.png": issue.model_copy(update={"layout": "digest"})}


def block_network(route) -> None:
    if route.request.url.startswith(LOCAL):
        route.continue_()
    else:
        route.abort()


def screenshots(pages: dict[Path, Path]) -> None:
    """Each HTML file in `pages` shot full-page into its PNG, with one browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": WIDTH, "height": 900}, device_scale_factor=1)
            context.route("**/*", block_network)
            page = context.new_page()
            for html, png in pages.items():
                page.goto(html.resolve().as_uri())
                png.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs")
    options = parser.parse_args()
    renderer = Renderer(load_workspace(ROOT))
    with tempfile.TemporaryDirectory(prefix="email-shots-") as scratch:
        pages = {}
        for name, issue in variants(load_issue(SAMPLE)).items():
            html = Path(scratch) / name.replace(".png", ".html")
            html.write_text(renderer.render(issue).html, encoding="utf-8")
            pages[html] = options.out / name
        screenshots(pages)
    for png in pages.values():
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
