"""The live preview in a real browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

STORY_TITLES = [
    "A home robot folds towels at human speed",
    "Warehouse robots get a shared map format",
    "Liquid cooling cuts a data centre’s noise in half",
]
UPDATE_TIMEOUT_MS = 5000


def frame(page, which: str):
    return page.frame_locator(f"#frame-{which}")


def save_views(page, request, tmp_path: Path) -> list[Path]:
    """Desktop, phone and dark screenshots in the test's temporary folder (attached on failure)."""
    shots = []
    for name, selector in [("desktop", "#frame-desktop"), ("phone", "#frame-phone")]:
        path = tmp_path / f"{name}.png"
        page.locator(selector).screenshot(path=str(path))
        shots.append(path)
    page.check("#dark")
    path = tmp_path / "dark.png"
    page.locator("#panel-email").screenshot(path=str(path))
    shots.append(path)
    page.uncheck("#dark")
    request.node.screenshots = shots
    return shots


def test_page_shows_the_inbox_line_every_story_and_the_plain_text(look) -> None:
    page = look
    assert page.text_content("#subject") == "Robots learn to fold laundry, and a quieter data centre"
    assert page.text_content("#preheader") == "Two stories from the lab and one from the server room, in under three minutes."
    assert page.text_content("#sender") == "Fixture Editor <editor@fixture.example.org>"
    for which in ("desktop", "phone"):
        for title in STORY_TITLES:
            assert frame(page, which).get_by_role("heading", name=title).get_by_role("link").is_visible()

    assert not page.is_visible("#text")
    page.click("#tab-text")
    text = page.text_content("#text")
    assert all(title in text for title in STORY_TITLES)
    assert "Unsubscribe:\n%%unsubscribe_url%%" in text
    assert page.is_hidden("#panel-email")


def test_size_meter_and_check_results_are_shown(look, shared_preview) -> None:
    page = look
    snapshot = shared_preview.session.snapshot
    size = snapshot.email.html_bytes + snapshot.tracking_growth  # as delivered, with the tracked links
    assert snapshot.tracking_growth > 0
    assert page.text_content("#size-label") == f"{size / 1000:.1f} KB of Gmail's ~102 KB clip"
    assert page.get_attribute("#size-meter", "value") == str(size)
    assert page.is_visible("text=No errors or warnings.")


def test_views_are_saved_as_screenshots(look, request, tmp_path: Path) -> None:
    shots = save_views(look, request, tmp_path)
    assert [path.name for path in shots] == ["desktop.png", "phone.png", "dark.png"]
    assert all(path.stat().st_size > 10_000 for path in shots)


@pytest.mark.parametrize("width", [320, 375])
def test_email_never_scrolls_sideways_on_a_phone(browser, shared_preview, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    tab = context.new_page()
    tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(shared_preview.url) else route.abort())
    tab.goto(shared_preview.url + "email.html")
    overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    context.close()
    assert overflow <= 0


def test_phone_frame_is_375_px_and_does_not_scroll_sideways(look) -> None:
    page = look
    sizes = frame(page, "phone").locator("html").evaluate("e => [window.innerWidth, e.scrollWidth]")
    assert sizes[0] == 375
    assert sizes[1] <= 375


def test_header_columns_stack_into_one_on_the_phone(look) -> None:
    page = look
    def boxes(which: str):
        name = frame(page, which).locator("h1").bounding_box()
        issue = frame(page, which).get_by_text("Issue 7", exact=False).first.bounding_box()
        return name, issue

    name, issue = boxes("desktop")
    assert issue["x"] > name["x"] + name["width"]  # side by side
    assert issue["y"] < name["y"] + name["height"]
    name, issue = boxes("phone")
    assert issue["y"] >= name["y"] + name["height"] - 1  # one column: below the name
    assert abs(issue["x"] - name["x"]) < 2


def test_dark_switch_renders_the_email_with_its_dark_styles(look) -> None:
    page = look
    card = frame(page, "desktop").locator(".nl-card").first
    light = card.evaluate("e => getComputedStyle(e).backgroundColor")
    page.check("#dark")
    dark = card.evaluate("e => getComputedStyle(e).backgroundColor")
    page.uncheck("#dark")
    back = card.evaluate("e => getComputedStyle(e).backgroundColor")
    assert light == "rgb(255, 255, 255)"
    assert dark == "rgb(22, 27, 34)"  # theme.DARK.card
    assert back == light


def test_saving_the_issue_updates_the_open_page_and_keeps_the_scroll(page, issue_path: Path) -> None:
    page.evaluate("window.notReloaded = true")
    frame(page, "desktop").locator("html").evaluate("() => window.scrollTo(0, 400)")

    issue_path.write_text(issue_path.read_text().replace("folds towels at human speed", "folds shirts faster than people"))

    frame(page, "desktop").get_by_role("heading", name="A home robot folds shirts faster than people").wait_for(timeout=UPDATE_TIMEOUT_MS)
    assert page.evaluate("window.notReloaded") is True
    assert frame(page, "desktop").locator("html").evaluate("() => window.scrollY") == 400
    page.click("#tab-text")
    assert "A home robot folds shirts faster than people" in page.text_content("#text")


def test_a_broken_edit_shows_the_error_keeps_the_last_render_and_recovers(page, issue_path: Path) -> None:
    good = issue_path.read_text()
    issue_path.write_text(good.replace("https://example.org/robots/towels", "towels-page"))

    page.wait_for_selector("#problem", state="visible", timeout=UPDATE_TIMEOUT_MS)
    problem = page.text_content("#problem-text")
    assert f"{issue_path}:13: sections[0].stories[0].url: expected an http(s) URL" in problem
    assert frame(page, "desktop").get_by_role("heading", name=STORY_TITLES[0]).is_visible()  # last good render stays

    issue_path.write_text(good.replace("folds towels at human speed", "is fixed"))
    page.wait_for_selector("#problem", state="hidden", timeout=UPDATE_TIMEOUT_MS)
    frame(page, "desktop").get_by_role("heading", name="A home robot is fixed").wait_for(timeout=UPDATE_TIMEOUT_MS)


def test_bad_yaml_shows_the_line(page, issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text().replace("  - title: Robotics", "  - title: [Robotics"))
    page.wait_for_selector("#problem", state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert "YAML syntax error" in page.text_content("#problem-text")
    assert f"{issue_path}:" in page.text_content("#problem-text")


def test_template_and_settings_edits_rerender(page, workspace: Path) -> None:
    template = workspace / "templates" / "email.txt.j2"
    template.write_text("Custom text for issue {{ issue.number }}\n")
    page.click("#tab-text")
    page.wait_for_function("document.getElementById('text').textContent.startsWith('Custom text for issue 7')", timeout=UPDATE_TIMEOUT_MS)

    template.write_text("{{ issue.number }\n")  # a template mistake is shown like any other
    page.wait_for_selector("#problem", state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert "email.txt.j2:1: template syntax error" in page.text_content("#problem-text")
    template.unlink()

    config = workspace / "newsletter.toml"
    config.write_text(config.read_text().replace('name = "Fixture Weekly"', 'name = "Renamed Weekly"'))
    page.click("#tab-email")
    frame(page, "desktop").get_by_role("heading", name="Renamed Weekly").wait_for(timeout=UPDATE_TIMEOUT_MS)
    assert page.is_hidden("#problem")


def test_the_preview_page_itself_fits_a_375_px_phone(page, issue_path: Path) -> None:
    """No sideways scrolling of the page on a phone, with the email, an error or the plain text shown."""

    def overflow() -> int:
        return page.evaluate("document.documentElement.scrollWidth")

    page.set_viewport_size({"width": 375, "height": 800})
    assert overflow() <= 375
    main = page.locator("main").bounding_box()
    for which in ("desktop", "phone"):  # each frame takes the whole width of the page's column
        box = page.locator(f"#frame-{which}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert box["width"] >= main["width"] - 24 - 1  # main's side padding
        assert frame(page, which).locator("html").evaluate("e => e.scrollWidth <= window.innerWidth")
    assert page.is_visible("text=Desktop") and not page.is_visible("text=800 px")

    issue_path.write_text(issue_path.read_text().replace("https://example.org/robots/towels", "a-very-long-address-that-is-not-a-url-" * 4))
    page.wait_for_selector("#problem", state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert overflow() <= 375

    page.click("#tab-text")
    assert overflow() <= 375


def test_a_save_that_breaks_the_issue_never_says_no_errors(page, issue_path: Path) -> None:
    """Under the red banner the check panel used to keep saying "No errors or warnings"."""
    assert page.is_visible("text=No errors or warnings.")
    good = issue_path.read_text()

    issue_path.write_text(good.replace("  - title: Robotics", "  - title: [Robotics"))  # cannot be read at all
    page.wait_for_selector("#problem", state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert page.is_hidden("text=No errors or warnings.")
    assert page.text_content("#findings-empty") == "Not checked: the last save has a problem (above)."
    assert page.is_visible("#findings-empty")

    # Fields that do not validate are listed with what the rest of the issue still shows.
    broken = good.replace("alt: Two robot arms holding a folded white towel above a table", "alt: ''")
    broken = broken.replace("and a quieter data centre", "and a much quieter data centre in the north of Sweden")
    issue_path.write_text(broken)
    page.wait_for_function("document.querySelectorAll('#findings li').length >= 2", timeout=UPDATE_TIMEOUT_MS)
    findings = page.locator("#findings li").all_text_contents()
    assert any("sections[0].stories[0].image.alt: must not be empty" in item for item in findings), findings
    assert any("subject: is" in item and "phones cut it" in item for item in findings), findings
    assert page.is_visible("#problem") and page.is_hidden("#findings-empty")

    issue_path.write_text(good)
    page.wait_for_selector("#problem", state="hidden", timeout=UPDATE_TIMEOUT_MS)
    assert page.is_visible("text=No errors or warnings.")


def test_the_plain_text_keeps_its_own_line_breaks(page, issue_path: Path) -> None:
    """The text part is wrapped already (a long link stays whole on its line); the tab shows each of
    its lines as one line."""
    long_intro = "  Hello again. " + "This week the lab notes run long, so here is a longer opening than usual. " * 4
    long_url = "https://example.org/robots/towels/" + "the-long-road-to-a-folded-towel-" * 2 + "part-two"
    edited = issue_path.read_text().replace("  Hello again. A short one this week:", long_intro.rstrip() + " A short one this week:")
    issue_path.write_text(edited.replace("https://example.org/robots/towels", long_url))
    page.click("#tab-text")
    page.wait_for_function("document.getElementById('text').textContent.includes('lab notes run long')", timeout=UPDATE_TIMEOUT_MS)
    text = page.text_content("#text")
    lines = text.rstrip("\n").split("\n")
    assert max(len(line) for line in lines) >= 78, lines

    shown = page.evaluate(
        """() => {
            const pre = document.getElementById('text');
            const style = getComputedStyle(pre);
            const inside = pre.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
            return {rows: Math.round(inside / parseFloat(style.lineHeight)), sideways: pre.scrollWidth > pre.clientWidth};
        }"""
    )
    assert shown == {"rows": len(lines), "sideways": False}
