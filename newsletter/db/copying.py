"""`newsletter db copy SRC DEST`: every table of one subscriber database copied into an empty
other one (SQLite to PostgreSQL or back), then compared row by row before it is committed. A
copy that does not compare equal is rolled back: the destination is left as it was."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .connection import StoreError
from .migrations import TABLES


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)  # table: rows copied (and compared equal)


def copy_database(source: Any, destination: Any) -> CopyReport:
    """Copy every table of `source` into `destination` (both open Databases at the same schema)."""
    src, dst = source.connection, destination.connection
    if src.version() != dst.version():
        raise StoreError(f"{dst.path} is at schema {dst.version()} and {src.path} at {src.version()}; open both with this version first")
    tables = [table for table in TABLES if _exists(src, table)]
    filled = [table for table in tables if dst.db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()]
    if filled:
        raise StoreError(f"{dst.path} is not empty (it has rows in {', '.join(filled)}); copy only into a new, empty database. Nothing was copied")
    report = CopyReport()
    with dst.transaction():
        for table in tables:
            columns = _columns(src, table)
            report.rows[table] = _fill(dst, table, columns, _rows(src, table, columns))
        for table in tables:  # ids were copied as they are: new rows must number on after them
            if TABLES[table] == "id":
                dst.dialect.continue_numbering(dst.db, table, "id")
        for table in tables:
            _compare(src, dst, table, _columns(src, table))
    return report


def compare_databases(source: Any, destination: Any) -> dict[str, int]:
    """Every table of both, row by row; raises StoreError at the first difference. Rows per table."""
    src, dst = source.connection, destination.connection
    return {table: _compare(src, dst, table, _columns(src, table)) for table in TABLES if _exists(src, table)}


def _exists(connection: Any, table: str) -> bool:
    return bool(connection.dialect.table_exists(connection.db, table))


def _columns(connection: Any, table: str) -> list[str]:
    cursor = connection.db.execute(f"SELECT * FROM {table} LIMIT 0")
    return [column[0] for column in cursor.description]


def _rows(connection: Any, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    """The table's rows in key order, read in chunks (a million-row ledger never sits in memory)."""
    query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {TABLES[table]}"
    yield from connection.dialect.stream(connection, query)


def _fill(connection: Any, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    return int(connection.dialect.load_rows(connection.db, table, ", ".join(columns), rows))


def _compare(src: Any, dst: Any, table: str, columns: list[str]) -> int:
    count = 0
    left, right = _rows(src, table, columns), _rows(dst, table, columns)
    for count, (a, b) in enumerate(zip(left, right, strict=False), start=1):
        if tuple(a) != tuple(b):
            raise StoreError(f"{dst.path}: the copy of {table} differs from {src.path} at row {count} ({a[0]!r}); nothing was copied")
    if next(left, None) is not None or next(right, None) is not None:
        raise StoreError(f"{dst.path}: the copy of {table} has a different number of rows than {src.path}; nothing was copied")
    return count
