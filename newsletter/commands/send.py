"""`newsletter send`, `status` and `cancel`: deliver an issue to subscribers (parse, call, print)."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import threading
import time
from pathlib import Path

import click

from ..cli import IssuePath, display_path
from ..providers import NAMES


def _prepare(issue_file: Path):
    """Workspace, issue and its single render; refuses an issue that `newsletter check` fails."""
    from ..check import check
    from ..config import load_workspace
    from ..issue_file import load_issue
    from ..render import Renderer

    workspace = load_workspace(issue_file.parent)
    issue = load_issue(issue_file)
    email = Renderer(workspace).render(issue)  # rendered once; per-recipient values are tokens
    errors = [finding for finding in check(issue, email) if finding.level == "error"]
    if errors:
        listed = "\n".join(f"  {finding.message}" for finding in errors)
        raise click.ClickException(f"{display_path(issue_file)} is not ready to send; `newsletter check` reports:\n{listed}")
    return workspace, issue, email


@contextlib.contextmanager
def _one_send_at_a_time(database: Path, issue: str):
    """Two runs of the same issue at once would fight over the ledger: the second one is refused."""
    import fcntl

    lock_path = database.with_name(f"{database.name}.issue-{issue}.lock")
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.ClickException(f"issue {issue} is already being sent by another `newsletter send`") from None
        yield


@contextlib.contextmanager
def _ctrl_c_finishes_the_batch(stop: threading.Event):
    """The first Ctrl-C lets the batch in flight finish; a second one stops at once."""

    def first(signum, frame):
        stop.set()
        click.echo("\nStopping after the batch in flight (Ctrl-C again to stop now)...", err=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@click.command()
@click.argument("issue_file", type=IssuePath)
@click.option("--provider", type=click.Choice(NAMES), help="Override [send] provider from newsletter.toml.")
@click.option("--test", "test_address", metavar="ADDRESS", help="Send one copy, marked as a test, to ADDRESS only (not recorded).")
@click.option("--dry-run", is_flag=True, help="Show who would receive it and the first request, and send nothing.")
@click.option("--retry-unknown", is_flag=True, help="Send again to recipients whose earlier delivery is unknown (they may get two copies).")
@click.option("--at", "send_at", metavar="DATETIME", help="Schedule delivery (SendGrid only), e.g. 2026-11-26T08:00+00:00; at most 72 hours ahead.")
def send(issue_file: Path, provider: str | None, test_address: str | None, dry_run: bool, retry_unknown: bool, send_at: str | None) -> None:
    """Send ISSUE_FILE to every active subscriber, once each. Run it again to resume."""
    from ..store import State, Store
    from ..unsubscribe import secret_from_environment

    workspace, issue, email = _prepare(issue_file)
    config = workspace.config
    name = provider or config.send.provider
    secret, development = secret_from_environment(name)
    if development:
        click.secho("NEWSLETTER_SECRET is not set: the outbox signs unsubscribe links with the development secret.", fg="yellow", err=True)
    when = _parse_when(send_at, name)

    if test_address:
        return _send_test(workspace, name, issue, email, test_address, secret)
    key = str(issue.number)
    with Store(workspace.database) as store:
        if dry_run:
            return _dry_run(workspace, store, name, key, email, secret)
        with _one_send_at_a_time(workspace.database, key):
            if retry_unknown:
                click.echo(f"{store.retry_unknown(key)} recipient(s) with an unknown outcome will be sent again")
            store.prepare(key)
            total = store.pending_count(key)
            unknown_before = store.ledger_counts(key)[State.UNKNOWN]
            if unknown_before and not retry_unknown:
                click.secho(
                    f"{unknown_before} recipient(s) have an unknown outcome from an interrupted run; they are not retried "
                    f"(see `newsletter status {display_path(issue_file)}`, or use --retry-unknown)",
                    fg="yellow",
                    err=True,
                )
            if total == 0:
                click.echo(f"Nothing to send: every subscriber already has issue {issue.number}.")
                return _print_counts(store.ledger_counts(key))
            report = _run(workspace, store, name, key, email, secret, total, when)
    _print_counts(report.counts)
    click.echo(f"{report.requests} batch(es) handed to {name}.")
    if report.stopped:
        raise click.ClickException(report.stopped)


def _run(workspace, store, name, key, email, secret, total, when):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..providers import open_provider
    from ..sending import Sender, SendSettings, use_schedule

    settings = workspace.config.send
    provider = open_provider(name, workspace)
    try:
        schedule = use_schedule(store, provider, key, when)
        if schedule:
            click.echo(f"Scheduled: SendGrid delivers issue {key} at {schedule[0].isoformat()} (`newsletter cancel` cancels it).")
        sender = Sender(
            store,
            provider,
            workspace.config,
            secret,
            SendSettings(settings.batch_size, settings.rate_per_second, settings.error_budget, settings.retries),
            scheduled_batch=schedule[1] if schedule else None,
        )
        stop = threading.Event()
        columns = [TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]
        started = time.monotonic()
        with _ctrl_c_finishes_the_batch(stop), Progress(*columns, transient=True) as progress:
            task = progress.add_task("send", total=total, rate="")

            def advance(handled: int) -> None:
                done = progress.tasks[0].completed + handled
                seconds = max(time.monotonic() - started, 1e-6)
                progress.update(task, completed=done, rate=f"{done / seconds:,.0f}/s")

            return sender.run(key, email, stop, advance)
    finally:
        provider.close()


def _send_test(workspace, name, issue, email, address, secret) -> None:
    from ..providers import open_provider
    from ..sending import send_test_copy
    from ..subscribers import normalize

    try:
        target = normalize(address)
    except ValueError as exc:
        raise click.ClickException(f"--test {address!r}: not a usable address: {exc}") from None
    provider = open_provider(name, workspace)
    try:
        send_test_copy(provider, workspace.config, str(issue.number), email, target, secret)
    finally:
        provider.close()
    click.echo(f"Sent a test copy of issue {issue.number} to {target} via {name} (not recorded in the ledger).")


def _dry_run(workspace, store, name, key, email, secret) -> None:
    import json

    from ..providers.base import Batch
    from ..sending import letters_for
    from ..store import Status

    counts = store.counts_by_status()
    ledger = store.ledger_counts(key)
    due, first = store.due(key, min(workspace.config.send.batch_size, 1000))
    click.echo(f"Dry run for issue {key} via {name}: nothing will be sent.")
    click.echo(f"  active subscribers: {counts[Status.ACTIVE]} (not mailed: {sum(counts.values()) - counts[Status.ACTIVE]} unsubscribed, bounced or complained)")
    click.echo(f"  already handled by earlier runs: {sum(ledger.values()) - ledger['pending']}")
    click.echo(f"  would be sent now: {due}")
    if not first:
        return
    batch = Batch(key, "dry-run", email, letters_for(first, workspace.config, secret))
    if name == "sendgrid":
        from ..providers.sendgrid import build_payload

        body = build_payload(workspace.config, batch)
        click.echo("First request body (POST /v3/mail/send), content shortened:")
        for part in body["content"]:
            part["value"] = part["value"][:200] + "..."
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        from ..providers.base import mime_message

        message = mime_message(workspace.config, batch, batch.letters[0])
        click.echo(f"First message ({batch.letters[0].email}), headers:")
        for header, value in message.items():
            click.echo(f"  {header}: {value}")


def _parse_when(send_at: str | None, provider: str) -> dt.datetime | None:
    if not send_at:
        return None
    if provider != "sendgrid":
        raise click.ClickException("--at schedules through SendGrid; use --provider sendgrid (or [send] provider)")
    try:
        when = dt.datetime.fromisoformat(send_at)
    except ValueError:
        raise click.ClickException(f"--at {send_at!r}: expected a date and time such as 2026-11-26T08:00+00:00") from None
    if when.tzinfo is None:
        when = when.astimezone()  # local time
    when = when.replace(microsecond=0)  # SendGrid's send_at is in whole seconds
    ahead = when - dt.datetime.now(dt.UTC)
    if ahead <= dt.timedelta(0) or ahead > dt.timedelta(hours=72):
        raise click.ClickException(f"--at {send_at}: SendGrid schedules between now and 72 hours ahead")
    return when


def _ledger_key(issue_file: Path):
    """The workspace, and the key the ledger files this issue under (its number)."""
    from ..config import load_workspace
    from ..issue_file import load_issue

    return load_workspace(issue_file.parent), str(load_issue(issue_file).number)


def _print_counts(counts) -> None:
    shown = ", ".join(f"{count} {state}" for state, count in counts.items() if count)
    click.echo(f"Ledger: {shown or 'empty'}")


@click.command()
@click.argument("issue_file", type=IssuePath)
def status(issue_file: Path) -> None:
    """Show how far sending ISSUE_FILE has got, and who failed or is unknown."""
    from ..store import State, Store

    workspace, key = _ledger_key(issue_file)
    with Store(workspace.database) as store:
        counts = store.ledger_counts(key)
        click.echo(f"Issue {key}:")
        for state, count in counts.items():
            click.echo(f"  {state:>8}  {count}")
        for delivery in store.deliveries(key, [State.FAILED, State.UNKNOWN, State.SENDING]):
            click.echo(f"  {delivery.state}: {delivery.email}: {delivery.detail or ''}")
        schedule = store.schedule(key)
    if schedule:
        batch_id, at = schedule
        if at > dt.datetime.now(dt.UTC):
            click.echo(f"Scheduled through SendGrid for {at.isoformat()} (batch {batch_id}); `newsletter cancel` cancels it.")
        else:
            click.echo(f"Was scheduled through SendGrid for {at.isoformat()} (batch {batch_id}).")
    if counts[State.SENDING]:
        click.echo("Rows `sending` belong to a run in progress; if none is running, the next `send` reports them as unknown.")
    if counts[State.UNKNOWN]:
        click.echo("Unknown rows may or may not have been delivered; `newsletter send ISSUE --retry-unknown` sends them again.")


@click.command()
@click.argument("issue_file", type=IssuePath)
def cancel(issue_file: Path) -> None:
    """Cancel a delivery scheduled with `send --at` (SendGrid)."""
    from ..providers.sendgrid import SendGridProvider
    from ..sending import cancel_schedule
    from ..store import State, Store

    workspace, key = _ledger_key(issue_file)
    with Store(workspace.database) as store:
        at, changed, state = cancel_schedule(store, SendGridProvider(workspace.config), key)
    if state == State.PENDING:
        click.echo(f"Cancelled the delivery of issue {key} scheduled for {at.isoformat()}; {changed} recipient(s) are pending again.")
    else:
        click.secho(
            f"Asked SendGrid to cancel the delivery of issue {key} scheduled for {at.isoformat()}, but that is less than "
            f"10 minutes away, when SendGrid does not guarantee it: {changed} recipient(s) are marked unknown.",
            fg="yellow",
        )
