"""`newsletter bounces fetch`: read the delivery reports SMTP mail came back with, and apply them."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click


@click.group()
def bounces() -> None:
    """Bounces of mail sent through SMTP with [smtp] bounce_address (VERP)."""


@bounces.command("fetch")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def fetch(as_json: bool) -> None:
    """Read the delivery reports in the [bounces] mailbox (a Maildir or IMAP), mark each reader
    they name as the report says (hard bounce: bounced; soft: counted; delayed: noted), and move
    each report applied to the `processed` folder. Reports it cannot read are left and counted.
    Safe to run from cron: one run at a time, and a report is applied once however often it is read."""
    from ...bounces.fetch import fetch_bounces
    from ...workspace.config import load_workspace
    from ...workspace.credentials import bounces_password, signing_keys

    workspace = load_workspace(Path.cwd())
    summary = fetch_bounces(workspace, signing_keys("smtp"), bounces_password())
    if as_json:
        click.echo(json.dumps(asdict(summary), indent=2, ensure_ascii=False))
        return
    applied = f"{summary.hard} hard bounce(s), {summary.soft} soft, {summary.delayed} delayed"
    click.echo(f"Read {summary.read} message(s): applied {applied}; {summary.already_seen} already applied before; {summary.other} with nothing to apply.")
    if summary.unreadable:
        click.echo(f"Left {summary.unreadable} message(s) that could not be read, for a person to look at:")
        for problem in summary.problems:
            click.echo(f"  {problem}")
