"""The sample issue's email (standard and digest layouts) and web page in Chromium: no sideways scrolling from 320 to 800 px,
story images at their set width, and no axe-core violations (WCAG 2.1 A/AA and best practice) in
light and dark mode. Pages are opened from disk; every request outside file:, about: and data: is
aborted (the email's images are remote), so the run is offline and images show their alt text."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from newsletter.models import Issue, Section
from newsletter.render.pipeline import Renderer
from newsletter.render.theme import palettes
from newsletter.workspace.config import load_workspace

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
WIDTHS = [320, 375, 600, 800]
CONTENT_WIDTH = 536  # the email's content column at full width (600 px less the padding)
NARROW_IMAGE = 240
LOCAL = ("file:", "about:", "data:")
LIGHT, DARK = palettes("#1d4ed8")  # the sample workspace's brand colour
PHONE = 375


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


def with_25_stories(issue: Issue) -> Issue:
    stories = [issue.stories[i % len(issue.stories)] for i in range(25)]
    return issue.model_copy(update={"sections": [Section(title=f"Part {n + 1}", stories=stories[n::3]) for n in range(3)]})


def rgb(colour: str) -> str:
    """#rrggbb as the browser's computed style writes it."""
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


@pytest.fixture(scope="module")
def sample() -> Issue:
    return load_issue(SAMPLE)


@pytest.fixture(scope="module")
def image_src(sample: Issue) -> str:
    return next(story.image.src for story in sample.stories if story.image is not None)


@pytest.fixture(scope="module")
def files(sample: Issue, tmp_path_factory) -> dict[str, Path]:
    """The sample rendered once with the project's own workspace: email.html, web.html, the email
    again with the story image narrowed (narrow.html), in the digest layout (digest.html), and with
    25 stories (many.html)."""
    renderer = Renderer(load_workspace(ROOT))
    out = tmp_path_factory.mktemp("email-browser")
    rendered = renderer.render(sample)
    narrow = renderer.render(with_image_width(sample, NARROW_IMAGE))
    digest = renderer.render(sample.model_copy(update={"layout": "digest"}))
    many = renderer.render(with_25_stories(sample))
    paths = {"email": out / "email.html", "web": out / "web.html", "narrow": out / "narrow.html", "digest": out / "digest.html", "many": out / "many.html"}
    paths["many"].write_text(many.html, encoding="utf-8")
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


# --- the sponsor ------------------------------------------------------------------------------


def sponsor_geometry(page) -> dict:
    """The sponsor's bordered box, and where its label, text and button start."""
    return page.evaluate(
        """() => {
            const box = [...document.querySelectorAll('.nl-sponsor td')].find(td => getComputedStyle(td).borderTopWidth !== '0px');
            const [label, name] = box.querySelectorAll('p');
            const button = [...box.querySelectorAll('a')].pop();
            const left = element => element.getBoundingClientRect().left;
            const rect = box.getBoundingClientRect();
            return {left: rect.left, right: rect.right, label: left(label), name: left(name), button: left(button),
                    border: getComputedStyle(box).borderTopColor, storyText: left(document.querySelector('h3'))};
        }"""
    )


@pytest.mark.parametrize("width", [PHONE, 800])
def test_the_sponsor_box_is_inset_and_its_text_and_button_line_up(show, files, width: int) -> None:
    box = sponsor_geometry(show(width, files["email"]))
    assert box["left"] >= 16 and box["right"] <= width - 16, f"the sponsor box runs from {box['left']} to {box['right']} px of {width}"
    if width == PHONE:  # inset as the stories' text is
        assert abs(box["left"] - box["storyText"]) <= 1, box
    assert box["label"] == box["name"] == box["button"], f"label, name and button start at {box['label']}, {box['name']}, {box['button']} px"


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_sponsor_box_border_follows_the_colour_scheme(show, files, dark: bool) -> None:
    box = sponsor_geometry(show(800, files["email"], dark=dark))
    assert box["border"] == rgb((DARK if dark else LIGHT).rule)


# --- the index ----------------------------------------------------------------------------------


def index_geometry(page) -> dict:
    return page.evaluate(
        """() => {
            const index = document.querySelector('ul.nl-index').closest('td').getBoundingClientRect();
            const shown = [...document.querySelectorAll('ul.nl-index li')].filter(li => li.getClientRects().length > 0);
            const firstStory = document.querySelector('h3').closest('td').getBoundingClientRect();
            return {height: index.height, entries: shown.length, firstStory: firstStory.top, text: document.querySelector('ul.nl-index').closest('td').innerText};
        }"""
    )


def test_on_a_phone_a_long_index_is_capped_and_the_first_story_is_near_the_top(show, files) -> None:
    """25 stories: the whole index was 1,280 px tall on a 375 px phone, and the first story began at
    y = 1,982. The phone sees five titles and a count of the rest."""
    index = index_geometry(show(PHONE, files["many"]))
    assert index["entries"] == 5 and "+20" in index["text"]
    assert index["height"] <= 420, index
    assert index["firstStory"] <= 900, index


def test_on_a_wide_screen_the_index_lists_every_story(show, files) -> None:
    index = index_geometry(show(800, files["many"]))
    assert index["entries"] == 25 and "+20" not in index["text"]


# --- links and images ---------------------------------------------------------------------------


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [PHONE, 800])
def test_digest_headlines_look_like_links(show, files, width: int, dark: bool) -> None:
    """A digest has no image and no "Read more": its headlines are its links, in the accent colour."""
    page = show(width, files["digest"], dark=dark)
    palette = DARK if dark else LIGHT
    colours = page.evaluate("() => [...document.querySelectorAll('h3 a')].map(a => getComputedStyle(a).color)")
    summary = page.evaluate("() => getComputedStyle(document.querySelector('h3').closest('td').querySelector('p:not(.nl-meta)')).color")
    assert colours and set(colours) == {rgb(palette.accent)}
    assert summary == rgb(palette.text) != rgb(palette.accent)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_blocked_image_shows_its_alt_text_on_a_tint(show, files, image_src: str, dark: bool) -> None:
    """The browser here blocks every remote image, as most mail clients do at first."""
    page = show(800, files["email"], dark=dark)
    image = page.locator(f'img[src="{image_src}"]')
    assert image.evaluate("img => img.complete && img.naturalWidth === 0")  # not loaded: its alt text shows
    palette = DARK if dark else LIGHT
    assert image.evaluate("img => getComputedStyle(img).backgroundColor") == rgb(palette.quote)
    assert image.evaluate("img => getComputedStyle(img).color") == rgb(palette.muted)


# --- accessibility ------------------------------------------------------------------------------


# Rules that judge a whole page. An email is shown inside a mail client's page, which has its own
# main landmark; the email's wrapper is MJML's role="article" (aria-roledescription="email"), and it
# carries no <main> of its own (Gmail turns <main> into <u>). The web page is checked with them.
PAGE_ONLY_RULES = ["landmark-one-main", "region"]


def axe_violations(page, skip: list[str] | None = None) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    options: dict = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    if skip:
        options["rules"] = {rule: {"enabled": False} for rule in skip}
    results = page.evaluate("options => axe.run(document, options)", options)
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
    violations = axe_violations(show(width, files[name], dark=dark), skip=None if name == "web" else PAGE_ONLY_RULES)
    scheme = "dark" if dark else "light"
    if violations:
        pytest.fail(f"axe-core on the {name} at {width} px, {scheme}:\n{describe(violations)}", pytrace=False)
