"""A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`), a private instance in a
temporary folder, its master a child of the test process, on 127.0.0.1 at a port the system had
free, without TLS (the client allows that to this machine only). One account, USERNAME with PASSWORD;
its mail is a Maildir under the folder, owned by `nobody`. Run as anyone but root, the fixture skips
(Dovecot's master starts as root, then drops to its own users)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

USERNAME = "bounces"
PASSWORD = "bounce-box-password-for-tests"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{root}/home/%u
first_valid_uid = 1
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


def available() -> str | None:
    if shutil.which("dovecot") is None:
        return "Dovecot is not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "Dovecot's master starts as root; these tests run as another user"
    return None


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot() -> Dovecot:
    root = Path(tempfile.mkdtemp(prefix="newsletter-dovecot-"))
    os.chmod(root, 0o755)
    owner = pwd.getpwnam("nobody")
    for folder in ("run", "state", "home"):
        (root / folder).mkdir()
    os.chown(root / "home", owner.pw_uid, owner.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, port=port, password=PASSWORD, uid=owner.pw_uid, gid=owner.pw_gid), encoding="utf-8")
    process = subprocess.Popen(["dovecot", "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dovecot(root, port, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            words = process.stderr.read().decode(errors="replace") if process.stderr else ""
            server.stop()
            raise RuntimeError(f"Dovecot exited ({process.returncode}): {words}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(200).startswith(b"* OK"):
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"Dovecot did not answer within 10 s: {server.log[-2000:]}")


@pytest.fixture
def dovecot():
    """A running Dovecot with one empty mailbox (USERNAME, PASSWORD), stopped and removed after the test."""
    problem = available()
    if problem is not None:
        pytest.skip(problem)
    server = start_dovecot()
    yield server
    server.stop()
