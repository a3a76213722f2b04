"""A new workspace (`newsletter init`): the settings file's text, the rules each answer must follow,
the .gitignore, and the writing, which makes a workspace whole or not at all.

Settings are named as newsletter.toml names them ("sender.address"); the command maps its options
onto these names and says a problem in its own words."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, NewsletterError
from .config import CONFIG_NAME, Config, _config_message, _dotted

# The settings a new workspace is made with, in the order newsletter.toml lists them.
SETTINGS = ("newsletter.name", "newsletter.postal_address", "newsletter.archive_url", "sender.name", "sender.address", "newsletter.language")
# Settings with a value when nobody gives one.
DEFAULTS = {"newsletter.language": "en"}

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
# provider = "outbox"   # outbox (a local Maildir, the default), smtp, sendgrid, ses, mailgun, postmark or resend
"""


class InvalidSettings(NewsletterError):
    """The settings would not load: `found` holds (setting, what is wrong) for each problem."""

    def __init__(self, found: list[tuple[str, str]]) -> None:
        super().__init__("invalid settings; nothing was written:\n" + "\n".join(f"  {where}: {message}" for where, message in found))
        self.found = found


class TemplatesInTheWay(NewsletterError):
    """The templates folder already holds files of these names: copying the defaults would replace them."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        super().__init__(f"{folder} already has {', '.join(names)}; nothing was written")
        self.folder, self.names = folder, names


class UnreadableGitignore(NewsletterError):
    """The .gitignore that is there cannot be read, so the lines it needs cannot be added."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason}; nothing was written")
        self.path, self.reason = path, reason


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


def settings_text(values: dict[str, str]) -> str:
    """newsletter.toml for these settings (each of SETTINGS, by its dotted name)."""
    return CONFIG_TEXT.format(
        newsletter_name=toml_string(values["newsletter.name"]),
        postal_address=toml_string(values["newsletter.postal_address"]),
        archive_url=toml_string(values["newsletter.archive_url"]),
        sender_name=toml_string(values["sender.name"]),
        sender_address=toml_string(values["sender.address"]),
        language=toml_string(values["newsletter.language"]),
    )


def answer_problem(setting: str, value: str) -> str | None:
    """Why `value` would not make a valid `setting` ("sender.address"), or None: the same rules as
    newsletter.toml, applied to the one field, so a question can be asked again at once."""
    from typing import Annotated, Any

    from pydantic import TypeAdapter, ValidationError

    section, key = setting.split(".")
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


def checked_settings(text: str) -> Config:
    """The Config the settings file `text` will load as. Raises InvalidSettings naming each setting
    to fix, or ConfigError if the text is not TOML at all."""
    from pydantic import ValidationError

    try:
        return Config.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:  # only if a value slipped past the escaping
        raise ConfigError(f"the settings would not be valid TOML ({exc}); nothing was written") from None
    except ValidationError as exc:
        raise InvalidSettings([(_dotted(err["loc"]), _config_message(err)) for err in exc.errors()]) from None


def merged_gitignore(existing: bytes | None) -> bytes:
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


@dataclass(frozen=True)
class NewWorkspace:
    """What create_workspace wrote."""

    settings: Path
    first_issue: Path
    gitignore: Path
    templates: list[str]  # the names of the default templates copied into templates/
    starters: list[Path] = field(default_factory=list)  # the starting points written (the welcome automation and its emails)


def create_workspace(
    root: Path, settings: str, first_issue: Path, issue_text: str, templates_from: Path | None = None, starters: dict[str, dict[str, bytes]] | None = None
) -> NewWorkspace:
    """Make the workspace at `root` (a folder, absolute): newsletter.toml holding `settings`, the
    first issue file, a .gitignore with the lines it needs, with `templates_from` a copy of the
    templates there, and the `starters` (files by folder, such as the welcome automation) that
    are not there yet. Everything is checked before the first write, and if any write fails the
    others are undone: a workspace is made whole or not at all."""
    templates = _template_files(templates_from) if templates_from else {}
    clashes = [name for name in templates if (root / "templates" / name).exists()]
    if clashes:
        raise TemplatesInTheWay(root / "templates", clashes)
    gitignore = root / ".gitignore"
    try:
        existing_ignore = gitignore.read_bytes() if gitignore.is_file() else None
    except OSError as exc:
        raise UnreadableGitignore(gitignore, str(exc.strerror)) from None

    changes = _Changes()
    written: list[Path] = []
    try:
        changes.mkdir(root)
        if templates:
            changes.write(root / "templates", templates)
        changes.write(first_issue.parent, {first_issue.name: issue_text.encode("utf-8")})
        for folder, files in (starters or {}).items():
            missing = {name: data for name, data in files.items() if not (root / folder / name).exists()}  # an editor's own stay
            if missing:
                changes.write(root / folder, missing)
                written += [root / folder / name for name in missing]
        changes.write(root, {".gitignore": merged_gitignore(existing_ignore)})
        changes.write(root, {CONFIG_NAME: settings.encode("utf-8")})  # last: its presence means the workspace is whole
    except BaseException:
        changes.undo()
        raise
    return NewWorkspace(root / CONFIG_NAME, first_issue, gitignore, list(templates), written)


def _template_files(source: Path) -> dict[str, bytes]:
    """The templates in `source` (its files, hidden ones left out), by name."""
    return {p.name: p.read_bytes() for p in sorted(source.iterdir()) if p.is_file() and not p.name.startswith(".")}


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
        from ..files import writing  # looked up at each call: a test stands in a failing writer

        self.mkdir(folder)
        for name in files:
            path = writing.output_target(folder / name)  # a FIFO there would block the read below; a link is not replaced
            if path.exists():
                self.replaced[path] = path.read_bytes()
        for path in writing.write_files(folder, files):
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
