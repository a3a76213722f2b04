"""`newsletter sources fetch` and `newsletter inbox` (list, pick, skip): parse, call, print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ...sources.polling import DEFAULT_TIMEOUT
from ..main import IssuePath, display_path

if TYPE_CHECKING:
    from ...sources.inbox import Inbox
    from ...workspace.config import Workspace


def _workspace() -> Workspace:
    """The workspace at or above the current folder."""
    from ...workspace.config import load_workspace

    return load_workspace(Path.cwd())


@click.group()
def sources() -> None:
    """The feeds ([[sources]] in newsletter.toml) that fill the inbox with candidate stories."""


@sources.command()
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
    help="Seconds each feed has to answer in full (redirects included).",
)
@click.option("--allow-private", is_flag=True, help="Fetch feeds from private, loopback and link-local addresses (a server on your own network).")
def fetch(timeout: float, allow_private: bool) -> None:
    """Read every source into the inbox, all at once; one line per source.

    Exits 1 only when every source failed (a broken feed is reported, the others still come in)."""
    from ...sources.inbox import INBOX_NAME
    from ...sources.polling import fetch_sources

    workspace = _workspace()
    if not workspace.config.sources:
        raise click.ClickException("newsletter.toml has no [[sources]]; add one with a url (see the README, \"Sources and the inbox\")")
    run = fetch_sources(workspace, timeout, allow_private)
    for result in run.results:
        click.secho(result.line(), fg="red" if result.problem else None)
    waiting = len(_load_inbox(workspace.root).new_items())
    where = display_path(run.inbox) if run.inbox else INBOX_NAME
    click.echo(f"{where}: {waiting} item(s) waiting; list them with: newsletter inbox")
    if run.all_failed:
        raise click.ClickException("no source could be read")


def _load_inbox(root: Path) -> Inbox:
    from ...sources.inbox import load_inbox

    return load_inbox(root)


@click.group(invoke_without_command=True)
@click.pass_context
def inbox(ctx: click.Context) -> None:
    """List the inbox's new items, newest first: id, source, date, title and teaser."""
    if ctx.invoked_subcommand is not None:
        return
    items = _load_inbox(_workspace().root).new_items()
    for item in items:
        day = item.when.date().isoformat()
        click.echo(f"{click.style(item.id, bold=True)}  {day}  {item.source}  {item.title}")
        if item.teaser:
            click.echo(f"        {item.teaser}")
        if item.ran_in:
            click.secho(f"        already ran in {item.ran_in}", fg="yellow")
    if not items:
        click.echo("the inbox has no new items; fetch some with: newsletter sources fetch")
        return
    click.echo(f"{len(items)} new item(s); draft some into the next issue with: newsletter inbox pick ID..., set the rest aside with: newsletter inbox skip ID...")


@inbox.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("--section", metavar="TITLE", help="Add to the section with this title (created at the end if missing; default: the source's section, else the last).")
@click.option("--issue", "issue_file", type=IssuePath, help="The issue file to add to (default: the highest-numbered one, unless it was sent).")
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
    help="Seconds each article has to answer in full.",
)
@click.option("--allow-private", is_flag=True, help="Fetch articles from private, loopback and link-local addresses.")
def pick(ids: tuple[str, ...], section: str | None, issue_file: Path | None, timeout: float, allow_private: bool) -> None:
    """Draft the items IDS as stories into the next issue file, as `story add` does, and mark them picked."""
    from ...sources.picking import pick as pick_items

    path, picked = pick_items(_workspace(), list(ids), issue_file, section, timeout, allow_private)
    for one in picked:
        click.echo(f"{one.item.id}: added a draft story to section {one.section!r} of {display_path(path)}: {one.draft.story.title}")
        if one.item.ran_in:
            click.secho(f"note: its link already ran in {one.item.ran_in}", fg="yellow", err=True)
        if one.from_teaser:
            click.secho(f"to do: drafted from the feed's teaser, as the article could not be read ({one.from_teaser})", fg="yellow", err=True)
        for note in one.draft.notes:
            click.secho(f"to do: {note}", fg="yellow", err=True)
    click.echo(f"review them in the file, then run: newsletter check {display_path(path)}")


@inbox.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Skip every new item (what you did not pick this week).")
def skip(ids: tuple[str, ...], every: bool) -> None:
    """Mark the items IDS skipped: they leave the list and never come back."""
    from ...sources.picking import skip as skip_items

    if bool(ids) == every:
        raise click.UsageError("give the ids to skip, or --all for every new item (not both)")
    skipped = skip_items(_workspace(), list(ids), every=every)
    click.echo(f"skipped {len(skipped)} item(s): {', '.join(item.id for item in skipped) or 'none was new'}")
