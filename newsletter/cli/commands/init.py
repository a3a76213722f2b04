"""`newsletter init DIR`: a new workspace an editor owns (settings, a first issue, a .gitignore)."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..main import display_path

if TYPE_CHECKING:
    from ...workspace.config import Config

# The settings init asks for: (flag, what it is, the setting in newsletter.toml).
FIELDS: list[tuple[str, str, str]] = [
    ("--name", "Newsletter name", "newsletter.name"),
    ("--postal-address", "Postal address (printed in every footer; anti-spam laws require one)", "newsletter.postal_address"),
    ("--archive-url", "Archive URL (where past issues are published, https://...)", "newsletter.archive_url"),
    ("--sender-name", "Sender name (the From name)", "sender.name"),
    ("--sender", "Sender address (the From address)", "sender.address"),
    ("--language", "Language of the email's words and dates (en, de, fr, es or pt)", "newsletter.language"),
]
FLAG_OF = {setting: flag for flag, _, setting in FIELDS}


def _is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stdin
        return False


def _ask(setting: str, prompt: str) -> str:
    """Ask for one setting, and again (with the reason) until the answer is valid."""
    from ...workspace.create import DEFAULTS, answer_problem

    def checked(value: str) -> str:
        problem = answer_problem(setting, value)
        if problem:
            raise click.BadParameter(f"{problem}; try again")  # click shows it under the question and asks again
        return value

    return str(click.prompt(prompt, default=DEFAULTS.get(setting), value_proc=checked))


def _checked(text: str) -> Config:
    """The Config the settings file will load as, or a ClickException naming the flags to fix."""
    from ...workspace.create import InvalidSettings, checked_settings

    try:
        return checked_settings(text)
    except InvalidSettings as exc:
        lines = [f"  {FLAG_OF[where] + ' (' + where + ')' if where in FLAG_OF else where}: {message}" for where, message in exc.found]
        raise click.ClickException("invalid settings; nothing was written:\n" + "\n".join(lines)) from None


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", help="The newsletter's name, e.g. \"The Weekly Model\".")
@click.option("--sender-name", help="The From name, e.g. \"Mara at The Weekly Model\".")
@click.option("--sender", "sender", metavar="ADDRESS", help="The From address, e.g. editor@example.com.")
@click.option("--postal-address", help="The postal address printed in every footer.")
@click.option("--archive-url", metavar="URL", help="Where past issues are published, e.g. https://example.com/archive.")
@click.option("--language", metavar="CODE", help="The language of the email's words and dates: en (the default), de, fr, es or pt.")
@click.option("--templates", "copy_templates", is_flag=True, help="Copy the default templates into DIR/templates/ to customise them.")
def init(
    directory: Path,
    name: str | None,
    sender_name: str | None,
    sender: str | None,
    postal_address: str | None,
    archive_url: str | None,
    language: str | None,
    copy_templates: bool,
) -> None:
    """Create a workspace in DIR: newsletter.toml, issues/ with a first issue, and a .gitignore.

    Settings not given as options are asked for on a terminal."""
    from ...automations.starter import welcome_files
    from ...issue.scaffold import new_issue
    from ...render.pipeline import default_template_dir
    from ...workspace.config import CONFIG_NAME, Workspace
    from ...workspace.create import DEFAULTS, TemplatesInTheWay, UnreadableGitignore, create_workspace, settings_text

    settings_path = directory / CONFIG_NAME
    if settings_path.exists():
        raise click.ClickException(f"{display_path(settings_path)} already exists: {display_path(directory)} is a workspace already; nothing was changed")

    given = {"--name": name, "--postal-address": postal_address, "--archive-url": archive_url, "--sender-name": sender_name, "--sender": sender, "--language": language}
    missing = [flag for flag, _, setting in FIELDS if given[flag] is None and setting not in DEFAULTS]
    if missing and not _is_terminal():
        raise click.UsageError(f"missing {', '.join(missing)} (give them as options, or run on a terminal to be asked); nothing was written")
    values: dict[str, str] = {}
    for flag, prompt, setting in FIELDS:
        value = given[flag]
        if value is None:
            value = _ask(setting, prompt) if missing else DEFAULTS[setting]
        values[setting] = value

    text = settings_text(values)
    config = _checked(text)

    # Everything is decided and checked before the first write.
    root = directory.absolute()
    issue_path, issue_text = new_issue(Workspace(root=root, config=config), dt.date.today())
    try:
        starters = welcome_files(config, dt.date.today())  # a welcome sequence to start from
        made = create_workspace(root, text, issue_path, issue_text, default_template_dir() if copy_templates else None, starters)
    except TemplatesInTheWay as exc:
        raise click.ClickException(f"{display_path(exc.folder)} already has {', '.join(exc.names)}; nothing was written (leave out --templates to keep yours)") from None
    except UnreadableGitignore as exc:
        raise click.ClickException(f"cannot read {display_path(exc.path)}: {exc.reason}; nothing was written") from None

    shown_root = display_path(root)
    click.echo(f"created the workspace {shown_root}/")
    for path in [made.settings, made.first_issue, made.gitignore]:
        click.echo(f"  {display_path(path)}")
    if made.templates:
        click.echo(f"  {display_path(root / 'templates')}/ ({len(made.templates)} templates to customise)")
    for path in made.starters:
        click.echo(f"  {display_path(path)}")
    issue = f"issues/{issue_path.name}"
    click.echo("\nNext steps:")
    steps = [
        f"cd {shlex.quote(shown_root)}",
        f"# fill in the TODOs in {issue}, or draft stories: newsletter story add {issue} ARTICLE.html",
        f"newsletter check {issue}",
        f"newsletter preview {issue} --open",
        f"newsletter build {issue}",
        "newsletter subscribers add you@example.com",
        f"newsletter send {issue}   # to the local outbox/ until you set [send] provider in newsletter.toml",
    ]
    for step in steps:
        click.echo(f"  {step}")
