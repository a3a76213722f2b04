"""`newsletter report [ISSUE_FILE]`: what happened after sending, per issue or over all issues.
Reads the database only (see newsletter/report/figures.py for what each figure means)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..main import IssuePath, display_path
from . import issue_and_workspace

if TYPE_CHECKING:
    from ...report.figures import IssueReport, Trend
    from ...report.stories import Archive


def _archive() -> Archive:
    from ...db import Database
    from ...report import stories
    from ...workspace.config import load_workspace

    workspace = load_workspace(Path.cwd())
    if not workspace.database.exists():  # nothing was ever sent; reading creates nothing
        return stories.Archive({}, 0)
    with Database(workspace.database, read_only=True) as db:
        return stories.archive(db)


def _figures(issue_file: Path | None, opens: bool, topic: str | None = None) -> IssueReport | Trend:
    from ...db import Database
    from ...report import figures
    from ...workspace.config import load_workspace

    if issue_file is None:
        workspace, key, subject = load_workspace(Path.cwd()), None, None
        if topic is not None and topic not in workspace.config.topics:
            known = ", ".join(workspace.config.topics) or "none: newsletter.toml has no [topics]"
            raise click.BadParameter(f"{topic!r} is not a topic of this workspace (topics: {known})", param_hint="--topic")
    else:
        workspace, issue = issue_and_workspace(issue_file)
        key, subject = str(issue.number), issue.subject
    if not workspace.database.exists():  # nothing was ever sent; reading creates nothing
        return figures.Trend([]) if key is None else figures.never_sent(key, subject)
    with Database(workspace.database, read_only=True) as db:
        if key is None:
            return figures.trend(db, opens, topic)
        found = figures.issue_report(db, key, opens)
    # the subject it went out with, as the ledger recorded it; else the file's
    return found if found.subject else dataclasses.replace(found, subject=subject)


@click.command()
@click.argument("issue_file", type=IssuePath, required=False)
@click.option("--opens", is_flag=True, help="Also count opens (inflated by Apple Mail Privacy Protection; machine opens apart).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--topic", metavar="KEY", help="The trend of one topic's issues only (a key of [topics] in newsletter.toml).")
@click.option(
    "--html", "html_file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Also write a self-contained HTML page with charts to FILE (a new file or a regular one, in a folder that exists; - prints the page instead of the text).",
)  # fmt: skip
@click.option("--follow-symlinks", is_flag=True, help="Let --html FILE be a symbolic link, and write to the file it points to.")
@click.option("--stories", is_flag=True, help="Click-through across the archive by source, section, position in the issue and format, instead of the trend.")
def report(issue_file: Path | None, opens: bool, as_json: bool, topic: str | None, html_file: Path | None, follow_symlinks: bool, stories: bool) -> None:
    """Report on ISSUE_FILE after sending: deliveries, bounces, complaints, unsubscribes, clicks.

    Without ISSUE_FILE, the trend over every issue sent from this workspace; with --stories,
    click-through across them by source, section, position and format."""
    from ...files.writing import STDOUT, output_target
    from ...report import text
    from ...report.figures import IssueReport, Trend

    if topic is not None and issue_file is not None:
        raise click.UsageError("--topic chooses the issues of the trend; an ISSUE_FILE's report is already of its own topic")
    if stories and (issue_file is not None or topic is not None or opens):
        raise click.UsageError("--stories reports across every issue: it takes no ISSUE_FILE, --topic or --opens (an ISSUE_FILE's report has its own clicks per story)")
    page_only = html_file is not None and str(html_file) == STDOUT
    if page_only and as_json:
        raise click.UsageError("--json and --html - both print to standard output; choose one")
    if html_file is not None and not page_only:
        output_target(html_file, follow_symlinks)  # a device, a FIFO or a missing folder is refused before any work
    if html_file is not None:
        from ...report import html

        html.can_draw()  # a missing [report] part is said before the text report, not after it
    found = _archive() if stories else _figures(issue_file, opens, topic)
    if as_json:
        click.echo(text.terminal_safe_json(json.dumps(found.to_dict(), indent=2, ensure_ascii=False)))
    elif not page_only:
        shown = text.issue_text(found) if isinstance(found, IssueReport) else text.trend_text(found) if isinstance(found, Trend) else text.archive_text(found)
        click.echo(shown, nl=False)
    if html_file is not None:
        page = html.issue_html(found) if isinstance(found, IssueReport) else html.trend_html(found) if isinstance(found, Trend) else html.archive_html(found)
        html.write_page(html_file, page, follow_symlinks)
        if not page_only:
            click.echo(f"wrote {display_path(html_file)}", err=True)
