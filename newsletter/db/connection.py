"""One open SQLite database: the connection, its settings, migrations and transactions."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import NewsletterError
from .migrations import MIGRATIONS, SCHEMA_VERSION


class StoreError(NewsletterError):
    """The subscriber database cannot be opened or used."""


class NoDatabase(StoreError):
    """A command that only reads found no database (and does not create one)."""


class Busy(StoreError):
    """Another run holds the lock this one needs."""


def now() -> str:
    """Timestamps are stored as ISO 8601 in UTC, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Connection:
    """The SQLite connection shared by the subscriber table and the ledger.

    Every method that changes something commits before it returns; `transaction()` groups changes.
    """

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        if not create and not path.exists():
            raise NoDatabase(f"{path}: there is no subscriber database yet (it is created by `newsletter subscribers import` or `add`)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE takes the write lock).
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")  # readers (status) never block the sender
            self.db.execute("PRAGMA synchronous=NORMAL")  # durable at each commit in WAL mode, and fast
            self.db.execute("PRAGMA cache_size=-32000")  # 32 MB: a million-row ledger's hot pages stay in memory
            self.db.execute("PRAGMA wal_autocheckpoint=16384")  # checkpoint (and sync the file) every 64 MB of changes, not 4 MB
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot use the subscriber database: {exc}") from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the subscriber database: {exc.strerror or exc}") from None

    def _migrate(self) -> None:
        version = self.version()
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer version of newsletter (schema {version}, this one knows {SCHEMA_VERSION}); upgrade newsletter")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            # executescript runs the whole step; BEGIN/COMMIT make it all or nothing.
            try:
                self.db.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[number - 1]}; PRAGMA user_version = {number}; COMMIT;")
            except sqlite3.Error as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise StoreError(f"{self.path}: upgrading the database to schema {number} failed, nothing was changed: {exc}") from None

    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises. Nested use joins the outer one."""
        if self.db.in_transaction:
            yield self.db
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: the database is busy ({exc}); is another newsletter command writing it?") from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def lock(self, name: str, busy_message: str) -> Iterator[None]:
        """A lock held for a whole run (e.g. one sender per issue), released when the process ends,
        even by SIGKILL. Raises Busy with `busy_message` when another process holds it."""
        lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
        with open(lock_path, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy(busy_message) from None
            yield

