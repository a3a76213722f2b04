"""`newsletter subscribers ...`: manage the subscriber list (parse, call the database, print)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..main import display_path

if TYPE_CHECKING:
    from ...db import Database
    from ...workspace.config import Workspace


def _open(read_only: bool = False) -> tuple[Workspace, Database]:
    from ...db import Database
    from ...workspace.config import load_workspace

    workspace = load_workspace(Path.cwd())
    return workspace, Database(workspace.database, read_only=read_only)


def _address(value: str) -> str:
    from ...models.addresses import normalize

    try:
        return normalize(value)
    except ValueError as exc:
        raise click.ClickException(f"{value!r} is not a usable email address: {exc}") from None


@click.group()
def subscribers() -> None:
    """Manage the subscriber list (stored in SQLite, see [subscribers] in newsletter.toml)."""


class _Rejected(Exception):
    """Rows were rejected and --skip-invalid was not given: roll the import back."""


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even when some rows are rejected.")
def import_(csv_file: Path, skip_invalid: bool) -> None:
    """Add or update subscribers from CSV_FILE (email; optional name, status, created_at; others become attributes).

    Addresses are checked and normalized, repeated rows merged. A `status` column is honoured, and
    nobody is ever re-activated by an import. Exports from Mailchimp, Buttondown and listmonk are
    read as they are. If any row is rejected, nothing is imported unless --skip-invalid is given."""
    from ...subscribers.csv_formats import SubscriberCsv

    workspace, db = _open()  # a settings mistake stops us before reading 100,000 rows
    shown = display_path(csv_file)
    with db:
        rows = SubscriberCsv(csv_file)
        tally = rows.tally
        try:
            with db.transaction():  # all or nothing
                counts = db.subscribers.upsert(rows)
                if tally.rejected_count and not skip_invalid:
                    raise _Rejected
        except _Rejected:
            counts = None
    for rejected in tally.rejected[:50]:
        click.secho(f"{shown}: {rejected}", fg="red", err=True)
    if tally.rejected_count > 50:
        click.secho(f"... and {tally.rejected_count - 50} more rejected rows", fg="red", err=True)
    if counts is None:
        raise click.ClickException(f"{tally.rejected_count} row(s) rejected; nothing was imported. Fix them, or pass --skip-invalid to import the other rows.")
    for reason, count in tally.left_out.items():
        click.echo(f"{shown}: {count} row(s) not imported: {reason}")
    if tally.smtputf8_count:
        examples = ", ".join(tally.smtputf8_only)
        click.secho(
            f"{shown}: {tally.smtputf8_count} address(es) have non-ASCII characters before the @ (e.g. {examples}): "
            "SendGrid cannot deliver to them, and SMTP only through a server that offers SMTPUTF8; the outbox can.",
            fg="yellow",
            err=True,
        )
    click.echo(
        f"{shown}: {counts.added} added, {counts.updated} updated"
        + (f", {counts.unchanged} unchanged" if counts.unchanged else "")
        + (f", {tally.merged} repeated rows merged" if tally.merged else "")
        + (f", {counts.deactivated} marked unsubscribed, bounced or complained" if counts.deactivated else "")
        + (f", {tally.rejected_count} rejected" if tally.rejected_count else "")
        + f" (database: {display_path(workspace.database)})"
    )


@subscribers.command()
@click.argument("email")
@click.option("--name", help="The subscriber's name.")
@click.option("--attr", "attributes", multiple=True, metavar="KEY=VALUE", help="An attribute to store (repeatable).")
@click.option("--resubscribe", is_flag=True, help="Re-activate someone who unsubscribed, bounced or complained (only if they asked).")
def add(email: str, name: str | None, attributes: tuple[str, ...], resubscribe: bool) -> None:
    """Add one subscriber (or update their name and attributes)."""
    from ...models import Status, Subscriber, attribute_problem, name_problem

    address = _address(email)
    problem = name_problem(name) if name else None
    if problem:
        raise click.ClickException(f"--name: {problem}")
    pairs = {}
    for item in attributes:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise click.ClickException(f"--attr {item!r}: expected KEY=VALUE, with a value")
        problem = attribute_problem(key.strip(), value.strip())
        if problem:
            raise click.ClickException(f"--attr {item!r}: {problem}; nothing was changed")
        pairs[key.strip()] = value.strip()
    _, db = _open()
    with db:
        existing = db.subscribers.get(address)
        db.subscribers.upsert([Subscriber(address, name, pairs)])
        if existing and existing.status != Status.ACTIVE:
            if not resubscribe:
                click.echo(f"{address} is {existing.status}; details updated, status kept (use --resubscribe if they asked to come back)")
                return
            db.subscribers.set_status([address], Status.ACTIVE)
            click.echo(f"{address} is active again (was {existing.status})")
            return
    click.echo(f"{address} {'updated' if existing else 'added'}")


@subscribers.command()
@click.argument("email")
def remove(email: str) -> None:
    """Delete a subscriber entirely (their past deliveries stay in the send ledger)."""
    address = _address(email)
    _, db = _open()
    with db:
        if not db.subscribers.remove(address):
            raise click.ClickException(f"{address} is not a subscriber")
    click.echo(f"{address} removed")


@subscribers.command()
@click.argument("email")
def unsubscribe(email: str) -> None:
    """Mark a subscriber as unsubscribed: they are never mailed again."""
    from ...models import Status

    address = _address(email)
    _, db = _open()
    with db:
        existing = db.subscribers.get(address)
        if existing is None:
            raise click.ClickException(f"{address} is not a subscriber")
        db.subscribers.set_status([address], Status.UNSUBSCRIBED)
    click.echo(f"{address} unsubscribed" if existing.status == Status.ACTIVE else f"{address} was already {existing.status}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(["active", "unsubscribed", "bounced", "complained"]), help="Also print the addresses with this status.")
def list_(status: str | None) -> None:
    """Show how many subscribers there are in each status."""
    from ...models import Status

    _, db = _open(read_only=True)
    with db:
        counts = db.subscribers.counts_by_status()
        for state, count in counts.items():
            click.echo(f"{state:>13}  {count}")
        click.echo(f"{'total':>13}  {sum(counts.values())}")
        if status:
            click.echo()
            for subscriber in db.subscribers.all(Status(status)):
                click.echo(subscriber.email)


@subscribers.command()
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Write to this file instead of standard output (a new file or a regular one, in a folder that exists; - is standard output).",
)  # fmt: skip
@click.option("--follow-symlinks", is_flag=True, help="Let --out FILE be a symbolic link, and write to the file it points to.")
def export(out_file: Path | None, follow_symlinks: bool) -> None:
    """Write every subscriber as CSV: email, name, status, created_at, subscriber_id, then one column per attribute.

    `subscribers import` reads it back unchanged (status and link ids included)."""
    from ...files.writing import STDOUT, output_target, write_output
    from ...subscribers.csv_formats import write_csv

    if out_file is not None and str(out_file) == STDOUT:
        out_file = None
    if out_file is not None:
        output_target(out_file, follow_symlinks)  # a FIFO, a device, a link or a missing folder is refused before reading the list
    _, db = _open(read_only=True)
    with db:
        names = db.subscribers.attribute_names()
        if out_file is None:
            write_csv(db.subscribers.all(), names, sys.stdout)
            return
        import io

        buffer = io.StringIO(newline="")
        count = write_csv(db.subscribers.all(), names, buffer)
    write_output(out_file, buffer.getvalue().encode("utf-8"), follow_symlinks)
    click.echo(f"wrote {count} subscribers to {display_path(out_file)}", err=True)


@subscribers.command()
def sync() -> None:
    """Mark SendGrid's unsubscribes, bounces and spam reports here, so those people are never mailed again."""
    from ...db import Database
    from ...models import Status
    from ...providers.sendgrid import SUPPRESSION_STATUS, SendGridProvider
    from ...workspace.config import load_workspace

    workspace = load_workspace(Path.cwd())
    found = SendGridProvider(workspace.config).suppressions()  # before the database: a failure here changes nothing
    stored = {kind: _stored_forms(emails) for kind, emails in found.items()}
    with Database(workspace.database) as db, db.transaction():
        report = [
            (kind, len(found[kind]), skipped, db.subscribers.set_status(sorted(emails), SUPPRESSION_STATUS[kind], only_from=Status.ACTIVE))
            for kind, (emails, skipped) in stored.items()
        ]
    for kind, listed, skipped, changed in report:
        unusable = f", {skipped} skipped (not a usable email address)" if skipped else ""
        click.echo(f"{kind.replace('_', ' '):>18}: {listed} at SendGrid, {changed} subscriber(s) marked{unusable}")


def _stored_forms(addresses: list[str]) -> tuple[set[str], int]:
    """Addresses as the list stores them (SendGrid gives IDNA domains as xn--...), and how many
    were skipped because they are not usable addresses."""
    from ...models.addresses import normalize

    stored, skipped = set(), 0
    for address in addresses:
        try:
            stored.add(normalize(address))
        except ValueError:
            skipped += 1
    return stored, skipped
