"""Issue -> Email: Jinja2 -> MJML -> mjml-python (MRML) -> premailer, plus the plain-text twin.

Rendering happens once per issue. Per-recipient values stay as tokens (see placeholders.py) that the
send step fills in by plain string substitution or through the provider.
"""

from __future__ import annotations

import re
import traceback
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import mjml
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from ..errors import TemplateError
from ..i18n import catalogue as i18n
from ..models import Email, Issue, Story, placeholders
from ..workspace.config import Config, Workspace
from . import markdown, tagging
from .blocks import story_blocks
from .inlining import BLOCK_MARK, Inliner, inline_css
from .theme import palettes

CONTENT_WIDTH = 536  # 600 px card minus 32 px padding each side
# The preview a client shows after the subject: up to three lines on a phone, one wide line on a
# desktop, about 200 characters at most. The preheader is followed by enough spacer to fill it.
PREVIEW_LENGTH = 200
# One space wide, with zero-width characters that stop clients from collapsing a run of them.
SPACER_UNIT = "&#847;&zwnj;&nbsp;"


def preheader_spacer(preheader: str) -> Markup:
    """What follows the hidden preheader, so that the preview ends there rather than going on with
    the body's first words ("View this issue in your browser", the masthead)."""
    return Markup(SPACER_UNIT * max(0, PREVIEW_LENGTH - len(preheader)))


def unbroken(text: str) -> Markup:
    """`text` escaped, with no-break spaces between its words: a short label ("3 min read", "View in
    browser") never leaves its last word alone on a line."""
    return Markup(str(Markup.escape(text)).replace(" ", "\u00a0"))


def default_template_dir() -> Path:
    """The templates shipped with the tool: newsletter/templates, the same way in a checkout and an
    installed wheel. In a checkout it is a link to the repository's top-level templates/ (resolved,
    so messages and the preview's watcher name the real folder); the wheel holds copies of them."""
    return (Path(__file__).resolve().parent.parent / "templates").resolve()


@jinja2.pass_context
def reader_name(context: jinja2.runtime.Context, fallback: str = "") -> str:
    """`{{ reader_name("there") }}` in a template: each reader's own name in the email (filled at
    send time), `fallback` for readers without one, and `fallback` on the web page."""
    if context.get("for_web"):
        return fallback
    return Markup(placeholders.name_token(fallback))


def tagged_filter(config: Config) -> Callable[..., str]:
    """The `tagged` filter: `{{ story.url | tagged(story) }}` is the story's link as it goes out,
    with UTM parameters when [links] utm is on (see tagging.py), and exactly story.url when it is
    off. The argument names the link's slot: a story of the issue (its position is looked up), a
    1-based position, or a name used as utm_content as it is ("sponsor"). Outside an issue (the
    signup emails) links are never tagged."""

    @jinja2.pass_context
    def tagged(context: jinja2.runtime.Context, url: str, slot: int | str | Story) -> str:
        issue = context.get("issue")
        if not isinstance(issue, Issue):
            return url
        return tagging.tagged(config, issue, url, slot)

    return tagged


# MRML drops the text between two tags when it is only white space with a line break in it.
LINE_BREAKS_BETWEEN_TAGS = re.compile(r">[ \t\r\f\v]*\n\s*<")


@jinja2.pass_context
def card_block(context: jinja2.runtime.Context, html: str) -> str:
    """`{{ table | card_block }}` in card.mjml.j2: a block of the card, set aside for the inliner
    (inlining.py), which inlines it once for its content; a mark stands in its place meanwhile."""
    blocks = context.get("card_blocks")
    if not isinstance(blocks, list):
        return Markup(html)
    blocks.append(LINE_BREAKS_BETWEEN_TAGS.sub("><", str(html)))  # as MRML leaves raw HTML
    return Markup(BLOCK_MARK.format(len(blocks) - 1))


def mjml_title(text: str) -> Markup:
    """`text` for <mj-title>, escaped, its spaces other than " " and its invisible characters as
    character references. MRML copies the title into the body's aria-label in Rust's debug
    notation, where a no-break space (French « », "7 jours") turns into the characters
    "\\u{a0}" that a screen reader reads out; a reference goes through unchanged."""
    return Markup("".join(f"&#{ord(char)};" if char != " " and unicodedata.category(char)[0] in "ZCM" else char for char in str(escape(text))))


def web_url(workspace: Workspace, issue: Issue) -> str:
    """Where the view-in-browser page (web.html) is published."""
    return f"{workspace.config.newsletter.archive_url.rstrip('/')}/issue-{issue.number}.html"


def typeset_labels(labels: dict[str, str], language: str) -> dict[str, str]:
    """The labels with the language's spacing around punctuation (French: "Vous l'avez reçu ?"
    with a no-break space), whether they come from a catalogue or from newsletter.toml."""
    if not i18n.spaces_before_punctuation(language):
        return labels
    return {key: markdown.french_spaced(text) for key, text in labels.items()}


def typeset_colon(language: str) -> str:
    """The colon a template puts after a label, with a no-break space before it in French."""
    return i18n.NBSP + ":" if i18n.spaces_before_punctuation(language) else ":"


class Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, remembering its verdicts: whether an attribute is safe depends only on the
    object's type and the attribute's name (jinja2.sandbox.is_internal_attribute), and asking again
    for every `story.title` of every story was a quarter of a render."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
        key = (type(obj), attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = super().is_safe_attribute(obj, attr, value)
        return verdict


class Renderer:
    """Holds the compiled templates, so rendering again (preview, bench) is cheap."""

    def __init__(self, workspace: Workspace, remember: bool = True) -> None:
        """`remember=False` inlines every document whole, as premailer alone does (the reference
        that tests compare the remembering inliner with)."""
        self.workspace = workspace
        self.remember = remember
        folders = [workspace.template_dir, default_template_dir()]
        loader = jinja2.FileSystemLoader([folder for folder in folders if folder])  # first match wins
        language = workspace.config.newsletter.language
        # Sandboxed: a template shared between editors cannot reach Python's internals (about 4% slower).
        self.env = Sandbox(
            loader=loader,
            autoescape=lambda name: not (name or "").endswith(".txt.j2"),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            # Compiled templates are cached in a private temp folder (Jinja's default), keyed by
            # the template's source, so a cold `newsletter build` skips compiling them.
            bytecode_cache=jinja2.FileSystemBytecodeCache(),
        )
        self.env.globals["reader_name"] = reader_name
        self.env.globals["story_blocks"] = story_blocks
        self.env.filters["card_block"] = card_block
        self.inliner = Inliner()
        self.env.filters.update(
            markdown=lambda source: Markup(markdown.to_html(source, language)),
            markdown_text=lambda source, width=72, indent="": markdown.to_text(source, width, indent, language),
            wrap=markdown.wrap,
            smart_quotes=lambda text: markdown.smart_quotes(text, language),
            quoted=lambda text: i18n.quoted(text, language),  # between the language's quotation marks
            markdown_inline=lambda source: Markup(markdown.to_inline_html(source, language)),
            first_sentences=markdown.first_sentences,
            unbroken=unbroken,
            long_date=lambda day: i18n.long_date(day, language),
            short_date=lambda day: i18n.short_date(day, language),
            image_width=lambda width: min(width or CONTENT_WIDTH, CONTENT_WIDTH),
            tagged=tagged_filter(workspace.config),
            mjml_title=mjml_title,
        )
        light, dark = palettes(workspace.config.brand.accent_color)
        config = workspace.config
        self.globals = dict(
            newsletter=config.newsletter,
            sender=config.sender,
            brand=config.brand,
            light=light,
            dark=dark,
            labels=typeset_labels(i18n.labels(language, config.labels), language),
            colon=typeset_colon(language),  # after a label in the text part: "Unsubscribe:", "Se désabonner :"
            subscribe_url=f"{config.base_url}/subscribe",
        )

    def render(self, issue: Issue) -> Email:
        """Render the email (HTML with tokens, plain text) and the web page for `issue`."""
        context = dict(self.globals, issue=issue, view_url=web_url(self.workspace, issue))
        email_context = dict(
            context, for_web=False, unsubscribe_url=placeholders.UNSUBSCRIBE_URL, preferences_url=placeholders.PREFERENCES_URL, preheader_spacer=preheader_spacer(issue.preheader)
        )
        return Email(
            subject=issue.subject,
            preheader=issue.preheader,
            html=self._html(email_context),
            text=self._template("email.txt.j2", email_context),
            web_html=self.render_web(issue),
        )

    def render_web(self, issue: Issue, site: dict[str, object] | None = None) -> str:
        """Only the web page (Email.web_html) of `issue`. `site` holds what a page of the published
        archive adds (links to the neighbouring issues, the feed, Open Graph tags; see
        newsletter/publish/site.py); without it the page is the plain view-in-browser page."""
        return self._html(dict(self.globals, issue=issue, view_url=web_url(self.workspace, issue), for_web=True, site=site))

    def render_notice(self, kind: str, subject: str, preheader: str, values: dict[str, object]) -> Email:
        """A message to one person (the confirmation or welcome email of a signup) from
        `<kind>.mjml.j2` and `<kind>.txt.j2`, through the same pipeline as an issue."""
        context = dict(self.globals, subject=subject, preheader=preheader, preheader_spacer=preheader_spacer(preheader), unsubscribe_url=placeholders.UNSUBSCRIBE_URL, **values)
        html = self._html(context, f"{kind}.mjml.j2")
        return Email(subject=subject, preheader=preheader, html=html, text=self._template(f"{kind}.txt.j2", context), web_html="")

    def has_template(self, name: str) -> bool:
        try:
            self.env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True

    def _html(self, context: dict[str, Any], name: str = "email.mjml.j2") -> str:
        blocks: list[str] | None = [] if self.remember else None  # the card's blocks, set aside by card_block
        source = self._template(name, dict(context, card_blocks=blocks))
        css = self._template("email.css.j2", context)
        try:
            html = mjml.mjml2html(source, fonts={})  # fonts={}: no remote font stylesheet
        except ValueError as exc:  # mjml-python turns every MRML parse or render error into a ValueError with MRML's message
            raise TemplateError(f"{name} produced MJML that cannot be compiled: {exc}") from None
        html = merge_outlook_conditionals(html)
        html = inline_css(html, css) if blocks is None else self.inliner.inline(html, css, blocks)
        return with_main_landmark(html) if context.get("for_web") else html

    def _template(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {exc.name} not found in {self.workspace.template_dir or 'the workspace'} or the defaults") from None
        except Exception as exc:
            if _raised_by_code_the_template_called(exc):
                raise  # a bug in a filter or function we give templates, not the editor's mistake
            raise TemplateError(f"{_template_position(exc) or name}: {type(exc).__name__}: {exc}") from None


# Where one Outlook-only block ends and the next begins with nothing between them for other clients.
ADJACENT_CONDITIONALS = re.compile(r"<!\[endif\]-->\s*<!--\[if mso \| IE\]>")


def merge_outlook_conditionals(html: str) -> str:
    """Join back-to-back `<!--[if mso | IE]>` blocks into one, as node mjml does and MRML does not
    (about 600 bytes in the sample: every section boundary repeats the pair)."""
    return ADJACENT_CONDITIONALS.sub("", html)


# MJML's wrapper of the whole body (role="article", aria-roledescription="email").
EMAIL_WRAPPER = re.compile(r'(<div [^>]*aria-roledescription="email"[^>]*>.*</div>)(\s*</body>)', re.S)


def with_main_landmark(html: str) -> str:
    """The web page's MJML wrapper goes inside a <main> landmark, which screen readers jump to. Never
    in an email: Gmail (web, iOS, Android) turns <main> into <u>, underlining everything in it, and
    the mail client's own page has its main landmark already (the wrapper is role="article")."""
    return EMAIL_WRAPPER.sub(r"<main>\1</main>\2", html, count=1)


# This package: an exception raised in its code after the template's last line came from a filter
# or function we give templates, which is a bug of ours however the template called it.
OUR_CODE = str(Path(__file__).resolve().parent.parent)


def _raised_by_code_the_template_called(exc: Exception) -> bool:
    """The exception passed through our own code (a filter, a method of a value we hand templates)
    after the template's last line in the traceback. Raised in the template itself, in Jinja, or in
    Python's library (str.format, arithmetic), it is the template's doing."""
    frames = traceback.extract_tb(exc.__traceback__)
    last_template_line = max((index for index, frame in enumerate(frames) if frame.filename.endswith(".j2")), default=None)
    if last_template_line is None:
        return False
    return any(frame.filename.startswith(OUR_CODE) for frame in frames[last_template_line + 1 :])


def _template_position(exc: Exception) -> str | None:
    """'file.j2:LINE' of the template line that raised, from Jinja's rewritten traceback."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return f"{Path(frame.filename).name}:{frame.lineno}"
    return None
