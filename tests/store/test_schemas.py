"""SQLite's and PostgreSQL's schema steps make the same tables: after every step, table by table,
the same columns in the same order, of matching types, NOT NULL and defaults alike, the same
primary keys, CHECK constraints and indexes. `db copy` moves rows between the two column for
column, and a step written for one database only would break it (or lose a rule) unseen."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from newsletter.db.dialect import POSTGRES, SQLITE
from newsletter.db.migrations import TABLES

# Each database's words for a column's type, as one kind. SQLite's INTEGER is 64 bits wide, and
# PostgreSQL's ids (bigint) and counters (integer) both hold what it holds.
KINDS = {"INTEGER": "integer", "TEXT": "text", "REAL": "real", "integer": "integer", "bigint": "integer", "text": "text", "double precision": "real"}
LITERAL = re.compile(r"'((?:[^']|'')*)'")
CAST = re.compile(r"::[a-z ]+(\[\])?")


@dataclass
class Table:
    columns: list[tuple[str, str, bool, str | None]] = field(default_factory=list)  # name, kind, not null, default
    primary_key: tuple[str, ...] = ()
    checks: set[tuple[frozenset[str], frozenset[str]]] = field(default_factory=set)  # constrained columns, allowed values
    indexes: dict[str, tuple[bool, tuple[str, ...], str]] = field(default_factory=dict)  # name: unique, columns, partial WHERE


def test_the_schema_step_counts_match() -> None:
    assert len(SQLITE.migrations) == len(POSTGRES.migrations) == SQLITE.schema_version == POSTGRES.schema_version


def test_both_databases_have_the_same_tables_after_every_step(pg_url: str, tmp_path: Path) -> None:
    lite = sqlite3.connect(tmp_path / "schema.db", isolation_level=None)
    with psycopg.connect(pg_url, autocommit=True) as pg:
        for number, (sqlite_step, postgres_step) in enumerate(zip(SQLITE.migrations, POSTGRES.migrations, strict=True), start=1):
            SQLITE.run_step(lite, sqlite_step)
            pg.execute(postgres_step)
            mine, theirs = sqlite_schema(lite), postgres_schema(pg)
            assert sorted(mine) == sorted(theirs), f"schema {number}: the tables differ"
            for table in mine:
                assert mine[table] == theirs[table], f"schema {number}: table {table} differs (left: SQLite, right: PostgreSQL)"
            assert all(kind != "text" or collation == "C" for (kind, collation) in text_collations(pg)), "PostgreSQL compares text byte by byte, as SQLite does"
    lite.close()
    assert sorted(mine) == sorted(TABLES), "`db copy` copies every table (migrations.TABLES)"


def sqlite_schema(db: sqlite3.Connection) -> dict[str, Table]:
    tables = {}
    for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
        table = Table()
        info = db.execute(f"PRAGMA table_info({name})").fetchall()
        for _, column, declared, not_null, default, in_key in info:
            table.columns.append((column, kind_of(declared), bool(not_null or in_key), default))
        table.primary_key = tuple(column for *_, column in sorted((in_key, column) for _, column, _, _, _, in_key in info if in_key))
        names = {column for column, *_ in table.columns}
        table.checks = {constraint(text, names) for text in checks_in(sql)}
        for index, index_sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (name,)):
            columns = tuple(row[2] for row in db.execute(f"PRAGMA index_info({index})"))
            table.indexes[index] = (index_sql.upper().startswith("CREATE UNIQUE"), columns, partial(index_sql))
        tables[name] = table
    return tables


def postgres_schema(db: psycopg.Connection) -> dict[str, Table]:
    tables = {}
    names = [name for (name,) in db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name != 'newsletter_schema'"
    )]
    for name in names:
        table = Table()
        for column, kind, nullable, default in db.execute(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
            (name,),
        ):
            table.columns.append((column, kind_of(kind), nullable == "NO", CAST.sub("", default) if default is not None else None))
        table.primary_key = tuple(column for (column,) in db.execute(
            """SELECT k.column_name FROM information_schema.table_constraints c
               JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
               WHERE c.table_schema = 'public' AND c.table_name = %s AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position""",
            (name,),
        ))
        columns = {column for column, *_ in table.columns}
        table.checks = {
            constraint(text, columns)
            for (text,) in db.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'", (name,))
        }
        for index, unique, index_columns, predicate in db.execute(
            """SELECT i.relname, x.indisunique,
                      array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, position)
                            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.position),
                      pg_get_expr(x.indpred, x.indrelid)
               FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = %s::regclass AND NOT x.indisprimary""",
            (name,),
        ):
            table.indexes[index] = (unique, tuple(index_columns), normalized(predicate or ""))
        tables[name] = table
    return tables


def text_collations(db: psycopg.Connection) -> list[tuple[str, str | None]]:
    rows = db.execute("SELECT data_type, collation_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name != 'newsletter_schema'")
    return [(kind_of(kind), collation) for kind, collation in rows]


def kind_of(declared: str) -> str:
    return KINDS.get(declared, declared)  # a type not mapped must be spelt the same on both


def checks_in(sql: str) -> list[str]:
    """The text inside each CHECK ( ... ) of a CREATE TABLE statement."""
    found = []
    for match in re.finditer(r"\bCHECK\s*\(", sql, re.IGNORECASE):
        depth, start = 1, match.end()
        for position in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[position], 0)
            if depth == 0:
                found.append(sql[start:position])
                break
    return found


def constraint(text: str, columns: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """A CHECK as the columns it names and the values it allows, however it is spelt: `x IN
    ('a', 'b')`, `x = 'a' OR x = 'b'`, or PostgreSQL's `x = ANY (ARRAY['a'::text, 'b'::text])`."""
    values = frozenset(LITERAL.findall(text))
    words = set(re.findall(r"[a-z_]+", LITERAL.sub("", text)))
    return frozenset(words & columns), values


def partial(index_sql: str) -> str:
    where = re.split(r"\bWHERE\b", index_sql, maxsplit=1, flags=re.IGNORECASE)
    return normalized(where[1]) if len(where) == 2 else ""


def normalized(condition: str) -> str:
    """A partial index's condition without casts, brackets or spacing: `(state = 'x'::text)` is `state = 'x'`."""
    return " ".join(CAST.sub("", condition).replace("(", " ").replace(")", " ").split()).lower()
