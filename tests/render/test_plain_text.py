"""The plain-text part: the image line where the HTML has it, every line within 78 columns (bare
URLs excepted), links on lines of their own, and the same typographic quotes as the Markdown fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newsletter.issue.loading import load_issue
from newsletter.render import markdown
from newsletter.render.pipeline import Renderer
from newsletter.workspace.config import load_workspace

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "issues" / "2026-11-24.yaml"
MAX_COLUMNS = 78
BARE_URL = re.compile(r"https?://\S+")
LONG = " ".join(["deliberately", "overlong", "words"] * 8)  # 223 characters (a Line holds 300)


def render_text(workspace: Path, issue_path: Path) -> str:
    return Renderer(load_workspace(workspace)).render(load_issue(issue_path)).text


def write_issue(workspace: Path, issue: dict) -> Path:
    """An issue file in the workspace (JSON is YAML)."""
    path = workspace / "issues" / "2026-12-08.yaml"
    path.write_text(json.dumps(issue, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def story(**fields: object) -> dict:
    return {"title": "A story", "url": "https://example.org/story", "source": "Example News", "summary": "A summary."} | fields


def issue(*stories: dict, **fields: object) -> dict:
    """An issue with `stories` in one section (or `sections=` as given)."""
    return {
        "number": 8,
        "date": "2026-12-08",
        "subject": "A subject",
        "preheader": "A preheader",
        "sections": [{"title": "Section", "stories": list(stories)}],
    } | fields


def too_long(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > MAX_COLUMNS and not BARE_URL.fullmatch(line.strip())]


def paragraph_at(text: str, start: str) -> list[str]:
    """The lines of the paragraph (up to the next blank line) that begins with `start`."""
    lines = text.splitlines()
    first = next(number for number, line in enumerate(lines) if line.startswith(start))
    end = next((number for number in range(first, len(lines)) if not lines[number].strip()), len(lines))
    return lines[first:end]


@pytest.fixture
def sample_text() -> str:
    return render_text(ROOT, SAMPLE)


# --- the image line ---------------------------------------------------------------------------------


def test_image_line_comes_first_in_the_story_before_its_title(workspace: Path, issue_path: Path) -> None:
    text = render_text(workspace, issue_path)
    image = text.index("[Image: Two robot arms holding a folded white towel above a table]")
    assert text.index("ROBOTICS") < image < text.rindex("A home robot folds towels at human speed")  # rindex: after the index
    # Not after the quote any more, and still exactly once.
    assert text.index("— Project lead, Robot Report interview") > image
    assert text.count("[Image:") == 1


def test_image_line_is_wrapped_like_other_lines(sample_text: str) -> None:
    alt = "Rows of server racks with blue status lights in a dimly lit data centre"
    lines = paragraph_at(sample_text, "[Image: ")
    assert len(lines) == 2  # 80 characters on one line before
    assert all(len(line) <= 72 for line in lines)
    assert " ".join(lines) == f"[Image: {alt}]"
    assert sample_text.index("[Image: ") < sample_text.rindex("Anthropic hires Andrej Karpathy to run pre-training for Claude")


# --- line lengths and links ---------------------------------------------------------------------------


def test_sample_issue_has_no_line_over_78_columns(sample_text: str) -> None:
    assert too_long(sample_text) == []


def test_browser_link_is_on_its_own_line(sample_text: str) -> None:
    lines = sample_text.splitlines()
    url = "https://weeklymodel.example.com/archive/issue-42.html"
    words = lines.index("View this issue in your browser:")
    assert lines[words + 1] == url
    footer = lines[lines.index("-- ") :]
    assert footer[footer.index("Unsubscribe:") + 1] == "%%unsubscribe_url%%"
    assert footer[footer.index("View in browser:") + 1] == url
    assert not any(url in line and line != url for line in lines)


def test_long_fields_stay_within_78_columns(workspace: Path) -> None:
    config = workspace / "newsletter.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace('name = "Fixture Weekly"', 'name = "The Extraordinarily Long-Named Fixture Weekly Newsletter of Tests"')
        .replace("https://fixture.example.org/archive", "https://fixture.example.org/a/rather/deep/archive/folder/for/every/issue"),
        encoding="utf-8",
    )
    first = story(
        title=f"A title with {LONG}",
        source=f"Source {LONG}",
        author="An Author",
        summary=f"A summary with {LONG}.",
        key_facts=[f"A fact with {LONG}", "A short fact"],
        quote={"text": f"A quote with {LONG}.", "attribution": f"Someone, {LONG}"},
        image={"src": "https://example.org/image.jpg", "alt": f"An alt text with {LONG}"},
        url="https://example.org/" + "a-very-long-article-slug/" * 5,
    )
    sponsor = {"name": f"A sponsor {LONG}", "url": "https://sponsor.example.org/", "text": "Sponsor text.", "label": "Today's sponsor"}
    sections = [{"title": f"A section {LONG}", "stories": [first, story(title=f"Second {LONG}")]}]
    path = write_issue(workspace, issue(sections=sections, sponsor=sponsor))
    text = render_text(workspace, path)
    assert too_long(text) == []
    assert f"[Image: An alt text with {LONG}]" == " ".join(paragraph_at(text, "[Image: "))
    assert text.index("[Image: ") < text.rindex("A title with ")
    # The section title's underline is as long as its longest (wrapped) line.
    heading = paragraph_at(text, "A SECTION")
    assert heading[-1] == "=" * max(len(line) for line in heading[:-1])
    lines = text.splitlines()
    assert lines[lines.index("View in browser:") + 1] == "https://fixture.example.org/a/rather/deep/archive/folder/for/every/issue/issue-8.html"


# --- typographic quotes ---------------------------------------------------------------------------------


STRAIGHT = """The lab's "best" result -- so far"""
CURLY = "The lab’s “best” result – so far"


def test_plain_fields_get_the_same_typographic_quotes_as_the_summary(workspace: Path) -> None:
    path = write_issue(
        workspace,
        issue(
            story(
                title='Robots don\'t "fold" yet',
                summary=STRAIGHT,
                key_facts=[STRAIGHT, "It's 'early' days"],
                quote={"text": "We didn't say \"never\", we said 'not yet'.", "attribution": "The lab's director"},
            ),
            sponsor={"name": 'Ada\'s "Notebooks"', "url": "https://sponsor.example.org/", "text": "Sponsor text."},
        ),
    )
    text = render_text(workspace, path)
    lines = text.splitlines()
    assert lines.count(CURLY) == 1  # the summary, from Markdown
    assert f"  - {CURLY}" in lines  # the key fact, the same way
    assert "  - It’s ‘early’ days" in lines
    assert "Robots don’t “fold” yet" in lines
    assert "  “We didn’t say “never”, we said ‘not yet’.”" in lines
    assert "    — The lab’s director" in lines
    assert "SPONSOR: Ada’s “Notebooks”" in lines
    assert "'" not in text and '"' not in text


def test_key_fact_and_quote_of_the_sample_come_out_curly(sample_text: str) -> None:
    assert "  - The hire comes after Anthropic’s Series F funding round" in sample_text
    assert "— Lead author, in the paper’s discussion" in sample_text
    assert "Europe’s AI Act" in sample_text  # the intro (Markdown), for comparison
    assert "'" not in sample_text


@pytest.mark.parametrize(
    "text",
    [
        STRAIGHT,
        "'Tis the 90's, \"quoted\" and 'single' -- ok --- really... (c) +- ??????",
        'He said "two\nlines" across a line break',
        "It's 5' 11\" tall",
    ],
)
def test_smart_quotes_matches_the_markdown_typographer(text: str) -> None:
    expected = markdown.to_text(text, width=1000)
    assert markdown.smart_quotes(text).replace("\n", " ") == expected


def test_smart_quotes_returns_the_text_itself_not_markdown_or_html() -> None:
    text = 'A *literal* star, a_b_c, `code`, \\backslash, &amp; and <b> in "quotes"'
    assert markdown.smart_quotes(text) == "A *literal* star, a_b_c, `code`, \\backslash, &amp; and <b> in “quotes”"
    assert markdown.smart_quotes("") == ""


# --- the signature and the digest ------------------------------------------------------------------------


def test_the_footer_follows_a_signature_separator_of_dash_dash_space(workspace: Path, issue_path: Path) -> None:
    """Mail clients know the footer by "-- " on its own line (RFC 3676): they grey it or leave it out
    of a reply. "--" without the space is not a separator."""
    lines = render_text(workspace, issue_path).splitlines()
    assert lines.count("-- ") == 1 and "--" not in lines
    footer = lines[lines.index("-- ") + 1 :]
    assert footer[0] == "Fixture Weekly · Issue 7"
    assert footer[-1] == "Fixture Weekly, 1 Test Street, Testville 12345"


def test_digest_facts_are_set_off_from_the_summary(workspace: Path) -> None:
    facts = ["Forty hours of demonstrations", "Nine seconds a towel", "A third fact the digest leaves out"]
    path = write_issue(workspace, issue(story(summary="The first sentence. The second one.", key_facts=facts), layout="digest"))
    lines = render_text(workspace, path).splitlines()
    summary = lines.index("The first sentence. The second one.")
    assert lines[summary + 1 : summary + 4] == ["", "  - Forty hours of demonstrations", "  - Nine seconds a towel"]
    assert "A third fact" not in "\n".join(lines)
