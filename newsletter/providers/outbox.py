"""The default provider: each message is written to a local Maildir folder that any mail client opens."""

from __future__ import annotations

import mailbox
from pathlib import Path

from ..config import Config
from .base import Batch, Letter, Outcome, ProviderError, RecipientStatus, SendResult, mime_message, one_by_one


class OutboxProvider:
    name = "outbox"
    max_batch = 100  # rows claimed at a time; a crash leaves at most this many `unknown`

    def __init__(self, config: Config, folder: Path) -> None:
        self.config = config
        self.folder = folder
        try:
            self.maildir = mailbox.Maildir(folder, create=True)
        except OSError as exc:
            raise ProviderError(f"cannot use {folder} as the outbox: {exc.strerror or exc}") from None

    def send(self, batch: Batch) -> SendResult:
        return one_by_one(batch, lambda letter: self._write(batch, letter))

    def _write(self, batch: Batch, letter: Letter) -> RecipientStatus:
        try:
            message = mime_message(self.config, batch, letter)
        except ValueError as exc:  # e.g. a line break in a name, which would forge headers
            return RecipientStatus(Outcome.REJECTED, f"cannot write this message: {exc}")
        try:
            # Maildir writes to tmp/ and renames into new/, so a message is there whole or not at all.
            self.maildir.add(message)
        except OSError as exc:
            raise ProviderError(f"cannot write to the outbox {self.folder}: {exc.strerror or exc}") from None
        return RecipientStatus(Outcome.ACCEPTED)

    def close(self) -> None:
        pass
