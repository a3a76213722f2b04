"""The README's deployment of the web app, run as written: its production command (gunicorn with
newsletter/web/gunicorn_conf.py), its nginx configuration, its [web] settings for the proxy; and
the slow clients and health checks that attack and measure it. Used by
tests/hostile/web/test_deployment.py and bench/web_abuse_bench.py.

The README is the one copy: what the tests run is read from it, changing only the ports and the
certificate's files, so the configuration a reader copies is the one that was tested."""

from __future__ import annotations

import http.client
import os
import re
import select
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import nginx_server

ROOT = Path(__file__).resolve().parents[2]  # the repository
README = ROOT / "README.md"
GUNICORN_ADDRESS = "127.0.0.1:8080"  # where the README's production command listens and its nginx forwards


def readme_blocks(language: str) -> list[str]:
    """The README's fenced code blocks of `language`, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def _one(found: list[str], what: str) -> str:
    assert len(found) == 1, f"README: expected one {what}, found {len(found)}"
    return found[0]


def nginx_site(listen_port: int, gunicorn_port: int, certificates: Path) -> str:
    """The README's nginx configuration, listening on 127.0.0.1:`listen_port`, forwarding to
    gunicorn on `gunicorn_port`, with the certificate in `certificates` (from nginx_server.scratch())."""
    text = _one(readme_blocks("nginx"), "nginx configuration")
    replacements = [
        (r"listen 443 ssl;", f"listen 127.0.0.1:{listen_port} ssl;"),
        (r"ssl_certificate \S+;", f"ssl_certificate {certificates / 'cert.pem'};"),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {certificates / 'key.pem'};"),
        (rf"proxy_pass http://{re.escape(GUNICORN_ADDRESS)};", f"proxy_pass http://127.0.0.1:{gunicorn_port};"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count == 1, f"README's nginx configuration: expected one line matching {pattern!r}, found {count}"
    return text


def proxy_settings() -> str:
    """The README's [web] settings for running behind its nginx."""
    return _one([block for block in readme_blocks("toml") if "trusted_proxies = [" in block and "proxy_hops" in block and "[newsletter]" not in block], "[web] block for the proxy")


def production_command(port: int) -> list[str]:
    """argv of the README's production command (`newsletter serve --production`, run in the
    workspace folder), listening on `port` instead of 8080."""
    line = _one([line for block in readme_blocks("sh") for line in block.splitlines() if line.startswith("newsletter serve --production")], "production command")
    words = shlex.split(line, comments=True)
    assert words[:3] == ["newsletter", "serve", "--production"], line
    assert "--host" not in words and "--port" not in words, f"README: the production command listens on {GUNICORN_ADDRESS}, where its nginx forwards: {line}"
    return [str(Path(sys.executable).with_name("newsletter")), *words[1:], "--port", str(port)]


def without_tool_folder(path: str) -> str:
    """PATH without the folder of this Python's scripts: a pipx install links `newsletter` alone
    onto the PATH, never `gunicorn`, so the production command must not need it there."""
    scripts = str(Path(sys.executable).parent)
    return os.pathsep.join(folder for folder in path.split(os.pathsep) if folder and folder != scripts)


def listening_port(log: Path, process: subprocess.Popen[bytes], seconds: float = 30) -> int:
    """The port gunicorn bound (asked for port 0, it picks one and logs "Listening at: URL")."""
    deadline = time.monotonic() + seconds
    while True:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not say where it listens:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)


@dataclass
class Deployment:
    """gunicorn (the README's production command) and, when started, nginx (the README's configuration)."""

    workspace: Path
    gunicorn_port: int
    gunicorn: subprocess.Popen[bytes]
    gunicorn_log: Path
    nginx: nginx_server.Server | None = None
    nginx_port: int = 0

    def tls(self) -> ssl.SSLContext:
        """A client context that trusts the run's certificate."""
        assert self.nginx is not None
        return ssl.create_default_context(cafile=str(self.nginx.certificate))

    def logs(self) -> str:
        """Everything gunicorn and nginx logged."""
        return self.gunicorn_log.read_text(errors="replace") + (self.nginx.error_log if self.nginx else "")

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        if self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGINT)  # quick shutdown: no request of a test is left to finish
            try:
                self.gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()


def start(workspace: Path, env: dict[str, str], with_nginx: bool = True) -> Deployment:
    """Run the README's deployment for `workspace` (its newsletter.toml as the caller made it), with
    `env` (NEWSLETTER_SECRET ...). Raises RuntimeError when a server does not come up."""
    command = production_command(0)  # gunicorn binds a port the system picks, and logs it
    log = workspace / "gunicorn.log"
    # XDG_RUNTIME_DIR: gunicorn's control socket goes there, not in the user's home.
    run_env = {**os.environ, **env, "XDG_RUNTIME_DIR": str(workspace), "PATH": without_tool_folder(os.environ.get("PATH", ""))}
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=workspace, env=run_env, stdout=out, stderr=subprocess.STDOUT)
    deployment = Deployment(workspace, 0, process, log)
    try:
        port = deployment.gunicorn_port = listening_port(log, process)
        deadline = time.monotonic() + 30
        while not health_check("127.0.0.1", port, timeout=2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer GET /healthz:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        if with_nginx:
            root = nginx_server.scratch()
            deployment.nginx = nginx_server.start_server(root, lambda listen_port: nginx_site(listen_port, port, root))
            deployment.nginx_port = deployment.nginx.port
    except BaseException:
        deployment.stop()
        raise
    return deployment


def health_check(host: str, port: int, timeout: float, tls: ssl.SSLContext | None = None) -> float | None:
    """Seconds GET /healthz took to answer 200 on a new connection; None when it did not."""
    started = time.perf_counter()
    if tls is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
    try:
        connection.request("GET", "/healthz", headers={"Host": "localhost"})
        response = connection.getresponse()
        response.read()
        return time.perf_counter() - started if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def health_checks(port: int, count: int, spacing: float, timeout: float, tls: ssl.SSLContext | None = None) -> list[float | None]:
    """`count` health checks, one every `spacing` seconds (or as soon as the last one ended)."""
    results = []
    for _ in range(count):
        started = time.monotonic()
        results.append(health_check("127.0.0.1", port, timeout, tls))
        time.sleep(max(0.0, spacing - (time.monotonic() - started)))
    return results


@dataclass
class SlowClients:
    """`count` connections to 127.0.0.1:`port`, each from its own loopback address (127.0.0.2, .3,
    ...; so a per-address connection limit does not stop them), each sending a request one byte
    every `interval` seconds and never finishing it: half stall in their headers, half in a
    body (`stall` = "headers" or "bodies": all of them). A slowloris, as a handful of machines
    would run it."""

    port: int
    count: int
    interval: float = 1.0
    tls: ssl.SSLContext | None = None
    first_source: int = 2
    one_source: bool = False  # all from 127.0.0.<first_source>
    stall: str = "both"
    sockets: list[socket.socket] = field(default_factory=list)
    closed: set[int] = field(default_factory=set)  # indexes of the connections the server closed
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    HEADERS = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
    BODY = b"POST /subscribe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\nemail="

    def __enter__(self) -> SlowClients:
        for n in range(self.count):
            source = self.first_source if self.one_source else self.first_source + n
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5, source_address=(f"127.0.0.{source}", 0))
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname="127.0.0.1")
            in_headers = self.stall == "headers" or (self.stall == "both" and n % 2 == 0)
            sock.sendall(self.HEADERS if in_headers else self.BODY)
            self.sockets.append(sock)
        self.thread = threading.Thread(target=self._drip, daemon=True, name="slow-clients")
        self.thread.start()
        return self

    def _drip(self) -> None:
        while not self.stopping.wait(self.interval):
            for n, sock in enumerate(self.sockets):
                if n in self.closed:
                    continue
                try:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:  # an answer (408, 429, 400) or the end: the server let it go
                        self.closed.add(n)
                        continue
                    sock.send(b"a")
                except (OSError, ValueError):
                    self.closed.add(n)

    def still_open(self) -> int:
        return self.count - len(self.closed)

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
