"""Tests that run each command on both databases: an `env` fixture parametrized over
["sqlite", "postgresql"] returns database_env(request), and database() opens what the commands used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from newsletter.db import Database, Location, Server

BOTH = ["sqlite", "postgresql"]


def database_env(request: Any) -> Mapping[str, str]:
    """The environment each command runs in: nothing for the workspace's SQLite file, or DATABASE_URL
    of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    return {"DATABASE_URL": request.getfixturevalue("pg_url")}


def database(workspace: Path, env: Mapping[str, str]) -> Database:
    """The database the commands run with `env` used."""
    location: Location = Server(env["DATABASE_URL"]) if "DATABASE_URL" in env else workspace / "subscribers.db"
    return Database(location)
