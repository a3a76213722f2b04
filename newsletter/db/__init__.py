"""The subscriber database: subscribers, the send ledger and schedules. The only package that speaks SQL.

    with Database(workspace.database) as db:
        db.subscribers.get("ada@example.com")
        db.ledger.counts("7")
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType

from .connection import Busy, Connection, NoDatabase, StoreError, explain
from .events import Event, Events, Notices
from .ledger import Claim, IssueRecord, Ledger, Schedule, Settlement
from .reports import Reports
from .subscribers import Confirmation, ImportCounts, Subscribers

__all__ = [
    "Busy", "Claim", "Confirmation", "Database", "Event", "Events", "NoDatabase", "ImportCounts", "IssueRecord", "Ledger", "Notices",
    "Reports", "Schedule", "Settlement", "StoreError", "Subscribers",
]


class Database:
    """One open database. Use it as a context manager, so it is closed in the end."""

    def __init__(self, path: Path, create: bool = True, read_only: bool = False) -> None:
        """Open (and with `create`, create or upgrade) the database at `path`. Commands that only
        read pass `read_only`, so they work where this user may not write (see Connection)."""
        self.path = path
        self.connection = Connection(path, create, read_only)
        self.subscribers = Subscribers(self.connection)
        self.ledger = Ledger(self.connection)
        self.events = Events(self.connection)
        self.notices = Notices(self.connection)
        self.reports = Reports(self.connection)

    def transaction(self):  # type: ignore[no-untyped-def]
        """Group several changes into one transaction (all or nothing)."""
        return self.connection.transaction()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Database:
        return self

    @property
    def read_only(self) -> bool:
        return self.connection.read_only

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()
        if isinstance(value, sqlite3.Error):  # busy, read-only, full or damaged: say which, in a sentence
            raise explain(value, self.path) from None
