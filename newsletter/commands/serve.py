"""`newsletter serve`: run the subscriber-facing web app for this workspace (parse, start, wait)."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_PORT = 8080


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (behind a proxy, keep 127.0.0.1).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (0 picks a free one).")
@click.option("--dev", is_flag=True, help="Without NEWSLETTER_SECRET, use the public development secret (this machine only: anyone could forge its links).")
def serve(host: str, port: int, dev: bool) -> None:
    """Run the web app: signup with double opt-in, one-click unsubscribe, preferences and SendGrid's
    event webhook. For production, run it under gunicorn (see the README)."""
    from ..web import create_app
    from ..web.server import start

    app = create_app(Path.cwd(), dev=dev)
    if app.extensions["newsletter"].keys.development:
        click.echo("Using the public development secret (--dev): anyone can forge this app's links. Never let it face the internet.", err=True)
    try:
        server = start(app, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None
    click.echo(f"Serving {app.extensions['newsletter'].config.newsletter.name} at {server.url} (public links point to {app.extensions['newsletter'].config.base_url})")
    click.echo("Press Ctrl-C to stop.")
    try:
        server.thread.join()
    except KeyboardInterrupt:
        click.echo("\nStopped.")
    finally:
        server.stop()
