"""A real Postfix for the tests: Debian's `postfix`, a private instance of its own in a temporary
folder (configuration, queue, data and mailboxes), its master a child of the test process, listening
on 127.0.0.1 only, on a port the system had free. It relays nothing anywhere: every domain but the
two below goes to the `error` transport.

- BOUNCE_DOMAIN (news.example.com): the newsletter's bounce address, `bounces@`; with "+" as the
  recipient delimiter, every `bounces+<token>@` lands in that one Maildir.
- READER_DOMAIN (example.com, the test readers' domain): only the mailboxes the test names exist.
  smtpd takes mail for any address there (it does not look recipients up), so a missing one is
  bounced by Postfix after the fact, with a delivery report (RFC 3464) to the envelope sender.

Postfix runs its master as root (it then drops to the `postfix` user the Debian package made); run as
anyone else, the fixture skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MASTER = Path("/usr/lib/postfix/sbin/master")
POSTFIX = "postfix"
BOUNCE_DOMAIN = "news.example.com"
READER_DOMAIN = "example.com"
BOUNCE_ADDRESS = f"bounces@{BOUNCE_DOMAIN}"

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{bounce_domain}
mydomain = {bounce_domain}
myorigin = $mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
relay_domains =
default_transport = error:this test server delivers nothing beyond its two domains
relay_transport = error:this test server relays nothing
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_reject_unlisted_recipient = no
virtual_mailbox_domains = {bounce_domain}, {reader_domain}
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = texthash:{root}/etc/mailboxes
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
recipient_delimiter = +
alias_maps =
alias_database =
local_recipient_maps =
biff = no
notify_classes =
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
in_flow_delay = 0
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}
smtputf8_enable = no
"""

# Only the services this instance needs, none chrooted (a chroot would need copies of /etc files).
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
virtual   unix  - n n -  - virtual
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def available() -> str | None:
    """Why this machine cannot run the test instance, or None when it can."""
    if shutil.which(POSTFIX) is None or not MASTER.exists():
        return "Postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "Postfix's master runs as root; these tests run as another user"
    return None


@dataclass
class Postfix:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    mailboxes: list[str] = field(default_factory=list)

    @property
    def config_directory(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> str:
        path = self.root / "postfix.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def maildir(self, address: str) -> Path:
        """The Maildir an existing mailbox's mail is delivered to."""
        local, _, domain = address.partition("@")
        return self.root / "mail" / domain / local

    def queue_is_empty(self) -> bool:
        found = subprocess.run(["postqueue", "-c", str(self.config_directory), "-j"], capture_output=True, text=True, check=False)
        return found.returncode == 0 and not found.stdout.strip()

    def wait_for_mail(self, address: str, count: int = 1, timeout: float = 10) -> list[Path]:
        """The messages in `address`'s Maildir (new/), once there are `count`."""
        folder = self.maildir(address) / "new"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = sorted(folder.iterdir()) if folder.is_dir() else []
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{address} got {len(found)} message(s) within {timeout:g} s, not {count}; Postfix's log:\n{self.log[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # master stops its children on SIGTERM
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_postfix(mailboxes: list[str]) -> Postfix:
    """A running instance where `mailboxes` (at READER_DOMAIN) and BOUNCE_ADDRESS exist, every other
    address at READER_DOMAIN bounces. Raises RuntimeError (with Postfix's log) if it does not start."""
    import pwd

    root = Path(tempfile.mkdtemp(prefix="newsletter-postfix-"))
    os.chmod(root, 0o755)  # the postfix user walks through it to its queue
    server = Postfix(root, free_port(), mailboxes=[*mailboxes, BOUNCE_ADDRESS])
    account = pwd.getpwnam("postfix")
    etc = server.config_directory
    etc.mkdir()
    values = {"root": root, "bounce_domain": BOUNCE_DOMAIN, "reader_domain": READER_DOMAIN, "uid": account.pw_uid, "gid": account.pw_gid, "port": server.port}
    (etc / "main.cf").write_text(MAIN_CF.format(**values), encoding="utf-8")
    (etc / "master.cf").write_text(MASTER_CF.format(**values), encoding="utf-8")
    # A trailing slash: deliver in Maildir format.
    (etc / "mailboxes").write_text("".join(f"{address} {address.partition('@')[2]}/{address.partition('@')[0]}/\n" for address in server.mailboxes), encoding="utf-8")
    (root / "spool").mkdir()  # root's; `postfix check` makes its folders, each with the owner Postfix wants
    for folder in ("mail", "data"):
        (root / folder).mkdir()
        os.chown(root / folder, account.pw_uid, account.pw_gid)
    try:
        # `postfix check` makes the queue's folders with the owners and modes Postfix wants.
        subprocess.run([POSTFIX, "-c", str(etc), "check"], capture_output=True, check=True, timeout=30)
        server.process = subprocess.Popen([str(MASTER), "-c", str(etc), "-d"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_until_listening(server)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as exc:
        words = exc.stderr.decode(errors="replace") if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else str(exc)
        log = server.log
        server.stop()
        raise RuntimeError(f"Postfix did not start: {words}\n{log[-3000:]}") from None
    return server


def _wait_until_listening(server: Postfix) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(f"master exited ({server.process.returncode}): {server.process.stderr.read().decode(errors='replace') if server.process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as connection:
                if connection.recv(200).startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("Postfix's smtpd did not answer within 10 s")


@pytest.fixture
def postfix():
    """Start Postfix with the mailboxes a test asks for: `server = postfix(["a@example.com"])`.
    Stopped, and its folder removed, when the test ends."""
    problem = available()
    if problem is not None:
        pytest.skip(problem)
    started: list[Postfix] = []

    def start(mailboxes: list[str]) -> Postfix:
        server = start_postfix(mailboxes)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
