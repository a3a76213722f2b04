"""The default provider: each message is written to a local Maildir folder that any mail client opens."""

from __future__ import annotations

import mailbox
from pathlib import Path

from ..config import Config
from ..store import State
from .base import Batch, BatchResult, mime_message


class OutboxProvider:
    name = "outbox"
    max_batch = 100  # rows claimed at a time; a crash leaves at most this many `unknown`

    def __init__(self, config: Config, folder: Path) -> None:
        self.config = config
        self.folder = folder
        self.maildir = mailbox.Maildir(folder, create=True)

    def send(self, batch: Batch) -> BatchResult:
        result = BatchResult()
        for letter in batch.letters:
            # Maildir writes to tmp/ and renames into new/, so a message is there whole or not at all.
            self.maildir.add(mime_message(self.config, batch, letter))
            result.states[letter.recipient.email] = (State.SENT, None)
        return result

    def close(self) -> None:
        pass
