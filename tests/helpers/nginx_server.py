"""A real nginx for the tests: Debian's `nginx`, unprivileged, in the foreground, with every file it
writes (pid, logs, request bodies) in a temporary folder, serving one site configuration given as
text (as /etc/nginx/conf.d/*.conf would hold it), over https with a certificate made for the run."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import unprivileged

# What Debian's /etc/nginx/nginx.conf gives a site, with every path in the run's folder.
MAIN = """\
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
worker_processes 1;
events {{
    worker_connections 2048;
}}
http {{
    access_log {root}/access.log;
    default_type application/octet-stream;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/site.conf;
}}
"""


def binary() -> str | None:
    """The path of nginx (None: not installed). Debian puts it in /usr/sbin, which a user's PATH may lack."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


@dataclass
class Server:
    root: Path
    process: subprocess.Popen[bytes]
    port: int  # where it listens on 127.0.0.1

    @property
    def certificate(self) -> Path:
        return self.root / "cert.pem"

    @property
    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # nginx's fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def scratch() -> Path:
    """The folder a server will run in, with a self-signed certificate for localhost and 127.0.0.1
    (cert.pem, key.pem) already in it: the site configuration names them before nginx starts."""
    root = unprivileged.scratch("newsletter-nginx-")
    request = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
    names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    subprocess.run([*request, *names, "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")], check=True, capture_output=True)
    for name in ("key.pem", "cert.pem"):
        unprivileged.hand_over(root / name)
    return root


ATTEMPTS = 5  # ports tried before giving up: another program may take the one picked before nginx binds it


def start_server(root: Path, site_on: Callable[[int], str]) -> Server:
    """Run nginx in `root` (from scratch()) with `site_on(port)` as its only site, a site that listens
    with TLS on 127.0.0.1:`port`; returns once it answers there (its `port`). Raises RuntimeError
    when it cannot start.

    nginx cannot listen on a port the system picks (port 0) and report it, and it must listen on TCP
    (the tests tell clients apart by their loopback address). So it gets a port that was free a moment
    ago; when another program took it meanwhile, nginx says "Address already in use" and the next
    port is tried, and it counts as up only once the server on its port shows the run's certificate."""
    found = binary()
    if found is None:
        raise RuntimeError("nginx is not installed (Debian package `nginx`)")
    for _ in range(ATTEMPTS):
        port = _recently_free_port()
        server = _start(found, root, site_on(port), port)
        if server is not None:
            return server
    raise RuntimeError(f"nginx found no free port in {ATTEMPTS} tries")


def _recently_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(found: str, root: Path, site: str, port: int) -> Server | None:
    """nginx on `port`, up; None when the port was taken (the caller tries another)."""
    for name, text in (("nginx.conf", MAIN.format(root=root)), ("site.conf", site)):
        (root / name).write_text(text)
        unprivileged.hand_over(root / name)
    (root / "error.log").unlink(missing_ok=True)  # a failed try's words are not this one's
    command = [found, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, **unprivileged.as_user())
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refused its configuration: {checked.stderr}")
    server = Server(root, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **unprivileged.as_user()), port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if "Address already in use" in server.error_log:
                return None
            raise RuntimeError(f"nginx exited ({server.process.returncode}): {server.error_log[-2000:]}")
        if _shows_certificate(port, server.certificate):
            return server
        time.sleep(0.02)
    server.process.kill()
    server.process.wait()
    raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port} within 10 s: {server.error_log[-2000:]}")


def _shows_certificate(port: int, certificate: Path) -> bool:
    """Whether the server on 127.0.0.1:`port` completes a TLS handshake with the run's certificate
    (so it is this run's nginx, not a program that took the port)."""
    context = ssl.create_default_context(cafile=str(certificate))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock, context.wrap_socket(sock, server_hostname="127.0.0.1"):
            return True
    except (OSError, ssl.SSLError):
        return False
