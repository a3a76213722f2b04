"""`newsletter story add` and `newsletter story show`: draft a story from an article (parse, call, print)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ...stories.fetch import DEFAULT_TIMEOUT
from ..main import IssuePath, display_path

if TYPE_CHECKING:
    from ...stories.draft import Draft
    from ...stories.llm import Model

Function = TypeVar("Function", bound=Callable[..., Any])  # a command's function, before click makes it a command


def _draft_options(command: Function) -> Function:
    """The options both commands share: they override what the article says about itself."""
    options = [
        click.option(
            "--url",
            help="The story's link (default: the page's canonical URL or og:url, a url: or URL: line in the file, else the URL fetched;"
            " a local file without one gets a TODO link to replace).",
        ),
        click.option("--title", help="The story's title (default: the article's headline)."),
        click.option(
            "--site", help="The site or publication, for the story's source (default: the page's site name or the URL's host)."
        ),
        click.option(
            "--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
            help="Seconds to wait for a URL to answer in full (redirects included).",
        ),
        click.option(
            "--allow-private", is_flag=True,
            help="Fetch from private, loopback and link-local addresses (a page on your own network).",
        ),
        click.option(
            "--llm", is_flag=True,
            help="Have the model named in [story] llm (newsletter.toml) write the summary in the newsletter's voice; the key comes from the environment.",
        ),
        click.option("--verbose", is_flag=True, help="With --llm, show the prompt sent and the model's answer."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def story() -> None:
    """Draft a story (title, summary, key facts, quote) from an article, offline and deterministically."""


@story.command()
@click.argument("issue_file", type=IssuePath)
@click.argument("source")
@click.option(
    "--section",
    metavar="TITLE",
    help="Add to the section with this title (created at the end if missing; default: the last section).",
)
@_draft_options
def add(
    issue_file: Path,
    source: str,
    section: str | None,
    url: str | None,
    title: str | None,
    site: str | None,
    timeout: float,
    allow_private: bool,
    llm: bool,
    verbose: bool,
) -> None:
    """Append a drafted story from SOURCE to ISSUE_FILE, marked as a draft to review.

    SOURCE is a .txt, .md or .html file, or an http(s) URL. The rest of the issue file is kept byte for byte."""
    from ...issue.loading import load_issue
    from ...stories.append import append_story
    from ...stories.draft import draft_story

    load_issue(issue_file)  # a missing or invalid issue file stops us before any fetching
    chosen = _newsletter_and_model(issue_file.parent) if llm else None
    draft = draft_story(source, url=url, title=title, site=site, timeout=timeout, allow_private=allow_private)
    if chosen is not None:
        draft = _with_model_summary(draft, *chosen, verbose)
    result = append_story(issue_file, draft, section)
    where = f"{display_path(issue_file)}:{result.line}"
    kind = "new section" if result.new_section else "section"
    click.echo(f"added a draft story to {kind} {result.section!r} at {where}: {draft.story.title}")
    for note in draft.notes:
        click.secho(f"to do: {note}", fg="yellow", err=True)
    click.echo(f"review it in the file, then run: newsletter check {display_path(issue_file)}")
    clicked = _source_clicked(issue_file, draft.story.source)
    if clicked:
        click.echo(clicked)


def _source_clicked(issue_file: Path, source: str | None) -> str | None:
    """The line on how the source's earlier stories were clicked, when far from the median story;
    None without a database, without measured clicks, or with the database out of reach (a
    drafted story never waits on it)."""
    from ...db import Database
    from ...errors import NewsletterError
    from ...report.stories import source_note
    from ...workspace.config import load_workspace

    if not source:
        return None
    try:  # an issue file outside a workspace, a broken setting or an unreachable database: no note
        workspace = load_workspace(issue_file.parent)
        if not workspace.database.exists():
            return None
        with Database(workspace.database, read_only=True) as db:
            return source_note(db, source)
    except NewsletterError:
        return None


@story.command()
@click.argument("source")
@_draft_options
def show(
    source: str, url: str | None, title: str | None, site: str | None, timeout: float, allow_private: bool, llm: bool, verbose: bool
) -> None:
    """Print the story drafted from SOURCE as the YAML block `story add` would append. Writes nothing.

    SOURCE is a .txt, .md or .html file, or an http(s) URL."""
    from ...stories.block import story_yaml
    from ...stories.draft import draft_story

    chosen = _newsletter_and_model(Path.cwd()) if llm else None
    draft = draft_story(source, url=url, title=title, site=site, timeout=timeout, allow_private=allow_private)
    if chosen is not None:
        draft = _with_model_summary(draft, *chosen, verbose)
        for note in draft.notes:
            click.secho(f"to do: {note}", fg="yellow", err=True)
    click.echo(story_yaml(draft), nl=False)


def _newsletter_and_model(folder: Path) -> tuple[str, Model]:
    """(the newsletter's name, the model [story] names) of the workspace at or above `folder`,
    checked before any fetching."""
    from ...stories.llm import ModelUnset, chosen_model
    from ...workspace.config import load_workspace

    config = load_workspace(folder).config
    try:
        return chosen_model(config)
    except ModelUnset as exc:
        raise click.UsageError(str(exc)) from None


def _with_model_summary(draft: Draft, newsletter: str, model: Model, verbose: bool) -> Draft:
    """The draft with the model's summary; with `verbose`, the prompt and the answer on stderr."""
    from ...stories.llm import with_model_summary, write_summary

    written = write_summary(draft.article, draft.story.title, newsletter, model)
    if verbose:
        for message in written.prompt:
            click.echo(f"--- prompt ({message['role']}) ---\n{message['content']}", err=True)
        click.echo(f"--- answer from {model.settings.llm_model} ---\n{written.answer}", err=True)
    return with_model_summary(draft, written, model)
