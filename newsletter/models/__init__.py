"""The data the tool works on: an issue, the rendered email, subscribers and the send ledger's
states. Pure data: no I/O here, and nothing of ours imported but this package's own modules
(placeholders, addresses): every other part imports models, so models imports none of them.

Validation rules live on the fields so that every way of building an Issue (the
YAML loader, the story drafter, tests) gets the same checks and the same messages.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from . import placeholders


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no spaces or control characters: the only kind of
    link the tool puts in an email (not javascript:, data:, mailto: or a relative path)."""
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and is_one_line(value) and not any(ch.isspace() for ch in value)


def is_one_line(text: str) -> bool:
    """No line break or other control character: the rule for anything that can reach a header
    or a one-line slot (subjects, titles, names), where a line break would start a new header."""
    return CONTROL_CHARACTER.search(text) is None


# C0 and C1 controls (U+0085 is NEXT LINE) and the Unicode line and paragraph separators: any of
# them ends a header line somewhere between here and the reader.
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# In multi-line text only tabs and line breaks are text; NUL, VT, FF and the rest break MJML's
# parser or a mail client's.
STRAY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
# The 66 Unicode noncharacters (U+FDD0..U+FDEF and the last two code points of each of the 17
# planes) are for a program's own use and never for interchange; U+FFFE and U+FFFF stop MJML's parser.
NONCHARACTER = re.compile("[\ufdd0-\ufdef" + "".join(f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)) + "]")


MAX_NAME_CHARS = 200  # a subscriber's name: far above any real one, far below a header's 998


def name_problem(name: str) -> str | None:
    """Why a subscriber's name cannot be used (it goes into the To: header), or None."""
    if not is_one_line(name):
        return "the name contains a line break or a control character"
    if len(name) > MAX_NAME_CHARS:
        return f"the name is {len(name):,} characters long; at most {MAX_NAME_CHARS}"
    return None


def attribute_problem(key: str, value: str) -> str | None:
    """Why an attribute cannot be stored, or None. PostgreSQL refuses NUL in text and JSON, and a
    control character in a key would reach the export's header line. A value may hold tabs and
    line breaks (a CSV cell quotes them), as multi-line text may (STRAY_CONTROL), and no other
    control character."""
    if not key.strip():
        return "the attribute has no name"
    found = CONTROL_CHARACTER.search(key)
    if found:
        return f"the attribute name contains the control character U+{ord(found.group(0)):04X}"
    found = STRAY_CONTROL.search(value)
    if found:
        return f"the value contains the control character U+{ord(found.group(0)):04X} at character {found.start() + 1}"
    return None


def http_url(value: str) -> str:
    """Validator form of is_http_url, with a message that says what was expected."""
    if not is_http_url(value):
        raise ValueError(f"expected an http(s) URL such as https://example.com/page, with no spaces, got {value!r}")
    return value


def single_line(value: str) -> str:
    """Validator form of is_one_line."""
    if not is_one_line(value):
        raise ValueError("must fit on one line (no line breaks or control characters)")
    return value


def no_placeholder(value: str) -> str:
    """Only templates may place a per-recipient placeholder: one in an issue's content (a story link
    ending in ?u=%%unsubscribe_url%%) would send every recipient's value wherever it points."""
    found = placeholders.FOUND.search(value)
    if found:
        raise ValueError(f"contains {found.group(0)}, which is filled in with each recipient's own value and may only come from a template; write it differently")
    return value


def no_noncharacter(value: str) -> str:
    found = NONCHARACTER.search(value)
    if found:
        raise ValueError(f"contains U+{ord(found.group(0)):04X}, a Unicode noncharacter, at character {found.start() + 1}; delete it")
    return value


def no_stray_control(value: str) -> str:
    found = STRAY_CONTROL.search(value)
    if found:
        raise ValueError(f"contains the control character U+{ord(found.group(0)):04X} at character {found.start() + 1}; delete it")
    return value


# Caps far above any real field and far below what breaks a renderer (libxml truncates a text
# node over 10 MB, silently): a summary of 5,000 characters is already too long for an email.
MAX_LINE_CHARS = 300
MAX_TEXT_CHARS = 5_000
MAX_MARKDOWN_CHARS = 20_000  # an intro or outro may be a short essay
MAX_URL_CHARS = 2_000  # what browsers and search engines reliably accept
MAX_SUBJECTS = 4  # a subject test's variants: more splits the test group too thin to tell them apart


def _capped(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"is {len(value):,} characters long; at most {limit:,}")
        return value

    return AfterValidator(check)


_Filled = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(no_noncharacter)]
_Text = Annotated[_Filled, AfterValidator(no_stray_control), AfterValidator(no_placeholder)]
Text = Annotated[_Text, _capped(MAX_TEXT_CHARS)]
Markdown = Text
LongMarkdown = Annotated[_Text, _capped(MAX_MARKDOWN_CHARS)]
Line = Annotated[_Filled, AfterValidator(single_line), AfterValidator(no_placeholder), _capped(MAX_LINE_CHARS)]
# The built-in layouts: standard (image, facts, quote) and digest (compact: title, source, two sentences).
Layout = Literal["standard", "digest"]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True), _capped(MAX_URL_CHARS), AfterValidator(no_noncharacter), AfterValidator(http_url), AfterValidator(no_placeholder)
]


class Strict(BaseModel):
    # Unknown keys in an issue file are typos, so they are errors.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quote(Strict):
    text: Text
    attribution: Line


# A picture in the workspace (`image: {src: images/chip.jpg}`): `build` and the preview show the
# file, `publish` puts a resized copy under the archive and the emails link to that (newsletter/images/).
LOCAL_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def is_local_image(src: str) -> bool:
    """A picture's `src` that names a file of the workspace rather than an http(s) URL."""
    return not is_http_url(src)


def image_source(value: str) -> str:
    """An http(s) URL, or a relative path inside the workspace: no `..`, no absolute path, no
    hidden folder, no backslash, and a picture's suffix. Only the words are checked here (models do
    no I/O); newsletter/images/ refuses a link that leads out of the workspace."""
    if is_http_url(value):
        return value
    parts = value.split("/")
    if ":" in parts[0] or value.startswith("//"):
        raise ValueError(f"expected an http(s) URL or a path in the workspace such as images/chip.jpg, got {value!r}")
    if value.startswith("/") or "\\" in value:
        raise ValueError(f"{value!r} is not a path inside the workspace: write it relative to the workspace, with / (e.g. images/chip.jpg)")
    if ".." in parts:
        raise ValueError(f"{value!r} leads out of its folder with '..'; a local image must be inside the workspace (e.g. images/chip.jpg)")
    if any(not part or part.startswith(".") or not is_one_line(part) for part in parts):
        raise ValueError(f"{value!r} is not a plain path (an empty, hidden or control-character part); write it like images/chip.jpg")
    if not value.lower().endswith(LOCAL_IMAGE_SUFFIXES):
        raise ValueError(f"{value!r}: a local image must be a {', '.join(LOCAL_IMAGE_SUFFIXES)} file")
    return value


ImageSource = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    _capped(MAX_URL_CHARS),
    AfterValidator(no_noncharacter),
    AfterValidator(image_source),
    AfterValidator(no_placeholder),
]


class Image(Strict):
    src: ImageSource  # an http(s) URL, or a path in the workspace (images/chip.jpg)
    alt: Annotated[Text, Field(description="text read aloud and shown when images are off")]
    width: Annotated[int, Field(gt=0, le=600)] | None = None
    height: Annotated[int, Field(gt=0, le=4000)] | None = None  # with width: written on the img, so the page does not jump as it loads


class Story(Strict):
    title: Line
    url: Url
    source: Line
    author: Line | None = None
    published: dt.date | None = None
    reading_minutes: Annotated[int, Field(ge=1, le=600)] | None = None  # the article's, at 230 words a minute
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
    label: Line | None = None  # the heading over it; the language's "Sponsor" when not given
    cta: Line | None = None  # the button's words; the language's "Learn more" when not given
    position: Literal["after_first", "end"] = "end"  # after the first story, or after the last


class Issue(Strict):
    number: Annotated[int, Field(ge=1)]
    date: dt.date
    subject: Line
    preheader: Line
    intro: LongMarkdown | None = None
    sections: Annotated[list[Section], Field(min_length=1)]
    sponsor: Sponsor | None = None
    outro: LongMarkdown | None = None
    layout: Layout | None = None  # this issue's layout; [newsletter] layout when not given
    publish: bool = False  # put it in the web archive (`newsletter publish`) even before it is sent
    topic: Line | None = None  # which of the workspace's [topics] it goes to; default: the default topic
    segment: Line | None = None  # a segment expression or a [segments] name: only the readers it matches
    # A subject test's variants (`send --test-subjects`), 2 to 4; the first is `subject:`, which may
    # then be left out (issue/checks.py reports a first one that differs from it).
    subjects: Annotated[list[Line], Field(min_length=2, max_length=MAX_SUBJECTS)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _subject_from_subjects(cls, data: Any) -> Any:
        """`subject:` left out beside `subjects:` is the first of them."""
        if isinstance(data, dict) and "subject" not in data and isinstance(data.get("subjects"), list) and data["subjects"]:
            return {**data, "subject": data["subjects"][0]}
        return data

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


# --- subscribers and the send ledger -------------------------------------------------------------


class Status(StrEnum):
    """A subscriber's standing. Only `active` subscribers are ever mailed."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    PENDING = "pending"  # signed up on the web, not confirmed yet


class State(StrEnum):
    """A ledger row's state: pending -> sending -> sent | failed | scheduled, plus unknown and skipped."""

    PENDING = "pending"
    SENDING = "sending"
    SCHEDULED = "scheduled"  # handed to the provider for a later delivery time, or held here until then
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the request may or may not have been accepted; never retried automatically
    SKIPPED = "skipped"  # unsubscribed, bounced or removed before their turn came


# Rows in these states were (or may have been) handed to a provider.
HANDED_OVER = frozenset({State.SENDING, State.SCHEDULED, State.SENT, State.FAILED, State.UNKNOWN})


class Subscriber(NamedTuple):
    """Someone on the list. (A tuple: an import reads a million of them.)"""

    email: str
    name: str | None = None
    attributes: dict[str, str] | None = None
    status: Status = Status.ACTIVE
    public_id: str | None = None  # random, in every link made for them instead of their address
    created_at: str | None = None
    status_changed_at: str | None = None  # when the status last changed; None: unknown
    tags: tuple[str, ...] = ()  # an import adds these to the subscriber's tags (never removes any)
    topics: tuple[str, ...] | None = None  # the workspace's topics they get (the others not); None: no choice given


class Recipient(NamedTuple):
    """A claimed ledger row: who gets this copy. (Tuples: a million are made in a big send.)"""

    email: str
    name: str | None
    public_id: str


class Letter(NamedTuple):
    """One recipient's copy: who, and the values for the per-recipient placeholders."""

    email: str
    name: str | None
    unsubscribe_url: str
    preferences_url: str = ""  # none for a proof or a test copy: see preferences_link
    # The envelope sender SMTP gives this copy: a VERP address naming the issue and the reader
    # (mail/verp.py), so a bounce comes back to `newsletter bounces fetch`; "" for the default.
    return_path: str = ""
    # The reader part of the tool's own tracked links (mail/clicks.py): `<public id>.<signature>`,
    # or "-" (mail.clicks.NO_READER) for a copy without one (a proof, a test copy): counted for no one.
    click_token: str = "-"

    @property
    def preferences_link(self) -> str:
        """Where "Manage preferences" goes: the reader's own page, or for a copy without a reader
        (a proof, a test copy) the unsubscribe page."""
        return self.preferences_url or self.unsubscribe_url

    @property
    def values(self) -> dict[str, str]:
        """Placeholder values for plain text: the subject, the text part and headers."""
        return {
            placeholders.UNSUBSCRIBE_URL: self.unsubscribe_url,
            placeholders.NAME: self.name or "",
            placeholders.PREFERENCES_URL: self.preferences_link,
            placeholders.CLICK: self.click_token,
        }

    @property
    def html_values(self) -> dict[str, str]:
        """The same values escaped for the HTML part, so a name like `<b>Bo</b> & Co` is shown, not obeyed."""
        return {placeholder: escape_html(value) for placeholder, value in self.values.items()}


def escape_html(value: str) -> str:
    """html.escape, skipped for the usual value that has nothing to escape."""
    return html.escape(value) if HTML_SPECIAL.search(value) else value


HTML_SPECIAL = re.compile(r"[&<>\"']")


@dataclass(frozen=True)
class Delivery:
    email: str
    state: State
    detail: str | None
    attempts: int


class Outcome(StrEnum):
    """What a provider can say about one recipient: a closed set, never free text."""

    ACCEPTED = "accepted"  # the provider took the message
    REJECTED = "rejected"  # definitely refused (detail says why); retrying would not help
    BOUNCED = "bounced"  # refused for good because of the address itself (SMTP 5xx "no such user"): a hard bounce
    DEFERRED = "deferred"  # refused for now (e.g. SMTP 4xx): nothing was taken, try again later
    UNKNOWN = "unknown"  # the connection broke while handing it over: maybe delivered


class RecipientStatus(NamedTuple):
    outcome: Outcome
    detail: str | None = None
    message_id: str | None = None


@dataclass
class BatchResult:
    """What a provider said about each recipient of one batch, as it said it. Recipients missing
    here were not attempted."""

    statuses: dict[str, RecipientStatus] = field(default_factory=dict)

    def report(self, email: str, status: RecipientStatus) -> None:
        self.statuses[email] = status
