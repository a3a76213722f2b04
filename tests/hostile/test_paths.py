"""Item 18: an outbox that is a file or someone's folder, and a disk that fills up during `build`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.models import State, Subscriber
from tests.helpers.hostile import NEWSLETTER_SECRET, run
from tests.helpers.namespaces import mount_namespace


@pytest.fixture
def subscribed(in_workspace: Path) -> Path:
    with Database(in_workspace / "subscribers.db") as db:
        db.subscribers.upsert([Subscriber("ada@example.com", "Ada", {}), Subscriber("bob@example.com", "Bob", {})])
    return in_workspace


def nothing_sent(workspace: Path) -> bool:
    with Database(workspace / "subscribers.db") as db:
        return all(count == 0 for state, count in db.ledger.counts("7").items() if state != State.PENDING)


def test_an_outbox_that_is_a_file_is_refused(subscribed: Path, issue_path: Path) -> None:
    (subscribed / "outbox").write_text("my notes\n")
    result = run("send", str(issue_path))
    assert result.exit_code == 1 and "outbox: it is a file, not a folder" in result.output
    assert (subscribed / "outbox").read_text() == "my notes\n" and nothing_sent(subscribed)


def test_an_outbox_folder_of_other_files_is_left_alone(subscribed: Path, issue_path: Path) -> None:
    folder = subscribed / "outbox"
    folder.mkdir()
    (folder / "tax-return.pdf").write_bytes(b"%PDF")
    result = run("send", str(issue_path))
    assert result.exit_code == 1 and "it is a folder of other files (tax-return.pdf), not a Maildir" in result.output
    assert sorted(os.listdir(folder)) == ["tax-return.pdf"] and nothing_sent(subscribed)


def test_an_existing_maildir_with_a_clients_files_is_used(subscribed: Path, issue_path: Path) -> None:
    folder = subscribed / "outbox"
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True)
    (folder / ".mutt-cache").write_text("")
    result = run("send", str(issue_path))
    assert result.exit_code == 0, result.output
    assert len(os.listdir(folder / "new")) == 2


# Runs in a private mount namespace: build once on a roomy tmpfs, fill it up, build a changed issue.
FULL_DISK = textwrap.dedent(
    """
    import json, subprocess, sys
    workspace, newsletter, issue = sys.argv[1:4]
    build = workspace + "/build"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "none", build], check=True)
    first = subprocess.run([newsletter, "build", issue], cwd=workspace, capture_output=True, text=True)
    before = {name: open(build + "/2026-12-01/" + name, "rb").read().hex() for name in ("email.html", "email.txt")}
    subprocess.run(["dd", "if=/dev/zero", "of=" + build + "/filler", "bs=4k", "count=1000"], capture_output=True)
    with open(issue) as f:
        text = f.read()
    with open(issue, "w") as f:
        f.write(text.replace("Robots learn to fold laundry", "Robots fold laundry now"))
    second = subprocess.run([newsletter, "build", issue], cwd=workspace, capture_output=True, text=True)
    after = {name: open(build + "/2026-12-01/" + name, "rb").read().hex() for name in ("email.html", "email.txt")}
    leftovers = [n for n in __import__("os").listdir(build + "/2026-12-01") if n.endswith(".tmp")]
    print(json.dumps([first.returncode, second.returncode, second.stdout + second.stderr, before == after, leftovers]))
    """
)


@pytest.mark.slow
def test_a_full_disk_during_build_is_reported_and_the_last_build_stays(in_workspace: Path, issue_path: Path) -> None:
    namespace = mount_namespace()
    if namespace is None:
        pytest.fail("this test needs `unshare` (util-linux) and either root or unprivileged user namespaces")
    (in_workspace / "build").mkdir()
    newsletter = str(Path(sys.executable).with_name("newsletter"))
    env = {**os.environ, "NEWSLETTER_SECRET": NEWSLETTER_SECRET}
    done = subprocess.run([*namespace, sys.executable, "-c", FULL_DISK, str(in_workspace), newsletter, str(issue_path)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second, output, unchanged, leftovers = json.loads(done.stdout)
    assert first == 0 and second == 1
    assert "No space left on device" in output and "the files that were there are unchanged" in output and "Traceback" not in output
    assert unchanged and leftovers == []
