"""What makes the email work in real inboxes: accessible, dark-mode ready, offline, small, not spammy."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest

from newsletter.issue.build import build_issue
from newsletter.issue.loading import load_issue
from newsletter.issue.prepare import prepare_issue
from newsletter.mail.clicks import track_email
from newsletter.models import Issue, Section, placeholders
from newsletter.render.markdown import smart_quotes
from newsletter.render.pipeline import Renderer
from newsletter.render.theme import DARK, LIGHT, contrast, palettes
from newsletter.workspace.config import load_workspace
from tests.helpers.workspace import add_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"
KB = 1000


@pytest.fixture
def renderer(workspace: Path) -> Renderer:
    return Renderer(load_workspace(workspace))


@pytest.fixture
def fixture_email(renderer: Renderer, issue_path: Path):
    return renderer.render(load_issue(issue_path))


@pytest.fixture
def document(fixture_email):
    return lxml.html.document_fromstring(fixture_email.html)


def with_stories(issue: Issue, count: int) -> Issue:
    stories = [issue.stories[i % len(issue.stories)] for i in range(count)]
    return issue.model_copy(update={"sections": [Section(title="All the news", stories=stories)]})


# --- accessibility -----------------------------------------------------------------------------


def test_document_declares_its_language(document, fixture_email) -> None:
    assert document.get("lang") == "en"
    assert fixture_email.html.startswith("<!doctype html>")


def test_every_layout_table_is_presentational(document) -> None:
    tables = document.xpath("//table")
    assert tables
    assert [t for t in tables if t.get("role") != "presentation"] == []


def test_every_image_has_alt_text(document) -> None:
    images = document.xpath("//img")
    assert images, "the fixture issue has an image"
    assert all(image.get("alt") for image in images)
    story_image = document.xpath("//img[contains(@src, 'towel-robot')]")[0]
    assert story_image.get("alt") == "Two robot arms holding a folded white towel above a table"
    assert story_image.get("width") == "480"


def test_story_titles_are_headings_linking_to_the_article(document) -> None:
    links = {a.text_content(): a.get("href") for a in document.xpath("//h3/a")}
    assert links == {
        "A home robot folds towels at human speed": "https://example.org/robots/towels",
        "Warehouse robots get a shared map format": "https://example.org/robots/map-format",
        "Liquid cooling cuts a data centre’s noise in half": "https://example.org/infra/quiet-cooling",  # curly, as in the summaries
    }


@pytest.mark.parametrize("accent", ["#1d4ed8", "#ffcc00", "#00ff00", "#000080", "#e11d48", "#ffffff", "#000000"])
def test_text_contrast_is_at_least_4_5_to_1_in_light_and_dark(accent: str) -> None:
    for palette in palettes(accent):
        for name, (foreground, background) in palette.text_pairs().items():
            assert contrast(foreground, background) >= 4.5, f"{name} with accent {accent}"


def test_template_colours_all_come_from_the_checked_palettes(fixture_email) -> None:
    """A colour typed into a template would escape the contrast check above."""
    light, dark = palettes("#1d4ed8")
    allowed = set(vars(light).values()) | set(vars(dark).values())
    used = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", fixture_email.html)}
    assert used - allowed == set()


# --- dark mode, responsive layout, Outlook ----------------------------------------------------


def test_dark_mode_is_declared_and_styled(document, fixture_email) -> None:
    metas = {m.get("name"): m.get("content") for m in document.xpath("//meta[@name]")}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"
    styles = "".join(document.xpath("//style/text()"))
    assert "@media (prefers-color-scheme:dark)" in styles
    assert DARK.card in styles and DARK.text in styles


def test_phone_layout_and_outlook_fallbacks_are_present(fixture_email) -> None:
    assert "@media only screen and (max-width:479px)" in fixture_email.html
    assert "<!--[if mso | IE]>" in fixture_email.html  # fixed-width tables for Outlook's Word engine
    assert 'name="viewport"' in fixture_email.html


def test_a_blocked_image_shows_a_tinted_placeholder(document, fixture_email) -> None:
    """Most clients block images at first: the alt text then sits on the quote's tint, in the muted
    colour (4.5:1 on it in both schemes), rather than in a hole in the card."""
    image = document.xpath("//img[contains(@src, 'towel-robot')]")[0]
    style = image.get("style").replace(" ", "")
    assert f"background:{LIGHT.quote}" in style and f"color:{LIGHT.muted}" in style
    assert image.get("bgcolor") is None  # not an attribute of <img>
    dark = re.search(r"@media \(prefers-color-scheme:dark\)\{(.*)\}", fixture_email.html, re.S).group(1)
    assert f".nl-card .nl-img{{background:{DARK.quote}!important;color:{DARK.muted}!important}}" in dark


def test_styles_are_inlined_by_premailer(document) -> None:
    title_link = document.xpath("//h3/a")[0]
    assert "text-decoration:none" in title_link.get("style").replace(" ", "")
    assert LIGHT.text in title_link.get("style")


# --- preheader -----------------------------------------------------------------------------------


def test_preheader_comes_first_and_is_hidden_without_white_text(document, fixture_email) -> None:
    preheader = document.xpath("//div[contains(@class, 'nl-preheader')]")[0]
    assert preheader.text_content().startswith(fixture_email.preheader)
    style = preheader.get("style").replace(" ", "")
    assert "display:none" in style
    assert "color" not in style and "#fff" not in style.lower()  # SpamAssassin scores white-on-white
    body_text = " ".join(document.body.text_content().split())
    assert body_text.startswith(fixture_email.preheader)


ZERO_WIDTH = dict.fromkeys(map(ord, "\u034f\u200c"))


@pytest.mark.parametrize("preheader", ["A short one.", "A preheader of middling length that says what the issue holds, in about ninety characters."])
def test_preheader_and_spacer_fill_a_three_line_preview(renderer: Renderer, issue_path: Path, preheader: str) -> None:
    """Phones preview up to three lines (about 200 characters) after the subject: the preheader and
    its spacer fill them, so no body text ("View this issue in your browser") shows after it."""
    email = renderer.render(load_issue(issue_path).model_copy(update={"preheader": preheader}))
    hidden = lxml.html.document_fromstring(email.html).xpath("//div[contains(@class, 'nl-preheader')]")[0].text_content()
    shown = hidden.translate(ZERO_WIDTH)  # what takes room in a preview: the words and the no-break spaces
    assert shown.startswith(preheader) and set(shown[len(preheader) :]) == {"\u00a0"}
    assert 195 <= len(shown) <= 205, len(shown)


def test_web_page_has_no_preheader_and_no_unsubscribe_token(fixture_email) -> None:
    assert "nl-preheader" not in fixture_email.web_html
    assert placeholders.UNSUBSCRIBE_URL not in fixture_email.web_html
    assert "Fixture Weekly, 1 Test Street" in fixture_email.web_html


def test_footer_has_postal_address_browser_and_unsubscribe_links(document, fixture_email) -> None:
    assert "Fixture Weekly, 1 Test Street, Testville 12345" in document.text_content()
    hrefs = {a.text_content().replace("\u00a0", " "): a.get("href") for a in document.xpath("//a")}
    assert hrefs["Unsubscribe"] == placeholders.UNSUBSCRIBE_URL
    assert hrefs["View in browser"] == "https://fixture.example.org/archive/issue-7.html"
    assert placeholders.UNSUBSCRIBE_URL in fixture_email.text


# --- plain-text twin -----------------------------------------------------------------------------


def test_plain_text_carries_every_story_fact_and_link(fixture_email, issue_path: Path) -> None:
    issue = load_issue(issue_path)
    text = fixture_email.text
    for story in issue.stories:
        assert smart_quotes(story.title) in text  # with the typographic quotes of the HTML part
        assert story.url in text
        for fact in story.key_facts:
            assert f"- {smart_quotes(fact)}" in text
    assert "“Cloth was the hardest thing we tried" in text
    assert "<" not in text, "no HTML in the text part"
    assert max(len(line) for line in text.splitlines() if "://" not in line) <= 72


# --- offline and quiet ---------------------------------------------------------------------------


def test_output_links_no_remote_stylesheet_or_font(fixture_email) -> None:
    for html in (fixture_email.html, fixture_email.web_html):
        assert "stylesheet" not in html
        assert re.findall(r"<link [^>]*>", html) in ([], ['<link rel="canonical" href="https://fixture.example.org/archive/issue-7.html">'])
        assert "@import" not in html
        assert "fonts.googleapis" not in html and "@font-face" not in html


def test_rendering_makes_no_network_request(workspace: Path, issue_path: Path, monkeypatch) -> None:
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    result = build_issue(issue_path)
    assert attempts == []
    assert len(result.paths) == 4


@pytest.mark.slow
def test_build_prints_only_its_own_messages(tmp_path: Path) -> None:
    """premailer's CSS parser warns about every mso-* property; none of that reaches the terminal.
    What build says on stderr is what `check` finds, and nothing else."""
    command = [sys.executable, "-m", "newsletter", "build", str(SAMPLE), "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    checked = subprocess.run([sys.executable, "-m", "newsletter", "check", str(SAMPLE)], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines() == checked.stdout.splitlines()[:-1]  # check's last line is its summary
    lines = done.stdout.splitlines()
    assert [line.split()[-1] for line in lines[:4]] == [str(tmp_path / name) for name in ("email.html", "email.txt", "email.eml", "web.html")]
    assert re.fullmatch(r"HTML size: \d+\.\d KB with the newsletter's own tracked links of Gmail's ~102 KB clipping limit", lines[4])


# --- size budget ---------------------------------------------------------------------------------


def test_sample_issue_fits_the_size_budget() -> None:
    email_ = Renderer(load_workspace(ROOT)).render(load_issue(SAMPLE))
    assert email_.html_bytes <= 60 * KB


def test_base_and_per_story_cost_keep_25_stories_under_gmails_clip() -> None:
    renderer = Renderer(load_workspace(ROOT))
    sample = load_issue(SAMPLE)
    one = renderer.render(with_stories(sample, 1)).html_bytes
    many = renderer.render(with_stories(sample, 25)).html_bytes
    per_story = (many - one) / 24
    assert per_story <= 3.5 * KB
    assert one - per_story <= 25 * KB
    assert many < 102 * KB


@pytest.mark.slow
def test_build_warns_with_the_figure_above_90_kb(tmp_path: Path) -> None:
    big = with_stories(load_issue(SAMPLE), 37)
    issue_file = tmp_path / "issues" / "big.yaml"
    issue_file.parent.mkdir()
    shutil.copy(ROOT / "newsletter.toml", tmp_path)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    issue_file.write_text(_to_yaml(big), encoding="utf-8")
    add_config(tmp_path, '[tracking]\nclicks = "off"\n')  # the file's own size is the figure (tracked links: below)

    done = subprocess.run([sys.executable, "-m", "newsletter", "build", str(issue_file)], capture_output=True, text=True)

    assert done.returncode == 0
    size = (tmp_path / "build" / "big" / "email.html").stat().st_size
    assert size > 90 * KB
    assert f"{size / KB:.1f} KB" in done.stderr and "clipping" in done.stderr


@pytest.mark.slow
def test_check_counts_sendgrid_click_tracking_against_gmails_clip(tmp_path: Path) -> None:
    """SendGrid's click tracking makes each link 300 to 450 bytes longer: a 25-story issue that fits
    as rendered comes close to the clip as delivered. With [sendgrid] click_tracking on, `check`
    and `build` count the longer links."""
    big = with_stories(load_issue(SAMPLE), 25)
    shutil.copy(ROOT / "newsletter.toml", tmp_path)
    issue_file = tmp_path / "issues" / "big.yaml"
    issue_file.parent.mkdir()
    issue_file.write_text(_to_yaml(big), encoding="utf-8")
    add_config(tmp_path, '[tracking]\nclicks = "off"\n')  # SendGrid's redirect alone
    assert not [f for f in prepare_issue(issue_file).findings if "Gmail" in f.message]

    add_config(tmp_path, "[sendgrid]\nclick_tracking = true\n")
    prepared = prepare_issue(issue_file)
    (finding,) = [f for f in prepared.findings if "Gmail" in f.message]
    links = len(re.findall(r'<a [^>]*href="(?!#)', prepared.email.html))
    delivered = prepared.email.html_bytes + 450 * links
    assert prepared.email.html_bytes < 90 * KB < delivered
    assert finding.level == "warning"
    assert f"the HTML is {delivered / KB:.1f} KB as delivered" in finding.message and "click tracking" in finding.message
    done = subprocess.run([sys.executable, "-m", "newsletter", "build", str(issue_file)], capture_output=True, text=True)
    assert f"HTML size: {delivered / KB:.1f} KB with SendGrid's click tracking" in done.stdout


@pytest.mark.slow
def test_check_counts_the_tools_own_tracked_links_against_gmails_clip(tmp_path: Path) -> None:
    """Each tracked link is longer by the redirect and the reader's part: 25 stories still fit, and the
    size `check` counts is exactly each copy's as delivered."""
    big = with_stories(load_issue(SAMPLE), 25)
    shutil.copy(ROOT / "newsletter.toml", tmp_path)
    issue_file = tmp_path / "issues" / "big.yaml"
    issue_file.parent.mkdir()
    issue_file.write_text(_to_yaml(big), encoding="utf-8")

    prepared = prepare_issue(issue_file)

    assert not [f for f in prepared.findings if "Gmail" in f.message and f.level == "error"]
    links = len(re.findall(r'href="https://weeklymodel.example.com/r/', track_email(prepared.email, prepared.issue, "42", prepared.workspace.config, b"k" * 32).html))
    assert links >= 50  # the title and "read more" of each story, and its image when it has one
    assert 80 * links < prepared.tracking_growth < 160 * links
    assert prepared.email.html_bytes + prepared.tracking_growth < 102 * KB


def _to_yaml(issue: Issue) -> str:
    return issue.model_dump_json(exclude_none=True)  # JSON is valid YAML


# --- the .eml ------------------------------------------------------------------------------------


def test_eml_is_a_complete_multipart_alternative_message(issue_path: Path, workspace: Path) -> None:
    result = build_issue(issue_path)
    out = workspace / "build" / issue_path.stem
    message = email.message_from_bytes((out / "email.eml").read_bytes(), policy=email.policy.default)

    for header in ("Date", "Message-ID", "From", "To", "Subject", "List-Id", "List-Unsubscribe"):
        assert message[header], f"missing {header}"
    assert message["Subject"] == result.email.subject
    assert message["From"].addresses[0].addr_spec == "editor@fixture.example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]

    unsubscribe = "https://fixture.example.org/unsubscribe?token=proof-copy"
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    # A proof has no reader: its "Manage preferences" link goes to the unsubscribe page too.
    for part, name in zip(parts, ("email.txt", "email.html"), strict=True):
        built = (out / name).read_text().replace(placeholders.UNSUBSCRIBE_URL, unsubscribe).replace(placeholders.PREFERENCES_URL, unsubscribe)
        assert part.get_content() == built
    assert "%%" not in parts[0].get_content() + parts[1].get_content()


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="spamassassin is not installed (CI installs it)")
@pytest.mark.parametrize("layout", ["standard", "digest"])
@pytest.mark.slow
def test_sample_issue_scores_zero_or_less_with_spamassassin(tmp_path: Path, layout: str) -> None:
    shutil.copy(ROOT / "newsletter.toml", tmp_path)
    issue_file = tmp_path / "issues" / SAMPLE.name
    issue_file.parent.mkdir()
    issue_file.write_text(SAMPLE.read_text(encoding="utf-8") + f"\nlayout: {layout}\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "newsletter", "build", str(issue_file), "--out", str(tmp_path)], check=True, capture_output=True)
    with open(tmp_path / "email.eml", "rb") as eml:
        report = subprocess.run(["spamassassin", "-t", "-L"], stdin=eml, capture_output=True, check=False).stdout.decode()
    score = float(re.search(r"Content analysis details:\s+\((-?[\d.]+) points", report).group(1))
    assert score <= 0.0, report[report.find("Content analysis details") :]


def outlook_fonts(html: str) -> dict[str, str]:
    """The font Outlook for Windows picks first for the quote, its attribution, a heading and a
    line of text, by the cascade: its own style's !important rules beat the inline styles, the most
    specific (then the last) of them winning; else the element's inline font, else its parent's."""
    import cssselect
    from lxml.cssselect import CSSSelector

    document = lxml.html.document_fromstring(html)
    outlook_css = re.search(r"<!--\[if mso\]><style>(.*?)</style>", html).group(1)
    rules = []  # (specificity, order, elements matched, font)
    for order, (selectors, font) in enumerate(re.findall(r"([^{}]+)\{font-family:([^;}]+)!important\}", outlook_css)):
        for selector in selectors.split(","):
            specificity = cssselect.parse(selector)[0].specificity()
            rules.append((specificity, order, set(CSSSelector(selector)(document)), font))

    def font(element) -> str:
        matched = [(specificity, order, font) for specificity, order, elements, font in rules if element in elements]
        if matched:
            chosen = max(matched)[2]
        else:
            inline = re.search(r"font-family:\s*([^;]+)", element.get("style") or "")
            chosen = inline.group(1) if inline else font(element.getparent()) if element.getparent() is not None else ""
        return chosen.split(",")[0].strip("'\" ")

    return {
        "quote": font(document.xpath("//blockquote/p[not(@class)]")[0]),
        "attribution": font(document.xpath("//blockquote/p[@class='nl-cite']")[0]),
        "heading": font(document.xpath("//h3")[0]),
        "text": font(document.xpath("//p[@class='nl-meta']")[0]),
        "issue number": font(document.xpath("//td[contains(@class, 'nl-issue')]/div")[0]),
    }


def test_outlook_keeps_the_quote_in_georgia_and_prefers_segoe_ui(fixture_email) -> None:
    expected = {"quote": "Georgia", "attribution": "Segoe UI", "heading": "Segoe UI", "text": "Segoe UI", "issue number": "Segoe UI"}
    assert outlook_fonts(fixture_email.html) == expected


def test_outlook_only_blocks_are_merged_where_they_meet(fixture_email) -> None:
    """MRML closes one `<!--[if mso | IE]>` block and opens the next at every section boundary;
    joined, as node mjml joins them, they cost Outlook nothing and save about a kilobyte."""
    html = fixture_email.html
    assert re.search(r"<!\[endif\]-->\s*<!--\[if mso \| IE\]>", html) is None
    assert html.count("<!--[if") == html.count("<![endif]-->")  # every block still closed


def test_outlook_and_ios_rules(fixture_email, document) -> None:
    """Headings name their own font in the head's style (once, not on every story: Outlook does not
    pass one down) and Outlook gets a font rule of its own (Segoe UI first); lists are indented with margin (Outlook
    ignores list padding); iOS is told not to turn dates and addresses into links."""
    html = fixture_email.html
    assert document.xpath("//h1 | //h2 | //h3")
    assert re.search(r"<style[^>]*>h1,h2,h3\{font-family:-apple-system,[^}]*sans-serif\}", html)
    for listing in document.xpath("//ul"):
        style = listing.get("style", "")
        assert re.search(r"margin:0 0 \d+px 20px", style) and "padding:0" in style, style
    assert re.search(r"<!--\[if mso\]><style>[^<]*font-family:'Segoe UI',Arial", html)
    assert '<meta name="format-detection" content="telephone=no,date=no,address=no,email=no,url=no">' in html
    assert '<meta name="x-apple-disable-message-reformatting">' in html
    assert "a[x-apple-data-detectors]" in html
