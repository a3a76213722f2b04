"""The preview's state: the latest render of one issue, re-made on demand, with the last good one kept.

Reads the workspace and renders; never writes anything (docs/architecture.md: the preview reads, never writes).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NewsletterError
from ..issue.checks import GMAIL_CLIP_BYTES, SIZE_WARNING_BYTES, Finding, delivered_bytes
from ..issue.prepare import prepare_issue
from ..models import Email
from ..render.pipeline import Renderer
from ..workspace.config import CONFIG_NAME, Workspace, load_workspace

MAX_ERROR_CHARS = 500  # an unexpected error's message can be huge (a repr of a whole document)


@dataclass(frozen=True)
class Snapshot:
    """What the page shows. `email` is the last good render; `error` the latest failure, if any;
    `findings` those of the latest save (none when it could not be checked at all)."""

    version: int = 0
    email_version: int = 0
    email: Email | None = None
    sender: str = ""
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    click_tracking: bool = False  # [sendgrid] click_tracking: the size gauge counts the rewritten links
    tracking_growth: int = 0  # and the bytes the tool's own tracked links add ([tracking])
    images: dict[str, Path] = field(default_factory=dict)  # the email's local pictures: src -> file (the server serves these only)

    @property
    def sizing(self) -> tuple[bool, int]:
        return self.click_tracking, self.tracking_growth

    def as_json(self, issue_file: str) -> dict[str, object]:
        email = self.email
        return {
            "version": self.version,
            "email_version": self.email_version,
            "issue_file": issue_file,
            "sender": self.sender,
            "subject": email.subject if email else "",
            "preheader": email.preheader if email else "",
            "text": email.text if email else "",
            "size_bytes": delivered_bytes(email, self.click_tracking, self.tracking_growth) if email else 0,
            "clip_bytes": GMAIL_CLIP_BYTES,
            "warn_bytes": SIZE_WARNING_BYTES,
            "findings": [{"level": f.level, "message": f"{f.where}: {f.message}" if f.where else f.message} for f in self.findings],
            "error": self.error,
        }


@dataclass
class PreviewSession:
    """Renders `issue_path` on request; watchers call refresh(), page requests read `snapshot`."""

    issue_path: Path
    snapshot: Snapshot = field(default_factory=Snapshot)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _renderer: Renderer | None = None
    _config_stamp: tuple[int, int] | None = None  # newsletter.toml's mtime (ns) and size when the renderer was made
    _closed: bool = False

    def watched_paths(self) -> list[Path]:
        """Folders whose changes matter: the issue's folder, the workspace root, the templates."""
        from ..render.pipeline import default_template_dir

        try:
            root = self._workspace_root()
        except NewsletterError:  # no newsletter.toml yet: its error is in the page; watch the issue's folder
            root = self.issue_path.parent
        folders = [self.issue_path.parent, root, default_template_dir()]
        if self._renderer and self._renderer.workspace.template_dir:
            folders.append(self._renderer.workspace.template_dir)
        elif (root / "templates").is_dir():
            folders.append(root / "templates")
        return sorted({folder.resolve() for folder in folders if folder.is_dir()})

    def is_relevant(self, path: Path) -> bool:
        """The issue file, newsletter.toml, a template, or one of the email's local pictures."""
        path = path.resolve()
        return path == self.issue_path.resolve() or path.name == CONFIG_NAME or path.name.endswith(".j2") or path in self.snapshot.images.values()

    def refresh(self, changed: set[Path] | None = None) -> Snapshot:
        """Re-render. On any failure, keep the last good email and record the error; never raise.

        A NewsletterError is the user's mistake, explained. Anything else (a bug, a file caught
        half-written, an error type nobody mapped) is shown as one line: the preview must outlive it.
        """
        if changed and any(path.name.endswith(".j2") for path in changed):
            # Jinja notices edits to the templates it loaded, not a new file overriding one.
            self._renderer = None
        previous = self.snapshot
        try:
            renderer = self._current_renderer()
            prepared = prepare_issue(self.issue_path, renderer, partial=True, images="local")
            config = renderer.workspace.config
            sender = f"{config.sender.name} <{config.sender.address}>"
            if prepared.complete:
                sizing = (config.sendgrid.click_tracking, prepared.tracking_growth)
                new = Snapshot(previous.version + 1, previous.email_version + 1, prepared.email, sender, tuple(prepared.findings), None, *sizing, images=prepared.images)
            else:  # fields that do not validate: the last good email, and every finding of this save
                new = Snapshot(
                    previous.version + 1, previous.email_version, previous.email, sender, tuple(prepared.findings), prepared.invalid, *previous.sizing, images=previous.images
                )
        except NewsletterError as exc:
            new = self._failed(previous, str(exc))
        except Exception as exc:  # noqa: BLE001  # whatever went wrong, the page shows it and the preview goes on
            self._renderer = None  # it may be what broke: build a fresh one on the next save
            new = self._failed(previous, unexpected_error(exc))
        with self._changed:
            self.snapshot = new
            self._changed.notify_all()
        return new

    @staticmethod
    def _failed(previous: Snapshot, error: str) -> Snapshot:
        """The last good render, with `error` recorded. No findings: the last render's were about
        a file that is no longer there, and this one could not be checked."""
        return Snapshot(previous.version + 1, previous.email_version, previous.email, previous.sender, (), error, *previous.sizing, images=previous.images)

    def wait_for_change(self, seen_version: int, timeout: float) -> Snapshot:
        """Block until the snapshot is newer than `seen_version` (or `timeout` seconds pass)."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self.snapshot.version > seen_version, timeout=timeout)
            return self.snapshot

    def close(self) -> None:
        """Release everyone waiting for a change (the server is stopping)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _workspace_root(self) -> Path:
        if self._renderer:
            return self._renderer.workspace.root
        from ..workspace.config import find_root

        return find_root(self.issue_path.parent)

    def _current_renderer(self) -> Renderer:
        """One Renderer while newsletter.toml is unchanged; Jinja reloads edited templates itself."""
        root = self._workspace_root()
        config_file = root / CONFIG_NAME
        stat = config_file.stat() if config_file.exists() else None
        stamp = (stat.st_mtime_ns, stat.st_size) if stat else None
        if self._renderer is None or stamp != self._config_stamp:
            workspace: Workspace = load_workspace(self.issue_path.parent)
            self._renderer = Renderer(workspace)
            self._config_stamp = stamp
        return self._renderer


def unexpected_error(exc: BaseException) -> str:
    """One line for an error that is not a NewsletterError, e.g. `unexpected error: OSError: [Errno 5] ...`."""
    message = " ".join(str(exc).split())
    text = f"unexpected error: {type(exc).__name__}" + (f": {message}" if message else "")
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
