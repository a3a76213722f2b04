"""Every difference between SQLite and PostgreSQL, in one place: each connection has a `dialect`
(SQLITE or POSTGRES) and the tables ask it, rather than asking which database they are on.

The tables' SQL is otherwise written once, in the words both understand; PostgreSQL's session
`translate`s it (`?` placeholders become `%s`, and SQLite's INDEXED BY hints, which PostgreSQL's
planner does not need, are dropped). Nothing here loads psycopg: a SQLite user never needs it."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from .migrations import MIGRATIONS, POSTGRES_MIGRATIONS

if TYPE_CHECKING:
    from .connection import Executes, Store

# PostgreSQL advisory lock keys: (LOCK_SPACE, hash of a name) for runs, (WORKER_SPACE, key) for send workers.
LOCK_SPACE = 0x4E4C
WORKER_SPACE = 0x4E57
MIGRATION_LOCK = 1  # under LOCK_SPACE: one process migrates at a time (several workers may start at once)
LOAD_CHUNK = 10_000  # rows per executemany when SQLite loads many rows
INDEXED_BY = re.compile(r"\s+INDEXED BY \w+")


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """A statement written for SQLite, as PostgreSQL's driver takes it."""
    return INDEXED_BY.sub("", sql).replace("%", "%%").replace("?", "%s")


@dataclass(frozen=True)
class Dialect(ABC):
    """What differs between the two databases. Methods that take `db` take the connection's
    `db` (Store.db); `store` is the connection itself."""

    name: str  # "sqlite" or "postgresql"
    label: str  # what a person reads: "SQLite" or "PostgreSQL"
    migrations: tuple[str, ...]  # the schema steps, number for number the same on both
    has_send_workers: bool  # several `send --worker` runs may claim from one ledger at once
    copies_in_bulk: bool  # COPY streams many rows in faster than any INSERT
    upsert_may_update_a_row_twice: bool  # INSERT ... ON CONFLICT DO UPDATE may meet one key twice in a statement
    temporary_schema: str  # where CREATE TEMP TABLE puts a table: dropping by this name never drops one of the database's
    rebuilds_primary_keys: bool  # a primary key can be dropped and built afresh (SQLite's cannot)

    @property
    def schema_version(self) -> int:
        return len(self.migrations)

    # --- the schema's version and its steps ---------------------------------------------------

    @abstractmethod
    def read_version(self, db: Executes) -> int: ...

    @abstractmethod
    def prepare_versioning(self, db: Executes) -> int:
        """The version read again under the migration lock, with a record of it made where
        there is none yet (before the first step)."""

    @abstractmethod
    def migration_step(self, db: Executes) -> contextlib.AbstractContextManager[None]:
        """One schema step's transaction, all or nothing, with only one process migrating."""

    @abstractmethod
    def run_step(self, db: Executes, script: str) -> None: ...

    @abstractmethod
    def record_version(self, db: Executes, number: int) -> None: ...

    # --- SQL written differently -----------------------------------------------------------------

    @abstractmethod
    def skip_locked(self, of: str = "") -> str:
        """The end of a SELECT that claims rows: rows another claimer has locked are skipped."""

    @abstractmethod
    def merge_json(self, old: str, new: str) -> str:
        """SQL for the JSON object `old` with the keys of `new` added or replaced, as text."""

    @abstractmethod
    def json_value(self, text: str) -> str:
        """SQL that compares JSON text as data (key order and spacing aside)."""

    @abstractmethod
    def json_text(self, column: str) -> str:
        """SQL for one value of the JSON object in `column` as text (NULL when absent); the key is
        its one `?` parameter."""

    @abstractmethod
    def differs(self, left: str, right: str) -> str:
        """SQL for `left` and `right` not the same, where NULL equals NULL."""

    @abstractmethod
    def json_keys(self, table: str, column: str) -> str:
        """A query for the distinct keys of the JSON objects in `table`.`column`, in order."""

    @abstractmethod
    def json_items(self, column: str, alias: str) -> str:
        """A FROM item: each text of the JSON array in `column`, as `alias`.value."""

    @abstractmethod
    def joined(self, expression: str, separator: str) -> str:
        """An aggregate: the group's values of `expression` in one text, `separator` between them."""

    @abstractmethod
    def issue_number(self, column: str) -> str:
        """SQL for an issue key as a number, NULL when it is not all digits."""

    # --- reading and writing many rows -----------------------------------------------------------

    @abstractmethod
    def table_exists(self, db: Executes, table: str) -> bool: ...

    @abstractmethod
    def load_rows(self, db: Executes, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> int:
        """Append `rows` (values for the comma-separated `columns`) to `table`; how many."""

    @abstractmethod
    def stream(self, store: Store, query: str, params: Sequence[Any] = (), rows_per_fetch: int = LOAD_CHUNK) -> Iterator[tuple[Any, ...]]:
        """The rows of `query`, fetched as they are used: a million rows never sit in memory."""

    @abstractmethod
    def continue_numbering(self, db: Executes, table: str, column: str) -> None:
        """After rows were written with their ids, new rows number on after the highest."""

    # --- locks and the planner -------------------------------------------------------------------

    @abstractmethod
    def lock_against_other_writers(self, db: Executes, table: str) -> None:
        """Inside a transaction: nobody else changes `table` until it ends."""

    @abstractmethod
    def one_worker_at_a_time(self, db: Executes) -> None:
        """Inside a transaction: send workers starting together do this part in turn."""

    @abstractmethod
    def refresh_statistics(self, db: Executes, table: str) -> None:
        """Tell the planner `table` just grew a lot."""


@dataclass(frozen=True)
class SqliteDialect(Dialect):
    def read_version(self, db: Executes) -> int:
        return int(db.execute("PRAGMA user_version").fetchone()[0])

    def prepare_versioning(self, db: Executes) -> int:
        return self.read_version(db)  # PRAGMA user_version is always there

    @contextlib.contextmanager
    def migration_step(self, db: Executes) -> Iterator[None]:
        # BEGIN IMMEDIATE takes the write lock, which only one connection holds.
        try:
            db.execute("BEGIN IMMEDIATE")
            yield
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def run_step(self, db: Executes, script: str) -> None:
        for statement in _statements(script):
            db.execute(statement)

    def record_version(self, db: Executes, number: int) -> None:
        db.execute(f"PRAGMA user_version = {int(number)}")

    def skip_locked(self, of: str = "") -> str:  # noqa: ARG002 (the Dialect's signature; `of` is PostgreSQL's)
        return ""  # one writer at a time: no row is ever locked by another claimer

    def merge_json(self, old: str, new: str) -> str:
        return f"json_patch({old}, {new})"

    def json_value(self, text: str) -> str:
        return f"json({text})"

    def json_text(self, column: str) -> str:
        # json_quote makes any key one path step; CAST: a number stored as such compares as its text, as ->> gives it
        return f"CAST(json_extract({column}, '$.' || json_quote(?)) AS TEXT)"

    def differs(self, left: str, right: str) -> str:
        return f"{left} IS NOT {right}"

    def json_keys(self, table: str, column: str) -> str:
        return f"SELECT DISTINCT key FROM {table}, json_each({table}.{column}) ORDER BY key"

    def json_items(self, column: str, alias: str) -> str:
        return f"json_each({column}) AS {alias}"

    def joined(self, expression: str, separator: str) -> str:
        return f"group_concat({expression}, '{separator}')"

    def issue_number(self, column: str) -> str:
        # CAST makes any text a number (0 for "abc"): only all-digit keys are cast.
        return f"CASE WHEN {column} != '' AND {column} NOT GLOB '*[^0-9]*' AND length({column}) <= 18 THEN CAST({column} AS INTEGER) END"

    def table_exists(self, db: Executes, table: str) -> bool:
        return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None

    def load_rows(self, db: Executes, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> int:
        marks = ", ".join("?" * len(columns.split(",")))
        count = 0
        rows = iter(rows)
        while chunk := list(islice(rows, LOAD_CHUNK)):
            db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", chunk)
            count += len(chunk)
        return count

    def stream(self, store: Store, query: str, params: Sequence[Any] = (), rows_per_fetch: int = LOAD_CHUNK) -> Iterator[tuple[Any, ...]]:  # noqa: ARG002 (the Dialect's signature)
        # sqlite3 steps through a result as it is read; the query runs now, as the call is made.
        return iter(store.db.execute(query, params))

    def continue_numbering(self, db: Executes, table: str, column: str) -> None:
        pass  # an INTEGER PRIMARY KEY numbers on from the highest by itself

    def lock_against_other_writers(self, db: Executes, table: str) -> None:
        pass  # BEGIN IMMEDIATE already holds the database's only write lock

    def one_worker_at_a_time(self, db: Executes) -> None:
        pass  # there are no send workers

    def refresh_statistics(self, db: Executes, table: str) -> None:
        pass  # the queries that must not walk the table name their index (INDEXED BY)


@dataclass(frozen=True)
class PostgresDialect(Dialect):
    def read_version(self, db: Executes) -> int:
        if db.execute("SELECT to_regclass('newsletter_schema')").fetchone()[0] is None:
            return 0
        row = db.execute("SELECT version FROM newsletter_schema").fetchone()
        return int(row[0]) if row else 0

    def prepare_versioning(self, db: Executes) -> int:
        with self.migration_step(db):
            version = self.read_version(db)  # again, under the lock: another process may have just migrated
            if version == 0:
                db.execute("CREATE TABLE IF NOT EXISTS newsletter_schema (version INTEGER NOT NULL)")
                db.execute("DELETE FROM newsletter_schema")
                db.execute("INSERT INTO newsletter_schema (version) VALUES (0)")
        return version

    @contextlib.contextmanager
    def migration_step(self, db: Executes) -> Iterator[None]:
        session: Any = db  # postgres.Session
        with session.raw.transaction():
            db.execute("SELECT pg_advisory_xact_lock(?, ?)", (LOCK_SPACE, MIGRATION_LOCK))
            yield

    def run_step(self, db: Executes, script: str) -> None:
        session: Any = db
        session.raw.execute(script)  # the whole script at once: psycopg sends it as one query

    def record_version(self, db: Executes, number: int) -> None:
        db.execute("UPDATE newsletter_schema SET version = ?", (number,))

    def skip_locked(self, of: str = "") -> str:
        return f" FOR UPDATE OF {of} SKIP LOCKED" if of else " FOR UPDATE SKIP LOCKED"

    def merge_json(self, old: str, new: str) -> str:
        return f"({old}::jsonb || {new}::jsonb)::text"

    def json_value(self, text: str) -> str:
        return f"{text}::jsonb"

    def json_text(self, column: str) -> str:
        return f"({column}::jsonb ->> CAST(? AS TEXT))"

    def differs(self, left: str, right: str) -> str:
        return f"{left} IS DISTINCT FROM {right}"

    def json_keys(self, table: str, column: str) -> str:
        return f"SELECT DISTINCT jsonb_object_keys({column}::jsonb) AS key FROM {table} ORDER BY key"

    def json_items(self, column: str, alias: str) -> str:
        return f"json_array_elements_text({column}::json) AS {alias}(value)"

    def joined(self, expression: str, separator: str) -> str:
        return f"string_agg({expression}, '{separator}')"

    def issue_number(self, column: str) -> str:
        # CAST refuses text that is not a number, failing the whole query: only all-digit keys are cast.
        return f"CASE WHEN {column} ~ '^[0-9]{{1,18}}$' THEN CAST({column} AS BIGINT) END"

    def table_exists(self, db: Executes, table: str) -> bool:
        return bool(db.execute("SELECT to_regclass(?) IS NOT NULL", (table,)).fetchone()[0])

    def load_rows(self, db: Executes, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> int:
        session: Any = db
        count = 0
        with session.raw.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def stream(self, store: Store, query: str, params: Sequence[Any] = (), rows_per_fetch: int = LOAD_CHUNK) -> Iterator[tuple[Any, ...]]:
        # PostgreSQL sends a whole result at once unless it is read through a server-side cursor,
        # which lives in a transaction. The query runs when the first row is asked for.
        session: Any = store.db
        with store.transaction(), session.raw.cursor(name=f"stream_{os.urandom(6).hex()}") as cursor:
            cursor.itersize = rows_per_fetch
            cursor.execute(translate(query), tuple(params))
            yield from cursor

    def continue_numbering(self, db: Executes, table: str, column: str) -> None:
        db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), coalesce(max({column}), 0) + 1, false) FROM {table}")

    def lock_against_other_writers(self, db: Executes, table: str) -> None:
        db.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")

    def one_worker_at_a_time(self, db: Executes) -> None:
        db.execute("SELECT pg_advisory_xact_lock(?, ?)", (WORKER_SPACE, 0))

    def refresh_statistics(self, db: Executes, table: str) -> None:
        # Planned on an empty table's statistics, each batch's update would filter every row
        # instead of walking one range of an index.
        db.execute(f"ANALYZE {table}")


# One `newsletter send` sends a SQLite list; several workers may share a PostgreSQL one.
SQLITE: Dialect = SqliteDialect(
    "sqlite", "SQLite", MIGRATIONS, has_send_workers=False, copies_in_bulk=False, upsert_may_update_a_row_twice=True, temporary_schema="temp",
    rebuilds_primary_keys=False,
)
POSTGRES: Dialect = PostgresDialect(
    "postgresql", "PostgreSQL", POSTGRES_MIGRATIONS, has_send_workers=True, copies_in_bulk=True, upsert_may_update_a_row_twice=False,
    temporary_schema="pg_temp", rebuilds_primary_keys=True,
)


def _statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, one at a time (execute() takes one; executescript()
    would commit the transaction they must run in)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        yield pending
