"""`newsletter send`, `status` and `cancel`: parse, call the send core, print."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from ...providers import NAMES, REGISTRY, SHOWN
from ..main import IssuePath, display_path
from . import issue_and_workspace
from .subject_tests import print_subject_test

if TYPE_CHECKING:
    from rich.progress import TaskID

    from ...db import IssueRecord
    from ...models import State
    from ...sending import DryRun, SendReport
    from ...sending.core import Cancelled, TestCopies
    from ...sending.subjects import SubjectTestOptions
    from ...workspace.config import Workspace

# What a dry run checks of each provider (newsletter.providers.check_provider), as it tells the user
MAX_TEST_LIST_BYTES = 1_000_000  # some 20,000 addresses; test copies go to a handful


@contextlib.contextmanager
def ctrl_c_finishes_the_batch(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C lets the batch in flight finish; a second one stops at once."""

    def first(_signum: int, _frame: FrameType | None) -> None:  # signal.signal's handler signature
        stop.set()
        click.echo("\nStopping after the batch in flight (Ctrl-C again to stop now)...", err=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Bar:
    """A progress bar (rich) on the terminal while the loop sends."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = [TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]
        console = Console(stderr=True)
        # Drawn on a terminal only, twice a second: each redraw holds the interpreter from the send.
        self.bar = Progress(*columns, console=console, transient=True, refresh_per_second=2, disable=not console.is_terminal)
        self.task: TaskID | None = None
        self.started = time.monotonic()

    def start(self, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("send", total=total, rate="")
        self.started = time.monotonic()

    def advance(self, handled: int) -> None:
        if self.task is None:
            return
        done = self.bar.tasks[0].completed + handled
        seconds = max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=done, rate=f"{done / seconds:,.0f}/s")

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()


@click.command()
@click.argument("issue_file", type=IssuePath, required=False)
@click.option("--provider", type=click.Choice(NAMES), help="Override [send] provider from newsletter.toml.")
@click.option(
    "--test",
    "test_addresses",
    metavar="ADDRESS",
    multiple=True,
    help="Send one copy, marked [TEST], to ADDRESS only (not recorded); repeat for several. A draft whose only errors are TODOs goes out marked [DRAFT].",
)
@click.option(
    "--test-list",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Like --test, for each address in FILE (one a line; blank lines and # comments ignored).",
)
@click.option("--dry-run", is_flag=True, help="Show who would receive it and the first request, and send nothing.")
@click.option("--retry-unknown", is_flag=True, help="Send again to recipients whose earlier delivery is unknown (they may get two copies).")
@click.option("--at", "send_at", metavar="DATETIME", help="Deliver at this time instead of now, e.g. 2026-11-26T08:00+00:00 (any provider, any time ahead).")
@click.option("--due", is_flag=True, help="Deliver every scheduled send whose time has come (run it from cron every minute).")
@click.option("--worker", is_flag=True, help="Be one of several senders sharing the list, on any machines (PostgreSQL only).")
@click.option(
    "--segment",
    metavar="EXPRESSION",
    help='Send only to the readers EXPRESSION matches (e.g. \'tag:vip and attr.country = "DE"\', or a [segments] name); replaces the issue\'s `segment:`.',
)
@click.option("--test-subjects", metavar="SHARE", help="Test the issue's `subjects:` on SHARE of the readers (e.g. 20%), split evenly; the rest get the winner.")
@click.option("--decide-after", metavar="DURATION", help="With --test-subjects: how long the test runs (30m to 7d, e.g. 4h) before `send --due` sends the winner to the rest.")
@click.option("--over", "over", metavar="SPAN", help="Spread the send evenly over SPAN (e.g. 3h, 90m); a re-run or `send --due` goes on at the same pace.")
@click.option("--resume", is_flag=True, help="Go on with a send that paused on hard bounces or complaints (or a canary before its wait ends): your decision, never cron's.")
def send(
    issue_file: Path | None,
    provider: str | None,
    test_addresses: tuple[str, ...],
    test_list: Path | None,
    dry_run: bool,
    retry_unknown: bool,
    send_at: str | None,
    due: bool,
    worker: bool,
    segment: str | None,
    test_subjects: str | None,
    decide_after: str | None,
    over: str | None,
    resume: bool,
) -> None:
    """Send ISSUE_FILE to every active subscriber (of its topic, in its segment), once each. Run it again to resume."""
    if due:
        others = (issue_file, test_addresses, test_list, dry_run, retry_unknown, send_at, provider, worker, segment is not None, test_subjects, decide_after, over, resume)
        if any(others):
            raise click.UsageError("--due takes no issue file and no other option: it sends every scheduled issue whose time has come")
        return _send_due()
    if issue_file is None:
        raise click.UsageError("give the issue file to send (or --due to deliver scheduled sends)")
    if worker and (test_addresses or test_list or dry_run or send_at):
        raise click.UsageError("--worker sends the issue now: it takes no --test, --test-list, --dry-run or --at")
    if (over or resume) and (test_addresses or test_list or dry_run):
        raise click.UsageError("--over and --resume steer the real send: they take no --test, --test-list or --dry-run")
    from ...issue.prepare import prepare_issue
    from ...sending import dry_run as plan_dry_run
    from ...sending import parse_time, send_issue, send_test_copy
    from ...sending.pacing import parse_over

    try:
        window = parse_over(over) if over is not None else None
    except ValueError as exc:
        raise click.UsageError(f"--over: {exc}") from None

    subject_test = _subject_test(test_subjects, decide_after, bool(test_addresses or test_list or dry_run))
    addresses = list(test_addresses) + (_read_test_list(test_list) if test_list else [])
    if test_list and not addresses:
        raise click.UsageError(f"{display_path(test_list)} holds no address")
    when = parse_time(send_at) if send_at else None
    prepared = prepare_issue(issue_file)
    name = provider or prepared.workspace.config.send.provider
    if addresses:
        return _print_test_copies(send_test_copy(prepared, name, addresses), prepared.key, name)
    if dry_run:
        return _print_dry_run(plan_dry_run(prepared, name, segment), prepared.key, name)
    stop = threading.Event()
    bar = _Bar()
    try:
        with ctrl_c_finishes_the_batch(stop):
            report = send_issue(
                prepared, name, retry_unknown=retry_unknown, at=when, stop=stop, progress=bar, worker=worker, segment=segment, subject_test=subject_test, over=window, resume=resume
            )
    finally:
        bar.stop()
    _print_report(report, issue_file)


def _subject_test(share: str | None, decide_after: str | None, copies_or_dry_run: bool) -> SubjectTestOptions | None:
    """--test-subjects and --decide-after, checked; None without them."""
    from ...sending.subjects import parse_options

    if share is None:
        if decide_after is not None:
            raise click.UsageError("--decide-after goes with --test-subjects: give both, e.g. --test-subjects 20% --decide-after 4h")
        return None
    if copies_or_dry_run:
        raise click.UsageError("--test-subjects starts the real send; it takes no --test, --test-list or --dry-run")
    return parse_options(share, decide_after)


def _read_test_list(path: Path) -> list[str]:
    """The addresses in a --test-list file, one a line; a line that is not one is refused by file:line."""
    from ...files.reading import UnreadableFile, read_capped
    from ...models.addresses import normalize

    shown = display_path(path)
    try:  # a regular file of at most a megabyte: /dev/zero or a FIFO is refused before reading
        lines = read_capped(path, MAX_TEST_LIST_BYTES, "test list").decode("utf-8").splitlines()
    except UnreadableFile as exc:
        raise click.UsageError(f"--test-list {shown}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"--test-list {shown}: cannot read it: {exc}") from None
    addresses = []
    for number, line in enumerate(lines, 1):
        address = line.strip()
        if not address or address.startswith("#"):
            continue
        try:
            normalize(address)
        except ValueError as exc:
            raise click.ClickException(f"{shown}:{number}: {address!r} is not a usable address: {str(exc).rstrip('.')}. Nothing was sent.") from None
        addresses.append(address)
    return addresses


def _print_test_copies(copies: TestCopies, key: str, name: str) -> None:
    mark = "[DRAFT]" if copies.draft else "[TEST]"
    where = f" in {display_path(copies.folder)}" if copies.folder else ""
    click.echo(f"Test copies of issue {key} via {name}{where}, subject marked {mark} (not recorded in the ledger):")
    if copies.draft:
        click.echo("  (a draft: its only errors are TODO placeholders; `newsletter check` lists them, and the real send refuses it until they are gone)")
    for address, problem in copies.results:
        click.echo(f"  {address}: {problem or 'sent'}")
    if copies.failed:
        raise click.ClickException(f"{copies.failed} of {len(copies.results)} test copies were not sent")


def _send_due() -> None:
    from ...db import Busy
    from ...sending import send_due
    from ...workspace.config import load_workspace

    workspace = load_workspace(Path.cwd())
    try:
        results = send_due(workspace)
    except Busy as exc:
        click.echo(f"{exc}; this run does nothing.")  # normal under cron when a long send runs
        return
    if not results:
        click.echo("No scheduled send is due.")
    failed = []
    for result in results:
        when = result.schedule.send_at.isoformat()
        if result.error:
            failed.append(f"issue {result.schedule.issue} (due {when}): {result.error}")
        elif result.report is None:
            click.echo(f"Issue {result.schedule.issue}: delivered by {SHOWN[result.schedule.provider]} at {when}.")
        else:
            click.echo(f"Issue {result.schedule.issue} (due {when}, {result.schedule.file}):")
            _print_report(result.report, Path(result.schedule.file or "ISSUE"))
    if failed:
        raise click.ClickException("Not sent this time (they stay scheduled; the next --due run tries again):\n  " + "\n  ".join(failed))


def _print_report(report: SendReport, issue_file: Path) -> None:
    from ...models import State

    shown = display_path(issue_file)
    if report.development_secret:
        click.secho("NEWSLETTER_SECRET is not set: the outbox signs links with the development secret.", fg="yellow", err=True)
    if report.retried_unknown:
        click.echo(f"{report.retried_unknown} recipient(s) with an unknown outcome will be sent again.")
    _print_schedule(report, shown)
    counts = report.counts
    if report.topic or report.segment:
        click.echo(f"To {_audience(report.topic, report.segment)}.")
    if not report.batches and not report.schedule and not report.stopped and not report.note:
        click.echo(_nothing_to_send(report.issue, counts, shown, report.topic or report.segment))
    _print_counts(counts)
    if report.batches:
        click.echo(f"{report.batches} batch(es) handed to {report.provider}.")
    if report.bounced:
        click.echo("Marked bounced: their mail server refused these addresses for good, [send] bounce_after times in a row; they are not mailed again:")
        for address, words in sorted(report.bounced.items()):
            click.echo(f"  {address}: {words}")
    if counts[State.UNKNOWN] and report.batches:
        click.secho(
            f"{counts[State.UNKNOWN]} recipient(s) have an unknown outcome: they may or may not have it. "
            f"`newsletter status {shown}` lists them; `newsletter send {shown} --retry-unknown` sends them again.",
            fg="yellow",
            err=True,
        )
    print_subject_test(report.subject_test)
    if report.note:
        click.echo(report.note)
    if report.stopped:
        raise click.ClickException(report.stopped)


def _print_schedule(report: SendReport, shown: str) -> None:
    """The delivery time of a run that scheduled rather than sent."""
    if report.schedule and report.schedule.held_by == "here":
        click.echo(
            f"Scheduled: issue {report.issue} goes out via {SHOWN[report.provider]} at {report.schedule.send_at.isoformat()}, held here until then. "
            "`newsletter send --due` delivers it when the time comes: run it from cron every minute (see README). "
            f"`newsletter cancel {shown}` cancels it."
        )
    elif report.schedule:
        click.echo(f"Scheduled: {SHOWN[report.provider]} delivers issue {report.issue} at {report.schedule.send_at.isoformat()} (`newsletter cancel {shown}` cancels it).")


def _audience(topic: str | None, segment: str | None) -> str:
    """Whom a send goes to, in words: "the readers of topic ai in segment tag:vip"."""
    readers = f"the readers of topic {topic}" if topic else "the active subscribers"
    return f"{readers} in segment {segment}" if segment else readers


def _nothing_to_send(issue: str, counts: dict[State, int], shown: str, selected: str | None = None) -> str:
    """An honest "nothing to send": who has it, and who may not."""
    from ...models import State

    if counts[State.UNKNOWN] == 0 and counts[State.FAILED] == 0:
        if selected and counts[State.PENDING] == 0:
            return f"Nothing to send: nobody it goes to is without issue {issue} (`newsletter send {shown} --dry-run` shows who it leaves out, and why)."
        if counts[State.SENT] == 0 and counts[State.SCHEDULED] == 0:
            return f"Nothing to send: issue {issue} has no active subscriber to go to (see `newsletter subscribers list`)."
        return f"Nothing to send: every active subscriber already has issue {issue}."
    parts = []
    if counts[State.UNKNOWN]:
        parts.append(
            f"{counts[State.UNKNOWN]} have an unknown outcome from an interrupted run (they may or may not have it; "
            f"`newsletter send {shown} --retry-unknown` sends them again)"
        )
    if counts[State.FAILED]:
        parts.append(f"{counts[State.FAILED]} failed (`newsletter status {shown}` says why)")
    return f"Nothing new to send for issue {issue}, but not everyone has it: " + "; ".join(parts) + "."


def _print_counts(counts: dict[State, int]) -> None:
    shown = ", ".join(f"{count} {state}" for state, count in counts.items() if count)
    click.echo(f"Ledger: {shown or 'empty'}")


def _print_dry_run(plan: DryRun, key: str, name: str) -> None:
    from ...models import Status

    counts = plan.subscribers
    click.echo(f"Dry run for issue {key} via {name}: nothing will be sent.")
    click.echo(f"  active subscribers: {counts[Status.ACTIVE]} (not mailed: {sum(counts.values()) - counts[Status.ACTIVE]} unsubscribed, bounced or complained)")
    click.echo(f"  already handled by earlier runs: {plan.already_handled}")
    if plan.topic or plan.segment:
        click.echo(f"  to: {_audience(plan.topic, plan.segment)}")
    click.echo(f"  would be sent now: {plan.would_send}")
    if plan.sample:
        more = f" (and {plan.would_send - len(plan.sample)} more)" if plan.would_send > len(plan.sample) else ""
        click.echo(f"  for example: {', '.join(plan.sample)}{more}")
    if plan.left_out is not None and (plan.topic or plan.segment):
        left = plan.left_out
        click.echo(f"  left out: {left.not_active} not active (unsubscribed, bounced, complained or unconfirmed)")
        if plan.topic:
            click.echo(f"            {left.not_in_topic} active but not reading topic {plan.topic}")
        if plan.segment:
            click.echo(f"            {left.not_in_segment} active{' readers of the topic' if plan.topic else ''} outside the segment")
    if plan.provider_problem:
        raise click.ClickException(f"{SHOWN[name]} would refuse the real send: {plan.provider_problem}. Nothing was sent.")
    click.echo(f"  {SHOWN[name]}: checked as the real send checks it ({REGISTRY[name].dry_run_checks}); nothing was sent")
    if plan.first_request is not None:
        click.echo(plan.first_request.heading)
        click.echo(plan.first_request.text)


def _key(issue_file: Path) -> tuple[Workspace, str]:
    """The workspace, and the key the ledger files this issue under (its number)."""
    workspace, issue = issue_and_workspace(issue_file)
    return workspace, str(issue.number)


def _print_segments(segments: dict[str | None, dict[State, int]]) -> None:
    """The rows by the segment they went out under, once any went out under one."""
    if all(segment is None for segment in segments):
        return
    click.echo("By segment:")
    for segment, states in sorted(segments.items(), key=lambda item: item[0] or ""):
        shown = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        click.echo(f"  {segment or '(everyone)'}: {shown}")


@click.command()
@click.argument("issue_file", type=IssuePath)
def status(issue_file: Path) -> None:
    """Show how far sending ISSUE_FILE has got, and who failed or is unknown."""
    from ...models import State
    from ...sending import issue_status
    from ...sending.subjects import subject_test_status

    workspace, key = _key(issue_file)
    found = issue_status(workspace, key)
    shown = display_path(issue_file)
    if not any(found.counts.values()) and found.schedule is None and not found.events:  # seven rows of 0 say less than this
        click.echo(f"Issue {key}: not sent yet. `newsletter send {shown}` sends it (`--dry-run` first shows to whom).")
        return
    click.echo(f"Issue {key}:" if found.topic is None else f"Issue {key} (topic {found.topic}):")
    for state, count in found.counts.items():
        click.echo(f"  {state:>9}  {count}")
    _print_segments(found.segments)
    for line in found.plan:
        click.echo(line)
    for delivery in found.problems:
        click.echo(f"  {delivery.state}: {delivery.email}: {delivery.detail or ''}")
    if found.events:
        click.echo("Reported by the provider (addresses):")
        for event, count in found.events.items():
            click.echo(f"  {event:>17}  {count}")
    schedule = found.schedule
    if schedule and schedule.held_by == "here":
        due = schedule.send_at <= dt.datetime.now(dt.UTC)
        click.echo(
            f"Scheduled for {schedule.send_at.isoformat()} via {SHOWN[schedule.provider]}, held here"
            + (": due now, `newsletter send --due` delivers it." if due else f" until `newsletter send --due` delivers it; `newsletter cancel {shown}` cancels it.")
        )
    elif schedule:
        click.echo(f"Scheduled through {SHOWN[schedule.provider]} for {schedule.send_at.isoformat()} (batch {schedule.batch_id}); `newsletter cancel {shown}` cancels it.")
    print_subject_test(subject_test_status(workspace, key))
    record = found.record
    _print_commit(record)
    if record and record.changed_at:
        click.secho(
            f"The content of issue {key} changed mid-send ({record.changed_at}): {record.handed_over_before_change} recipient(s) "
            "had been handed the earlier version; everyone after them got the new one.",
            fg="yellow",
        )
    counts = found.counts
    if counts[State.SENDING]:
        click.echo("Rows `sending` belong to a run in progress; if none is running, the next `send` reports them as unknown.")
    if counts[State.UNKNOWN]:
        click.echo(f"Unknown rows may or may not have been delivered; `newsletter send {shown} --retry-unknown` sends them again.")


def _print_commit(record: IssueRecord | None) -> None:
    """The git commit the issue went out from, when the workspace is a git repository."""
    if record and record.git_clean is not None:
        as_committed = "as committed" if record.git_clean else "with changes that were not committed"
        click.echo(f"Sent from git commit {record.git_commit or '(none yet)'}: {record.file} {as_committed}.")


@click.command()
@click.argument("issue_file", type=IssuePath)
def cancel(issue_file: Path) -> None:
    """Cancel a delivery scheduled with `send --at`, or end a canary, paced or paused send (the rest is skipped)."""
    from ...publish import page_nobody_received
    from ...sending import Ended, cancel_send

    workspace, issue = issue_and_workspace(issue_file)
    key = str(issue.number)
    done = cancel_send(workspace, key)
    if isinstance(done, Ended):
        return click.echo(done.message)
    for cancelled in (done, *done.others):
        _say_cancelled(cancelled)
    if done.scope:
        click.secho(f"{SHOWN[done.schedule.provider]} cannot cancel one delivery alone: this dropped {done.scope}.", fg="yellow")
    page = page_nobody_received(workspace, issue)
    if page is not None:
        click.echo(f"{display_path(page)} is still in the web archive, though nobody has received issue {key}: `newsletter publish` removes it.")


def _say_cancelled(done: Cancelled) -> None:
    """One cancelled delivery: its recipients pending again, or unknown when it was too late to be sure."""
    from ...models import State

    key, when, info = done.schedule.issue, done.schedule.send_at.isoformat(), REGISTRY[done.schedule.provider]
    if done.state == State.PENDING:
        click.echo(f"Cancelled the delivery of issue {key} scheduled for {when}; {done.changed} recipient(s) are pending again.")
        return
    minutes = int(info.cancel_margin.total_seconds() // 60)
    click.secho(
        f"Asked {info.label} to cancel the delivery of issue {key} scheduled for {when}, but that is less than "
        f"{minutes} minutes away, when {info.label} does not guarantee it: {done.changed} recipient(s) are marked unknown.",
        fg="yellow",
    )
