"""DATABASE_URL as hosting platforms and people write it: libpq's key=value form, and a mistyped
URL. A connection string is never a SQLite file name, and its password is never shown."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from newsletter.db import Database, Server
from tests.helpers.hostile import run
from tests.helpers.workspace import add_config

PASSWORD = "Hunter2-dsn-password-Xq7"


def conninfo(pg_url: str, password: str = PASSWORD) -> str:
    """The test server's database as libpq's key=value string (trust auth ignores the password)."""
    parts = urllib.parse.urlsplit(pg_url)
    socket = urllib.parse.parse_qs(parts.query)["host"][0]
    return f"host={socket} dbname={parts.path.lstrip('/')} user={parts.username} password={password}"


def test_a_libpq_key_value_string_reaches_postgresql(workspace: Path, pg_url: str, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("DATABASE_URL", conninfo(pg_url))
    (workspace / "list.csv").write_text("email,name\nada@example.com,Ada\n", encoding="utf-8")
    imported = run("subscribers", "import", "list.csv")
    assert imported.exit_code == 0, imported.output
    status = run("db", "status")
    assert status.exit_code == 0, status.output
    for result in (imported, status):
        assert PASSWORD not in result.output
    with Database(Server(pg_url)) as db:
        assert db.subscribers.get("ada@example.com") is not None
    assert sorted(path.name for path in workspace.iterdir()) == ["issues", "list.csv", "newsletter.toml", "templates"]  # no SQLite file


def test_a_broken_key_value_string_is_a_sentence_and_no_file(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("DATABASE_URL", f"host=db.internal password={PASSWORD} dbname")
    result = run("subscribers", "list")
    assert result.exit_code != 0
    assert "DATABASE_URL" in result.output and "not a PostgreSQL connection string" in result.output
    assert PASSWORD not in result.output and "bug" not in result.output
    assert sorted(path.name for path in workspace.iterdir()) == ["issues", "newsletter.toml", "templates"]


def test_a_mistyped_ipv6_url_is_a_sentence_not_a_bug(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://news:{PASSWORD}@[::1:8250/newsletter")
    result = run("subscribers", "list")
    assert result.exit_code != 0
    assert "DATABASE_URL" in result.output and "not a valid URL" in result.output
    assert "bug" not in result.output and PASSWORD not in result.output
    assert sorted(path.name for path in workspace.iterdir()) == ["issues", "newsletter.toml", "templates"]


def test_the_same_strings_in_newsletter_toml_are_never_file_names(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    add_config(workspace, f'[subscribers]\ndatabase = "host=db.invalid password={PASSWORD} connect_timeout=1"\n')
    result = run("subscribers", "list")
    assert result.exit_code != 0 and PASSWORD not in result.output
    assert sorted(path.name for path in workspace.iterdir()) == ["issues", "newsletter.toml", "templates"]
