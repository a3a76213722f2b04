"""The email's design as a reader or editor sees it: layouts, languages, Outlook-safe structure,
images, the index, "Read more", the sponsor, the footer, the web page and the size budget."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from newsletter.cli.main import cli
from newsletter.errors import ConfigError, IssueFileError
from newsletter.i18n.catalogue import EMAIL_LABELS, LABELS, labels, long_date
from newsletter.issue.loading import load_issue
from newsletter.models import Email, Image, Issue, Section, Sponsor, placeholders
from newsletter.render.blocks import DIGEST_BLOCK
from newsletter.render.pipeline import Renderer, web_url
from newsletter.workspace.config import load_config, load_workspace

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"
KB = 1000
LIGHT_ACCENT = "#1d4ed8"  # the fixture's brand colour, readable as it is on white
LANGUAGES = ["en", "de", "fr", "es", "pt"]


# --- helpers -------------------------------------------------------------------------------------


def configure(workspace: Path, newsletter: str = "", extra: str = "") -> Path:
    """Add lines under [newsletter] (and tables at the end) of the workspace's newsletter.toml."""
    path = workspace / "newsletter.toml"
    source = path.read_text(encoding="utf-8").replace("[newsletter]\n", f"[newsletter]\n{newsletter}", 1)
    path.write_text(source + extra, encoding="utf-8")
    return path


def render(workspace: Path, issue: Issue) -> Email:
    return Renderer(load_workspace(workspace)).render(issue)


def parse(html: str):
    return lxml.html.document_fromstring(html)


def body_text(html: str) -> str:
    """What a reader sees: the body's text, without the head's styles."""
    return parse(html).xpath("//body")[0].text_content()


def change_story(issue: Issue, index: int, **changes) -> Issue:
    """`issue` with the index-th story (in issue order) changed."""
    count = 0
    sections = []
    for section in issue.sections:
        stories = []
        for story in section.stories:
            stories.append(story.model_copy(update=changes) if count == index else story)
            count += 1
        sections.append(section.model_copy(update={"stories": stories}))
    return issue.model_copy(update={"sections": sections})


def with_stories(issue: Issue, count: int) -> Issue:
    """As bench/render_bench.py: `count` stories cycling the issue's own, over up to 3 sections."""
    stories = [issue.stories[i % len(issue.stories)] for i in range(count)]
    sections = [Section(title=f"Section {n + 1}", stories=stories[n::3]) for n in range(min(3, count)) if stories[n::3]]
    return issue.model_copy(update={"sections": sections})


def order(document, *elements) -> list[int]:
    positions = {element: place for place, element in enumerate(document.iter())}
    return [positions[element] for element in elements]


def story_cell(h3):
    return h3.xpath("ancestor::td[1]")[0]


@pytest.fixture
def issue(issue_path: Path) -> Issue:
    return load_issue(issue_path)


LONG_SUMMARY = "The first sentence says what happened. The second says why it matters. The third is detail the digest leaves out."
LONG_FACTS = ["First fact", "Second fact", "Third fact"]


# --- 1. layouts ----------------------------------------------------------------------------------


def test_digest_in_newsletter_toml_renders_the_compact_layout(workspace: Path, issue: Issue) -> None:
    configure(workspace, 'layout = "digest"\n')
    issue = change_story(issue, 0, summary=LONG_SUMMARY, key_facts=LONG_FACTS)
    email = render(workspace, issue)
    document = parse(email.html)

    assert document.xpath("//img[contains(@src, 'towel-robot')]") == []
    assert document.xpath("//blockquote") == []
    assert {a.get("href"): a.text_content() for a in document.xpath("//h3/a")} == {s.url: s.title.replace("'", "’") for s in issue.stories}
    first = story_cell(document.xpath("//h3")[0])
    text = first.text_content()
    assert "The first sentence says what happened. The second says why it matters." in text
    assert "The third is detail" not in text
    facts = [p.text_content() for p in first.xpath(".//p") if "First fact" in p.text_content()]
    assert facts == ["First fact · Second fact"]
    assert "Third fact" not in text


def test_the_text_part_follows_the_digest_layout(workspace: Path, issue: Issue) -> None:
    configure(workspace, 'layout = "digest"\n')
    text = render(workspace, change_story(issue, 0, summary=LONG_SUMMARY, key_facts=LONG_FACTS)).text

    assert "The second says why it matters." in text and "The third is detail" not in text
    assert "matters.\n\n  - First fact\n  - Second fact\n" in text and "Third fact" not in text  # set off from the summary
    assert "Read more at" not in text and "Key facts:" not in text and "[Image:" not in text and "Cloth was" not in text
    assert "In this issue".upper() not in text
    for story in issue.stories:
        assert story.url in text.splitlines()


def test_an_issue_layout_overrides_newsletter_toml(workspace: Path, issue_path: Path) -> None:
    configure(workspace, 'layout = "digest"\n')
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "layout: standard\n", encoding="utf-8")
    standard = render(workspace, load_issue(issue_path))
    assert parse(standard.html).xpath("//blockquote") and parse(standard.html).xpath("//img[contains(@src, 'towel-robot')]")
    assert "Read more at Robot Report" in standard.text


def test_a_digest_issue_overrides_a_standard_newsletter_toml(workspace: Path, issue: Issue) -> None:
    digest = render(workspace, issue.model_copy(update={"layout": "digest"}))
    assert parse(digest.html).xpath("//blockquote") == []
    assert parse(digest.html).xpath("//img[contains(@src, 'towel-robot')]") == []
    assert "Read more at" not in digest.text and "Key facts:" not in digest.text


def test_an_unknown_layout_in_newsletter_toml_names_the_setting(workspace: Path) -> None:
    path = configure(workspace, 'layout = "magazine"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "newsletter.layout" in str(raised.value) and "magazine" in str(raised.value)


def test_an_unknown_layout_in_an_issue_names_the_field(issue_path: Path) -> None:
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "layout: magazine\n", encoding="utf-8")
    with pytest.raises(IssueFileError) as raised:
        load_issue(issue_path)
    message = str(raised.value)
    assert "layout:" in message and "standard" in message and "digest" in message


# --- 2. languages --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_shows_its_issue_label_and_date(workspace: Path, issue: Issue, language: str) -> None:
    configure(workspace, f'language = "{language}"\n')
    email = render(workspace, issue)
    number = labels(language)["issue_number"].format(number=issue.number)
    date = long_date(issue.date, language)

    assert parse(email.html).get("lang") == language
    assert number in body_text(email.html) and date in body_text(email.html)
    assert f"{number} · {date}" in email.text


def test_german_keeps_no_english_built_in_words(workspace: Path, issue: Issue) -> None:
    configure(workspace, 'language = "de"\n')
    email = render(workspace, change_story(issue, 1, reading_minutes=4))
    german = labels("de")
    # The longest fixed part of each label that German words differently ("Read more at", "min read"...).
    # The sponsor's label is checked on its own below ("Sponsor" is also in the sponsor's name).
    english = {key: max(text.replace("}", "{").split("{")[::2], key=len).strip() for key, text in EMAIL_LABELS.items() if german[key] != text and key != "sponsor"}
    assert {"Unsubscribe", "View this issue in your browser", "Read more at"} <= set(english.values())
    seen = body_text(email.html)
    assert {key: word for key, word in english.items() if word in seen or word in email.text} == {}
    assert german["unsubscribe"] in seen and german["read_more"].format(source="Robot Report") in seen


def test_the_sponsor_label_follows_the_language(workspace: Path, issue: Issue) -> None:
    configure(workspace, 'language = "de"\n')
    email = render(workspace, issue)
    label = labels("de")["sponsor"]
    assert [p.text_content() for p in parse(email.html).xpath("//p[contains(@class, 'nl-label')]") if p.text_content() != labels("de")["in_this_issue"]] == [label]
    assert f"{label.upper()}: Example Sponsor" in email.text


@pytest.mark.parametrize(
    ("key", "words", "shown", "replaced"),
    [
        ("read_more", "Continue at {source}", "Continue at Robot Report", "Read more"),
        ("sponsor", "Partner of the week", "Partner of the week", None),
    ],
)
def test_a_labels_entry_replaces_the_built_in_words(workspace: Path, issue: Issue, key: str, words: str, shown: str, replaced: str | None) -> None:
    configure(workspace, extra=f'\n[labels]\n{key} = "{words}"\n')
    email = render(workspace, issue)
    assert shown in body_text(email.html)
    assert shown in email.text or shown.upper() in email.text
    if replaced:
        assert replaced not in body_text(email.html) and replaced not in email.text


# --- 3. structure for Outlook --------------------------------------------------------------------


def test_every_story_is_a_table_of_its_own(workspace: Path, issue: Issue) -> None:
    document = parse(render(workspace, issue).html)
    tables = [h3.xpath("ancestor::table[1]")[0] for h3 in document.xpath("//h3")]
    assert len(tables) == len(issue.stories) == len(set(tables))
    assert all("nl-card" in table.get("class", "").split() for table in tables)


def test_no_div_in_the_card_carries_padding_or_border(workspace: Path, issue: Issue) -> None:
    document = parse(render(workspace, issue).html)
    cards = document.xpath("//*[contains(concat(' ', @class, ' '), ' nl-card ')]")
    assert cards
    drawn = [
        declaration
        for card in cards
        for div in card.xpath("descendant-or-self::div")
        for declaration in (div.get("style") or "").split(";")
        # border-radius only rounds the corners where a client can; Outlook ignores it harmlessly
        if re.match(r"\s*(padding|border(?!-radius))", declaration)
    ]
    assert drawn == []


def test_quote_and_facts_sit_in_table_cells(workspace: Path, issue: Issue) -> None:
    document = parse(render(workspace, issue).html)
    quote = document.xpath("//blockquote")[0]
    assert quote.get("bgcolor") is None
    assert quote.getparent().tag == "td"
    facts = document.xpath("//ul[@aria-label]")
    assert facts and all(ul.get("aria-label") == LABELS["key_facts"] for ul in facts)
    for ul in facts:
        cell = ul.getparent()
        assert cell.tag == "td"
        assert cell.get("bgcolor") or "background" in (cell.get("style") or "")


def test_digest_blocks_hold_at_most_five_stories(workspace: Path, issue: Issue) -> None:
    many = issue.model_copy(update={"layout": "digest", "sections": [Section(title="All", stories=[issue.stories[i % 3] for i in range(12)])]})
    document = parse(render(workspace, many).html)
    per_table: dict = {}
    for h3 in document.xpath("//h3"):
        table = h3.xpath("ancestor::table[1]")[0]
        per_table[table] = per_table.get(table, 0) + 1
    assert DIGEST_BLOCK <= 5
    assert sum(per_table.values()) == 12
    assert max(per_table.values()) <= 5
    assert len(per_table) == 3  # 5 + 5 + 2: stories do share blocks


# --- 4. images -----------------------------------------------------------------------------------


def story_image(workspace: Path, issue: Issue, **image):
    image = Image(src="https://example.org/images/towel-robot.jpg", alt="Two robot arms", **image)
    document = parse(render(workspace, change_story(issue, 0, image=image)).html)
    return document.xpath("//img[contains(@src, 'towel-robot')]")[0], document.xpath("//h3/a")[0]


def test_a_narrow_image_keeps_its_width_and_links_to_the_story(workspace: Path, issue: Issue) -> None:
    img, title = story_image(workspace, issue, width=240)
    assert img.get("width") == "240"
    assert "max-width:240px" in img.get("style").replace(" ", "")
    assert img.get("height") is None
    assert img.getparent().tag == "a" and img.getparent().get("href") == title.get("href")


def test_an_image_height_is_written(workspace: Path, issue: Issue) -> None:
    img, _ = story_image(workspace, issue, width=240, height=160)
    assert (img.get("width"), img.get("height")) == ("240", "160")


def test_a_wide_image_is_clamped_to_the_content_width_with_its_height_scaled(workspace: Path, issue: Issue) -> None:
    img, _ = story_image(workspace, issue, width=600, height=300)
    assert (img.get("width"), img.get("height")) == ("536", "268")
    assert "max-width:536px" in img.get("style").replace(" ", "")


# --- 5. index ------------------------------------------------------------------------------------


def index_entries(document) -> list[tuple[str, str]]:
    return [(a.get("href"), a.text_content()) for a in document.xpath("//a[starts-with(@href, '#story-')]")]


def test_the_index_links_every_title_to_its_story_on_the_web_page(workspace: Path, issue: Issue) -> None:
    document = parse(render(workspace, issue).web_html)
    label = [p for p in document.xpath("//p") if p.text_content() == "In this issue"]
    assert len(label) == 1
    titles = [(h3.get("id"), h3.text_content()) for h3 in document.xpath("//h3")]
    assert index_entries(document) == [(f"#{story_id}", title) for story_id, title in titles]
    assert [story_id for story_id, _ in titles] == [f"story-{n}" for n in range(1, len(issue.stories) + 1)]
    assert document.xpath("//a[@name]") == []  # obsolete in HTML: the page's headings carry ids


def test_the_email_index_targets_named_anchors_gmail_and_outlook_follow(workspace: Path, issue: Issue) -> None:
    """Gmail and Outlook drop id attributes but follow #name to an empty <a name>, which opens each
    story's cell (above its image), as the index's links expect."""
    document = parse(render(workspace, issue).html)
    anchors = document.xpath("//a[@name]")
    assert [a.get("name") for a in anchors] == [f"story-{n}" for n in range(1, len(issue.stories) + 1)]
    for anchor, h3 in zip(anchors, document.xpath("//h3"), strict=True):
        assert anchor.text_content() == "" and anchor.get("href") is None and anchor.get("style") is None
        assert anchor.getparent() is story_cell(h3) and anchor.getparent().index(anchor) == 0
    assert index_entries(document) == [(f"#{a.get('name')}", h3.text_content()) for a, h3 in zip(anchors, document.xpath("//h3"), strict=True)]


def test_a_digest_or_a_single_story_has_no_anchors(workspace: Path, issue: Issue) -> None:
    digest = parse(render(workspace, issue.model_copy(update={"layout": "digest"})).html)
    single = parse(render(workspace, issue.model_copy(update={"sections": [Section(title="One", stories=issue.stories[:1])]})).html)
    assert digest.xpath("//a[@name]") == [] and single.xpath("//a[@name]") == []


def test_on_phones_the_index_shows_five_titles_and_counts_the_others(workspace: Path, issue: Issue) -> None:
    email = render(workspace, with_stories(issue, 25))
    document = parse(email.html)
    entries = document.xpath("//ul[contains(@class, 'nl-index')]/li")
    assert len(entries) == 25
    assert [li.get("class") for li in entries] == [None] * 5 + ["nl-later"] * 20
    count = document.xpath("//p[contains(@class, 'nl-phone')]")
    assert [p.text_content() for p in count] == ["+20\u00a0↓"]
    assert "display:none" in count[0].get("style").replace(" ", "")  # shown on phones only
    phones = re.search(r"@media only screen and \(max-width:479px\)\{(.*?)\n\}", email.html, re.S).group(1)
    assert ".nl-later{display:none!important}" in phones and ".nl-phone{display:block!important}" in phones


def test_a_short_index_is_whole_on_phones(workspace: Path, issue: Issue) -> None:
    document = parse(render(workspace, with_stories(issue, 5)).html)
    assert len(document.xpath("//ul[contains(@class, 'nl-index')]/li")) == 5
    assert document.xpath("//*[contains(@class, 'nl-later') or contains(@class, 'nl-phone')]") == []


def test_check_passes_the_fixture(issue_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(issue_path)])
    assert result.exit_code == 0, result.output


def test_digest_headlines_are_coloured_as_links(workspace: Path, issue: Issue) -> None:
    """A digest's headlines are its only links: they take the accent colour, not the text's."""
    document = parse(render(workspace, issue.model_copy(update={"layout": "digest"})).html)
    links = document.xpath("//h3/a")
    assert links and all(f"color:{LIGHT_ACCENT}" in a.get("style").replace(" ", "") for a in links)


def test_the_digest_has_no_index(workspace: Path, issue: Issue) -> None:
    email = render(workspace, issue.model_copy(update={"layout": "digest"}))
    assert parse(email.html).xpath("//a[starts-with(@href, '#story-')]") == []
    assert "In this issue" not in body_text(email.html)


# --- 6. read more --------------------------------------------------------------------------------


def test_each_story_ends_with_read_more_and_its_reading_time(workspace: Path, issue: Issue) -> None:
    issue = change_story(issue, 1, reading_minutes=4)
    document = parse(render(workspace, issue).html)
    for story, h3 in zip(issue.stories, document.xpath("//h3"), strict=True):
        last = story_cell(h3)[-1]
        links = last.xpath(".//a")
        assert len(links) == 1 and links[0].get("href") == h3.xpath("a")[0].get("href") == story.url
        assert links[0].text_content().startswith(f"Read more at {story.source}")
        if story.reading_minutes:
            assert "4\u00a0min\u00a0read" in last.text_content()  # never broken across lines
        else:
            assert "min\u00a0read" not in last.text_content()


# --- 7. sponsor ----------------------------------------------------------------------------------


def sponsor_placement(email: Email):
    document = parse(email.html)
    sponsor = document.xpath("//*[contains(@class, 'nl-sponsor')]")[0]
    return document, sponsor


def test_a_sponsor_after_the_first_story(workspace: Path, issue: Issue) -> None:
    issue = issue.model_copy(update={"sponsor": issue.sponsor.model_copy(update={"position": "after_first"})})
    email = render(workspace, issue)
    document, sponsor = sponsor_placement(email)
    first, second = document.xpath("//h3")[:2]
    a, b, c = order(document, first, sponsor, second)
    assert a < b < c
    text = email.text  # the titles' last mentions: the index lists them first
    assert text.rindex("A home robot folds towels") < text.index("SPONSOR: Example Sponsor") < text.rindex("Warehouse robots get a shared map format")


def test_a_sponsor_goes_after_the_last_story_by_default(workspace: Path, issue: Issue) -> None:
    email = render(workspace, issue)
    document, sponsor = sponsor_placement(email)
    last = document.xpath("//h3")[-1]
    a, b = order(document, last, sponsor)
    assert a < b
    text = email.text
    assert text.index("Read more at Data Centre News") < text.index("SPONSOR: Example Sponsor") < text.index("See you next week.")


@pytest.mark.parametrize(("language", "cta", "words"), [("en", "Try it free", "Try it free"), ("en", None, LABELS["sponsor_cta"]), ("de", None, labels("de")["sponsor_cta"])])
def test_the_sponsor_button_points_to_the_sponsor(workspace: Path, issue: Issue, language: str, cta: str | None, words: str) -> None:
    configure(workspace, f'language = "{language}"\n')
    sponsor = Sponsor(name="Example Sponsor", url="https://sponsor.example.org/offer", text="A sentence.", cta=cta)
    document = parse(render(workspace, issue.model_copy(update={"sponsor": sponsor})).html)
    buttons = [a for a in document.xpath("//a") if a.text_content().strip() == words]
    assert [a.get("href") for a in buttons] == ["https://sponsor.example.org/offer"]


def sponsor_button(email: Email):
    return parse(email.html).xpath("//table[contains(@class, 'nl-button')]//a")[0]


def test_the_sponsor_button_is_clickable_edge_to_edge_in_outlook(workspace: Path, issue: Issue) -> None:
    """Outlook for Windows drops a link's padding (the box around the words stops being clickable)
    but draws its border: the button's padding is mostly a border of its own colour, in the link."""
    button = sponsor_button(render(workspace, issue))
    style = dict(part.split(":", 1) for part in button.get("style").split(";") if part)
    assert style["border"] == f"8px solid {LIGHT_ACCENT}"  # Word draws borders up to 8 px
    assert style["mso-padding-alt"] == "0" and style["padding"] == "2px 10px"  # 10 x 18 px around the words elsewhere
    assert style["background"] == LIGHT_ACCENT
    cell = button.getparent()
    assert cell.tag == "td" and cell.get("bgcolor") == LIGHT_ACCENT and "padding" not in (cell.get("style") or "")
    assert button.xpath("count(preceding-sibling::* | following-sibling::*)") == 0  # the cell is all link


def test_the_sponsor_text_and_button_share_the_bordered_cell(workspace: Path, issue: Issue) -> None:
    """So that they line up at every width: no phone rule (.nl-pad) widens one's padding and not the other's."""
    document = parse(render(workspace, issue).html)
    box = document.xpath("//table[contains(@class, 'nl-button')]")[0].xpath("ancestor::td[1]")[0]
    assert "border:1px solid" in box.get("style") and "padding:16px 16px 4px" in box.get("style")
    assert "Example Sponsor" in box.text_content() and "nl-pad" not in box.get("class", "")


# --- 8. footer -----------------------------------------------------------------------------------


def test_the_footer_has_subscribe_and_unsubscribe_links(workspace: Path, issue: Issue) -> None:
    config = load_workspace(workspace).config
    email = render(workspace, issue)
    document = parse(email.html)
    subscribe = document.xpath(f"//a[@href='{config.base_url}/subscribe']")
    assert config.base_url == "https://fixture.example.org"
    assert subscribe and any("Forwarded this email?" in a.getparent().text_content() for a in subscribe)
    unsubscribe = document.xpath(f"//a[@href='{placeholders.UNSUBSCRIBE_URL}']")
    assert [a.text_content() for a in unsubscribe] == ["Unsubscribe"]
    assert placeholders.UNSUBSCRIBE_URL not in email.web_html
    assert placeholders.FOUND.search(email.web_html) is None


# --- 9. web page ---------------------------------------------------------------------------------


def test_the_web_page_is_a_shareable_page(workspace: Path, issue: Issue) -> None:
    email = render(workspace, issue)
    page = parse(email.web_html)

    def meta(attribute: str, name: str) -> list[str]:
        return page.xpath(f"//meta[@{attribute}='{name}']/@content")

    assert len(page.xpath("//main")) == 1
    assert meta("name", "description") == [issue.preheader]
    assert page.xpath("//link[@rel='canonical']/@href") == [web_url(load_workspace(workspace), issue)]
    assert meta("property", "og:title") == [issue.subject]
    assert meta("property", "og:description") == [issue.preheader]
    assert meta("property", "og:image") == [next(s for s in issue.stories if s.image).image.src]
    assert meta("name", "twitter:card") == ["summary_large_image"]
    assert page.xpath("//a[@href='https://fixture.example.org/subscribe']")
    assert page.xpath("//a[@href='https://fixture.example.org/archive/']")  # the archive, published or not


def test_only_the_web_page_has_a_main_element(workspace: Path, issue: Issue) -> None:
    """Gmail (web, iOS, Android) replaces <main> with <u>, which would underline every story."""
    email = render(workspace, issue)
    digest = render(workspace, issue.model_copy(update={"layout": "digest"}))
    for html in (email.html, digest.html):
        assert parse(html).xpath("//main | //u") == [] and "<main" not in html
    assert len(parse(email.web_html).xpath("//main/div[@role='article']")) == 1


# --- no widows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
def test_reading_time_and_view_in_browser_never_break_across_lines(workspace: Path, issue: Issue, language: str) -> None:
    """No-break spaces: "3 min read" and "View in browser" never leave their last word alone on a
    line, and the "·" before the reading time never starts one."""
    configure(workspace, f'language = "{language}"\n')
    words = labels(language)
    document = parse(render(workspace, change_story(issue, 0, reading_minutes=3)).html)
    more = document.xpath("//p[contains(@class, 'nl-more')]")[0].text_content()
    assert words["min_read"].format(minutes=3).replace(" ", "\u00a0") in more and "\u00a0· " in more, more
    view = [a.text_content() for a in document.xpath(f"//a[@href='{web_url(load_workspace(workspace), issue)}']")]
    assert words["view_online"].replace(" ", "\u00a0") in view, view


# --- 10. sizes -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_renderer() -> Renderer:
    return Renderer(load_workspace(ROOT))


def test_25_standard_stories_stay_under_70_kb(sample_renderer: Renderer) -> None:
    assert sample_renderer.render(with_stories(load_issue(SAMPLE), 25)).html_bytes < 70 * KB


def test_25_digest_stories_stay_under_45_kb(sample_renderer: Renderer) -> None:
    issue = with_stories(load_issue(SAMPLE), 25).model_copy(update={"layout": "digest"})
    assert sample_renderer.render(issue).html_bytes < 45 * KB


def test_the_sample_issue_is_at_most_40_kb(sample_renderer: Renderer) -> None:
    assert sample_renderer.render(load_issue(SAMPLE)).html_bytes <= 40 * KB
