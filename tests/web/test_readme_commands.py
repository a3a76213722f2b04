"""Every command the README shows for the web app, run as written (on a port it picks): `newsletter
serve`, its `--dev`, and the production command as a pipx install has it (no gunicorn on the PATH).
The production command behind nginx is run again by tests/hostile/web/test_deployment.py."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.deployment import readme_blocks, without_tool_folder

pytestmark = pytest.mark.slow  # each README command starts a real server

NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))


def readme_serve_commands() -> list[list[str]]:
    """The README's `newsletter serve` command lines, as argv (comments removed)."""
    lines = [line for block in readme_blocks("sh") for line in block.splitlines() if line.startswith("newsletter serve")]
    return [shlex.split(line, comments=True) for line in lines]


def environment(**changes: str | None) -> dict[str, str]:
    """This environment (NEWSLETTER_SECRET is the suite's) as a pipx install has it (the tool's
    scripts folder off the PATH), changed."""
    env = {**os.environ, "PATH": without_tool_folder(os.environ.get("PATH", ""))}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def healthy(port: int, deadline_seconds: float, process: subprocess.Popen[str]) -> bool:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            time.sleep(0.1)
    return False


# Where a server says it listens: `newsletter serve` ("Serving ... at URL") or gunicorn ("Listening at: URL").
LISTENING = re.compile(r"(?:Serving .* at|Listening at:) http://127\.0\.0\.1:(\d+)")


def port_said(printed: list[str], seconds: float, process: subprocess.Popen[str]) -> int | None:
    """The port the server says it listens on, once it has printed it (None: it never did)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        for line in list(printed):
            found = LISTENING.search(line)
            if found:
                return int(found.group(1))
        time.sleep(0.05)
    return None


def run_until_healthy(argv: list[str], workspace: Path, env: dict[str, str]) -> tuple[bool, str]:
    """Start `argv` in `workspace` on a port it picks (--port 0), see GET /healthz answer there,
    stop it with Ctrl-C. (whether it answered, everything it printed)."""
    command = [NEWSLETTER, *argv[1:], "--port", "0"]
    env = {**env, "XDG_RUNTIME_DIR": str(workspace)}  # gunicorn's control socket, not in the home folder
    process = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(iter(process.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        port = port_said(printed, 60, process)
        answered = port is not None and healthy(port, 60, process)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(timeout=30)
    return answered, "".join(printed)


def test_the_readme_shows_the_web_app_commands_tested_here() -> None:
    assert readme_serve_commands() == [["newsletter", "serve"], ["newsletter", "serve", "--production", "--workers", "2"]]


@pytest.mark.parametrize("argv", readme_serve_commands(), ids=lambda argv: " ".join(argv))
def test_each_readme_command_serves_the_app_without_gunicorn_on_the_path(argv: list[str], workspace: Path) -> None:
    answered, output = run_until_healthy(argv, workspace, environment())
    assert answered, output
    assert "Traceback" not in output
    if "--production" in argv:
        assert "Booting worker" in output  # gunicorn's, started from the tool's own environment
    else:
        assert "Stopped." in output


def test_serve_dev_from_the_readme_runs_without_a_secret_and_says_so(workspace: Path) -> None:
    answered, output = run_until_healthy(["newsletter", "serve", "--dev"], workspace, environment(NEWSLETTER_SECRET=None))
    assert answered, output
    assert "development secret" in output


def left_running(session: int) -> bool:
    """Whether any process of the session `session` (a process group of the same id) still runs."""
    try:
        os.killpg(session, 0)
    except ProcessLookupError:
        return False
    return True


def test_production_without_a_secret_is_one_sentence_and_starts_nothing(workspace: Path) -> None:
    process = subprocess.Popen(
        [NEWSLETTER, "serve", "--production", "--port", "0"],
        cwd=workspace,
        env=environment(NEWSLETTER_SECRET=None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: anything it started would still be in it
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "NEWSLETTER_SECRET is not set" in stderr and "Traceback" not in stderr
    assert "gunicorn" not in stderr.lower()  # refused before gunicorn starts
    assert not left_running(process.pid)  # nothing started behind it holds a port


def test_production_and_dev_together_are_refused(workspace: Path) -> None:
    done = subprocess.run([NEWSLETTER, "serve", "--production", "--dev"], cwd=workspace, env=environment(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--dev is for this machine only" in done.stderr


@pytest.mark.parametrize("production", [False, True], ids=["serve", "serve --production"])
def test_a_busy_port_is_the_tools_own_sentence(workspace: Path, production: bool) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [NEWSLETTER, "serve", *(["--production"] if production else []), "--port", str(port)]
        done = subprocess.run(argv, cwd=workspace, env=environment(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port"
