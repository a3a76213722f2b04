"""The command line: parse, call the core, print. Core errors become messages, never tracebacks."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from .. import __version__, speedups
from ..errors import NewsletterError, NewsletterWarning
from ..workspace import credentials

if TYPE_CHECKING:
    from ..issue.checks import Finding
    from ..workspace.database import Server

IssuePath = click.Path(path_type=Path, dir_okay=False)

# click 8.4 made ParamType generic (ParamType[dt.date]: what convert() returns); the tool still runs
# on click 8.1.7 (pyproject.toml), where subscripting it fails at import.
if TYPE_CHECKING:
    DateParamType = click.ParamType[dt.date]
else:
    DateParamType = click.ParamType


class IsoDate(DateParamType):
    """A calendar date written YYYY-MM-DD, shown as DATE in help and errors."""

    name = "DATE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date in the calendar written YYYY-MM-DD (e.g. 2026-12-01)", param, ctx)


# Commands that live in their own modules, imported only when used so `newsletter build` starts fast.
LAZY_COMMANDS: dict[str, str] = {
    "init": "newsletter.cli.commands.init:init",
    "preview": "newsletter.cli.commands.preview:preview",
    "send": "newsletter.cli.commands.send:send",
    "status": "newsletter.cli.commands.send:status",
    "cancel": "newsletter.cli.commands.send:cancel",
    "subscribers": "newsletter.cli.commands.subscribers:subscribers",
    "story": "newsletter.cli.commands.story:story",
    "sources": "newsletter.cli.commands.sources:sources",
    "inbox": "newsletter.cli.commands.sources:inbox",
    "serve": "newsletter.cli.commands.serve:serve",
    "form": "newsletter.cli.commands.form:form",
    "notices": "newsletter.cli.commands.notices:notices",
    "report": "newsletter.cli.commands.report:report",
    "publish": "newsletter.cli.commands.publish:publish",
    "db": "newsletter.cli.commands.db:db",
    "bounces": "newsletter.cli.commands.bounces:bounces",
    "automations": "newsletter.cli.commands.automations:automations",
    "api-token": "newsletter.cli.commands.api_token:api_token",
    "webhooks": "newsletter.cli.commands.webhooks:webhooks",
    "diff": "newsletter.cli.commands.diff:diff",
}


# The optional parts (pyproject.toml's extras): what each is for, and the top-level modules it brings.
# A command that reaches a missing one says which part to install, instead of stopping on a bug.
EXTRAS: dict[str, tuple[str, frozenset[str]]] = {
    "web": ("for the web app and webhooks", frozenset({"flask", "flask_wtf", "flask_limiter", "flask_cors", "standardwebhooks", "gunicorn", "werkzeug"})),
    "postgres": ("for a PostgreSQL database", frozenset({"psycopg", "psycopg_pool"})),
    "stories": ("to draft stories from articles and feeds", frozenset({"trafilatura", "justext", "lxml_html_clean", "pysbd", "text_to_num", "feedparser"})),
    "report": ("for the charts of report --html", frozenset({"matplotlib"})),
    "redis": ("to keep the rate limits in Redis", frozenset({"redis"})),
    "ses": ("to send through Amazon SES", frozenset({"boto3", "botocore", "cryptography"})),
    "mailgun": ("to send through Mailgun", frozenset({"mailgun", "httpx2"})),
    "postmark": ("to send through Postmark", frozenset({"urllib3"})),
    "resend": ("to send through Resend", frozenset({"resend"})),
    "shots": ("for the screenshots of diff --shots (Chromium itself: apt-get install chromium)", frozenset({"playwright"})),
}


def missing_part(exc: ModuleNotFoundError, command: str | None) -> str | None:
    """What to install when `exc` is a module of an optional part; None for any other module (a bug)."""
    top = (exc.name or "").partition(".")[0]
    command_line = f"newsletter {command}" if command else "newsletter"
    for part, (purpose, modules) in EXTRAS.items():
        if top in modules:
            return f"{command_line} needs the {part} part {purpose}, which is not installed: pip install 'newsletter-desk[{part}]'"
    return None


class Cli(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module, _, attribute = LAZY_COMMANDS[name].partition(":")
            try:
                command: click.Command = getattr(importlib.import_module(module), attribute)
                return command
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                return None  # not part of this build of the tool
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:  # what the command returns (click's own signature)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("always", NewsletterWarning)
            warnings.showwarning = functools.partial(_show_warning, warnings.showwarning)  # restored when the block ends
            try:
                return super().invoke(ctx)
            except NewsletterError as exc:
                raise click.ClickException(str(exc)) from None
            except ModuleNotFoundError as exc:
                message = missing_part(exc, ctx.invoked_subcommand)
                if message is None:
                    raise
                raise click.ClickException(message) from None


ShowWarning = Callable[[Warning | str, type[Warning], str, int, TextIO | None, str | None], None]  # warnings.showwarning


def _show_warning(
    python_way: ShowWarning, message: Warning | str, category: type[Warning], filename: str, lineno: int, file: TextIO | None = None, line: str | None = None
) -> None:
    """NewsletterWarning as one yellow line; anything else as Python shows it."""
    if issubclass(category, NewsletterWarning):
        click.secho(f"warning: {message}", fg="yellow", err=True)
    else:
        python_way(message, category, filename, lineno, file, line)


@click.group(cls=Cli)
@click.version_option(version=__version__)  # not from metadata: the distribution is "newsletter-desk", and a checkout may have none
def cli() -> None:
    """Render, preview and send a curated email newsletter."""


@cli.command()
@click.argument("issue_file", type=IssuePath)
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Output folder (default: build/<issue file name>/).")
def build(issue_file: Path, out_dir: Path | None) -> None:
    """Render ISSUE_FILE into email.html, email.txt, email.eml and web.html."""
    from ..issue.build import build_issue
    from ..issue.checks import GMAIL_CLIP_BYTES, KB

    try:
        result = build_issue(issue_file, out_dir)
    except NewsletterError as exc:
        raise click.ClickException(f"{exc}{_rest_checked(issue_file, exc)}\nNothing was written.") from None
    for path in result.paths:
        click.echo(f"  wrote {display_path(path)}")
    size = result.delivered_bytes
    tracked = " with SendGrid's click tracking" if result.click_tracking else ""
    if size > result.email.html_bytes and not result.click_tracking:
        tracked = " with the newsletter's own tracked links"
    click.echo(f"HTML size: {size / KB:.1f} KB{tracked} of Gmail's ~{GMAIL_CLIP_BYTES // KB} KB clipping limit")
    show_findings(result.findings, err=True)  # stdout lists the files written
    if any(finding.level == "error" for finding in result.findings):
        raise click.ClickException("the files were written, but the issue is not ready to send: fix the errors above")


def show_findings(findings: list[Finding], err: bool = False) -> None:
    """Findings as `check`, `build` and `send` print them: errors red, warnings yellow."""
    colours = {"error": "red", "warning": "yellow", "note": None}
    for finding in findings:
        click.secho(str(finding), fg=colours[finding.level], err=err)


def _rest_checked(issue_file: Path, exc: NewsletterError) -> str:
    """For an issue file with fields that do not validate: what `check` finds in the rest of it,
    so one run shows every problem."""
    from ..issue.loading import InvalidIssue
    from ..issue.prepare import prepare_rest, problem_finding

    if not isinstance(exc, InvalidIssue) or exc.rest is None:
        return ""
    try:
        findings = prepare_rest(issue_file, exc, images="local").findings
    except NewsletterError:
        return ""  # the rest cannot be rendered either; the problems above come first
    reported = {str(problem_finding(problem)) for problem in exc.problems}
    rest = [f"  {finding}" for finding in findings if str(finding) not in reported and finding.level != "note"]
    return "\nAnd in the rest of the issue:\n" + "\n".join(rest) if rest else ""


@cli.command()
@click.argument("issue_file", type=IssuePath)
@click.option("--links", "fetch_links", is_flag=True, help="Also fetch every link of the issue and report broken, moved and paywalled ones.")
@click.option("--timeout", type=click.FloatRange(min=0.1, max=300), default=10.0, show_default=True, help="With --links: seconds for each link.")
@click.option("--deadline", type=click.FloatRange(min=0.1, max=3600), default=60.0, show_default=True, help="With --links: seconds for all of them.")
@click.option("--allow-private", is_flag=True, help="With --links: fetch links to private or loopback addresses too (refused by default).")
def check(issue_file: Path, fetch_links: bool, timeout: float, deadline: float, allow_private: bool) -> None:
    """Validate ISSUE_FILE and its rendered email; exit 1 if anything must be fixed. Nothing is
    fetched unless --links is given."""
    from ..issue.prepare import prepare_issue

    prepared = prepare_issue(issue_file, partial=True, images="local")
    findings = prepared.findings  # fields that do not validate, and what the rest shows
    checked = ""
    if fetch_links and prepared.complete:  # a field that does not validate may hold a link: fix it first
        from ..issue.checks import LEVELS
        from ..links.check import check_links

        links = check_links(prepared.issue, issue_file, timeout, deadline, allow_private)
        findings = sorted(findings + links.findings, key=lambda f: LEVELS.index(f.level))
        checked = f", {links.fetched} link(s) fetched"
    elif fetch_links:
        checked = ", links not fetched until every field validates"
    show_findings(findings)
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    summary = f"{display_path(issue_file)}: {errors} error(s), {warnings} warning(s){checked}"
    if errors:
        raise click.ClickException(summary)
    click.secho(summary, fg="green" if not warnings else None)


@cli.command()
@click.argument("date", required=False, type=IsoDate())
def new(date: dt.date | None) -> None:
    """Start the next issue file (issues/DATE.yaml, numbered after the latest issue)."""
    from ..files.writing import write_files
    from ..issue.scaffold import later_issues, new_issue
    from ..workspace.config import load_workspace

    workspace = load_workspace(Path.cwd())
    day = date or dt.date.today()
    path, text = new_issue(workspace, day)
    write_files(path.parent, {path.name: text.encode("utf-8")})
    click.echo(f"created {display_path(path)}; fill in the TODOs, then run: newsletter check {display_path(path)}")
    later = later_issues(workspace, day)
    if later:
        names = ", ".join(display_path(p) for p in later)
        click.secho(f"note: {names} is dated after this issue but has a lower number; numbers follow the order issues are created, so check which goes out first.", fg="yellow")


def display_path(path: Path | Server) -> str:
    """A path as the user would type it: relative to the current folder when inside it (a
    PostgreSQL database as its URL, without any password)."""
    if not isinstance(path, Path):
        return str(path)
    try:
        return os.path.relpath(path) if path.is_absolute() and path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def main() -> None:
    speedups.disable_pydantic_plugins()  # before a command's module defines the first model
    try:
        cli(prog_name="newsletter")
    except Exception as exc:  # a bug, not the user's doing: one sentence, the traceback on request
        if credentials.debugging():
            raise
        click.echo(
            f"Error: newsletter stopped on an unexpected error ({type(exc).__name__}: {exc}). This is a bug in newsletter, "
            f"not something you did; run again with {credentials.DEBUG}=1 to see where it happened, and report it.",
            err=True,
        )
        raise SystemExit(2) from None
    finally:
        speedups.freeze_objects_before_exit()
