"""Item 17: a subscriber database that is damaged, not a database, read-only, a folder, newer
than the tool, or locked by another program. Each is a sentence naming the file, exit 1, and
nothing changed; the read-only commands still work on a database they may not write."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from newsletter.db import Database, StoreError, connection
from newsletter.db.migrations import SCHEMA_VERSION
from newsletter.models import Subscriber
from tests.helpers.hostile import NEWSLETTER_SECRET, run
from tests.helpers.namespaces import mount_namespace
from tests.helpers.workspace import add_config


@pytest.fixture
def database(in_workspace: Path) -> Path:
    path = in_workspace / "subscribers.db"
    with Database(path) as db:
        db.subscribers.upsert([Subscriber("ada@example.com", "Ada", {}), Subscriber("bob@example.com", "Bob", {})])
    return path


def refused(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 1, result.output
    return result.output


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: os.urandom(8192), id="random bytes"),
        pytest.param(lambda data: data[:3000], id="truncated"),
        pytest.param(lambda data: b"email,name\nada@example.com,Ada\n", id="a CSV file"),
    ],
)
@pytest.mark.parametrize("command", [("subscribers", "list"), ("subscribers", "add", "cy@example.com"), ("status", "issues/2026-12-01.yaml")])
def test_a_damaged_database_is_named_and_left_alone(damage, command: tuple[str, ...], database: Path) -> None:
    database.write_bytes(damage(database.read_bytes()))
    before = database.read_bytes()
    output = refused(*command)
    assert f"{database}: is not a subscriber database, or it is damaged" in output and "restore the file from a backup" in output
    assert database.read_bytes() == before


def test_a_system_file_is_not_taken_for_a_database(in_workspace: Path) -> None:
    before = Path("/etc/passwd").read_bytes()
    add_config(in_workspace, '[subscribers]\ndatabase = "/etc/passwd"')
    assert "/etc/passwd: is not a subscriber database" in refused("subscribers", "add", "cy@example.com")
    assert Path("/etc/passwd").read_bytes() == before


def test_a_folder_where_the_database_should_be(in_workspace: Path) -> None:
    (in_workspace / "subscribers.db").mkdir()
    assert "subscribers.db: is a folder, not a subscriber database" in refused("subscribers", "list")


def test_a_database_from_a_newer_version_is_not_touched(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = database.read_bytes()
    assert "was written by a newer version of newsletter" in refused("subscribers", "list")
    assert database.read_bytes() == before


@pytest.mark.slow
def test_a_locked_database_says_who_holds_it(database: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(connection, "BUSY_SECONDS", 1.0)
    holder = textwrap.dedent(
        f"""
        import sqlite3, sys, time
        db = sqlite3.connect({str(database)!r}, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE subscribers SET name = 'Held' WHERE email = 'ada@example.com'")
        print("holding", flush=True)
        time.sleep(30)
        """
    )
    script = tmp_path / "holder.py"
    script.write_text(holder)
    process = subprocess.Popen([sys.executable, str(script), "--label-for-the-test"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline() == "holding\n"
        started = time.monotonic()
        output = refused("subscribers", "add", "cy@example.com")
        assert time.monotonic() - started < 10
        assert "another program is writing the subscriber database" in output
        assert f"(pid {process.pid})" in output and "--label-for-the-test" in output
        # Reading needs no lock: the list still answers, without the holder's unfinished change.
        listed = run("subscribers", "list", "--status", "active")
        assert listed.exit_code == 0 and "ada@example.com" in listed.output
    finally:
        process.kill()
        process.wait()
    with Database(database) as db:
        assert db.subscribers.get("cy@example.com") is None and db.subscribers.get("ada@example.com").name == "Ada"


# Runs inside a private mount namespace, where the workspace is made read-only for everyone,
# root included: the commands that only read must work, the ones that write must say why not.
READ_ONLY = textwrap.dedent(
    """
    import json, subprocess, sys
    workspace, commands = sys.argv[1], json.loads(sys.argv[2])
    subprocess.run(["mount", "--bind", workspace, workspace], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", workspace], check=True)
    runs = [subprocess.run(command, cwd=workspace, capture_output=True, text=True) for command in commands]
    print(json.dumps([[r.returncode, r.stdout + r.stderr] for r in runs]))
    """
)


@pytest.mark.slow
def test_the_reading_commands_work_on_a_read_only_disk(database: Path, in_workspace: Path) -> None:
    namespace = mount_namespace()
    if namespace is None:
        pytest.fail("this test needs `unshare` (util-linux) and either root or unprivileged user namespaces")
    newsletter = str(Path(sys.executable).with_name("newsletter"))
    commands = [
        [newsletter, "subscribers", "list", "--status", "active"],
        [newsletter, "subscribers", "export"],
        [newsletter, "status", "issues/2026-12-01.yaml"],
        [newsletter, "send", "issues/2026-12-01.yaml", "--dry-run"],
        [newsletter, "subscribers", "add", "cy@example.com"],
    ]
    env = {**os.environ, "NEWSLETTER_SECRET": NEWSLETTER_SECRET}
    done = subprocess.run([*namespace, sys.executable, "-c", READ_ONLY, str(in_workspace), json.dumps(commands)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    (listed, exported, status, dry_run, add) = json.loads(done.stdout)
    assert listed[0] == 0 and "ada@example.com" in listed[1] and "bob@example.com" in listed[1]
    assert exported[0] == 0 and exported[1].count("@example.com") == 2
    assert status[0] == 0 and "Issue 7" in status[1]
    # the plan is shown; the outbox on this read-only disk would refuse the real send, and the dry run says so
    assert dry_run[0] == 1 and "would be sent now: 2" in dry_run[1] and "cannot write to the outbox" in dry_run[1]
    assert add[0] == 1 and "read-only" in add[1] and "Traceback" not in add[1]
    for _, output in (listed, exported, status, dry_run, add):
        assert NEWSLETTER_SECRET not in output


@pytest.mark.slow
def test_first_connections_at_once_to_a_new_database_all_open(tmp_path: Path) -> None:
    """Four web requests (or commands) opening a database that does not exist yet: each one
    creates, switches to WAL and migrates it, or waits for the one that does; none is refused."""
    import threading

    failures: list[str] = []
    for attempt in range(40):
        path = tmp_path / f"new-{attempt}.db"
        barrier = threading.Barrier(4)

        def open_and_sign_up(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                with Database(path) as db, db.transaction():
                    db.subscribers.sign_up("first@example.com", None)
            except StoreError as exc:
                failures.append(str(exc))

        threads = [threading.Thread(target=open_and_sign_up) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
