"""One open PostgreSQL database (psycopg 3): the connection, transactions and locks, offering the
same interface as the SQLite Connection so the tables' code runs on both. What the two write
differently is in dialect.py (POSTGRES)."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from ..workspace.database import Server, redact_password
from .connection import Busy, StoreError, migrate
from .dialect import LOCK_SPACE, POSTGRES, Dialect, translate

CONNECT_SECONDS = 10
ERRORS = (psycopg.Error,)


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

    dialect: Dialect = POSTGRES
    errors: tuple[type[Exception], ...] = ERRORS
    integrity_error: type[Exception] = psycopg.IntegrityError

    def __init__(self, server: Server, pooled: psycopg.Connection[Any] | None = None) -> None:
        """Connect to `server` and migrate; or use a `pooled` connection (autocommit, and already
        migrated by whoever made the pool), which stays the pool's to close."""
        self.server = server
        self.path = str(server)  # what messages name: the URL without any password
        self.read_only = False
        self.pooled = pooled is not None
        self.migrated_from = self.dialect.schema_version  # a pooled connection: migrated by the pool's maker
        try:
            raw = pooled or connect(server)
        except psycopg.Error as exc:
            raise self.explain(exc) from None
        self.db = Session(raw)
        if self.pooled:
            return
        try:
            migrate(self)
        except psycopg.Error as exc:
            raw.close()
            raise self.explain(exc) from None

    def version(self) -> int:
        return self.dialect.read_version(self.db)

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
