"""`newsletter preview`: serve a live preview of an issue (parse, start, print, wait)."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from ..main import IssuePath, display_path

DEFAULT_PORT = 8025
STOP_SECONDS = 5


@click.command()
@click.argument("issue_file", type=IssuePath)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on. Only this computer can connect unless you name another address.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in your web browser.")
def preview(issue_file: Path, port: int, host: str, open_browser: bool) -> None:
    """Serve a live preview of ISSUE_FILE that updates itself on every save."""
    from ...preview.app import start_preview

    if not issue_file.is_file():
        raise click.ClickException(f"{issue_file}: no such issue file")
    try:
        running = start_preview(issue_file, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None

    click.echo(f"Previewing {display_path(issue_file)} at {running.url}")
    click.echo("It re-renders when you save the issue, a template or newsletter.toml. Press Ctrl-C to stop.")
    error = running.session.snapshot.error
    if error:
        click.secho(f"The issue has a problem (shown in the page too):\n{error}", fg="yellow", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(running.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("\nPreview stopped.")
    finally:
        # Ctrl-C must end the command: stopping waits for the server's loop, so it gets a few
        # seconds in a thread of its own and the process ends either way.
        stopping = threading.Thread(target=running.stop, daemon=True)
        stopping.start()
        stopping.join(timeout=STOP_SECONDS)
