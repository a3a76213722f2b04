"""One open PostgreSQL database (psycopg 3): the connection, migrations, transactions and locks,
offering the same interface as the SQLite Connection so the tables' code runs on both.

The tables' SQL is written once, in the dialect both understand; `translate` makes the two
remaining differences: `?` placeholders become `%s`, and SQLite's INDEXED BY hints (which
PostgreSQL's planner does not need) are dropped. The few statements that differ further are
chosen by `dialect` where they are written (claiming a batch, merging JSON attributes)."""

from __future__ import annotations

import contextlib
import functools
import re
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from ..workspace.database import Server, redact_password
from .connection import LOCK_SPACE, Busy, StoreError
from .migrations import POSTGRES_MIGRATIONS, SCHEMA_VERSION

CONNECT_SECONDS = 10
MIGRATION_LOCK = 1  # under LOCK_SPACE: one process migrates at a time (several workers may start at once)
INDEXED_BY = re.compile(r"\s+INDEXED BY \w+")
ERRORS = (psycopg.Error,)


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    return INDEXED_BY.sub("", sql).replace("%", "%%").replace("?", "%s")


def lock_key(name: str) -> int:
    """A signed 32-bit key for an advisory lock named `name`."""
    return zlib.crc32(name.encode()) - (1 << 31)


def connect(server: Server) -> psycopg.Connection[Any]:
    return psycopg.connect(server.url, autocommit=True, connect_timeout=CONNECT_SECONDS, application_name="newsletter")


def pool(server: Server, size: int) -> Any:
    """A pool of up to `size` connections (the web app: one per request thread). Each connection
    is checked before it is handed out, so those a server restart killed are replaced, not used."""
    from psycopg_pool import ConnectionPool

    def healthy(connection: psycopg.Connection[Any]) -> None:
        try:
            ConnectionPool.check_connection(connection)
        except psycopg.Error:
            # One dead means the server went away: drop every dead one now. Left to the pool, each
            # would be found at its turn, a back-off pause apiece, and a request would time out.
            made.check()
            raise

    made = ConnectionPool(
        server.url, min_size=1, max_size=size, open=True, timeout=CONNECT_SECONDS, check=healthy,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_SECONDS, "application_name": "newsletter web"},
    )
    return made


def is_lost_connection(exc: Exception) -> bool:
    """The connection broke or could not be had (the server restarted or is down): a fault worth
    trying again on a fresh connection."""
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and not isinstance(exc, pg_errors.QueryCanceled | pg_errors.DiskFull)


class Session:
    """The psycopg connection, answering execute/executemany as sqlite3's connection does."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Any:  # a psycopg cursor
        return self.raw.execute(translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> Any:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), rows)
        return cursor

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE


class PostgresConnection:
    """A PostgreSQL database, migrated to the current schema on opening (every step in its own
    transaction, one migrating process at a time). `raw` reuses a connection from a pool."""

    dialect: str = "postgresql"
    errors: tuple[type[Exception], ...] = ERRORS
    integrity_error: type[Exception] = psycopg.IntegrityError

    def __init__(self, server: Server, pooled: psycopg.Connection[Any] | None = None) -> None:
        """Connect to `server` and migrate; or use a `pooled` connection (autocommit, and already
        migrated by whoever made the pool), which stays the pool's to close."""
        self.server = server
        self.path = str(server)  # what messages name: the URL without any password
        self.read_only = False
        self.pooled = pooled is not None
        self.migrated_from = SCHEMA_VERSION
        try:
            raw = pooled or connect(server)
        except psycopg.Error as exc:
            raise self.explain(exc) from None
        self.db = Session(raw)
        if self.pooled:
            return
        try:
            self._migrate()
        except psycopg.Error as exc:
            raw.close()
            raise self.explain(exc) from None

    def version(self) -> int:
        if self.db.execute("SELECT to_regclass('newsletter_schema')").fetchone()[0] is None:
            return 0
        row = self.db.execute("SELECT version FROM newsletter_schema").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        self.migrated_from = self.version()
        if self.migrated_from == SCHEMA_VERSION:
            return
        with self.db.raw.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(?, ?)", (LOCK_SPACE, MIGRATION_LOCK))
            version = self.version()  # again, under the lock: another process may have just migrated
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer version of newsletter (schema {version}, this one knows {SCHEMA_VERSION}); upgrade newsletter")
            if version == 0:
                self.db.execute("CREATE TABLE IF NOT EXISTS newsletter_schema (version INTEGER NOT NULL)")
                self.db.execute("DELETE FROM newsletter_schema")
                self.db.execute("INSERT INTO newsletter_schema (version) VALUES (0)")
        for number in range(self.version() + 1, SCHEMA_VERSION + 1):
            self.migrate_to(number)

    def migrate_to(self, number: int) -> None:
        """Run schema step `number` (all or nothing)."""
        try:
            with self.db.raw.transaction():
                self.db.execute("SELECT pg_advisory_xact_lock(?, ?)", (LOCK_SPACE, MIGRATION_LOCK))
                if self.version() >= number:
                    return
                self.db.raw.execute(POSTGRES_MIGRATIONS[number - 1])
                self.db.execute("UPDATE newsletter_schema SET version = ?", (number,))
        except psycopg.Error as exc:
            raise StoreError(f"{self.path}: upgrading the database to schema {number} failed, nothing was changed: {exc}") from None

    def close(self) -> None:
        if not self.pooled:
            self.db.raw.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """BEGIN ... COMMIT, or ROLLBACK when the block raises. Nested use joins the outer one."""
        if self.db.in_transaction:
            yield self.db
            return
        with self.db.raw.transaction():
            yield self.db

    @contextlib.contextmanager
    def lock(self, name: str, busy_message: str, shared: bool = False) -> Iterator[None]:
        """A lock held for a whole run, on the server, so it covers every machine; the server
        releases it when the session ends, even when the process is killed. Several `shared`
        holders (send workers) may hold it at once, but not alongside an exclusive one."""
        kind = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        if not self.db.execute(f"SELECT {kind}(?, ?)", (LOCK_SPACE, lock_key(name))).fetchone()[0]:
            raise Busy(busy_message)
        try:
            yield
        finally:
            release = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
            with contextlib.suppress(psycopg.Error):
                self.db.execute(f"SELECT {release}(?, ?)", (LOCK_SPACE, lock_key(name)))

    def explain(self, exc: Exception) -> StoreError:
        return explain(exc, self.path)


def explain(exc: Exception, path: str) -> StoreError:
    """A sentence for what PostgreSQL reported, naming the database (never its password)."""
    words = redact_password(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    if isinstance(exc, pg_errors.LockNotAvailable | pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
        return Busy(f"{path}: another program holds the rows this command needs ({words}); run it again")
    if isinstance(exc, pg_errors.InsufficientPrivilege | pg_errors.ReadOnlySqlTransaction):
        return StoreError(f"{path}: this database user may not do that ({words}); grant it, or use the database's owner")
    if isinstance(exc, pg_errors.DiskFull):
        return StoreError(f"{path}: the database server's disk is full; nothing more was written")
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, pg_errors.QueryCanceled):
        return StoreError(f"{path}: cannot reach the PostgreSQL database: {words}")
    return StoreError(f"{path}: cannot use the subscriber database: {words}")
