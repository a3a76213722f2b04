"""`newsletter subscribers ...`: manage the subscriber list (parse, call the store, print)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from ..cli import display_path


def _open_store():
    from ..config import load_workspace
    from ..store import Store

    workspace = load_workspace(Path.cwd())
    return workspace, Store(workspace.database)


def _address(value: str) -> str:
    from ..subscribers import normalize

    try:
        return normalize(value)
    except ValueError as exc:
        raise click.ClickException(f"{value!r} is not a usable email address: {exc}") from None


@click.group()
def subscribers() -> None:
    """Manage the subscriber list (stored in SQLite, see [subscribers] in newsletter.toml)."""


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even when some rows are rejected.")
def import_(csv_file: Path, skip_invalid: bool) -> None:
    """Add or update subscribers from CSV_FILE (columns: email, optional name, others become attributes).

    Addresses are checked and normalized, repeated rows merged. An unsubscribed, bounced or
    complained subscriber stays that way: an import never re-activates anyone. If any row is
    rejected, nothing is imported unless --skip-invalid is given."""
    from ..subscribers import read_csv

    workspace, store = _open_store()  # a settings mistake stops us before reading 100,000 rows
    found = read_csv(csv_file)
    for rejected in found.rejected[:50]:
        click.secho(f"{display_path(csv_file)}: {rejected}", fg="red", err=True)
    if len(found.rejected) > 50:
        click.secho(f"... and {len(found.rejected) - 50} more rejected rows", fg="red", err=True)
    with store:
        if found.rejected and not skip_invalid:
            raise click.ClickException(
                f"{len(found.rejected)} row(s) rejected; nothing was imported. Fix them, or pass --skip-invalid to import the other {len(found.subscribers)}."
            )
        counts = store.import_subscribers(found.subscribers)
    click.echo(
        f"{display_path(csv_file)}: {counts.added} added, {counts.updated} updated"
        + (f", {found.merged} repeated rows merged" if found.merged else "")
        + (f", {len(found.rejected)} rejected" if found.rejected else "")
        + f" (database: {display_path(workspace.database)})"
    )


@subscribers.command()
@click.argument("email")
@click.option("--name", help="The subscriber's name.")
@click.option("--attr", "attributes", multiple=True, metavar="KEY=VALUE", help="An attribute to store (repeatable).")
@click.option("--resubscribe", is_flag=True, help="Re-activate someone who unsubscribed, bounced or complained (only if they asked).")
def add(email: str, name: str | None, attributes: tuple[str, ...], resubscribe: bool) -> None:
    """Add one subscriber (or update their name and attributes)."""
    from ..store import Status, Subscriber

    from ..subscribers import is_one_line

    address = _address(email)
    if name and not is_one_line(name):
        raise click.ClickException("--name: a name cannot contain a line break or a control character")
    pairs = {}
    for item in attributes:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.ClickException(f"--attr {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = value.strip()
    _, store = _open_store()
    with store:
        existing = store.get(address)
        store.import_subscribers([Subscriber(address, name, pairs)])
        if existing and existing.status != Status.ACTIVE:
            if not resubscribe:
                click.echo(f"{address} is {existing.status}; details updated, status kept (use --resubscribe if they asked to come back)")
                return
            store.set_status([address], Status.ACTIVE)
            click.echo(f"{address} is active again (was {existing.status})")
            return
    click.echo(f"{address} {'updated' if existing else 'added'}")


@subscribers.command()
@click.argument("email")
def remove(email: str) -> None:
    """Delete a subscriber entirely (their past deliveries stay in the send ledger)."""
    address = _address(email)
    _, store = _open_store()
    with store:
        if not store.remove(address):
            raise click.ClickException(f"{address} is not a subscriber")
    click.echo(f"{address} removed")


@subscribers.command()
@click.argument("email")
def unsubscribe(email: str) -> None:
    """Mark a subscriber as unsubscribed: they are never mailed again."""
    from ..store import Status

    address = _address(email)
    _, store = _open_store()
    with store:
        existing = store.get(address)
        if existing is None:
            raise click.ClickException(f"{address} is not a subscriber")
        store.set_status([address], Status.UNSUBSCRIBED)
    click.echo(f"{address} unsubscribed" if existing.status == Status.ACTIVE else f"{address} was already {existing.status}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(["active", "unsubscribed", "bounced", "complained"]), help="Also print the addresses with this status.")
def list_(status: str | None) -> None:
    """Show how many subscribers there are in each status."""
    from ..store import Status

    _, store = _open_store()
    with store:
        counts = store.counts_by_status()
        for state, count in counts.items():
            click.echo(f"{state:>13}  {count}")
        click.echo(f"{'total':>13}  {sum(counts.values())}")
        if status:
            click.echo()
            for subscriber in store.subscribers(Status(status)):
                click.echo(subscriber.email)


@subscribers.command()
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file instead of standard output.")
def export(out_file: Path | None) -> None:
    """Write every subscriber as CSV: email, name, status, then one column per attribute."""
    _, store = _open_store()
    with store:
        people = list(store.subscribers())
    keys = sorted({key for person in people for key in (person.attributes or {})})
    target = out_file.open("w", newline="", encoding="utf-8") if out_file else sys.stdout
    try:
        writer = csv.writer(target)
        writer.writerow(["email", "name", "status", *keys])
        for person in people:
            writer.writerow([person.email, person.name or "", person.status, *((person.attributes or {}).get(k, "") for k in keys)])
    finally:
        if out_file:
            target.close()
    if out_file:
        click.echo(f"wrote {len(people)} subscribers to {display_path(out_file)}", err=True)


@subscribers.command()
def sync() -> None:
    """Mark SendGrid's unsubscribes, bounces and spam reports here, so those people are never mailed again."""
    from ..providers.sendgrid import SendGridProvider
    from ..subscribers import apply_suppressions

    workspace, store = _open_store()
    with store:
        found = SendGridProvider(workspace.config).suppressions()
        for kind, listed, changed in apply_suppressions(store, found):
            click.echo(f"{kind.replace('_', ' '):>18}: {listed} at SendGrid, {changed} subscriber(s) marked")
