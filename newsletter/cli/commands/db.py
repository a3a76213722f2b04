"""`newsletter db migrate | status | copy`: the subscriber database itself (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ...db import Database, Location


@click.group()
def db() -> None:
    """The subscriber database: upgrade it, see where it is, or copy it to another one."""


def _workspace_database() -> Location:
    from ...workspace.config import load_workspace

    return load_workspace(Path.cwd()).database


def _shown(location: Location) -> str:
    from ...workspace.database import Server
    from ..main import display_path

    return f"PostgreSQL {location}" if isinstance(location, Server) else display_path(location)


def _location(value: str) -> Location:
    """A database named on the command line: a path (relative to here), sqlite:///path or a postgresql:// URL."""
    from ...errors import NewsletterError
    from ...workspace.database import locate

    try:
        return locate(value, Path.cwd(), environ={})
    except NewsletterError as exc:
        raise click.BadParameter(str(exc)) from None


@db.command()
def migrate() -> None:
    """Create the database, or bring it up to this version's schema (each step all or nothing)."""
    from ...db import Database
    from ...db.migrations import SCHEMA_VERSION

    location = _workspace_database()
    with Database(location) as opened:
        before = opened.connection.migrated_from
    if before == SCHEMA_VERSION:
        click.echo(f"{_shown(location)}: already at schema {SCHEMA_VERSION}; nothing to do.")
    elif before == 0:
        click.echo(f"{_shown(location)}: created at schema {SCHEMA_VERSION}.")
    else:
        click.echo(f"{_shown(location)}: upgraded from schema {before} to {SCHEMA_VERSION}.")


@db.command()
def status() -> None:
    """Which database the workspace uses, its schema, and how many subscribers and ledger rows it holds."""
    from ...db import Database
    from ...workspace.database import Server

    location = _workspace_database()
    if not isinstance(location, Server) and not location.exists():
        click.echo(f"{_shown(location)}: no database yet (`newsletter db migrate` or the first `subscribers import` creates it).")
        return
    with Database(location, read_only=True) as opened:
        click.echo(_summary(_shown(location), opened))


def _summary(name: str, opened: Database) -> str:
    from ...db.migrations import SCHEMA_VERSION

    connection = opened.connection
    counts = opened.subscribers.counts_by_status()
    people = ", ".join(f"{count:,} {status}" for status, count in counts.items() if count) or "none"
    issues = opened.reports.issues()
    upgraded = f" (upgraded from {connection.migrated_from} just now)" if 0 < connection.migrated_from < SCHEMA_VERSION else ""
    lines = [
        f"Database: {name}",
        f"Kind: {connection.dialect.label}{', read-only' if opened.read_only else ''}",
        f"Schema: {connection.version()} (this version's){upgraded}",
        f"Subscribers: {sum(counts.values()):,} ({people})",
        f"Issues in the ledger: {len(issues)}" + (f" (latest {issues[-1][0]})" if issues else ""),
    ]
    return "\n".join(lines)


@db.command()
@click.argument("source")
@click.argument("destination")
def copy(source: str, destination: str) -> None:
    """Copy every table of SOURCE into DESTINATION, an empty database, and compare them row by row.

    Each is a SQLite path, sqlite:///path or postgresql://user@host/dbname (the password from
    PGPASSWORD or ~/.pgpass). Nothing is committed unless every table compares equal; SOURCE is
    only read (and upgraded first if an older version wrote it)."""
    from ...db import Database, NoDatabase
    from ...db.copying import copy_database
    from ...workspace.database import Server

    src, dst = _location(source), _location(destination)
    if str(src) == str(dst):
        raise click.BadParameter("SOURCE and DESTINATION are the same database")
    if not isinstance(src, Server) and not src.is_file():
        raise NoDatabase(f"{src}: there is no subscriber database there")
    made_here = dst if isinstance(dst, Path) and not dst.exists() else None
    try:
        with Database(src, create=False) as from_db, Database(dst) as to_db:
            report = copy_database(from_db, to_db)
    except BaseException:
        if made_here is not None:  # a failed copy leaves no half-filled (or empty) file behind
            for leftover in (made_here, made_here.with_name(made_here.name + "-wal"), made_here.with_name(made_here.name + "-shm")):
                leftover.unlink(missing_ok=True)
        raise
    total = sum(report.rows.values())
    click.echo(f"Copied {total:,} rows from {_shown(src)} to {_shown(dst)}, and every table compares equal:")
    for table, rows in report.rows.items():
        click.echo(f"  {table}: {rows:,}")
    click.echo("Point [subscribers] database in newsletter.toml (or DATABASE_URL) at the copy to use it.")
