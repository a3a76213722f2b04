"""The sample issue's email (standard and digest layouts) and web page in Chromium: no sideways scrolling from 320 to 800 px,
story images at their set width, and no axe-core violations (WCAG 2.1 A/AA and best practice) in
light and dark mode. Pages are opened from disk; every request outside file:, about: and data: is
aborted (the email's images are remote), so the run is offline and images show their alt text."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_workspace
from newsletter.issue_file import load_issue
from newsletter.models import Issue
from newsletter.render import Renderer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
WIDTHS = [320, 375, 600, 800]
CONTENT_WIDTH = 536  # the email's content column at full width (600 px less the padding)
NARROW_IMAGE = 240
LOCAL = ("file:", "about:", "data:")


def with_image_width(issue: Issue, width: int) -> Issue:
    """`issue` with its first story image set to `width` px."""
    sections = []
    done = False
    for section in issue.sections:
        stories = []
        for story in section.stories:
            if story.image is not None and not done:
                story = story.model_copy(update={"image": story.image.model_copy(update={"width": width})})
                done = True
            stories.append(story)
        sections.append(section.model_copy(update={"stories": stories}))
    assert done, "the sample issue has no story image"
    return issue.model_copy(update={"sections": sections})


@pytest.fixture(scope="module")
def sample() -> Issue:
    return load_issue(SAMPLE)


@pytest.fixture(scope="module")
def image_src(sample: Issue) -> str:
    return next(story.image.src for story in sample.stories if story.image is not None)


@pytest.fixture(scope="module")
def files(sample: Issue, tmp_path_factory) -> dict[str, Path]:
    """The sample rendered once with the project's own workspace: email.html, web.html, the email
    again with the story image narrowed (narrow.html), and in the digest layout (digest.html)."""
    renderer = Renderer(load_workspace(ROOT))
    out = tmp_path_factory.mktemp("email-browser")
    rendered = renderer.render(sample)
    narrow = renderer.render(with_image_width(sample, NARROW_IMAGE))
    digest = renderer.render(sample.model_copy(update={"layout": "digest"}))
    paths = {"email": out / "email.html", "web": out / "web.html", "narrow": out / "narrow.html", "digest": out / "digest.html"}
    paths["email"].write_text(rendered.html, encoding="utf-8")
    paths["digest"].write_text(digest.html, encoding="utf-8")
    paths["web"].write_text(rendered.web_html, encoding="utf-8")
    paths["narrow"].write_text(narrow.html, encoding="utf-8")
    return paths


def block_network(route) -> None:
    if route.request.url.startswith(LOCAL):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="module")
def tabs(browser):
    """One page per viewport width, made on first use and shared by the module's tests."""
    contexts, pages = [], {}

    def tab(width: int):
        if width not in pages:
            context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
            context.route("**/*", block_network)
            contexts.append(context)
            pages[width] = context.new_page()
        return pages[width]

    yield tab
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def show(tabs):
    """show(width, file, dark=False): the page at that width, showing `file` in that colour scheme."""

    def open_file(width: int, file: Path, dark: bool = False):
        page = tabs(width)
        page.emulate_media(color_scheme="dark" if dark else "light")
        page.goto(file.as_uri())
        assert page.evaluate("window.innerWidth") == width
        return page

    return open_file


# --- layout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["email", "web", "digest"])
def test_never_scrolls_sideways(show, files, name: str, width: int) -> None:
    page = show(width, files[name])
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name} at {width} px: scrollWidth {scroll_width} > innerWidth {width}"


def image_width(page, src: str) -> float:
    image = page.locator(f'img[src="{src}"]')
    assert image.count() == 1, f"expected one <img src={src!r}>, found {image.count()}"
    return image.evaluate("img => img.getBoundingClientRect().width")


def test_image_with_a_set_width_stays_at_most_that_wide(show, files, image_src: str) -> None:
    width = image_width(show(800, files["narrow"]), image_src)
    assert 0 < width <= NARROW_IMAGE, f"image with width: {NARROW_IMAGE} renders {width} px wide at 800 px"


def test_default_width_image_fills_the_content_column(show, files, image_src: str) -> None:
    width = image_width(show(800, files["email"]), image_src)
    assert abs(width - CONTENT_WIDTH) <= 4, f"default-width image renders {width} px wide at 800 px, expected about {CONTENT_WIDTH}"


# --- accessibility ------------------------------------------------------------------------------


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    return results["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        more = f" (+{len(violation['nodes']) - 3} more)" if len(violation["nodes"]) > 3 else ""
        lines.append(f"  {violation['id']} [{violation.get('impact')}]: {violation['help']}\n    {'; '.join(targets)}{more}")
    return "\n".join(lines)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [375, 800])
@pytest.mark.parametrize("name", ["email", "web", "digest"])
def test_no_axe_violations(show, files, name: str, width: int, dark: bool) -> None:
    violations = axe_violations(show(width, files[name], dark=dark))
    scheme = "dark" if dark else "light"
    if violations:
        pytest.fail(f"axe-core on the {name} at {width} px, {scheme}:\n{describe(violations)}", pytrace=False)
