"""Load, render and check an issue: the one way every command gets a rendered issue it can trust.

`check`, `send` and the preview all start here, so they agree on what is wrong with an issue.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import IssueFileError, Location, Problem
from ..mail.clicks import tracking_growth
from ..models import Email, Issue
from ..models.segments import segment_problem
from ..render.pipeline import Renderer
from ..render.tagging import tagged
from ..render.theme import palettes
from ..workspace.config import Workspace, load_workspace
from .checks import DRAFT_COMMENT, LEVELS, Finding, check
from .loading import Field, InvalidIssue, field_lines, field_path, issue_numbers, load_issue, read_source
from .pictures import IMAGE_ALT, Mode, pictures

NUMBER_LINE = re.compile(r"^number\s*:", re.MULTILINE)


@dataclass(frozen=True)
class PreparedIssue:
    path: Path
    workspace: Workspace
    issue: Issue
    email: Email
    findings: list[Finding]
    invalid: str | None = None  # what did not validate (the loader's report); `issue` is then the file's without it
    tracking_growth: int = 0  # bytes the tool's own tracked links add to each copy's HTML ([tracking])
    images: dict[str, Path] = dataclasses.field(default_factory=dict)  # each readable local image: its src -> its file

    @property
    def complete(self) -> bool:
        """Every field validated: `issue` is the whole file."""
        return self.invalid is None

    @property
    def key(self) -> str:
        """The ledger's key for this issue: its number."""
        return str(self.issue.number)

    @property
    def topic(self) -> str | None:
        """The topic this issue goes to (`topic:`, else the workspace's default topic); None in a
        workspace without [topics], where an issue goes to the whole list."""
        config = self.workspace.config
        if not config.topics:
            return None
        return self.issue.topic if self.issue.topic in config.topics else config.default_topic

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level == "error"]

    @property
    def relative_path(self) -> str:
        """The issue file as the workspace knows it (issues/2026-11-24.yaml)."""
        path = self.path.resolve()
        root = self.workspace.root.resolve()
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

    @property
    def fingerprint(self) -> str:
        """What a recipient gets, as a hash: subject, preheader and both parts."""
        digest = hashlib.sha256()
        for part in (self.email.subject, self.email.preheader, self.email.text, self.email.html):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()


def prepare_issue(issue_file: Path, renderer: Renderer | None = None, partial: bool = False, images: Mode = "published") -> PreparedIssue:
    """Load and validate ISSUE_FILE, render it once, and run every check on it. Raises
    NewsletterError (located) for a file that cannot be read or rendered.

    With `partial` (check, preview), fields that do not validate are findings too, and the rest
    of the issue is still checked (see prepare_rest), so the editor sees every problem at once.

    `images`: where the email finds the issue's local pictures. "published" (the default: whatever
    sends) at their addresses under archive_url, an error while `publish` has not put one there;
    "local" (build, check, the preview) at their paths in the workspace (see pictures.py)."""
    renderer = renderer or Renderer(load_workspace(issue_file.parent))
    try:
        issue = load_issue(issue_file)
    except InvalidIssue as exc:
        if not partial or exc.rest is None:
            raise
        return prepare_rest(issue_file, exc, renderer, images)
    return _prepared(issue_file, renderer, issue, None, images)


def prepare_rest(issue_file: Path, invalid: InvalidIssue, renderer: Renderer | None = None, images: Mode = "published") -> PreparedIssue:
    """ISSUE_FILE without the parts that do not validate (`invalid.rest`), rendered and checked;
    its findings start with the fields that do not validate. Never an issue to send: `complete`
    is False."""
    assert invalid.rest is not None
    return _prepared(issue_file, renderer or Renderer(load_workspace(issue_file.parent)), invalid.rest.issue, invalid, images)


def _prepared(issue_file: Path, renderer: Renderer, issue: Issue, invalid: InvalidIssue | None, images: Mode) -> PreparedIssue:
    workspace = renderer.workspace
    in_file = invalid.rest.in_file if invalid and invalid.rest else _same_path
    local = pictures(workspace, issue_file, issue, images, in_file)
    email = renderer.render(local.issue)
    findings = [problem_finding(problem) for problem in invalid.problems] if invalid else []
    findings += locate(local.findings, issue_file, in_file)
    click_tracking = workspace.config.sendgrid.click_tracking  # SendGrid's longer links count for Gmail's clip
    growth = tracking_growth(email, issue, str(issue.number), workspace.config)  # and so do our own
    findings += locate(check(issue, email, click_tracking, growth) + audience_findings(workspace, issue), issue_file, in_file)
    findings += leftovers(issue_file) + number_clashes(issue_file, issue.number, workspace.issues_dir)
    findings += web_findings(workspace) + brand_findings(workspace) + tagging_findings(workspace, issue) + tracking_findings(workspace) + template_pair_findings(workspace)
    ordered = sorted(findings, key=lambda f: LEVELS.index(f.level))
    prepared = PreparedIssue(issue_file, workspace, issue, email, ordered, str(invalid) if invalid else None, growth, local.files)
    return dataclasses.replace(prepared, workspace=topic_sender(workspace, prepared.topic))


def audience_findings(workspace: Workspace, issue: Issue) -> list[Finding]:
    """`topic:` names one of [topics], and `segment:` selects someone: an issue that would go to
    the wrong readers never goes out."""
    config = workspace.config
    found = []
    if issue.topic is not None and issue.topic not in config.topics:
        if not config.topics:
            message = f"{issue.topic!r}: newsletter.toml has no [topics]; delete this line, or add [topics.{issue.topic}]"
        else:
            close = difflib.get_close_matches(issue.topic, list(config.topics), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            message = f"no topic {issue.topic!r} in [topics]; {hint}the topics are {', '.join(config.topics)}"
        found.append(Finding("error", message, field=("topic",)))
    if issue.segment is not None:
        problem = segment_problem(issue.segment, config.segments, config.topics, config.unmeasured_reader_clicks)
        if problem:
            found.append(Finding("error", problem, field=("segment",)))
    return found


def topic_sender(workspace: Workspace, topic: str | None) -> Workspace:
    """The workspace as a send of `topic` sees it: its From name is the topic's sender_name, if it has one."""
    settings = workspace.config.topics.get(topic) if topic else None
    if settings is None or settings.sender_name is None:
        return workspace
    sender = workspace.config.sender.model_copy(update={"name": settings.sender_name})
    return dataclasses.replace(workspace, config=workspace.config.model_copy(update={"sender": sender}))


def in_settings(field: str) -> Location:
    """A setting in newsletter.toml, as findings about the workspace name it."""
    return Location("newsletter.toml", field=field)


def _same_path(loc: Field) -> Field:
    return loc


def problem_finding(problem: Problem) -> Finding:
    """A field of the issue file that does not validate, as an error among the findings."""
    alt = (problem.field or "").endswith("image.alt")  # missing, empty or unusable
    return Finding("error", problem.message, where=problem.location, code=IMAGE_ALT if alt else "")


def locate(findings: list[Finding], issue_file: Path, in_file: Callable[[Field], Field] = _same_path) -> list[Finding]:
    """Give each finding its place: file:line: field for a field, the file for the issue as a whole.
    `in_file` turns a field's path in the checked issue into its path in the file."""
    fields = {f.field: in_file(f.field) for f in findings if f.field and not f.where}
    lines = field_lines(issue_file, list(fields.values()))
    located = []
    for finding in findings:
        if finding.where:
            located.append(finding)
        elif finding.field:
            field = fields[finding.field]
            located.append(finding.located(Location(issue_file, lines.get(field, 1), field_path(field))))
        else:
            located.append(finding.located(Location(issue_file)))
    return located


def leftovers(issue_file: Path) -> list[Finding]:
    """`# DRAFT` comments that `story add` puts above a story until the editor has checked it."""
    try:
        text = read_source(issue_file)
    except IssueFileError:
        return []
    return [
        Finding("warning", "a story added by `story add` is still marked as a draft: check it, then delete the comment", where=Location(issue_file, number))
        for number, line in enumerate(text.splitlines(), start=1)
        if line.lstrip().startswith(DRAFT_COMMENT)
    ]


# Each email is a pair of templates, HTML and plain text: (the email, its HTML and text templates).
TEMPLATE_PAIRS = [
    ("issue email", "email.mjml.j2", "email.txt.j2"),
    ("confirmation email", "confirm.mjml.j2", "confirm.txt.j2"),
    ("welcome email", "welcome.mjml.j2", "welcome.txt.j2"),
    ("last-chance email of `subscribers sunset`", "sunset.mjml.j2", "sunset.txt.j2"),
]


def template_pair_findings(workspace: Workspace) -> list[Finding]:
    """One half of a pair customised and the other not: the email goes out with the editor's
    words in one part and the defaults' in the other, which an editor rarely means."""
    from ..render.pipeline import default_template_dir

    folder = workspace.template_dir
    if folder is None:
        return []
    shown = folder.relative_to(workspace.root).as_posix() if folder.is_relative_to(workspace.root) else str(folder)
    found = []
    for email, html, text in TEMPLATE_PAIRS:
        present = [name for name in (html, text) if (folder / name).is_file()]
        if len(present) != 1:
            continue
        missing = text if present == [html] else html
        part = "plain-text" if missing == text else "HTML"
        message = (
            f"has no {missing} beside it, so the {email}'s {part} part comes from the default template, not yours; "
            f"copy {default_template_dir() / missing} into {shown}/ and edit both"
        )
        found.append(Finding("warning", message, where=Location(f"{shown}/{present[0]}")))
    return found


def brand_findings(workspace: Workspace) -> list[Finding]:
    """An accent colour too light or too dark to read is adjusted; the editor should know to what."""
    accent = workspace.config.brand.accent_color.lower()
    light, dark = palettes(accent)
    changed = [f"{palette.accent} in {mode} mode" for palette, mode in ((light, "light"), (dark, "dark")) if palette.accent.lower() != accent]
    if not changed:
        return []
    return [Finding("note", f"{accent} is adjusted to {' and '.join(changed)}, so text in it reaches 4.5:1 contrast", where=in_settings("brand.accent_color"))]


def tagging_findings(workspace: Workspace, issue: Issue) -> list[Finding]:
    """With [links] utm on, one story link as it goes out, so the editor sees what the tags look like."""
    config = workspace.config
    if not config.links.utm:
        return []
    examples = [(story.url, tagged(config, issue, story.url, story)) for story in issue.stories]
    changed = [after for before, after in examples if after != before]
    if changed:
        message = f"story links are tagged, e.g. {changed[0]}"
    else:
        message = "is on, but every story link already has ref= or all the utm_* parameters, so none is changed"
    return [Finding("note", message, where=in_settings("links.utm"))]


def tracking_findings(workspace: Workspace) -> list[Finding]:
    """SendGrid's click tracking on top of the tool's own: each click through two redirects, counted twice."""
    config = workspace.config
    if config.send.provider != "sendgrid" or not config.sendgrid.click_tracking or config.tracking.clicks == "off":
        return []
    message = 'and [tracking] clicks are both on: each link would pass two redirects and each click count twice; set [tracking] clicks = "off" or click_tracking = false'
    return [Finding("warning", message, where=in_settings("sendgrid.click_tracking"))]


def web_findings(workspace: Workspace) -> list[Finding]:
    """Links in the email go to the web app: over plain http, tokens travel in the clear."""
    base = workspace.config.base_url
    if base.startswith("https://"):
        return []
    return [Finding("warning", f"{base} is not https; unsubscribe and confirmation links would travel unencrypted", where=in_settings("web.base_url"))]


def number_clashes(issue_file: Path, number: int, issues_dir: Path) -> list[Finding]:
    """A warning for each other issue file in `issues_dir` with the same number."""
    others = [path for path, other in issue_numbers(issues_dir).items() if other == number and path.resolve() != issue_file.resolve()]
    if not others:
        return []
    try:
        text = read_source(issue_file)
    except IssueFileError:
        text = ""
    match = NUMBER_LINE.search(text)
    where = Location(issue_file, text.count(chr(10), 0, match.start()) + 1 if match else None, "number")
    names = ", ".join(str(path) for path in others)
    return [Finding("warning", f"{number} is also the number of {names}; each issue needs its own number", where=where)]
