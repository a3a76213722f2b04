"""Checks on a validated issue and its rendered email: what would embarrass the editor once sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from . import placeholders
from .models import Email, Issue, is_http_url

KB = 1000
GMAIL_CLIP_BYTES = 102 * KB  # Gmail hides the rest of a message behind "[Message clipped]"
SIZE_WARNING_BYTES = 90 * KB
SUBJECT_WARN_CHARS = 70  # phones show roughly 35 to 70 characters of a subject
SUBJECT_MAX_CHARS = 150
PREHEADER_MIN_CHARS = 30
PREHEADER_MAX_CHARS = 140  # inboxes show about 90 to 140 characters of preview text
KEY_FACT_MAX_CHARS = 140
PLACEHOLDER = "TODO"


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def size_finding(email: Email) -> Finding | None:
    size = email.html_bytes
    if size > GMAIL_CLIP_BYTES:
        return Finding("error", f"the HTML is {size / KB:.1f} KB; Gmail clips messages above about 102 KB (cut stories)")
    if size > SIZE_WARNING_BYTES:
        return Finding("warning", f"the HTML is {size / KB:.1f} KB, close to Gmail's clipping size of about 102 KB")
    return None


def check(issue: Issue, email: Email) -> list[Finding]:
    """Everything worth telling the editor before sending, errors first."""
    findings = [f for f in [size_finding(email)] if f]
    findings += _check_text(issue)
    findings += _check_html(email.html)
    return sorted(findings, key=lambda f: f.level != "error")


def _check_text(issue: Issue) -> list[Finding]:
    found: list[Finding] = []
    subject, preheader = issue.subject, issue.preheader
    if len(subject) > SUBJECT_MAX_CHARS:
        found.append(Finding("error", f"subject is {len(subject)} characters; keep it under {SUBJECT_MAX_CHARS}"))
    elif len(subject) > SUBJECT_WARN_CHARS:
        found.append(Finding("warning", f"subject is {len(subject)} characters; phones cut it after about {SUBJECT_WARN_CHARS}"))
    if len(preheader) < PREHEADER_MIN_CHARS:
        found.append(Finding("warning", f"preheader is {len(preheader)} characters; inboxes show up to about 100, use them"))
    elif len(preheader) > PREHEADER_MAX_CHARS:
        found.append(Finding("warning", f"preheader is {len(preheader)} characters; inboxes cut it after about {PREHEADER_MAX_CHARS}"))
    for path, value in _strings(issue.model_dump(mode="json")):
        if PLACEHOLDER in value:
            found.append(Finding("error", f"{path} still holds the {PLACEHOLDER} placeholder"))
    for s, section in enumerate(issue.sections):
        for n, story in enumerate(section.stories):
            for f, fact in enumerate(story.key_facts):
                if len(fact) > KEY_FACT_MAX_CHARS:
                    where = f"sections[{s}].stories[{n}].key_facts[{f}]"
                    found.append(Finding("warning", f"{where} is {len(fact)} characters; key facts read best short"))
    return found


def _check_html(html: str) -> list[Finding]:
    import lxml.html  # only `check` needs to parse the HTML; keep it off `build`'s start-up

    found: list[Finding] = []
    document = lxml.html.document_fromstring(html)
    if not document.get("lang"):
        found.append(Finding("error", "the <html> element has no lang attribute (screen readers need it)"))
    for image in document.iter("img"):
        if image.get("alt") is None:
            found.append(Finding("error", f"image {image.get('src')!r} has no alt attribute"))
    for link in document.iter("a"):
        href = (link.get("href") or "").strip()
        if href in placeholders.ALL:
            continue
        if not (is_http_url(href) or (urlsplit(href).scheme == "mailto" and len(href) > len("mailto:"))):
            label = " ".join(link.text_content().split()) or "(no text)"
            found.append(Finding("error", f"link {label!r} points to {href!r}, which is not an http(s) or mailto URL"))
    return found


def _strings(data: object, path: str = "") -> list[tuple[str, str]]:
    """Every string in a dumped model, with its field path (sections[0].stories[1].title)."""
    if isinstance(data, str):
        return [(path, data)]
    if isinstance(data, dict):
        return [item for key, value in data.items() for item in _strings(value, f"{path}.{key}" if path else key)]
    if isinstance(data, list):
        return [item for i, value in enumerate(data) for item in _strings(value, f"{path}[{i}]")]
    return []
