"""`newsletter serve`: run the subscriber-facing web app for this workspace (parse, start, wait).

`--production` hands over to gunicorn from the tool's own environment (a `pipx install` puts only
`newsletter` on the PATH, never `gunicorn`), with newsletter/web/gunicorn_conf.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

DEFAULT_PORT = 8080
GUNICORN_CONFIG = "python:newsletter.web.gunicorn_conf"
APP = "newsletter.web:create_app()"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (behind a proxy, keep 127.0.0.1).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (0 picks a free one).")
@click.option("--dev", is_flag=True, help="Without NEWSLETTER_SECRET, use the public development secret (this machine only: anyone could forge its links).")
@click.option("--production", is_flag=True, help="Run under gunicorn (2 worker processes x 4 threads), from the tool's own environment; put nginx in front (see the README).")
@click.option("--workers", type=click.IntRange(1, 64), help="With --production: gunicorn worker processes (default 2).")
def serve(host: str, port: int, dev: bool, production: bool, workers: int | None) -> None:
    """Run the web app: signup with double opt-in, one-click unsubscribe, preferences and SendGrid's
    event webhook. On the internet, use --production behind nginx (see the README)."""
    if production and dev:
        raise click.UsageError("--dev is for this machine only; --production needs NEWSLETTER_SECRET")
    if workers is not None and not production:
        raise click.UsageError("--workers goes with --production (`newsletter serve` alone runs one process)")
    if production:
        _run_gunicorn(host, port, workers)
    _run_here(host, port, dev)


def _run_here(host: str, port: int, dev: bool) -> None:
    from ...web import create_app
    from ...web.server import start

    app = create_app(Path.cwd(), dev=dev)
    if app.extensions["newsletter"].keys.development:
        click.echo("Using the public development secret (--dev): anyone can forge this app's links. Never let it face the internet.", err=True)
    try:
        server = start(app, host, port)
    except OSError as exc:
        raise click.ClickException(_cannot_listen(host, port, exc)) from None
    click.echo(f"Serving {app.extensions['newsletter'].config.newsletter.name} at {server.url} (public links point to {app.extensions['newsletter'].config.base_url})")
    click.echo("Press Ctrl-C to stop.")
    try:
        server.thread.join()
    except KeyboardInterrupt:
        click.echo("\nStopped.")
    finally:
        server.stop()


def _run_gunicorn(host: str, port: int, workers: int | None) -> None:
    """Check what the app needs here (its sentences, not gunicorn's boot log), then become gunicorn."""
    from ...web import create_app
    from ...web.server import listening
    from ...workspace.config import load_workspace
    from ...workspace.credentials import WORKSPACE, environment_with

    root = load_workspace(Path.cwd()).root
    create_app(root)  # the workspace, the secret and the rate-limit storage; starts nothing
    try:
        listening(host, port).close()
    except OSError as exc:
        raise click.ClickException(_cannot_listen(host, port, exc)) from None
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    argv = [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG, "-b", bind]
    if workers is not None:
        argv += ["-w", str(workers)]
    click.echo(f"Starting gunicorn for {root} on {bind} (Ctrl-C stops it)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # exec, not a child: gunicorn's master gets the signals (Ctrl-C, a service manager's TERM) directly.
    os.execve(sys.executable, [*argv, APP], environment_with(**{WORKSPACE: str(root)}))


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"cannot listen on {host}:{port}: {reason}; choose another --port"
