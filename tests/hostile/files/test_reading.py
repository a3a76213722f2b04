"""Item 26: every file a user names for reading is a regular file read under a cap. /dev/zero and
a FIFO as a --test-list or a subscriber CSV are refused before reading (they grew to gigabytes or
waited forever), a subscriber CSV is streamed with each line capped, and `publish` does not wait
on a FIFO among the issue files.

The commands run as processes with a deadline and a memory ceiling: an unfixed tool fails the test
instead of hanging it or filling the machine's memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsletter.db import Database
from tests.helpers.hostile import SECRETS, run

DEADLINE = 20  # seconds; a refusal takes well under one
MEMORY = 2 * 1024**3  # bytes of address space for the command


def command(workspace: Path, *args: str) -> tuple[int, str]:
    """Run `newsletter ARGS` in `workspace`; (exit code, stdout + stderr), checked for secrets and tracebacks."""

    def ceiling() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    newsletter = str(Path(sys.executable).with_name("newsletter"))
    done = subprocess.run([newsletter, *args], cwd=workspace, capture_output=True, text=True, timeout=DEADLINE, preexec_fn=ceiling)
    output = done.stdout + done.stderr
    assert "Traceback" not in output and not any(secret in output for secret in SECRETS)
    assert "This is a bug in newsletter" not in output, output
    return done.returncode, output


def subscriber_count(workspace: Path) -> int:
    path = workspace / "subscribers.db"
    if not path.exists():
        return 0
    with Database(path, read_only=True) as db:
        return sum(db.subscribers.counts_by_status().values())


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "list.fifo"
    os.mkfifo(path)
    return path


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("source", ["/dev/zero", "fifo"])
@pytest.mark.slow
def test_a_test_list_that_never_ends_is_refused_before_reading(source: str, in_workspace: Path, issue_path: Path, fifo: Path) -> None:
    path = str(fifo) if source == "fifo" else source
    code, output = command(in_workspace, "send", str(issue_path), "--test-list", path)
    assert code == 2 and f"--test-list {path}: is not a regular file" in output, output
    assert not (in_workspace / "outbox").exists()


def test_a_test_list_over_a_megabyte_is_refused(in_workspace: Path, issue_path: Path) -> None:
    listing = in_workspace / "testers.txt"
    listing.write_text("editor@example.org\n" * 60_000)
    result = run("send", str(issue_path), "--test-list", str(listing))
    assert result.exit_code == 2 and "testers.txt: is 1.1 MB; test lists are at most 1.0 MB" in result.output, result.output


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("source", ["/dev/zero", "fifo"])
@pytest.mark.slow
def test_an_import_that_never_ends_is_refused_before_reading(source: str, in_workspace: Path, fifo: Path) -> None:
    path = str(fifo) if source == "fifo" else source
    code, output = command(in_workspace, "subscribers", "import", path)
    assert code == 1 and f"{path}: is not a regular file" in output, output
    assert subscriber_count(in_workspace) == 0


def test_a_csv_line_over_the_cap_is_refused_with_its_file_and_line(in_workspace: Path) -> None:
    listing = in_workspace / "list.csv"
    listing.write_text("email,name\nada@example.com,Ada\nbob@example.com," + "B" * 1_000_000 + "\ncy@example.com,Cy\n")
    started = time.monotonic()
    result = run("subscribers", "import", str(listing))
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert "list.csv:3: cannot read this line: it is longer than 65,536 characters; lines of a subscriber file are at most that" in result.output, result.output
    assert subscriber_count(in_workspace) == 0  # all or nothing, as for any unreadable line


def test_a_csv_without_line_breaks_is_refused_at_the_header(in_workspace: Path) -> None:
    listing = in_workspace / "list.csv"
    listing.write_bytes(b"email" + b"," * 5_000_000)
    result = run("subscribers", "import", str(listing))
    assert result.exit_code == 1 and "list.csv:1: cannot read the header: it is longer than 65,536 characters" in result.output, result.output


def test_a_long_quoted_field_under_the_cap_still_imports(in_workspace: Path) -> None:
    listing = in_workspace / "list.csv"
    note = "line one\nline two, with a comma\n" + "x" * 30_000
    listing.write_text(f'email,note\nada@example.com,"{note}"\n')
    assert run("subscribers", "import", str(listing)).exit_code == 0
    with Database(in_workspace / "subscribers.db", read_only=True) as db:
        (ada,) = db.subscribers.all()
    assert ada.attributes == {"note": note}


@pytest.mark.slow
def test_publish_does_not_wait_on_a_fifo_among_the_issue_files(in_workspace: Path) -> None:
    os.mkfifo(in_workspace / "issues" / "2026-12-08.yaml")
    code, output = command(in_workspace, "publish")
    assert code == 1 and "2026-12-08.yaml: is not a regular file" in output, output
    assert not (in_workspace / "site").exists()


def test_an_oversized_settings_file_is_refused(in_workspace: Path) -> None:
    config = in_workspace / "newsletter.toml"
    config.write_text(config.read_text() + "#" * 1_100_000 + "\n")
    result = run("subscribers", "list")
    assert result.exit_code == 1 and "newsletter.toml: is 1.1 MB; settings files are at most 1.0 MB" in result.output, result.output
