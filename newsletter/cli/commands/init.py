"""`newsletter init DIR`: a new workspace an editor owns (settings, a first issue, a .gitignore)."""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import sys
import tomllib
from pathlib import Path

import click

from ..main import display_path

# The settings init asks for: (flag, what it is, the section and key in newsletter.toml).
FIELDS: list[tuple[str, str, str, str]] = [
    ("--name", "Newsletter name", "newsletter", "name"),
    ("--postal-address", "Postal address (printed in every footer; anti-spam laws require one)", "newsletter", "postal_address"),
    ("--archive-url", "Archive URL (where past issues are published, https://...)", "newsletter", "archive_url"),
    ("--sender-name", "Sender name (the From name)", "sender", "name"),
    ("--sender", "Sender address (the From address)", "sender", "address"),
    ("--language", "Language of the email's words and dates (en, de, fr, es or pt)", "newsletter", "language"),
]
FLAG_OF = {f"{section}.{key}": flag for flag, _, section, key in FIELDS}
# Settings with a default: asked for (the default offered) only while init is asking for others.
DEFAULTS = {"--language": "en"}

# What the workspace makes that is not the editor's to keep in version control.
GITIGNORE_LINES = ["build/", "outbox/", "site/", ".cache/", "subscribers.db*", ".env*"]

CONFIG_TEXT = """\
# Settings for this workspace (see the README for every setting). Secrets (API keys, SMTP
# passwords) never go here: they come from the environment (SENDGRID_API_KEY, SMTP_PASSWORD).

[newsletter]
name = {newsletter_name}
postal_address = {postal_address}
archive_url = {archive_url}
language = {language}       # the email's words and dates: en, de, fr, es or pt
# layout = "digest"   # compact: title, source and two sentences per story (default: standard)

[sender]
name = {sender_name}
address = {sender_address}
# reply_to = "letters@example.com"

# [send]
# provider = "outbox"   # outbox (a local Maildir, the default), smtp or sendgrid
"""


def toml_string(value: str) -> str:
    """A TOML basic string."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in value:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stdin
        return False


def _settings_text(values: dict[str, str]) -> str:
    return CONFIG_TEXT.format(
        newsletter_name=toml_string(values["--name"]),
        postal_address=toml_string(values["--postal-address"]),
        archive_url=toml_string(values["--archive-url"]),
        sender_name=toml_string(values["--sender-name"]),
        sender_address=toml_string(values["--sender"]),
        language=toml_string(values["--language"]),
    )


def _answer_problem(flag: str, value: str) -> str | None:
    """Why the answer for `flag` would not make a valid setting, or None: the same rules as
    newsletter.toml, applied to the one field."""
    from typing import Annotated, Any

    from pydantic import TypeAdapter, ValidationError

    from ...workspace.config import Config, _config_message

    section, key = next((section, key) for f, _, section, key in FIELDS if f == flag)
    model = Config.model_fields[section].annotation
    assert isinstance(model, type) and hasattr(model, "model_fields")
    field = model.model_fields[key]
    annotation: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation  # the field's type with its rules
    rules: TypeAdapter[Any] = TypeAdapter(annotation)
    try:
        rules.validate_python(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        return "must not be empty" if err["type"] == "string_too_short" else _config_message(err)
    return None


def _ask(flag: str, prompt: str) -> str:
    """Ask for one setting, and again (with the reason) until the answer is valid."""

    def checked(value: str) -> str:
        problem = _answer_problem(flag, value)
        if problem:
            raise click.BadParameter(f"{problem}; try again")  # click shows it under the question and asks again
        return value

    return str(click.prompt(prompt, default=DEFAULTS.get(flag), value_proc=checked))


def _validate(text: str):  # type: ignore[no-untyped-def]
    """The Config the settings file will load as, or a ClickException naming the flags to fix."""
    from pydantic import ValidationError

    from ...workspace.config import Config, _config_message, _dotted

    try:
        return Config.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:  # only if a value slipped past the escaping
        raise click.ClickException(f"the settings would not be valid TOML ({exc}); nothing was written") from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _dotted(err["loc"])
            flag = FLAG_OF.get(where)
            lines.append(f"  {flag + ' (' + where + ')' if flag else where}: {_config_message(err)}")
        raise click.ClickException("invalid settings; nothing was written:\n" + "\n".join(lines)) from None


def _gitignore(existing: bytes | None) -> bytes:
    """The .gitignore: the lines the workspace needs, added to what is already there."""
    if existing is None:
        return ("# Made by newsletter: build outputs, the local outbox, the subscriber database and secrets.\n" + "\n".join(GITIGNORE_LINES) + "\n").encode()
    text = existing.decode("utf-8", errors="surrogateescape")
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if not missing:
        return existing
    if text and not text.endswith("\n"):
        text += "\n"
    text += "# Added by newsletter init\n" + "\n".join(missing) + "\n"
    return text.encode("utf-8", errors="surrogateescape")


class _Changes:
    """Everything init writes, undone as a whole if any part fails: a workspace is made whole or not at all."""

    def __init__(self) -> None:
        self.created_dirs: list[Path] = []
        self.created_files: list[Path] = []
        self.replaced: dict[Path, bytes] = {}

    def mkdir(self, folder: Path) -> None:
        missing = [p for p in [folder, *folder.parents] if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self.created_dirs.extend(reversed(missing))  # outermost first

    def write(self, folder: Path, files: dict[str, bytes]) -> None:
        from ...files.writing import output_target, write_files

        self.mkdir(folder)
        for name in files:
            path = output_target(folder / name)  # a FIFO there would block the read below; a link is not replaced
            if path.exists():
                self.replaced[path] = path.read_bytes()
        for path in write_files(folder, files):
            if path not in self.replaced:
                self.created_files.append(path)

    def undo(self) -> None:
        for path in self.created_files:
            path.unlink(missing_ok=True)
        for path, data in self.replaced.items():
            try:
                path.write_bytes(data)
            except OSError:
                pass
        for folder in reversed(self.created_dirs):  # innermost first
            shutil.rmtree(folder, ignore_errors=True)


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
    from ...issue.scaffold import new_issue
    from ...render.pipeline import default_template_dir
    from ...workspace.config import CONFIG_NAME, Workspace

    settings_path = directory / CONFIG_NAME
    if settings_path.exists():
        raise click.ClickException(f"{display_path(settings_path)} already exists: {display_path(directory)} is a workspace already; nothing was changed")

    given = {"--name": name, "--postal-address": postal_address, "--archive-url": archive_url, "--sender-name": sender_name, "--sender": sender, "--language": language}
    missing = [flag for flag, value in given.items() if value is None and flag not in DEFAULTS]
    if missing and not _is_terminal():
        raise click.UsageError(f"missing {', '.join(missing)} (give them as options, or run on a terminal to be asked); nothing was written")
    values: dict[str, str] = {}
    for flag, prompt, _, _ in FIELDS:
        value = given[flag]
        if value is None:
            value = _ask(flag, prompt) if missing else DEFAULTS[flag]
        values[flag] = value

    text = _settings_text(values)
    config = _validate(text)

    # Everything is decided and checked before the first write.
    root = directory.absolute()
    workspace = Workspace(root=root, config=config)
    issue_path, issue_text = new_issue(workspace, dt.date.today())
    template_files: dict[str, bytes] = {}
    if copy_templates:
        source = default_template_dir()
        template_files = {p.name: p.read_bytes() for p in sorted(source.iterdir()) if p.is_file() and not p.name.startswith(".")}
        clashes = [name for name in template_files if (root / "templates" / name).exists()]
        if clashes:
            raise click.ClickException(f"{display_path(root / 'templates')} already has {', '.join(clashes)}; nothing was written (leave out --templates to keep yours)")
    gitignore = root / ".gitignore"
    try:
        existing_ignore = gitignore.read_bytes() if gitignore.is_file() else None
    except OSError as exc:
        raise click.ClickException(f"cannot read {display_path(gitignore)}: {exc.strerror}; nothing was written") from None

    changes = _Changes()
    try:
        changes.mkdir(root)
        if template_files:
            changes.write(root / "templates", template_files)
        changes.write(issue_path.parent, {issue_path.name: issue_text.encode("utf-8")})
        changes.write(root, {".gitignore": _gitignore(existing_ignore)})
        changes.write(root, {CONFIG_NAME: text.encode("utf-8")})  # last: its presence means the workspace is whole
    except BaseException:
        changes.undo()
        raise

    shown_root = display_path(root)
    click.echo(f"created the workspace {shown_root}/")
    for path in [root / CONFIG_NAME, issue_path, gitignore]:
        click.echo(f"  {display_path(path)}")
    if template_files:
        click.echo(f"  {display_path(root / 'templates')}/ ({len(template_files)} templates to customise)")
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
