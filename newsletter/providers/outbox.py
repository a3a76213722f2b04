"""The default provider: each message becomes a file in a local Maildir folder that any mail client opens.

Each message is written whole to tmp/, the batch is flushed to disk once, and only then are the
files moved into new/: a message is in new/ whole or not at all, and one sync per batch (not per
file) keeps the outbox fast. A full disk delivers what was written and stops the run.
"""

from __future__ import annotations

import ctypes
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ..mail.message import AddressError
from ..models import Outcome, RecipientStatus
from ..workspace.config import Config
from .base import Batch, OneByOne, ProviderRefused, Report

MAILDIR = ("tmp", "new", "cur")
FEW_FILES = 8  # up to this many messages, fsync each; more, one syncfs for all


def _not_a_maildir(folder: Path) -> str | None:
    """Why `folder` cannot become or be the outbox: a file, or a folder already holding other things
    (messages must not be scattered into someone's documents)."""
    if not folder.exists():
        return None
    if not folder.is_dir():
        return "it is a file, not a folder"
    if all((folder / sub).is_dir() for sub in MAILDIR):
        return None  # a Maildir (mail clients may add their own files beside tmp/, new/ and cur/)
    try:
        others = sorted(entry.name for entry in folder.iterdir() if entry.name not in MAILDIR)
    except OSError as exc:
        return exc.strerror or str(exc)
    if others:
        return f"it is a folder of other files ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}), not a Maildir"
    return None


def _refuse_unusable(folder: Path) -> None:
    problem = _not_a_maildir(folder)
    if problem:
        raise ProviderRefused(f"cannot use {folder} as the outbox: {problem}; set [send] outbox in newsletter.toml to a new or empty folder", OutboxProvider.name)


def _folders_written(folder: Path) -> set[Path]:
    """The folders a send would write in: tmp/ and new/ where they exist, otherwise the nearest
    existing folder above them, where the first send makes them."""
    written = set()
    for sub in ("tmp", "new"):
        target = folder / sub
        while not target.exists() and target != target.parent:
            target = target.parent
        written.add(target)
    return written


def check_folder(folder: Path) -> None:
    """Whether `folder` can be the outbox and take files, checked without making it (a dry run
    writes nothing). Raises ProviderRefused."""
    _refuse_unusable(folder)
    for target in sorted(_folders_written(folder)):
        if not os.access(target, os.W_OK | os.X_OK):
            raise ProviderRefused(f"cannot write to the outbox {folder}: {target} is not writable for this user (or the disk is read-only)", OutboxProvider.name)


class OutboxProvider(OneByOne):
    name = "outbox"
    max_batch = 500  # rows claimed at a time; a crash leaves at most this many `unknown`

    def __init__(self, config: Config, folder: Path) -> None:
        self.config = config
        self.folder = folder
        _refuse_unusable(folder)
        try:
            for sub in MAILDIR:
                (folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProviderRefused(f"cannot use {folder} as the outbox: {exc.strerror or exc}", self.name) from None
        self.host = socket.gethostname().replace("/", "_").replace(":", "_") or "localhost"

    def send(self, batch: Batch, report: Report) -> None:
        template = self.template(batch.edition)
        written: list[tuple[str, str]] = []  # (address, file name in tmp/)
        problem: OSError | None = None
        for letter in batch.letters:
            try:
                data = template.render(letter, utf8=True)
            except AddressError as exc:
                report(letter.email, RecipientStatus(Outcome.REJECTED, f"cannot write this message: {exc}"))
                continue
            try:
                written.append((letter.email, self._write_tmp(data)))
            except OSError as exc:
                problem = exc
                break
        self._flush([name for _, name in written])
        for address, name in written:
            os.rename(self.folder / "tmp" / name, self.folder / "new" / name)
            report(address, RecipientStatus(Outcome.ACCEPTED))
        self._sync_folder("new")
        if problem is not None:
            raise ProviderRefused(f"cannot write to the outbox {self.folder}: {problem.strerror or problem}", self.name)

    def _write_tmp(self, data: bytes) -> str:
        """Write one message under a unique Maildir name in tmp/; on failure nothing is left behind."""
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.{self.host}"
        path = self.folder / "tmp" / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        except OSError:
            path.unlink(missing_ok=True)
            raise
        return name

    def _flush(self, names: list[str]) -> None:
        """Everything written so far reaches the disk: one syncfs() for a batch where Linux has it;
        a few files (a confirmation email) are synced one by one, which does not wait for the
        whole disk's other writes."""
        if len(names) <= FEW_FILES:
            for name in names:
                fd = os.open(self.folder / "tmp" / name, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            return
        fd = os.open(self.folder / "tmp", os.O_RDONLY)
        try:
            if _syncfs is None or _syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def _sync_folder(self, sub: str) -> None:
        fd = os.open(self.folder / sub, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def check(self) -> None:
        """The folders were made (or found) when the provider was opened; they must take files."""
        if not os.access(self.folder / "tmp", os.W_OK) or not os.access(self.folder / "new", os.W_OK):
            raise ProviderRefused(f"cannot write to the outbox {self.folder}: permission denied", self.name)

    def close(self) -> None:
        pass


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        syncfs: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
        return syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()
