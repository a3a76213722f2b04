"""Typography per language ([newsletter] language): the quotation marks of titles, facts, quotes and
Markdown fields, and French no-break spaces before : ; ! ?, in the text part, the email and the web
page alike, never inside a URL, a time or the markup."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest

from newsletter.issue.loading import load_issue
from newsletter.models import Email
from newsletter.render import markdown
from newsletter.render.pipeline import Renderer
from newsletter.workspace.config import load_workspace
from tests.helpers.workspace import add_config

NNBSP, NBSP = "\u202f", "\u00a0"  # narrow no-break space, no-break space

# The outer quotation marks per language.
MARKS = {
    "en": ("“", "”"),
    "de": ("„", "“"),
    "de-CH": ("«", "»"),
    "fr": (f"«{NNBSP}", f"{NNBSP}»"),
    "es": ("«", "»"),
    "pt": ("“", "”"),  # Babel's and the catalogue's "pt" is Brazil's
    "pt-BR": ("“", "”"),
    "pt-PT": ("«", "»"),
}


def render(workspace: Path, language: str, **story: object) -> Email:
    """An issue of one story (with `story`'s fields) rendered in `language`."""
    add_config(workspace, language=language)
    fields = {"title": "A story", "url": "https://example.org/story?id=7", "source": "Example News", "summary": "A summary."} | story
    issue = {"number": 8, "date": "2026-12-08", "subject": "S", "preheader": "P", "sections": [{"title": "Section", "stories": [fields]}]}
    path = workspace / "issues" / "2026-12-08.yaml"
    path.write_text(json.dumps(issue, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return Renderer(load_workspace(workspace)).render(load_issue(path))


def page_text(html: str, selector: str) -> str:
    return lxml.html.document_fromstring(html).cssselect(selector)[0].text_content()


@pytest.mark.parametrize("language", list(MARKS))
def test_quotation_marks_follow_the_language_in_both_parts_and_on_the_web_page(workspace: Path, language: str) -> None:
    opening, closing = MARKS[language]
    email = render(workspace, language, title='The "best" result', summary='A "fine" summary.', quote={"text": "Not yet", "attribution": "A lab"})
    title, quote = f"The {opening}best{closing} result", f"{opening}Not yet{closing}"
    lines = email.text.splitlines()
    assert title in lines
    assert f"  {quote}" in lines  # the quote block
    assert f"A {opening}fine{closing} summary." in lines  # the Markdown summary, the same way
    for html in (email.html, email.web_html):
        assert page_text(html, "h3") == title
        assert page_text(html, ".nl-quote blockquote p") == quote
        assert f"A {opening}fine{closing} summary." in lxml.html.document_fromstring(html).text_content()


def test_french_inner_quotes_and_apostrophes(workspace: Path) -> None:
    email = render(workspace, "fr", title="L'équipe dit \"c'est 'presque' fini\"")
    assert f"L’équipe dit «{NNBSP}c’est “presque” fini{NNBSP}»" in email.text.splitlines()


def test_french_puts_no_break_spaces_before_colon_semicolon_and_marks(workspace: Path) -> None:
    email = render(
        workspace,
        "fr",
        title="Vraiment? Oui!",
        summary="Attention : la réunion est à 10:30; voir https://exemple.fr/page?x=1 ou <https://exemple.fr/a?b>.",
        key_facts=["Deux points: un fait"],
        quote={"text": "Pas « encore »!", "attribution": "La directrice"},
    )
    summary = f"Attention{NBSP}: la réunion est à 10:30{NNBSP}; voir https://exemple.fr/page?x=1 ou https://exemple.fr/a?b."
    lines = email.text.splitlines()
    assert f"Vraiment{NNBSP}? Oui{NNBSP}!" in lines
    assert summary in " ".join(lines)  # wrapped over two lines
    assert f"  - Deux points{NBSP}: un fait" in lines
    assert f"  «{NNBSP}Pas «{NNBSP}encore{NNBSP}»{NNBSP}!{NNBSP}»" in lines  # typed guillemets get the narrow space too
    assert f"Points clés{NBSP}:" in lines and f"Se désabonner{NBSP}:" in lines  # the labels' colons
    for html in (email.html, email.web_html):
        assert page_text(html, "h3") == f"Vraiment{NNBSP}? Oui{NNBSP}!"
        document = lxml.html.document_fromstring(html)
        paragraph = next(p for p in document.iter("p") if "Attention" in p.text_content())
        assert paragraph.text_content() == summary
        assert [a.get("href") for a in paragraph.iter("a")] == ["https://exemple.fr/a?b"]  # the autolink, whole
    assert "https://example.org/story?id=7" in email.text  # the story's own link, untouched


@pytest.mark.parametrize("language", ["en", "de", "es", "pt"])
def test_other_languages_keep_their_punctuation_as_written(workspace: Path, language: str) -> None:
    email = render(workspace, language, title="Really? Yes!", summary="Note: at 10:30; done.")
    assert "Really? Yes!" in email.text.splitlines()
    assert "Note: at 10:30; done." in email.text.splitlines()
    assert NBSP not in email.text and NNBSP not in email.text


@pytest.mark.parametrize(
    "text",
    [
        "à 10:30",
        "https://exemple.fr/a?b=c:d",
        "l'adresse ::1",
        "le ratio 16:9",
        f"déjà{NBSP}: fait",  # already spaced
    ],
)
def test_french_spacing_leaves_times_urls_and_spaced_text_alone(text: str) -> None:
    assert markdown.french_spaced(text) == text


def test_french_spacing_never_touches_code_or_link_targets() -> None:
    html = markdown.to_html("Le code `a ; b` et [le lien](https://exemple.fr/?q=1;2!) : fin", "fr")
    assert "<code>a ; b</code>" in html
    assert 'href="https://exemple.fr/?q=1;2!"' in html
    assert "</a>&nbsp;: fin" in html


def test_the_web_pages_subscribe_line_spaces_its_colon_in_french(workspace: Path) -> None:
    email = render(workspace, "fr")
    footer = next(p for p in lxml.html.document_fromstring(email.web_html).iter("p") if "S’abonner" in p.text_content())
    assert footer.text_content().startswith(f"S’abonner{NBSP}: ")


def test_a_subject_with_no_break_spaces_is_read_out_as_written(workspace: Path) -> None:
    # MRML copies <mj-title> into the email's aria-label; a raw no-break space came out as "\u{a0}"
    render(workspace, "fr")  # writes the French workspace and its issue file
    path = workspace / "issues" / "2026-12-08.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('"subject": "S"', f'"subject": "Prêt{NBSP}? La semaine"'), encoding="utf-8")
    email = Renderer(load_workspace(workspace)).render(load_issue(path))
    named = lxml.html.document_fromstring(email.html).xpath("//*[@aria-roledescription='email']/@aria-label")
    assert named == [f"Prêt{NBSP}? La semaine"]
