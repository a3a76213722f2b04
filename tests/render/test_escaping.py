"""Hostile text in any field of an issue file never reaches the HTML as markup."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from newsletter.errors import IssueFileError
from newsletter.issue.loading import parse_issue
from newsletter.models import Issue
from newsletter.render.pipeline import Renderer
from newsletter.workspace.config import load_workspace

SCRIPT = "<script>alert('x')</script>"
HOSTILE_MARKDOWN = f'Click [here](javascript:alert(1)) or <img src=x onerror=alert(2)> {SCRIPT} [data](data:text/html;base64,PHNjcmlwdD4=) <a href="javascript:alert(3)">raw</a>'


def hostile_data() -> dict:
    return {
        "number": 9,
        "date": "2026-12-15",
        "subject": f"Subject {SCRIPT}",
        "preheader": f"Preheader {SCRIPT}",
        "intro": HOSTILE_MARKDOWN,
        "sections": [
            {
                "title": f"Section {SCRIPT}",
                "stories": [
                    {
                        "title": f"Title {SCRIPT}",
                        "url": 'https://example.org/a?q=<script>&x="onmouseover=alert(1)',
                        "source": f"Source {SCRIPT}",
                        "author": f"Author {SCRIPT}",
                        "summary": HOSTILE_MARKDOWN,
                        "key_facts": [f"Fact {SCRIPT}", '" onclick="alert(4)'],
                        "quote": {"text": f"Quote {SCRIPT}", "attribution": f"Who {SCRIPT}"},
                        "image": {"src": 'https://example.org/i.png"onload="alert(5)', "alt": 'Alt " onerror="alert(6)'},
                    }
                ],
            }
        ],
        "sponsor": {"name": f"Sponsor {SCRIPT}", "url": "https://example.org/s", "text": HOSTILE_MARKDOWN, "label": f"Label {SCRIPT}"},
        "outro": HOSTILE_MARKDOWN,
    }


@pytest.fixture
def email(workspace: Path):
    issue = Issue.model_validate(hostile_data())
    return Renderer(load_workspace(workspace)).render(issue)


@pytest.mark.parametrize("part", ["html", "web_html"])
def test_no_script_event_handler_or_javascript_url_survives(email, part: str) -> None:
    document = lxml.html.document_fromstring(getattr(email, part))
    assert document.xpath("//script") == []
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue  # comments (MSO conditionals)
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"<{element.tag} {name}=...> is an event handler"
            if name in ("href", "src"):
                assert value.startswith(("https://", "http://", "mailto:", "%%")), f"{name}={value!r}"


def test_hostile_text_is_shown_as_text(email) -> None:
    document = lxml.html.document_fromstring(email.html)
    text = document.text_content()
    # Titles and facts get typographic quotes, as the Markdown fields do: still text, never markup.
    assert "Title <script>alert(‘x’)</script>" in text
    assert "Fact <script>alert(‘x’)</script>" in text
    # The Markdown's javascript: link is left as plain text, not made a link.
    assert "[here](javascript:alert(1))" in text


def test_plain_text_part_has_no_links_to_javascript(email) -> None:
    assert "(javascript:" not in email.text.replace("[here](javascript:", "")


@pytest.mark.parametrize("value", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:alert(1)", "vbscript:x"])
def test_non_http_story_links_are_rejected(issue_path: Path, value: str) -> None:
    text = issue_path.read_text().replace("https://example.org/robots/towels", value)
    with pytest.raises(IssueFileError) as error:
        parse_issue(text, issue_path)
    assert f"{issue_path}:13: sections[0].stories[0].url: expected an http(s) URL" in str(error.value)
