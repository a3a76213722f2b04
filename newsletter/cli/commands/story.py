"""`newsletter story add` and `newsletter story show`: draft a story from an article (parse, call, print)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ...stories.fetch import DEFAULT_TIMEOUT
from ..main import IssuePath, display_path

if TYPE_CHECKING:
    from ...stories.draft import Draft
    from ...stories.llm import Model


def _draft_options(command):
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
    checked before any fetching: the key is set and may go where llm_base_url says."""
    from ...errors import ConfigError
    from ...stories.llm import model_for
    from ...workspace.config import load_workspace
    from ...workspace.credentials import llm_api_key

    config = load_workspace(folder).config
    if config.story.llm is None:
        raise click.UsageError(
            '--llm needs a model: set [story] llm = "openai", "mistral", "groq" or "ollama" (any OpenAI-compatible API) in newsletter.toml'
        )
    try:
        if config.story.llm_key_env is not None:
            llm_api_key(config.story.llm_key_env)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    return config.newsletter.name, model_for(config.story)


def _with_model_summary(draft: Draft, newsletter: str, model: Model, verbose: bool) -> Draft:
    """The draft with the model's summary in place of the extractive one, and a note for each
    figure in it that the article does not give."""
    from pydantic import ValidationError

    from ...models import Story
    from ...stories.draft import Draft
    from ...stories.errors import StoryError
    from ...stories.llm import write_summary

    written = write_summary(draft.article, draft.story.title, newsletter, model)
    settings = model.settings
    if verbose:
        for message in written.prompt:
            click.echo(f"--- prompt ({message['role']}) ---\n{message['content']}", err=True)
        click.echo(f"--- answer from {settings.llm_model} ---\n{written.answer}", err=True)
    try:
        story = Story.model_validate({**draft.story.model_dump(), "summary": written.text})
    except ValidationError as exc:
        raise StoryError(f"the model's summary cannot be used: {exc.errors()[0]['msg']}") from None
    notes = [*draft.notes, f"the summary was written by {settings.llm_model}: check it against the article"]
    for found in written.unsupported:
        if found.injected:
            sentence = found.injected if len(found.injected) <= 160 else found.injected[:157] + "..."
            notes.append(
                f"the model's summary gives {found.figure!r}, which the article gives only in a sentence addressed to a model ({sentence!r}): "
                "check it, the page may be steering the model"
            )
        else:
            notes.append(f"the model's summary gives {found.figure!r}, which the article does not: check it")
    return Draft(story, draft.origin, notes, draft.article)
