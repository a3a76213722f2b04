"""`newsletter subscribers ...`: manage the subscriber list (parse, call the database, print)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..main import display_path

if TYPE_CHECKING:
    import datetime as dt

    from ...db import Database
    from ...sending.sunset import SunsetReport
    from ...subscribers.story import SubscriberStory
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


def _tags(values: tuple[str, ...], option: str) -> list[str]:
    """The tags given with `option`, as stored; a bad one stops the command naming it."""
    from ...models.audience import normal_tag

    tags: dict[str, None] = {}
    for value in values:
        try:
            tags.setdefault(normal_tag(value), None)
        except ValueError as exc:
            raise click.ClickException(f"{option} {value!r}: {exc}; nothing was changed") from None
    return list(tags)


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even when some rows are rejected.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Add TAG to every imported subscriber (repeatable), e.g. the list an export came from.")
def import_(csv_file: Path, skip_invalid: bool, tags: tuple[str, ...]) -> None:
    """Add or update subscribers from CSV_FILE (email; optional name, status, created_at; others become attributes).

    Addresses are checked and normalized, repeated rows merged. A `status` column is honoured, and
    nobody is ever re-activated by an import. Exports from Mailchimp, Buttondown and listmonk are
    read as they are. If any row is rejected, nothing is imported unless --skip-invalid is given."""
    from ...subscribers.csv_formats import SubscriberCsv
    from ...subscribers.rules import import_subscribers

    every_row = _tags(tags, "--tag")
    workspace, db = _open()  # a settings mistake stops us before reading 100,000 rows
    shown = display_path(csv_file)
    with db:
        rows = SubscriberCsv(csv_file, list(workspace.config.topics), every_row)
        tally = rows.tally
        imported = import_subscribers(db, rows, skip_invalid)
    for rejected in tally.rejected[:50]:
        click.secho(f"{shown}: {rejected}", fg="red", err=True)
    if tally.rejected_count > 50:
        click.secho(f"... and {tally.rejected_count - 50} more rejected rows", fg="red", err=True)
    if imported is None:
        raise click.ClickException(f"{tally.rejected_count} row(s) rejected; nothing was imported. Fix them, or pass --skip-invalid to import the other rows.")
    counts = imported.counts
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
        + "".join(f", {count} suppressed: {reason}" for reason, count in imported.suppressed.items())
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
    from ...subscribers.rules import add_subscriber

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
        added = add_subscriber(db, Subscriber(address, name, pairs), resubscribe)
    if added.reactivated:
        click.echo(f"{address} is active again (was {added.before})")
    elif added.before is not None and added.before != Status.ACTIVE:
        click.echo(f"{address} is {added.before}; details updated, status kept (use --resubscribe if they asked to come back)")
    else:
        click.echo(f"{address} {'added' if added.before is None else 'updated'}")


@subscribers.command()
@click.argument("email")
@click.option("--forget", is_flag=True, help="Also remove someone who unsubscribed, bounced or complained, keeping no record that they left.")
def remove(email: str, forget: bool) -> None:
    """Delete a subscriber with their tags, topic choices and consent (their past deliveries stay in the send ledger).

    Someone who unsubscribed, bounced or complained is kept unless --forget is given: their row is
    what stops a later import from adding them as active again."""
    from ...subscribers.rules import LEFT, remove_subscriber

    address = _address(email)
    _, db = _open()
    with db:
        removed = remove_subscriber(db, address, forget)
    if removed.before is None:
        raise click.ClickException(f"{address} is not a subscriber")
    if not removed.removed:
        raise click.ClickException(
            f"{address} is {removed.before}: removing them would let a later import add them as active again; nothing was changed. "
            "To delete their data at their request, use `newsletter subscribers erase`; to remove them anyway, pass --forget"
        )
    if removed.before in LEFT:
        click.secho(f"warning: nothing now remembers that {address} left ({removed.before}): a later import or add makes them active again", fg="yellow", err=True)
    click.echo(f"{address} removed")


@subscribers.command()
@click.argument("email")
def unsubscribe(email: str) -> None:
    """Mark a subscriber as unsubscribed: they are never mailed again."""
    from ...models import Status
    from ...subscribers.rules import unsubscribe as mark_unsubscribed

    address = _address(email)
    _, db = _open()
    with db:
        before = mark_unsubscribed(db, address)
    if before is None:
        raise click.ClickException(f"{address} is not a subscriber")
    click.echo(f"{address} unsubscribed" if before == Status.ACTIVE else f"{address} was already {before}")


@subscribers.command("list")
@click.option(
    "--status", type=click.Choice(["active", "pending", "unsubscribed", "bounced", "complained"]), help="Also print the addresses with this status.",
)  # fmt: skip
@click.option("--tag", help="Also print the addresses with this tag (with --status: those with both).")
@click.option("--topic", metavar="KEY", help="Also print the addresses that get this topic of [topics] (with the others: those matching all).")
def list_(status: str | None, tag: str | None, topic: str | None) -> None:
    """Show how many subscribers there are in each status, and with --status, --tag or --topic their addresses."""
    from ...models import Status
    from ...subscribers.tagging import TopicError, check_topics

    wanted_tag = _tags((tag,), "--tag")[0] if tag is not None else None
    workspace, db = _open(read_only=True)
    topics = workspace.config.topics
    if topic is not None:
        try:
            check_topics(topics, [topic])
        except TopicError as exc:
            raise click.ClickException(f"--topic: {exc}") from None
    with db:
        counts = db.subscribers.counts_by_status()
        for state, count in counts.items():
            click.echo(f"{state:>13}  {count}")
        click.echo(f"{'total':>13}  {sum(counts.values())}")
        if status or wanted_tag is not None or topic is not None:
            click.echo()
            getting = (topic, topics[topic].default) if topic is not None else None
            for subscriber in db.subscribers.all(Status(status) if status else None, wanted_tag, getting):
                click.echo(subscriber.email)


def _addresses(emails: tuple[str, ...], from_file: Path | None) -> list[str]:
    """The addresses given as arguments and in --from-file, checked, each once."""
    from ...subscribers.address_files import read_addresses

    found = dict.fromkeys(_address(email) for email in emails)
    if from_file is not None:
        found.update(dict.fromkeys(read_addresses(from_file)))
    if not found:
        raise click.UsageError("give one or more addresses, or --from-file FILE")
    return list(found)


def _not_on_the_list(unknown: list[str]) -> str:
    if not unknown:
        return ""
    shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
    return f"; {len(unknown)} not on the list: {shown}"


@subscribers.command()
@click.argument("emails", nargs=-1, metavar="EMAIL...")
@click.option("--add", "add", multiple=True, metavar="TAG", help="Give these subscribers TAG (repeatable).")
@click.option("--remove", "remove", multiple=True, metavar="TAG", help="Take TAG off these subscribers (repeatable).")
@click.option(
    "--from-file", type=click.Path(path_type=Path, dir_okay=False),
    help="Also the addresses in FILE: one a line, or a CSV file with an email column.",
)  # fmt: skip
def tag(emails: tuple[str, ...], add: tuple[str, ...], remove: tuple[str, ...], from_file: Path | None) -> None:
    """Add or remove tags of subscribers (addresses not on the list are named, and nothing is added for them)."""
    from ...subscribers.tagging import retag

    adding, removing = _tags(add, "--add"), _tags(remove, "--remove")
    if not adding and not removing:
        raise click.UsageError("give --add TAG or --remove TAG")
    both = set(adding) & set(removing)
    if both:
        raise click.UsageError(f"{sorted(both)[0]!r} is both added and removed; nothing was changed")
    addresses = _addresses(emails, from_file)
    _, db = _open()
    with db:
        done = retag(db, addresses, adding, removing)
    click.echo(f"{done.changed} subscriber(s) changed{_not_on_the_list(done.unknown)}")


@subscribers.command()
@click.argument("emails", nargs=-1, required=True, metavar="EMAIL...")
@click.option("--add", "add", multiple=True, metavar="KEY", help="These subscribers get topic KEY of [topics] (repeatable).")
@click.option("--remove", "remove", multiple=True, metavar="KEY", help="These subscribers no longer get topic KEY (repeatable).")
def topics(emails: tuple[str, ...], add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Choose which topics of [topics] subscribers get; without --add or --remove, show which they get."""
    from ...subscribers.tagging import TopicError, check_topics, choose_topics

    addresses = [_address(email) for email in dict.fromkeys(emails)]
    workspace, db = _open()
    keys = workspace.config.topics
    both = set(add) & set(remove)
    if both:
        raise click.UsageError(f"{sorted(both)[0]!r} is both added and removed; nothing was changed")
    try:
        check_topics(keys, [*add, *remove])
    except TopicError as exc:
        raise click.ClickException(str(exc)) from None
    with db:
        if not add and not remove:
            _show_topics(db, addresses, workspace.config.topic_defaults)
            return
        done = choose_topics(db, addresses, list(add), list(remove))
    click.echo(f"{done.changed} subscriber(s) changed{_not_on_the_list(done.unknown)}")


def _show_topics(db: Database, addresses: list[str], defaults: dict[str, bool]) -> None:
    for address in addresses:
        if db.subscribers.get(address) is None:
            raise click.ClickException(f"{address} is not a subscriber")
        got = [key for key, on in db.audience.topics(address, defaults).items() if on]
        click.echo(f"{address}: {', '.join(got) or 'no topics'}")


@subscribers.command()
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Write to this file instead of standard output (a new file or a regular one, in a folder that exists; - is standard output).",
)  # fmt: skip
@click.option("--follow-symlinks", is_flag=True, help="Let --out FILE be a symbolic link, and write to the file it points to.")
def export(out_file: Path | None, follow_symlinks: bool) -> None:
    """Write every subscriber as CSV: email, name, status, created_at, subscriber_id, tags and topics (when there are any), then one column per attribute.

    `subscribers import` reads it back unchanged (status, link ids, tags and topics included)."""
    from ...files.writing import STDOUT, output_target, write_output
    from ...subscribers.csv_formats import write_csv

    if out_file is not None and str(out_file) == STDOUT:
        out_file = None
    if out_file is not None:
        output_target(out_file, follow_symlinks)  # a FIFO, a device, a link or a missing folder is refused before reading the list
    workspace, db = _open(read_only=True)
    defaults = workspace.config.topic_defaults
    with db:
        names = db.subscribers.attribute_names()
        tags = db.subscribers.has_tags()
        people = db.subscribers.with_audience(defaults) if tags or defaults else db.subscribers.all()
        if out_file is None:
            write_csv(people, names, sys.stdout, tags, bool(defaults))
            return
        import io

        buffer = io.StringIO(newline="")
        count = write_csv(people, names, buffer, tags, bool(defaults))
    write_output(out_file, buffer.getvalue().encode("utf-8"), follow_symlinks)
    click.echo(f"wrote {count} subscribers to {display_path(out_file)}", err=True)


@subscribers.command()
def sync() -> None:
    """Mark SendGrid's unsubscribes, bounces and spam reports here, so those people are never mailed again."""
    from ...subscribers.sync import sync_suppressions
    from ...workspace.config import load_workspace

    for synced in sync_suppressions(load_workspace(Path.cwd())):
        unusable = f", {synced.skipped} skipped (not a usable email address)" if synced.skipped else ""
        click.echo(f"{synced.kind.replace('_', ' '):>18}: {synced.listed} at SendGrid, {synced.marked} subscriber(s) marked{unusable}")


@subscribers.command()
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print the story as JSON (what the reader's \"download my data\" gives).")
def show(email: str, as_json: bool) -> None:
    """Show everything the list holds about one subscriber: status, tags, topics, attributes, consent,
    each status change with its channel, each issue sent with its ledger state, provider events and notices."""
    from ...subscribers.story import subscriber_story

    address = _address(email)
    workspace, db = _open(read_only=True)
    with db:
        story = subscriber_story(db, address, workspace.config.topic_defaults)
    if as_json:
        import json

        click.echo(json.dumps(story.as_json(), indent=2, ensure_ascii=False))
        return
    for line in _story_lines(story):
        click.echo(line)


def _story_lines(story: SubscriberStory) -> list[str]:
    """The story as the terminal shows it: a summary, then one section per record, oldest first."""
    consent = story.consent
    lines = [
        story.email + (f" ({story.name})" if story.name else ""),
        f"  status      {story.status}" + (f" since {story.status_changed_at}" if story.status_changed_at else ""),
        f"  added       {story.created_at or 'unknown'}",
        f"  tags        {', '.join(story.tags) or '-'}",
    ]
    if story.topics is not None:
        chosen = [f"{key}: {'yes' if on else 'no'}" for key, on in story.topics.items()]
        lines.append(f"  topics      {', '.join(chosen) or '-'}")
    lines.append(f"  attributes  {', '.join(f'{key}={value}' for key, value in story.attributes.items()) or '-'}")
    if consent is None:
        lines.append("  consent     not recorded")
    else:
        source = f" from {consent.source}" if consent.source else ""
        words = f" (words {consent.text_version})" if consent.text_version else ""
        lines.append(f"  consent     {consent.method}{source} at {consent.at}{words}")
    lines += _section("history", [(c.at, c.status, c.channel, c.detail or "", f"issue {c.issue}" if c.issue else "") for c in story.history])
    lines += _section("issues", [(r.updated_at, f"issue {r.issue}", r.state, f"segment {r.segment}" if r.segment else "", r.detail or "") for r in story.issues])
    lines += _section("provider events", [(e.happened_at or "", e.provider, e.event, f"issue {e.issue}" if e.issue else "", e.detail or "") for e in story.events])
    lines += _section("notices", [(n.at, n.kind, n.provider, n.outcome, n.detail or "") for n in story.notices])
    return lines


def _section(title: str, rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return [f"{title}: none"]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [f"{title}:", *("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows)]


@subscribers.command()
@click.argument("email")
@click.option("--name", help="The subscriber's new name.")
@click.option("--email", "new_email", help="The subscriber's new address: their links, history and ledger rows move with them.")
def edit(email: str, name: str | None, new_email: str | None) -> None:
    """Change a subscriber's name or address. A new address keeps every link already sent working;
    it is refused if that address is on the list or suppressed."""
    from ...models import name_problem
    from ...subscribers.rules import edit_subscriber

    address = _address(email)
    if name is None and new_email is None:
        raise click.ClickException("nothing to change: give --name, --email or both")
    problem = name_problem(name) if name else None
    if problem:
        raise click.ClickException(f"--name: {problem}; nothing was changed")
    new_address = _address(new_email) if new_email is not None else None
    _, db = _open()
    with db:
        now_at = edit_subscriber(db, address, name, new_address)
    click.echo(f"{address} is now {now_at}" if now_at != address else f"{address} updated")


@subscribers.command("purge-pending")
@click.option("--older-than", "older_than", default="30d", show_default=True, metavar="AGE", help="How old a signup must be: days (30d), hours (12h) or weeks (4w).")
@click.option("--dry-run", is_flag=True, help="Only count the signups that would be removed.")
def purge_pending(older_than: str, dry_run: bool) -> None:
    """Remove signups never confirmed (status pending) older than AGE, with what they left in the records."""
    from ...subscribers.rules import purge_pending as purge

    age = _age(older_than)
    _, db = _open(read_only=dry_run)
    with db:
        count = purge(db, age, dry_run)
    click.echo(f"{count} signup(s) never confirmed and older than {older_than} {'would be removed' if dry_run else 'removed'}")


def _age(value: str, option: str = "--older-than") -> dt.timedelta:
    import datetime

    units = {"h": "hours", "d": "days", "w": "weeks"}
    number, unit = value.strip()[:-1], value.strip()[-1:].lower()
    if unit not in units or not number.isdigit():
        raise click.ClickException(f"{option} {value!r}: expected a number of days, hours or weeks, such as 30d, 12h or 4w")
    return datetime.timedelta(**{units[unit]: int(number)})


@subscribers.command()
@click.option("--inactive", type=click.IntRange(min=1), required=True, metavar="N", help="Readers with no click in their last N issues received get a last-chance email.")
@click.option(
    "--grace", default="14d", show_default=True, metavar="AGE",
    help="How long a reader has to click after their last-chance email; a later run unsubscribes those who did not: days (14d), hours (36h) or weeks (2w).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Only list who would be sent a last-chance email and who would be unsubscribed; change nothing.")
def sunset(inactive: int, grace: str, dry_run: bool) -> None:
    """Let go of readers who stopped reading: unsubscribe (channel sunset) those who did not click
    within --grace of their last-chance email, then send one to each reader with no click in their
    last --inactive issues. Run it again after the grace period (cron may run it daily) to finish.
    Needs [tracking] clicks = "reader", or a provider that reports each reader's clicks."""
    import threading

    from ...sending.sunset import sunset as run_sunset
    from ...workspace.config import load_workspace
    from .send import ctrl_c_finishes_the_batch

    period = _age(grace, "--grace")
    workspace = load_workspace(Path.cwd())
    stop = threading.Event()
    with ctrl_c_finishes_the_batch(stop):
        report = run_sunset(workspace, inactive, period, dry_run=dry_run, stop=stop)
    for line in _sunset_lines(report, inactive, grace):
        click.echo(line)
    if report.stopped:
        raise click.ClickException(report.stopped)


def _sunset_lines(report: SunsetReport, inactive: int, grace: str) -> list[str]:
    from ...models import State

    would = "would be " if report.dry_run else ""
    lines = ["Dry run: nothing was sent or changed."] if report.dry_run else []
    lines.append(f"{len(report.let_go)} reader(s) {would}unsubscribed (channel sunset): no click within {grace} of their last-chance email")
    lines += [f"  {email}" for email in report.let_go]
    lines.append(f"{len(report.chosen)} reader(s) {would}sent a last-chance email (round {report.key}): no click in their last {inactive} issues")
    lines += [f"  {email}" for email in report.chosen]
    if not report.dry_run:
        counts = report.counts
        lines.append(
            f"round {report.key}: {counts[State.SENT]} sent, {counts[State.FAILED]} failed, {counts[State.UNKNOWN]} unknown, {counts[State.PENDING]} pending; "
            "run the same command again after the grace period to unsubscribe those who do not click"
        )
    return lines


@subscribers.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(email: str, yes: bool) -> None:
    """Erase a subscriber at their request: their data is deleted, their address replaced in the
    ledger and history, and a suppression kept so no import or add brings them back."""
    from ...subscribers.rules import erase as erase_address

    address = _address(email)
    if not yes:
        click.confirm(f"Erase {address} for good (their data cannot be brought back)?", abort=True)
    _, db = _open()
    with db:
        found = erase_address(db, address, "command line")
    if not found:
        raise click.ClickException(f"{address} is not a subscriber, and no records hold it; nothing was changed")
    click.echo(f"{address} erased; a suppression keeps them off the list until they sign up and confirm again")
