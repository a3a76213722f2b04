"""`newsletter notices send`: send the confirmation and welcome emails the web app queued."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def notices() -> None:
    """The confirmation and welcome emails the web app queues (its own background sender sends them)."""


@notices.command("send")
def send_notices() -> None:
    """Send the queued confirmation and welcome emails that are due, then stop. The web app does
    this itself; use it when the web app is stopped, or from cron as a safety net. Safe to run
    beside the web app and on several machines: each email is claimed by one sender."""
    from ...db import Database
    from ...render.pipeline import Renderer
    from ...sending.notices import Notices
    from ...workspace.config import load_workspace
    from ...workspace.credentials import signing_keys

    workspace = load_workspace(Path.cwd())
    keys = signing_keys(workspace.config.send.provider)
    queued = Notices(workspace, Renderer(workspace), keys)
    with Database(workspace.database) as db:
        handled = queued.send_due(db)
    if not handled:
        click.echo("No queued email was due.")
        return
    click.echo("Queued emails: " + ", ".join(f"{count} {state}" for state, count in sorted(handled.items())) + ".")
    if handled["failed"] or handled["unknown"]:
        raise SystemExit(1)
