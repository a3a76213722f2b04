"""The data an issue is made of, and the rendered email. Pure data: no I/O here.

Validation rules live on the fields so that every way of building an Issue (the
YAML loader, the story drafter, tests) gets the same checks and the same messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def http_url(value: str) -> str:
    """Accept only absolute http(s) URLs; anything else (javascript:, mailto:, relative) is a mistake."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL such as https://example.com/page, got {value!r}")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError(f"a URL cannot contain spaces or control characters, got {value!r}")
    return value


def single_line(value: str) -> str:
    """Subjects, titles and names end up in headers or one-line slots: a newline there is a typo."""
    if "\n" in value or "\r" in value:
        raise ValueError("must fit on one line (no line breaks)")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Line = Annotated[Text, AfterValidator(single_line)]
Url = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(http_url)]
Markdown = Text


class Strict(BaseModel):
    # Unknown keys in an issue file are typos, so they are errors.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quote(Strict):
    text: Text
    attribution: Line


class Image(Strict):
    src: Url
    alt: Annotated[Text, Field(description="text read aloud and shown when images are off")]
    width: Annotated[int, Field(gt=0, le=600)] | None = None


class Story(Strict):
    title: Line
    url: Url
    source: Line
    author: Line | None = None
    published: dt.date | None = None
    summary: Markdown
    key_facts: list[Line] = []
    quote: Quote | None = None
    image: Image | None = None


class Section(Strict):
    title: Line
    stories: Annotated[list[Story], Field(min_length=1)]


class Sponsor(Strict):
    name: Line
    url: Url
    text: Markdown
    label: Line = "Sponsor"


class Issue(Strict):
    number: Annotated[int, Field(ge=1)]
    date: dt.date
    subject: Line
    preheader: Line
    intro: Markdown | None = None
    sections: Annotated[list[Section], Field(min_length=1)]
    sponsor: Sponsor | None = None
    outro: Markdown | None = None

    @property
    def stories(self) -> list[Story]:
        return [story for section in self.sections for story in section.stories]


class Email(BaseModel):
    """One rendered issue. Per-recipient values are still placeholder tokens (see personalize)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    preheader: str
    html: str
    text: str
    web_html: str

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))
