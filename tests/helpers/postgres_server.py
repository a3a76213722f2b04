"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries, a data folder and a
socket in a temporary folder, no TCP port. Run as root (as CI does), the server runs as the
unprivileged `postgres` user, which refuses to start as root anyway."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "newsletter"  # the database role the tests connect as (a superuser of this throw-away server)


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first (None: not installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]), reverse=True)
    return Path(found[0]).parent if found else None


@dataclass
class Server:
    bin: Path
    root: Path  # holds data/ and the socket
    run_as: list[str]  # the command prefix that runs a binary as the server's user

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@/{database}?host={self.socket_dir}"

    def start(self) -> None:
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8")
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        """Stop the server and remove its folder: each run's databases would otherwise stay on disk
        (a benchmark leaves a gigabyte; hundreds of runs filled /tmp)."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """Restart the server as an upgrade or a failover would: every open connection is cut."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"), "-m", "fast", "-w", "restart")

    def new_database(self) -> str:
        """A fresh, empty database on this server; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        done = subprocess.run([*self.run_as, str(self.bin / program), *args], capture_output=True, text=True, cwd=self.root)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")


def start_server() -> Server:
    """Start a throw-away server. Raises RuntimeError when it cannot run here."""
    found = binaries()
    if found is None:
        raise RuntimeError("PostgreSQL's server binaries are not installed (Debian package `postgresql`)")
    root = Path(tempfile.mkdtemp(prefix="newsletter-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server will not run as root: hand the folder to an unprivileged user
        user = "postgres" if _user_exists("postgres") else "nobody"
        account = pwd.getpwnam(user)
        os.chmod(root, 0o755)
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = ["runuser", "-u", user, "--"]
    (root / "socket").mkdir()
    if run_as:
        shutil.chown(root / "socket", user=run_as[2])
    server = Server(found, root, run_as)
    server.start()
    return server


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL server for the whole run, or a skip naming the reason where Debian's
    `postgresql` package is not installed."""
    if binaries() is None:
        pytest.skip("PostgreSQL tests need the server binaries (apt-get install postgresql)")
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres) -> str:
    """The URL of a fresh, empty database on the test server."""
    return postgres.new_database()
