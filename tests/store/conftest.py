"""The store contract runs on both databases: `location` is a fresh SQLite file, then a fresh
PostgreSQL database on the test server (tests/helpers/postgres_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.db import Location, Server


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path: Path) -> Location:
    if request.param == "sqlite":
        return tmp_path / "subscribers.db"
    return Server(request.getfixturevalue("pg_url"))
