"""Errors a user can meet. The CLI prints them as sentences; only bugs get a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class Location:
    """Where something is, as every message says it: a file (or a part of the workspace, such as
    "the templates"), the line in it, the field at that line: `issues/7.yaml:12: sections[0].title`."""

    file: Path | str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.field}" if self.field else where


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file: where it is and what was expected. (A check's Finding, in
    issue/checks.py, places itself with the same Location.)"""

    file: Path
    line: int | None
    field: str | None
    message: str

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.field)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class NewsletterError(Exception):
    """Base for every error caused by the user's input or environment, not by a bug."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        # A broken file can hold thousands of problems; the first ones say what to fix.
        shown = [f"  {problem}" for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - len(shown)
        return "\n".join([self.args[0], *shown, *([f"  ... and {hidden:,} more"] if hidden > 0 else [])])


class ConfigError(NewsletterError):
    """newsletter.toml is missing, unreadable, or a setting is wrong."""


class IssueFileError(NewsletterError):
    """An issue file cannot be parsed or does not validate."""


class AutomationFileError(NewsletterError):
    """An automation file (automations/<name>.yaml), or an email it sends, cannot be used."""


class OutputError(NewsletterError):
    """A file the tool writes (a build, an export) cannot be written."""


class GitError(NewsletterError):
    """The workspace's git repository cannot answer: no repository, no such revision, no git."""


class TemplateError(NewsletterError):
    """A template has a syntax error or fails while rendering."""


class NotASubscriber(NewsletterError):
    """An address the list does not hold."""


class ChangeRefused(NewsletterError):
    """A change to the list that its rules refuse (a suppressed address, an address taken); nothing was changed."""


class NewsletterWarning(UserWarning):
    """Something the user should know that does not stop the command (the CLI prints it)."""


def warn(message: str) -> None:
    import warnings

    warnings.warn(message, NewsletterWarning, stacklevel=2)


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (127.0.0.0/8, ::1, localhost): the only place a secret may
    travel without TLS."""
    import ipaddress

    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
