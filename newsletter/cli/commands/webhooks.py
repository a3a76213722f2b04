"""`newsletter webhooks deliver` and `newsletter webhooks log`: the events sent to [[webhooks]] receivers."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ...webhooks_out.delivery import Attempted, Pass

POLL_SECONDS = 2.0  # how often a `deliver` that keeps running looks for new events


@click.group()
def webhooks() -> None:
    """The tool's events, POSTed to the [[webhooks]] receivers of newsletter.toml, signed the Standard Webhooks way."""


@webhooks.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop (for cron).")
def deliver(once: bool) -> None:
    """Send the new events to each receiver that wants them, and retry the deliveries that are due.
    Without --once it keeps running, looking for events every 2 seconds, until stopped (Ctrl-C or
    SIGTERM stop it after the delivery under way). Safe beside the web app and on several
    machines: each delivery is claimed by one run. With --once, exits 1 when a delivery was given up."""
    from ...db import Database
    from ...webhooks_out.delivery import Deliverer, receivers, warn_clear_text
    from ...workspace.config import load_workspace

    workspace = load_workspace(Path.cwd())
    hooks = workspace.config.webhooks
    if not hooks:
        click.echo("No [[webhooks]] in newsletter.toml: nothing to deliver.")
        return
    warn_clear_text(hooks)
    deliverer = Deliverer(receivers(hooks))
    stop, given_up = threading.Event(), 0
    if not once:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with Database(workspace.database) as db:
            while True:
                done = deliverer.run_pass(db, once=once)
                _show(done, quiet_when_idle=not once)
                given_up += done.counts["given up"]
                if once or stop.wait(POLL_SECONDS):
                    break
    except KeyboardInterrupt:
        click.echo("Stopped; what was not delivered is delivered by the next run.")
    finally:
        deliverer.close()
    if once and given_up:
        raise SystemExit(1)  # cron mails the editor: a receiver missed events for good


def _show(done: Pass, quiet_when_idle: bool) -> None:
    for attempt in done.attempts:
        if attempt.outcome != "delivered":
            click.echo(_line(attempt))
    counts = done.counts
    if quiet_when_idle and not done.attempts:
        return
    parts = [f"{counts['delivered']} delivered", f"{counts['retrying']} retrying", f"{counts['given up']} given up"]
    if counts["taken over"]:
        parts.append(f"{counts['taken over']} taken over by another run")
    click.echo(f"Webhooks: {', '.join(parts)} ({done.fanned_out} new deliveries from the events).")


def _line(attempt: Attempted) -> str:
    said = f"HTTP {attempt.answer.status}" if attempt.answer.status is not None else attempt.answer.error
    words = f": {attempt.answer.words}" if attempt.answer.words else ""
    when = f"; next attempt at {attempt.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC" if attempt.next_attempt_at else ""
    return f"  {attempt.outcome}: {attempt.type} {attempt.event_id} to {attempt.webhook} (attempt {attempt.attempt}, {said}{words}){when}"


@webhooks.command("log")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="How many attempts, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the attempts as JSON.")
def log(limit: int, as_json: bool) -> None:
    """Every delivery attempt, newest first: the event, the receiver, the attempt, the HTTP status
    (or the error) and the receiver's first words."""
    from ...db import Database, NoDatabase
    from ...webhooks_out.delivery import mask_known_secrets
    from ...workspace.config import load_workspace
    from ...workspace.credentials import mask_secrets

    workspace = load_workspace(Path.cwd())
    mask_known_secrets(workspace.config.webhooks)
    try:
        with Database(workspace.database, create=False, read_only=True) as db:
            attempts = db.webhook_deliveries.log(limit)
    except NoDatabase:
        attempts = []
    if as_json:
        click.echo(mask_secrets(json.dumps([asdict(attempt) for attempt in attempts], indent=2, ensure_ascii=False)))
        return
    if not attempts:
        click.echo("No delivery attempt yet.")
        return
    for attempt in attempts:
        said = f"HTTP {attempt.status}" if attempt.status is not None else (attempt.error or "")
        words = f"  {attempt.answer}" if attempt.answer else ""
        later = f" (next at {attempt.next_attempt_at})" if attempt.next_attempt_at else ""
        click.echo(mask_secrets(f"{attempt.at}  {attempt.type}  {attempt.event_id}  {attempt.webhook}  #{attempt.attempt}  {attempt.outcome}{later}  {said}{words}"))
