"""One open SQLite database: the connection, its settings, migrations and transactions."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random

from ..errors import NewsletterError
from .dialect import SQLITE, Dialect


class StoreError(NewsletterError):
    """The subscriber database cannot be opened or used."""


class NoDatabase(StoreError):
    """A command that only reads found no database (and does not create one)."""


class Busy(StoreError):
    """Another run holds the lock this one needs."""


BUSY_SECONDS = 15.0  # how long a write waits for another writer (a big import) to finish


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Executes(Protocol):
    """sqlite3's connection, or postgres.Session answering the same calls."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...

    @property
    def in_transaction(self) -> bool: ...


class Store(Protocol):
    """What the tables need from a connection, SQLite's (below) or PostgreSQL's (postgres.py)."""

    dialect: Dialect  # what SQLite and PostgreSQL write differently (dialect.py)
    path: Any  # what messages name: the file, or the server's URL without its password
    read_only: bool
    migrated_from: int  # the schema found on opening (0: a new database)
    errors: tuple[type[Exception], ...]  # the driver's errors, for explain()
    integrity_error: type[Exception]

    @property
    def db(self) -> Executes:
        """execute() and executemany() with `?` placeholders, as sqlite3's connection."""

    def version(self) -> int: ...

    def explain(self, exc: Exception) -> StoreError: ...

    def transaction(self) -> contextlib.AbstractContextManager[Any]: ...

    def lock(self, name: str, busy_message: str, shared: bool = False) -> contextlib.AbstractContextManager[None]: ...

    def close(self) -> None: ...


def explain(exc: sqlite3.Error, path: Path) -> StoreError:
    """A sentence for what SQLite reported: busy, read-only, damaged, full."""
    words = str(exc)
    code = getattr(exc, "sqlite_errorname", "")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in words:
        holders = _holders(path)
        who = f" ({'; '.join(holders)})" if holders else ""
        return Busy(f"{path}: another program is writing the subscriber database{who} and did not finish within {BUSY_SECONDS:g} s; wait for it, then run this again")
    if code.startswith("SQLITE_READONLY") or "readonly" in words or (path.exists() and not _writable(path)):
        return StoreError(f"{path}: the subscriber database is read-only for this user (file, folder or disk); this command needs to write it")
    if code.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in words or "malformed" in words:
        return StoreError(f"{path}: is not a subscriber database, or it is damaged ({words}); check [subscribers] database in newsletter.toml, or restore the file from a backup")
    if code.startswith("SQLITE_FULL"):
        return StoreError(f"{path}: the disk is full; nothing more was written. Free some space and run this again")
    if code.startswith("SQLITE_CANTOPEN"):
        return StoreError(f"{path}: cannot open the subscriber database (check that its folder exists and that you may read and write both)")
    return StoreError(f"{path}: cannot use the subscriber database: {words}")


def _writable(path: Path) -> bool:
    import os

    # SQLite writes the -wal and -shm files beside the database, so the folder counts too.
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _cannot_write(exc: sqlite3.Error, path: Path) -> bool:
    """Whether opening for writing failed only for lack of write access (so reading may work)."""
    code = getattr(exc, "sqlite_errorname", "")
    return path.exists() and (code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in str(exc) or "unable to open" in str(exc))


def _holders(path: Path) -> list[str]:
    """The other processes that have the database open, as `command (pid N)`, read from /proc
    (Linux). SQLite cannot say who holds its lock; on other systems this is empty."""
    import os

    target = os.path.realpath(path)
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        if entry.name == str(os.getpid()):
            continue
        try:
            if not any(os.path.realpath(fd) == target for fd in (entry / "fd").iterdir()):
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone, or another user's
        found.append(f"`{_short(command)}` (pid {entry.name})")
    return found[:5]


def _short(command: str) -> str:
    command = " ".join(command.split())
    return command if len(command) <= 240 else command[:237] + "..."


def migrate(store: Store) -> None:
    """Bring the database up to this version's schema, each step all or nothing; or refuse one
    that a newer version of newsletter wrote, or that this process may not write. Sets
    `store.migrated_from`."""
    dialect, db = store.dialect, store.db
    known = dialect.schema_version
    found = store.migrated_from = store.version()
    if found == known:
        return
    found = dialect.prepare_versioning(db)
    if found > known:
        raise StoreError(f"{store.path} was written by a newer version of newsletter (schema {found}, this one knows {known}); upgrade newsletter")
    if store.read_only:
        raise StoreError(f"{store.path}: needs upgrading to schema {known}, and this process may not write it; run the command once with write access")
    for number in range(found + 1, known + 1):
        try:
            with dialect.migration_step(db):
                # The version is read again under the lock: another connection (a thread, a
                # process) may have just run the step.
                if store.version() < number:
                    dialect.run_step(db, dialect.migrations[number - 1])
                    dialect.record_version(db, number)
        except store.errors as exc:
            raise StoreError(f"{store.path}: upgrading the database to schema {number} failed, nothing was changed: {exc}") from None


def now() -> str:
    """Timestamps are stored as ISO 8601 in UTC, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Connection:
    """The SQLite connection shared by the subscriber table and the ledger.

    Every method that changes something commits before it returns; `transaction()` groups changes.
    """

    dialect: Dialect = SQLITE
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    integrity_error: type[Exception] = sqlite3.IntegrityError
    migrated_from: int  # set by migrate()

    def __init__(self, path: Path, create: bool = True, read_only: bool = False) -> None:
        """Open the database at `path`. With `read_only`, a database this process may not write
        (a read-only file, folder or disk) is still opened, for reading only."""
        self.path = path
        self.read_only = False
        if not create and not path.exists():
            raise NoDatabase(f"{path}: there is no subscriber database yet (it is created by `newsletter subscribers import` or `add`)")
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a subscriber database; set [subscribers] database in newsletter.toml to a file")
        if path.exists() and not path.is_file():
            raise StoreError(f"{path}: is not a regular file, so it cannot be a subscriber database")
        try:
            try:
                self._open_for_writing()
            except sqlite3.OperationalError as exc:
                if not (read_only and _cannot_write(exc, path)):
                    raise
                self._open_for_reading()
            migrate(self)
        except sqlite3.Error as exc:
            raise explain(exc, path) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the subscriber database: {exc.strerror or exc}") from None

    def _open_for_writing(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE takes the write lock).
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_SECONDS)
        try:
            self._use_wal()
        except sqlite3.Error:
            self.db.close()
            raise
        self.db.execute("PRAGMA synchronous=NORMAL")  # durable at each commit in WAL mode, and fast
        self.db.execute("PRAGMA cache_size=-32000")  # 32 MB: a million-row ledger's hot pages stay in memory
        self.db.execute("PRAGMA wal_autocheckpoint=16384")  # checkpoint (and sync the file) every 64 MB of changes, not 4 MB

    def _use_wal(self) -> None:
        """WAL mode, so readers (status) never block the sender. Switching a new database to it
        takes an exclusive lock without waiting for it (SQLite's busy timeout does not apply), so
        two first connections at once (two web requests, two commands) try again for a while."""
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)),
            stop=stop_after_delay(BUSY_SECONDS), wait=wait_random(0.005, 0.05), reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.db.execute("PRAGMA journal_mode=WAL")

    def _open_for_reading(self) -> None:
        """mode=ro reads a WAL database when its -shm file can be made; on a read-only disk it
        cannot, and immutable=1 reads the file as it is (nobody can be writing it there)."""
        uri = self.path.resolve().as_uri()
        for options in ("mode=ro", "immutable=1"):
            self.db = sqlite3.connect(f"{uri}?{options}", uri=True, isolation_level=None, timeout=BUSY_SECONDS)
            try:
                self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                break
            except sqlite3.OperationalError:
                self.db.close()
                if options == "immutable=1":
                    raise
        self.read_only = True

    def version(self) -> int:
        return self.dialect.read_version(self.db)

    def explain(self, exc: Exception) -> StoreError:
        return explain(exc, self.path) if isinstance(exc, sqlite3.Error) else StoreError(f"{self.path}: {exc}")

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
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def lock(self, name: str, busy_message: str, shared: bool = False) -> Iterator[None]:
        """A lock held for a whole run (e.g. one sender per issue), released when the process ends,
        even by SIGKILL. Raises Busy with `busy_message` when another process holds it."""
        lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
        with open(lock_path, "w") as handle:
            try:
                fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy(busy_message) from None
            yield

