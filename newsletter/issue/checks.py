"""Checks on a validated issue and its rendered email: what would embarrass the editor once sent.

Each finding about a field carries that field's path; prepare.py turns it into file:line: field."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from ..errors import Location
from ..models import Email, Issue, is_http_url, placeholders
from ..models.canonical import canonical_url
from .loading import Field, field_path

KB = 1000
GMAIL_CLIP_BYTES = 102 * KB  # Gmail hides the rest of a message behind "[Message clipped]"
SIZE_WARNING_BYTES = 90 * KB
# SendGrid's click tracking replaces each link with a redirect through its own domain, 300 to 450
# bytes longer; with it on ([sendgrid] click_tracking), the size that counts is the rewritten one.
CLICK_TRACKING_BYTES_PER_LINK = 450
# A link SendGrid's click tracking rewrites: every <a href> but a jump within the page and a mailto.
TRACKED_LINK = re.compile(r"""<a\s[^>]*?\bhref\s*=\s*["']?(?!#|mailto:)[^\s"'>]""", re.IGNORECASE)
SUBJECT_WARN_CHARS = 70  # phones show roughly 35 to 70 characters of a subject
SUBJECT_MAX_CHARS = 150
PREHEADER_MIN_CHARS = 30
PREHEADER_MAX_CHARS = 140  # inboxes show about 90 to 140 characters of preview text
KEY_FACT_MAX_CHARS = 140
TODO_WORD = "TODO"
TODO_LEFT = "todo-left"  # the code of a field that still holds TODO_WORD: a draft may be test-sent
LINK_TWICE = "link-twice"  # two stories of one issue link to the same page (canonical_url)
DRAFT_COMMENT = "# DRAFT"  # the comment `story add` puts above a story; `check` warns while it is there
TEMPLATES = Location("the templates")  # where a finding about the rendered email's own markup points
MARKDOWN_FIELDS = ("summary", "intro", "outro", "text")  # fields whose links markdown renders
# A markdown link or image: [label](target). markdown-it drops a target that is not http(s) or
# mailto (javascript:, ftp:, a relative path) and prints the whole thing as literal text.
MARKDOWN_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
# The last word of a key fact that was cut short: an ellipsis, a dangling hyphen or dash, or a
# word that cannot end an English sentence.
CUT_SHORT = re.compile(r"(…|\.\.\.|[-–—(,:;]|\b(?:the|a|an|of|to|and|or|with|for|from|by|in|on|at|most|more|than|that|which|its|their)\b)\s*$", re.IGNORECASE)

LEVELS = ("error", "warning", "note")


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning", "note"]  # a note informs and asks for nothing
    message: str
    field: Field | None = None  # the issue field it is about: ("sections", 0, "stories", 1, "url")
    where: Location | None = None  # file:line: field, once located
    code: str = ""  # what the finding is, for code that acts on it (never match the message's words)

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}" if self.where else f"{self.level}: {self.message}"

    def located(self, where: Location) -> Finding:
        return replace(self, where=where)


def delivered_bytes(email: Email, click_tracking: bool, own_tracking: int = 0) -> int:
    """The HTML's size as Gmail receives it: with click tracking, each link grows by the redirect;
    `own_tracking` is what the tool's own tracked links add ([tracking], mail/clicks.tracking_growth)."""
    if not click_tracking:
        return email.html_bytes + own_tracking
    return email.html_bytes + own_tracking + CLICK_TRACKING_BYTES_PER_LINK * len(TRACKED_LINK.findall(email.html))


def size_finding(email: Email, click_tracking: bool, own_tracking: int = 0) -> Finding | None:
    """Gmail's clip, measured on the HTML as delivered (see delivered_bytes)."""
    size = delivered_bytes(email, click_tracking, own_tracking)
    what = f"the HTML is {size / KB:.1f} KB"
    growth = []
    if own_tracking:
        growth.append(f"plus {own_tracking:,} bytes for its links through the newsletter's own click redirect")
    if click_tracking:
        links = len(TRACKED_LINK.findall(email.html))
        growth.append(f"plus about {CLICK_TRACKING_BYTES_PER_LINK} bytes for each of its {links} links that SendGrid's click tracking rewrites")
    if growth:
        what += f" as delivered ({email.html_bytes / KB:.1f} KB, {', '.join(growth)})"
    if size > GMAIL_CLIP_BYTES:
        fixes = ["cut stories"] + (['set [tracking] clicks = "off"'] if own_tracking else []) + (["set [sendgrid] click_tracking = false"] if click_tracking else [])
        fix = ", or ".join(fixes)
        return Finding("error", f"{what}; Gmail clips messages above about 102 KB ({fix})")
    if size > SIZE_WARNING_BYTES:
        return Finding("warning", f"{what}, close to Gmail's clipping size of about 102 KB")
    return None


def check(issue: Issue, email: Email, click_tracking: bool = False, own_tracking: int = 0) -> list[Finding]:
    """Everything worth telling the editor before sending, errors first. `click_tracking`:
    whether SendGrid rewrites the links ([sendgrid] click_tracking), and `own_tracking` the bytes
    the tool's own tracked links add: both count for the size."""
    findings = [f for f in [size_finding(email, click_tracking, own_tracking)] if f]
    findings += _check_text(issue)
    findings += _check_subjects(issue)
    findings += _check_links(issue)
    findings += _check_stories(issue)
    findings += _check_html(email.html)
    return sorted(findings, key=lambda f: f.level != "error")


def _check_text(issue: Issue) -> list[Finding]:
    found: list[Finding] = []
    subject, preheader = issue.subject, issue.preheader
    if len(subject) > SUBJECT_MAX_CHARS:
        found.append(Finding("error", f"is {len(subject)} characters; keep it under {SUBJECT_MAX_CHARS}", ("subject",)))
    elif len(subject) > SUBJECT_WARN_CHARS:
        found.append(Finding("warning", f"is {len(subject)} characters; phones cut it after about {SUBJECT_WARN_CHARS}", ("subject",)))
    if len(preheader) < PREHEADER_MIN_CHARS:
        found.append(Finding("warning", f"is {len(preheader)} characters; inboxes show up to about 100, use them", ("preheader",)))
    elif len(preheader) > PREHEADER_MAX_CHARS:
        found.append(Finding("warning", f"is {len(preheader)} characters; inboxes cut it after about {PREHEADER_MAX_CHARS}", ("preheader",)))
    for loc, value in _strings(issue.model_dump(mode="json")):
        if TODO_WORD in value:
            found.append(Finding("error", f"still holds the {TODO_WORD} placeholder; write the real {loc[-1] if isinstance(loc[-1], str) else 'value'}", loc, code=TODO_LEFT))
    return found


def _check_subjects(issue: Issue) -> list[Finding]:
    """A subject test's variants: the first is the issue's `subject:` (kept when the test cannot tell
    them apart), no two alike, and each held to the subject's length rules."""
    if issue.subjects is None:
        return []
    found: list[Finding] = []
    if issue.subjects[0] != issue.subject:
        message = f"must be the issue's subject, {issue.subject!r} (the first subject is the one kept when a test finds no clear winner); or leave out `subject:`"
        found.append(Finding("error", message, ("subjects", 0)))
    for n, subject in enumerate(issue.subjects[1:], start=1):  # the first is `subject:`, checked as that
        loc: Field = ("subjects", n)
        if subject in issue.subjects[:n]:
            found.append(Finding("error", f"is the same as subjects[{issue.subjects.index(subject)}]; each variant of a subject test must differ", loc))
        elif len(subject) > SUBJECT_MAX_CHARS:
            found.append(Finding("error", f"is {len(subject)} characters; keep it under {SUBJECT_MAX_CHARS}", loc))
        elif len(subject) > SUBJECT_WARN_CHARS:
            found.append(Finding("warning", f"is {len(subject)} characters; phones cut it after about {SUBJECT_WARN_CHARS}", loc))
    return found


def _check_links(issue: Issue) -> list[Finding]:
    """Links written in markdown fields whose target markdown would drop (shown as literal text)."""
    found: list[Finding] = []
    for loc, value in _strings(issue.model_dump(mode="json")):
        if loc[-1] not in MARKDOWN_FIELDS:
            continue
        for match in MARKDOWN_LINK.finditer(value):
            label, target = match.group(1), match.group(2)
            if not (is_http_url(target) or (urlsplit(target).scheme.lower() == "mailto" and len(target) > len("mailto:"))):
                what = "image" if match.group(0).startswith("!") else "link"
                shown = repr(target) if target else "nothing"
                found.append(Finding("error", f"{what} [{label}] points to {shown}; only http(s) and mailto links work in an email (it would show as plain text)", loc))
    return found


def _check_stories(issue: Issue) -> list[Finding]:
    """Leftovers of drafting: facts cut short or too long, and the same story twice."""
    found: list[Finding] = []
    first_seen: dict[str, Field] = {}
    for s, section in enumerate(issue.sections):
        for n, story in enumerate(section.stories):
            here: Field = ("sections", s, "stories", n)
            url = canonical_url(story.url)  # utm_ parameters or a trailing slash make no other page
            if url in first_seen:
                found.append(Finding("warning", f"links to the same article as {field_path(first_seen[url])}; is the story in twice?", (*here, "url"), code=LINK_TWICE))
            else:
                first_seen[url] = (*here, "url")
            for f, fact in enumerate(story.key_facts):
                loc = (*here, "key_facts", f)
                if len(fact) > KEY_FACT_MAX_CHARS:
                    found.append(Finding("warning", f"is {len(fact)} characters; key facts read best under {KEY_FACT_MAX_CHARS}", loc))
                elif CUT_SHORT.search(fact):
                    found.append(Finding("warning", f"seems cut short (it ends with {fact.split()[-1]!r}); finish the sentence", loc))
    return found


def _check_html(html: str) -> list[Finding]:
    """The rendered email, for what templates put there (content problems are found above)."""
    import lxml.html  # only `check` needs to parse the HTML; keep it off `build`'s start-up

    found: list[Finding] = []
    document = lxml.html.document_fromstring(html)
    if not document.get("lang"):
        found.append(Finding("error", "the <html> element has no lang attribute (screen readers need it)", where=TEMPLATES))
    leftover = sorted({element.tag for element in document.iter() if isinstance(element.tag, str) and element.tag.startswith("mj-")})
    if leftover:  # MRML passes MJML inside raw HTML through: a template written for the older layout (an mj-text per story)
        tags = ", ".join(f"<{tag}>" for tag in leftover)
        why = "a template puts them inside raw HTML, as a story.mjml.j2 written before card.mjml.j2 does (see the README's Templates)"
        found.append(Finding("error", f"the email still holds MJML tags ({tags}) that no client shows: {why}", where=TEMPLATES))
    for image in document.iter("img"):
        if image.get("alt") is None:
            found.append(Finding("error", f"image {image.get('src')!r} has no alt attribute", where=TEMPLATES))
    # An email's index jumps to an empty <a name> (Gmail and Outlook drop ids), the web page's to an id.
    targets = {element.get("id") for element in document.iter() if element.get("id")} | {a.get("name") for a in document.iter("a") if a.get("name")}
    for link in document.iter("a"):
        href = (link.get("href") or "").strip()
        if href in placeholders.ALL or not href:  # an empty href is a dropped markdown link, reported above
            continue
        if href.startswith("#"):  # the index's jump to a story: it must land somewhere
            if href[1:] not in targets:
                words = " ".join(link.text_content().split())
                found.append(Finding("error", f"link {words!r} jumps to {href!r}, which no element has as its id (nor an <a> as its name)", where=TEMPLATES))
            continue
        if not (is_http_url(href) or (urlsplit(href).scheme == "mailto" and len(href) > len("mailto:"))):
            label = " ".join(link.text_content().split()) or "(no text)"
            found.append(Finding("error", f"link {label!r} points to {href!r}, which is not an http(s) or mailto URL", where=TEMPLATES))
    return found


def _strings(data: object, loc: Field = ()) -> list[tuple[Field, str]]:
    """Every string in a dumped model, with its field path as a tuple."""
    if isinstance(data, str):
        return [(loc, data)]
    if isinstance(data, dict):
        return [item for key, value in data.items() for item in _strings(value, (*loc, key))]
    if isinstance(data, list):
        return [item for i, value in enumerate(data) for item in _strings(value, (*loc, i))]
    return []
