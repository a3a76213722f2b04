"""A real Redis server for the tests: Debian's `redis-server`, unprivileged, on a unix socket in a
temporary folder (no TCP port), keeping nothing on disk."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import unprivileged

BINARY = "redis-server"


def binary() -> str | None:
    """The path of redis-server (None: not installed)."""
    return shutil.which(BINARY) or next((p for p in ("/usr/bin/redis-server",) if Path(p).exists()), None)


@dataclass
class Server:
    root: Path
    process: subprocess.Popen[bytes]
    command: list[str]

    @property
    def socket(self) -> Path:
        return self.root / "redis.sock"

    @property
    def url(self) -> str:
        """The URL `[web] rate_limit_storage` takes."""
        return f"redis+unix://{self.socket}"

    @property
    def log(self) -> str:
        path = self.root / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def flush(self) -> None:
        """Forget every counter (a fresh start for the next test)."""
        import redis

        with redis.Redis(unix_socket_path=str(self.socket)) as client:
            client.flushall()

    def halt(self) -> None:
        """Stop the server, keeping its folder: `restart()` brings it back at the same URL."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **unprivileged.as_user())
        self._wait()

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def _wait(self) -> None:
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): {self.log[-2000:]}")
            if self.socket.exists():
                try:
                    self.flush()
                    return
                except (OSError, redis.exceptions.ConnectionError):  # still starting
                    pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not answer within 10 s")


def start_server() -> Server:
    """Start a throw-away server; raises RuntimeError when it does not answer within 10 s."""
    found = binary()
    if found is None:
        raise RuntimeError("redis-server is not installed (Debian package `redis-server`)")
    root = unprivileged.scratch("newsletter-redis-")
    options = [
        "--port", "0",  # no TCP: the socket only
        "--unixsocket", str(root / "redis.sock"),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(root),
        "--logfile", str(root / "redis.log"),
        "--daemonize", "no",
    ]
    command = [found, *options]
    server = Server(root, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **unprivileged.as_user()), command)
    server._wait()
    return server


@pytest.fixture(scope="session")
def redis():
    """A throw-away Redis server for the whole run, or a skip naming the reason where Debian's
    `redis-server` package or the redis client is not installed."""
    if binary() is None:
        pytest.skip("Redis tests need the server (apt-get install redis-server)")
    pytest.importorskip("redis", reason="Redis tests need the client: pip install -e '.[all,test]'")
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis) -> str:
    """The URL of the test Redis server, every counter forgotten."""
    redis.flush()
    return redis.url
