"""The outbox on a disk that fills up mid-batch, then gets space back: nobody twice, nobody lost.

The outbox folder is a small tmpfs mounted in a private mount namespace (`unshare`), as root or in
an unprivileged user namespace, so the test needs no set-up and leaves nothing mounted behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from newsletter.db import Database
from newsletter.issue.prepare import prepare_issue
from newsletter.mail.message import MessageTemplate
from newsletter.models import Letter, State
from tests.helpers.namespaces import mount_namespace
from tests.helpers.workspace import SECRET, add_subscribers

pytestmark = pytest.mark.slow  # a real full disk, then a rerun

SUBSCRIBERS = 40
FITS = 15  # messages the small disk holds

# Runs inside the new mount namespace: mount a small tmpfs on the outbox, send (the disk fills),
# give the tmpfs room, send again, and copy what was delivered out to the real disk.
SCENARIO = textwrap.dedent(
    """
    import json, shutil, subprocess, sys
    workspace, size, command = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    outbox = workspace + "/outbox"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "none", outbox], check=True)
    runs = [subprocess.run(command, cwd=workspace, capture_output=True, text=True)]
    subprocess.run(["mount", "-o", "remount,size=64m", outbox], check=True)  # space freed
    runs.append(subprocess.run(command, cwd=workspace, capture_output=True, text=True))
    shutil.copytree(outbox + "/new", workspace + "/delivered")
    print(json.dumps([[r.returncode, r.stdout, r.stderr] for r in runs]))
    """
)


def test_a_full_outbox_disk_delivers_what_fits_and_the_rerun_sends_the_rest_once(workspace: Path, issue_path: Path) -> None:
    namespace = mount_namespace()
    if namespace is None:
        pytest.fail("this test needs `unshare` (util-linux) and either root or unprivileged user namespaces")
    emails = add_subscribers(workspace, SUBSCRIBERS)
    (workspace / "outbox").mkdir()
    prepared = prepare_issue(issue_path)
    one = MessageTemplate(prepared.email, prepared.workspace.config).render(Letter(emails[0], "Reader 0", "https://x.example/u?token=" + "t" * 40))
    pages = -(-len(one) // 4096) + 1  # tmpfs counts whole pages; a little slack per file
    size = f"{FITS * pages * 4}k"

    env = dict(os.environ, NEWSLETTER_SECRET=SECRET)
    command = [sys.executable, "-m", "newsletter", "send", str(issue_path)]
    done = subprocess.run([*namespace, sys.executable, "-c", SCENARIO, str(workspace), size, json.dumps(command)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (first_code, first_out, first_err), (second_code, second_out, second_err) = json.loads(done.stdout)

    assert first_code == 1
    assert "cannot write to the outbox" in first_err and "No space left on device" in first_err
    first_ledger = next(line for line in first_out.splitlines() if line.startswith("Ledger:"))
    counts = {state: int(count) for count, state in re.findall(r"(\d+) (\w+)", first_ledger)}
    assert 0 < counts["sent"] < SUBSCRIBERS and counts["sent"] + counts["pending"] == SUBSCRIBERS, first_ledger  # filled mid-batch
    assert "Traceback" not in first_err + second_err
    assert second_code == 0, second_err
    assert f"Ledger: {SUBSCRIBERS} sent" in second_out

    import email
    import email.policy

    received = []
    for path in (workspace / "delivered").iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        received.append(message["To"].addresses[0].addr_spec)
    assert sorted(received) == emails  # each subscriber exactly once
    with Database(workspace / "subscribers.db") as db:
        assert db.ledger.counts("7")[State.SENT] == SUBSCRIBERS
