"""Item 15: every path a user names for output goes through the one writer. A device, a FIFO, a
folder or a symbolic link is never replaced (a link is written through with --follow-symlinks
only), no missing folder is created, and `-` is standard output. Each refusal is a sentence naming
the path, exit 1, and nothing written."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import Subscriber
from tests.helpers.hostile import run

OUTPUTS = [("report", "--html"), ("subscribers export", "--out")]


@pytest.fixture
def listed(in_workspace: Path) -> Path:
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("ada@example.com", "Ada", {}), Subscriber("bob@example.com", "Bob", {})])
    return in_workspace


def write(command: str, option: str, path: Path | str, *more: str):
    return run(*command.split(), option, str(path), *more)


def refused(result, path: Path, why: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"{path}: {why}" in result.output and "nothing was written" in result.output, result.output


@pytest.mark.parametrize(("command", "option"), OUTPUTS)
def test_a_fifo_is_refused_and_stays_a_fifo(command: str, option: str, listed: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    refused(write(command, option, fifo), fifo, "is not a regular file")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize(("command", "option"), OUTPUTS)
def test_a_device_is_refused_and_stays_a_device(command: str, option: str, listed: Path, tmp_path: Path) -> None:
    device = tmp_path / "full"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # the numbers of /dev/full, made here
    refused(write(command, option, device), device, "is not a regular file")
    assert stat.S_ISCHR(device.lstat().st_mode)


@pytest.mark.slow
@pytest.mark.parametrize(("command", "option"), OUTPUTS)
def test_a_symlink_is_refused_unless_followed_on_request(command: str, option: str, listed: Path, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("my notes\n")
    link = tmp_path / "out.link"
    link.symlink_to(target)
    result = write(command, option, link)
    refused(result, link, "is a symbolic link")
    assert "--follow-symlinks" in result.output
    assert link.is_symlink() and os.readlink(link) == str(target) and target.read_text() == "my notes\n"

    assert write(command, option, link, "--follow-symlinks").exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != "my notes\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(("command", "option"), OUTPUTS)
def test_a_followed_symlink_to_a_device_is_still_refused(command: str, option: str, listed: Path, tmp_path: Path) -> None:
    link = tmp_path / "out.link"
    link.symlink_to("/dev/full")
    result = write(command, option, link, "--follow-symlinks")
    refused(result, Path("/dev/full"), "is not a regular file")
    assert link.is_symlink()


@pytest.mark.parametrize(("command", "option"), OUTPUTS)
def test_a_missing_folder_is_an_error_and_is_not_created(command: str, option: str, listed: Path, tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "folder" / "out.txt"
    result = write(command, option, path)
    refused(result, path, f"the folder {path.parent} does not exist")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(("command", "option"), OUTPUTS)
def test_an_existing_file_is_replaced_whole_and_keeps_its_permissions(command: str, option: str, listed: Path, tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    path.chmod(0o640)
    assert write(command, option, path).exit_code == 0
    assert path.read_text() != "old\n" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_dash_is_standard_output(listed: Path) -> None:
    exported = run("subscribers", "export", "--out", "-")
    assert exported.exit_code == 0
    assert [row[0] for row in csv.reader(io.StringIO(exported.stdout))] == ["email", "ada@example.com", "bob@example.com"]
    page = run("report", "--html", "-")
    assert page.exit_code == 0 and page.stdout.startswith("<!DOCTYPE html>") and page.stdout.rstrip().endswith("</html>")
    assert not (listed / "-").exists()


@pytest.mark.parametrize("command", ["build", "publish"])
def test_an_output_folder_may_be_new_but_not_its_parent(command: str, listed: Path, issue_path: Path, tmp_path: Path) -> None:
    args = [command, *([str(issue_path)] if command == "build" else [])]
    missing = tmp_path / "no" / "out"
    result = run(*args, "--out", str(missing))
    assert result.exit_code == 1 and f"{missing}: its folder {missing.parent} does not exist" in result.output, result.output
    assert not (tmp_path / "no").exists()
    assert run(*args, "--out", str(tmp_path / "out")).exit_code == 0
    assert any((tmp_path / "out").iterdir())


def test_a_build_never_replaces_a_fifo_in_its_folder(listed: Path, issue_path: Path) -> None:
    folder = listed / "build" / "2026-12-01"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "email.txt")
    result = run("build", str(issue_path))
    refused(result, folder / "email.txt", "is not a regular file")
    assert sorted(p.name for p in folder.iterdir()) == ["email.txt"]  # not even the other three


def test_a_build_sweeps_what_a_dead_build_left(listed: Path, issue_path: Path) -> None:
    folder = listed / "build" / "2026-12-01"
    folder.mkdir(parents=True)
    (folder / ".email.html.k3j9x0_a.tmp").write_text("half an email")
    assert run("build", str(issue_path)).exit_code == 0
    assert sorted(os.listdir(folder)) == ["email.eml", "email.html", "email.txt", "web.html"]


INIT = ["--name", "Harbour Notes", "--sender-name", "Ana", "--sender", "ana@example.org", "--postal-address", "2 Quay Road, Portsmouth", "--archive-url", "https://example.org/archive"]


@pytest.mark.slow
def test_init_neither_waits_on_nor_replaces_a_fifo_or_a_link(tmp_path: Path) -> None:
    # A process with a deadline: reading the FIFO to keep its old bytes waited forever.
    newsletter = str(Path(sys.executable).with_name("newsletter"))
    for kind in ("fifo", "link"):
        folder = tmp_path / kind
        folder.mkdir()
        ignore = folder / ".gitignore"
        if kind == "fifo":
            os.mkfifo(ignore)
        else:
            (tmp_path / "dotfiles-gitignore").write_text("*.pyc\n")
            ignore.symlink_to(tmp_path / "dotfiles-gitignore")
        done = subprocess.run([newsletter, "init", str(folder), *INIT], capture_output=True, text=True, timeout=20)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"{ignore}: is {'not a regular file' if kind == 'fifo' else 'a symbolic link'}" in done.stderr, done.stderr
        assert sorted(os.listdir(folder)) == [".gitignore"]  # the workspace was not made, nor half made
        assert stat.S_ISFIFO(ignore.lstat().st_mode) if kind == "fifo" else ignore.is_symlink()
