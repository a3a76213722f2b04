"""`newsletter db migrate | status | copy`, and choosing PostgreSQL in newsletter.toml or DATABASE_URL,
as an editor runs them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from newsletter.db import Database, Server
from newsletter.models import Status, Subscriber
from tests.helpers.cli import run
from tests.helpers.workspace import add_config

CSV = "email,name\nada@example.com,Ada\nbo@example.com,Bo\n"


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.replace("@", f":{password}@", 1)))


def test_migrate_creates_then_has_nothing_to_do(in_workspace: Path) -> None:
    first = run("db", "migrate")
    assert first.exit_code == 0, first.output
    assert "created at schema" in first.output
    assert "already at schema" in run("db", "migrate").output


def test_status_before_and_after_an_import(in_workspace: Path) -> None:
    before = run("db", "status")
    assert before.exit_code == 0 and "no database yet" in before.output
    assert not (in_workspace / "subscribers.db").exists()  # looking created nothing
    (in_workspace / "people.csv").write_text(CSV)
    assert run("subscribers", "import", "people.csv").exit_code == 0
    after = run("db", "status")
    assert "Kind: SQLite" in after.output and "Subscribers: 2 (2 active)" in after.output


def test_database_url_selects_postgresql_and_its_password_is_never_shown(in_workspace: Path, pg_url: str) -> None:
    secret_url = with_password(pg_url, "s3cret-pw")  # the test server trusts its socket, so any password works
    env = {"DATABASE_URL": secret_url}
    (in_workspace / "people.csv").write_text(CSV)
    imported = run("subscribers", "import", "people.csv", env=env)
    status = run("db", "status", env=env)
    for result in (imported, status):
        assert result.exit_code == 0, result.output
        assert "s3cret-pw" not in result.output
    assert "Kind: PostgreSQL" in status.output and "Subscribers: 2 (2 active)" in status.output
    assert "***" in status.output
    assert not (in_workspace / "subscribers.db").exists()
    with Database(Server(pg_url)) as db:
        assert [s.email for s in db.subscribers.all()] == ["ada@example.com", "bo@example.com"]


def test_a_password_in_newsletter_toml_is_refused(in_workspace: Path, pg_url: str) -> None:
    add_config(in_workspace, f'[subscribers]\ndatabase = "{with_password(pg_url, "hunter2")}"\n')
    result = run("db", "status")
    assert result.exit_code != 0
    assert "newsletter.toml" in result.output and "subscribers.database" in result.output and "PGPASSWORD" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_postgresql_named_in_newsletter_toml(in_workspace: Path, pg_url: str) -> None:
    add_config(in_workspace, f'[subscribers]\ndatabase = "{pg_url}"\n')
    assert run("subscribers", "add", "cy@example.com").exit_code == 0
    assert "Subscribers: 1 (1 active)" in run("db", "status").output


def test_copy_to_postgresql_and_back_from_the_command_line(in_workspace: Path, pg_url: str) -> None:
    (in_workspace / "people.csv").write_text(CSV)
    run("subscribers", "import", "people.csv")
    there = run("db", "copy", "subscribers.db", pg_url)
    assert there.exit_code == 0, there.output
    assert "every table compares equal" in there.output and "subscribers: 2" in there.output
    back = run("db", "copy", pg_url, "sqlite:///back.db")
    assert back.exit_code == 0, back.output
    with Database(in_workspace / "back.db") as db:
        assert [s.email for s in db.subscribers.all()] == ["ada@example.com", "bo@example.com"]
    again = run("db", "copy", "subscribers.db", pg_url)
    assert again.exit_code == 1 and "not empty" in again.output and "Traceback" not in again.output


def test_copy_to_an_unreachable_server_says_so_and_leaves_nothing(in_workspace: Path) -> None:
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("ada@example.com", None, {}, Status.ACTIVE)])
    nowhere = f"postgresql://nobody@/db?host={in_workspace / 'no-socket-here'}"
    result = run("db", "copy", "subscribers.db", nowhere)
    assert result.exit_code == 1
    assert "cannot reach the PostgreSQL database" in result.output and "Traceback" not in result.output
    failed_back = run("db", "copy", nowhere, "copy.db")
    assert failed_back.exit_code == 1 and not (in_workspace / "copy.db").exists()


def test_an_unknown_scheme_is_a_clear_error(in_workspace: Path) -> None:
    result = run("db", "status", env={"DATABASE_URL": "mysql://user@host/db"})
    assert result.exit_code == 1 and "DATABASE_URL" in result.output and "postgresql://" in result.output


def test_worker_needs_postgresql(in_workspace: Path) -> None:
    result = run("send", "issues/2026-12-01.yaml", "--worker", env={"NEWSLETTER_SECRET": "a-long-secret-used-only-by-the-tests"})
    assert result.exit_code == 1
    assert "--worker needs a PostgreSQL database" in result.output and "Traceback" not in result.output


def test_export_from_postgresql_streams_every_subscriber_in_order(in_workspace: Path, pg_url: str) -> None:
    rows = "".join(f"reader{n:04d}@example.com,Reader {n}\n" for n in range(2500))
    (in_workspace / "people.csv").write_text("email,name\n" + rows)
    env = {"DATABASE_URL": pg_url}
    assert run("subscribers", "import", "people.csv", env=env).exit_code == 0
    exported = run("subscribers", "export", "--out", "out.csv", env=env)
    assert exported.exit_code == 0, exported.output
    lines = (in_workspace / "out.csv").read_text().splitlines()
    assert len(lines) == 2501 and lines[1].startswith("reader0000@example.com,Reader 0,active,")
    assert [line.split(",")[0] for line in lines[1:]] == [f"reader{n:04d}@example.com" for n in range(2500)]
