"""The send core: the only way mail leaves. The CLI, cron (`send --due`) and the web app call it.

It owns the rules around a send: the check gate, one sender per issue (a lock), the issue's
identity (one number, one file), scheduling, `--retry-unknown`, preparing the ledger, and the
loop itself. Callers parse their input and present the report; they never touch the ledger.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..db import Busy, Database, IssueRecord, Ledger, Schedule
from ..db.ledger import LeftOut
from ..db.segments import Selection, select
from ..db.send_plans import SendPlans
from ..db.subject_tests import SubjectTests
from ..errors import GitError, NewsletterError
from ..issue.checks import TODO_LEFT, Finding
from ..issue.loading import issue_numbers
from ..issue.prepare import PreparedIssue, prepare_issue
from ..mail.clicks import NO_READER, reader_signer, track_email
from ..mail.links import TEST_COPY_ID, Purpose, make_token, signer
from ..mail.verp import return_paths
from ..models import BatchResult, Delivery, Email, Letter, Outcome, Recipient, RecipientStatus, State, Status
from ..models.addresses import normalize
from ..models.segments import Segment, SegmentError, parse_segment
from ..providers import REGISTRY, can_schedule, check_provider, first_request, open_provider, schedules_ahead
from ..providers.base import Ambiguous, Batch, Edition, Provider, ProviderError, RequestPreview, RetryLater
from ..workspace.config import Config, Workspace
from ..workspace.credentials import SigningKeys, signing_keys
from ..workspace.git import file_state
from .loop import NoProgress, Progress, SendLoop
from .pacing import Steering, plan_status, plans_due
from .schedules import ScheduleError, plan_delivery
from .subjects import SubjectTestOptions, SubjectTestRequest, SubjectTestSend, SubjectTestStatus, run_subject_test, subject_test_plan
from .went_out import record_went_out

if TYPE_CHECKING:
    from ..db.workers import Worker

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SendRefused(NewsletterError):
    """A send that cannot go ahead as asked: the issue fails its checks, or its number is taken."""


@dataclass
class SendReport:
    issue: str
    provider: str
    counts: dict[State, int]
    batches: int = 0
    stopped: str | None = None  # why the run ended early, if it did
    handed_over: int = 0  # rows settled by this run
    retried_unknown: int = 0
    schedule: Schedule | None = None  # the delivery time, when this run scheduled rather than sent
    development_secret: bool = False
    bounced: dict[str, str] = field(default_factory=dict)  # addresses this run made bounced ([send] bounce_after), with the refusal
    topic: str | None = None  # the topic it went to (None: the whole list)
    segment: str | None = None  # the segment it went to (None: everyone of the topic or list)
    subject_test: SubjectTestStatus | None = None  # the issue's subject test, when it has one
    note: str | None = None  # a run that ended as its plan says (after a canary): what happens next


def letters_for(recipients: list[Recipient], config: Config, secret: bytes, issue: str | None = None, provider: str | None = None) -> list[Letter]:
    """Each recipient's letter, with their own signed unsubscribe and preferences links (no address
    in them). The unsubscribe link names `issue`, so that an unsubscribe is credited to the issue
    it came from. Through SMTP with [smtp] bounce_address, each letter also gets its VERP return
    path (one more signature per letter), which names the issue and the reader. With the tool's
    own tracking on, each letter gets the reader part of its tracked links (mail/clicks.py)."""
    before, _, after = config.unsubscribe_url_for("{token}").partition("{token}")  # once per batch, not per letter
    preferences = config.preferences_url_for("")
    sign, sign_preferences = signer(Purpose.UNSUBSCRIBE, secret, issue), signer(Purpose.PREFERENCES, secret)
    bounce_address = config.smtp.bounce_address
    return_path = return_paths(bounce_address, issue, secret) if provider == "smtp" and bounce_address and issue is not None else None
    click = reader_signer(secret, issue) if issue is not None and tracks(config) else None
    if return_path is None and click is None:
        return [Letter(r.email, r.name, f"{before}{sign(r.public_id)}{after}", preferences + sign_preferences(r.public_id)) for r in recipients]
    return [
        Letter(
            r.email, r.name, f"{before}{sign(r.public_id)}{after}", preferences + sign_preferences(r.public_id),
            return_path(r.public_id) if return_path else "", click(r.public_id) if click else NO_READER,
        )
        for r in recipients
    ]  # fmt: skip


def tracks(config: Config) -> bool:
    """Whether the tool's own links or pixel are in the email, so each copy needs its reader part."""
    return config.tracking.clicks != "off" or config.tracking.opens


def tracked_edition_email(prepared: PreparedIssue, secret: bytes, key: str | None = None) -> Email:
    """The email as it goes out: with the tool's own tracked links and pixel when [tracking] asks.
    `key`: the ledger key it goes out under, when not the issue's own (an automation's send step)."""
    config = prepared.workspace.config
    if not tracks(config):
        return prepared.email
    return track_email(prepared.email, prepared.issue, key or prepared.key, config, secret)


def send_issue(
    prepared: PreparedIssue,
    provider: str | None = None,
    *,
    retry_unknown: bool = False,
    at: dt.datetime | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    clock: Clock = utc_now,
    worker: bool = False,
    segment: str | None = None,
    subject_test: SubjectTestOptions | None = None,
    over: dt.timedelta | None = None,
    resume: bool = False,
) -> SendReport:
    """Send (or resume sending) a prepared issue to every active subscriber of its topic (if the
    workspace has [topics]) whom its segment matches, once each; or, with `at`, schedule it.
    `segment` (an expression or a [segments] name) replaces the issue's own `segment:`. Raises
    NewsletterError (a sentence for the user) when it cannot go ahead; a run that starts but
    stops early says why in `report.stopped`.

    With `worker`, this run is one of several sharing the list (on any machines, against one
    PostgreSQL ledger): each claims its own batches, and none recovers another's live rows.

    `over` spreads the send over a window; [send] canary sends to the most engaged first; either,
    and any send's hard bounces and complaints, may end a run early (sending/pacing.py). `resume`
    is the editor's go for a paused send."""
    if prepared.errors:
        listed = "\n".join(f"  {finding}" for finding in prepared.errors)
        raise SendRefused(f"{prepared.path} is not ready to send; `newsletter check` reports:\n{listed}")
    if prepared.workspace.config.send.require_committed:
        refuse_uncommitted(prepared)
    if segment is not None and at is not None:
        # A delivery held here is prepared again when it is due, from the issue file alone.
        raise SendRefused("--segment cannot be scheduled with --at: put `segment:` in the issue file instead, so the delivery goes to the same readers when it is due")
    chosen = chosen_segment(prepared, segment)
    workspace = prepared.workspace
    name = provider or workspace.config.send.provider
    keys = signing_keys(name)
    key = prepared.key
    if worker and at is not None:
        raise SendRefused("--worker sends now; schedule with --at in a plain `newsletter send`, and run the workers when it is due")
    busy = f"issue {key} is already being sent by another `newsletter send`" + ("" if worker else " (or by --worker runs)")
    with Database(workspace.database) as db, db.connection.lock(f"issue-{key}", busy, shared=worker):
        helper = _worker(db) if worker else None
        try:
            selection = select(db.connection.dialect, prepared.topic, workspace.config.topic_defaults, chosen, clock())
            if subject_test is not None or SubjectTests(db.connection).plan(key) is not None:
                _refuse_paced_subject_test(workspace.config, over, resume)
                request = SubjectTestRequest(subject_test, retry_unknown, at, segment is not None, worker)
                report = _send_subject_test(db.ledger, prepared, selection, name, keys, request, stop or threading.Event(), progress or NoProgress(), clock)
            else:
                steering = Steering.open(db.connection, prepared, name, over=over, resume=resume, worker=worker, clock=clock)
                report = _send_locked(db.ledger, prepared, selection, name, keys, retry_unknown, at, stop or threading.Event(), progress or NoProgress(), clock, helper, steering)
            if not report.stopped:
                db.ledger.record_finished(key)  # issue.sent, once, when nothing is left to send
        finally:
            if helper is not None:
                helper.close()
    report.development_secret = keys.development
    return report


def refuse_uncommitted(prepared: PreparedIssue) -> None:
    """[send] require_committed: the issue file goes out only as git holds it, so what was
    reviewed is what readers get (and the ledger's commit says which version that was)."""
    shown = prepared.relative_path
    setting = "[send] require_committed is on"
    try:
        state = file_state(prepared.path)
    except GitError as exc:
        raise SendRefused(f"{exc}; {setting}, so nothing was sent") from None
    if state is None:
        raise SendRefused(f"{shown}: is not in a git repository, and {setting}: commit the workspace to one, or set require_committed = false. Nothing was sent.")
    if not state.tracked:
        raise SendRefused(f"{shown}: is not committed (git does not track it, or ignores it), and {setting}: `git add {shown}` and commit, then send again. Nothing was sent.")
    if not state.clean:
        raise SendRefused(f"{shown}: has changes that are not committed, and {setting}: commit them (`git commit {shown}`), then send again. Nothing was sent.")


def _refuse_paced_subject_test(config: Config, over: dt.timedelta | None, resume: bool) -> None:
    """A subject test already sends to a share first and the rest later: pacing or a canary on top
    of it is not built yet, and is refused rather than half applied."""
    if over is not None or resume:
        raise SendRefused("a subject test cannot be paced (--over) or resumed (--resume) yet; send it without them. Nothing was sent.")
    if config.send.canary is not None:
        raise SendRefused("a subject test cannot run with [send] canary yet (both send to a share first); remove canary from newsletter.toml for this send. Nothing was sent.")


def chosen_segment(prepared: PreparedIssue, option: str | None) -> Segment | None:
    """The segment a send goes to: `option` (--segment) when given, which replaces the issue's
    `segment:`; else the issue's; None: everyone."""
    text = option if option is not None else prepared.issue.segment
    if text is None:
        return None
    config = prepared.workspace.config
    try:
        return parse_segment(text, config.segments, config.topics, config.unmeasured_reader_clicks)
    except SegmentError as exc:
        where = "--segment" if option is not None else f"{prepared.path}: segment"
        raise SendRefused(f"{where}: {exc}\nNothing was sent.") from None


def _send_locked(
    ledger: Ledger,
    prepared: PreparedIssue,
    selection: Selection,
    name: str,
    keys: SigningKeys,
    retry_unknown: bool,
    at: dt.datetime | None,
    stop: threading.Event,
    progress: Progress,
    clock: Clock,
    worker: Worker | None = None,
    steering: Steering | None = None,
) -> SendReport:
    key = prepared.key
    workspace = prepared.workspace
    _check_identity(ledger, prepared)
    now = clock()
    saved = close_past_schedule(ledger, key, now)
    ahead = None if steering is not None and steering.holds_back else schedules_ahead(name)  # a paced or canary send stays here
    plan = plan_delivery(key, saved, at, name, ahead, now)
    if worker is not None and plan.kind != "now":
        raise SendRefused(f"issue {key} is scheduled for {plan.send_at}; --worker runs send only what is due now (cancel the schedule, or let it go out)")
    if plan.kind == "hold":
        assert plan.send_at is not None
        ledger.prepare(key, selection=selection)
        schedule = Schedule(key, plan.send_at, name, "here", None, prepared.relative_path)
        ledger.hold(key, schedule)
        if steering is not None:
            steering.remember()
        ledger.record_issue(key, prepared.relative_path, prepared.email.subject, prepared.fingerprint, name, selection.topic)
        return SendReport(key, name, ledger.counts(key), schedule=schedule, topic=selection.topic, segment=selection.segment)
    # The provider is set up (and a scheduled batch id obtained) before the ledger changes, so a
    # wrong key or an unreachable provider leaves everything as it was.
    sender = open_provider(name, workspace)
    try:
        provider_ready(sender)
        email = tracked_edition_email(prepared, keys.current)
        edition = Edition(key, email, topic=selection.topic)
        new_schedule = None
        if plan.kind == "provider":
            assert plan.send_at is not None and can_schedule(sender)
            schedule_id = plan.schedule_id or sender.new_schedule_id()
            edition = Edition(key, email, send_at=plan.send_at, schedule_id=schedule_id, topic=selection.topic)
            if plan.schedule_id is None:
                new_schedule = Schedule(key, plan.send_at, name, "provider", schedule_id, prepared.relative_path)
        retried = ledger.retry_unknown(key) if retry_unknown else 0
        if plan.release:
            ledger.settle_scheduled(key, State.PENDING, None, drop_schedule=False)
        ledger.prepare(key, worker, selection)
        report = SendReport(key, name, ledger.counts(key), retried_unknown=retried, topic=selection.topic, segment=selection.segment)
        pending = report.counts[State.PENDING]
        if pending == 0:
            _drop_finished_schedule(ledger, key)
            return report
        record_went_out(ledger, prepared, name, selection.topic)
        if new_schedule is not None:
            ledger.save_schedule(new_schedule)  # saved before anything is sent, so `cancel` covers every request
        report.schedule = ledger.schedule(key) if plan.kind == "provider" else None
        progress.start(pending)
        loop = SendLoop(ledger, sender, edition, lambda recipients: letters_for(recipients, workspace.config, keys.current, key, name), workspace.config.send, stop, progress)
        loop.member = selection.in_topic
        if worker is not None:
            loop.new_send_id = worker.new_send_id
        result = steering.run(loop, keys.current) if steering is not None else loop.run()
    finally:
        sender.close()
    report.counts = ledger.counts(key)
    report.batches, report.stopped = result.batches, result.stopped
    report.bounced = loop.bounced
    report.note = steering.note if steering is not None else None
    report.handed_over = pending - report.counts[State.PENDING]
    if plan.kind == "now" and not result.stopped:
        _drop_finished_schedule(ledger, key)
    return report


def _send_subject_test(
    ledger: Ledger, prepared: PreparedIssue, selection: Selection, name: str, keys: SigningKeys, request: SubjectTestRequest,
    stop: threading.Event, progress: Progress, clock: Clock,
) -> SendReport:
    """A send of an issue with a subject test (sending/subjects.py): checked as any send, then its
    test phase, or once decided its rest."""
    key, config = prepared.key, prepared.workspace.config
    _check_identity(ledger, prepared)
    plan = subject_test_plan(ledger, prepared, request, clock())
    sender = open_provider(name, prepared.workspace)
    try:
        provider_ready(sender)
        retried = ledger.retry_unknown(key) if request.retry_unknown else 0
        letters = functools.partial(letters_for, config=config, secret=keys.current, issue=key, provider=name)
        send = SubjectTestSend(prepared, selection, name, keys.current, tracked_edition_email(prepared, keys.current), letters)
        run = run_subject_test(ledger, plan, send, sender, stop, progress, clock)
    finally:
        sender.close()
    return SendReport(
        key, name, run.counts, run.batches, run.stopped, run.handed_over, retried, run.schedule,
        bounced=run.bounced, topic=selection.topic, segment=selection.segment, subject_test=run.status,
    )  # fmt: skip


def _worker(db: Database) -> Worker:
    from ..db.workers import Worker

    if not db.connection.dialect.has_send_workers:
        raise SendRefused(
            f"--worker needs a PostgreSQL database ([subscribers] database = \"postgresql://...\" or DATABASE_URL); "
            f"{db.path} is {db.connection.dialect.label}, where one `newsletter send` sends the whole list"
        )
    return Worker(db.connection)


def provider_ready(sender: Provider) -> None:
    try:
        sender.check()
    except RetryLater as exc:
        raise SendRefused(f"{exc}. Nothing was sent and nothing changed; run the same command again later.") from None
    except ProviderError as exc:
        raise SendRefused(f"{exc}. Nothing was sent and nothing changed.") from None


def _check_identity(ledger: Ledger, prepared: PreparedIssue) -> None:
    """One number, one issue: a different file under a number that went out (or is scheduled) is refused."""
    key = prepared.key
    record = ledger.issue_record(key)
    if record is None or record.file == prepared.relative_path:
        return
    if ledger.handed_over(key) == 0 and ledger.schedule(key) is None:
        return  # nothing went out under that number: this file may take it over
    taken = {ledger.highest_issue(), *issue_numbers(prepared.workspace.issues_dir).values()}
    raise SendRefused(
        f"issue {key} already went out from {record.file}, and {prepared.relative_path} has the same number. "
        f"Nothing was sent. If {prepared.relative_path} is a new issue, change `number: {key}` in it "
        f"(the next free number is {max(taken) + 1}); if it is the same issue under a new file name, keep the old name."
    )


def close_past_schedule(ledger: Ledger, key: str, now: dt.datetime) -> Schedule | None:
    """A delivery the provider held until a time that has passed is done: its rows are sent. Returns
    the schedule still ahead (or held here), if any."""
    saved = ledger.schedule(key)
    if saved is not None and saved.held_by == "provider" and saved.send_at <= now:
        ledger.settle_scheduled(key, State.SENT, f"delivered by {saved.provider} at {saved.send_at.isoformat()}", drop_schedule=True)
        return None
    return saved


def _drop_finished_schedule(ledger: Ledger, key: str) -> None:
    saved = ledger.schedule(key)
    if saved is not None and saved.held_by == "here" and ledger.counts(key)[State.SCHEDULED] == 0:
        ledger.drop_schedule(key)


# --- scheduled deliveries: cancel, and cron's --due ------------------------------------------------


@dataclass(frozen=True)
class Cancelled:
    schedule: Schedule
    changed: int
    state: State  # what the scheduled rows became: pending, or unknown after a late cancellation
    scope: str | None = None  # what the provider dropped, when it cannot cancel one delivery alone (Mailgun)
    others: tuple[Cancelled, ...] = ()  # the other issues that dropped with it


def cancel_schedule(workspace: Workspace, key: str, clock: Clock = utc_now) -> Cancelled:
    """Cancel the issue's scheduled delivery. Held here: its recipients are simply pending again.
    Held by the provider: the provider cancels it; within its cancel margin (10 minutes for SendGrid)
    that is not guaranteed, so its recipients become `unknown` rather than pending (nobody gets a
    second copy by accident). A provider that can only drop every scheduled message at once
    (Mailgun) drops the other issues scheduled through it too: they are settled the same way."""
    if not workspace.database.exists():
        raise ScheduleError(f"issue {key} has no scheduled delivery to cancel")
    with Database(workspace.database) as db, db.connection.lock(f"issue-{key}", f"issue {key} is being sent right now; try again when that run ends"):
        ledger = db.ledger
        saved = close_past_schedule(ledger, key, clock())
        if saved is None:
            raise ScheduleError(f"issue {key} has no scheduled delivery to cancel (a delivery whose time has passed has gone out)")
        if saved.held_by == "here":
            with db.connection.transaction():
                SubjectTests(db.connection).end(key)  # a subject test not yet decided ends with its hold
                return Cancelled(saved, ledger.cancel_schedule(key, State.PENDING, "schedule cancelled"), State.PENDING)
        provider = open_provider(saved.provider, workspace)
        try:
            assert saved.batch_id is not None and can_schedule(provider)
            scope = provider.cancel_scope
            others = _scheduled_with(ledger, saved, clock()) if scope else []
            with contextlib.ExitStack() as locks:  # every issue it drops, or none: taken before the provider is asked
                for other in others:
                    busy = f"issue {other.issue}, whose delivery {REGISTRY[saved.provider].label} would drop too, is being sent right now; try again when that run ends"
                    locks.enter_context(db.connection.lock(f"issue-{other.issue}", busy))
                provider.cancel(saved.batch_id, ledger.scheduled_message_ids(key))
                dropped = tuple(_settle_cancelled(ledger, other, clock) for other in others)
        finally:
            provider.close()
        cancelled = _settle_cancelled(ledger, saved, clock)
        return Cancelled(saved, cancelled.changed, cancelled.state, scope, dropped)


def _scheduled_with(ledger: Ledger, saved: Schedule, now: dt.datetime) -> list[Schedule]:
    """The other issues whose delivery the same provider holds, still ahead."""
    others = [other for other in ledger.schedules() if other.issue != saved.issue and other.held_by == "provider" and other.provider == saved.provider]
    return [other for other in others if close_past_schedule(ledger, other.issue, now) is not None]


def _settle_cancelled(ledger: Ledger, saved: Schedule, clock: Clock) -> Cancelled:
    """A delivery the provider has cancelled: pending again, or unknown when it was too close to its time."""
    info = REGISTRY[saved.provider]
    if saved.send_at - clock() < info.cancel_margin:
        minutes = int(info.cancel_margin.total_seconds() // 60)
        detail = f"scheduled send cancelled less than {minutes} minutes before its time, when {info.label} does not guarantee it; it may or may not have been delivered"
        return Cancelled(saved, ledger.cancel_schedule(saved.issue, State.UNKNOWN, detail), State.UNKNOWN)
    return Cancelled(saved, ledger.cancel_schedule(saved.issue, State.PENDING, "scheduled send cancelled"), State.PENDING)


@dataclass(frozen=True)
class Ended:
    """A canary, paced or paused send that `cancel` ended: what to say, and how many readers will
    not get it (None while the run sending it still has to stop)."""

    message: str
    skipped: int | None


def cancel_send(workspace: Workspace, key: str, clock: Clock = utc_now) -> Ended | Cancelled:
    """`newsletter cancel` (and the admin's and the API's): end a canary, paced or paused send (the
    rest is skipped), else cancel a scheduled delivery (ScheduleError when there is none)."""
    from .pacing import end_send

    said = end_send(workspace, key, clock)
    if said is None:
        return cancel_schedule(workspace, key, clock)
    with Database(workspace.database) as db:
        skipped = SendPlans(db.connection).cancelled_rows(key)
    return Ended(said, skipped if skipped else None)


@dataclass(frozen=True)
class DueResult:
    schedule: Schedule
    report: SendReport | None = None
    error: str | None = None  # why this one could not go out this time (it stays scheduled)
    busy: bool = False  # another run is sending it


def send_due(workspace: Workspace, clock: Clock = utc_now, stop: threading.Event | None = None, progress: Progress | None = None) -> list[DueResult]:
    """Deliver every scheduled send whose time has come. Safe to run from cron every minute: one
    run at a time (a second one finds the lock taken and raises Busy), and each issue is sent
    through send_issue, which never sends anyone twice."""
    results: list[DueResult] = []
    if not workspace.database.exists():
        return results
    with Database(workspace.database) as db, db.connection.lock("due", "another `newsletter send --due` is still running"):
        for saved in db.ledger.schedules():
            now = clock()
            if saved.send_at > now:
                continue
            if saved.held_by == "provider":
                close_past_schedule(db.ledger, saved.issue, now)
                results.append(DueResult(saved))
                continue
            results.append(_send_held(workspace, saved, clock, stop, progress))
        for saved in plans_due(db.connection, clock()):  # paced and canary sends carry on; one being sent is left to its run
            result = _send_held(workspace, saved, clock, stop, progress)
            if not result.busy:
                results.append(result)
    return results


def _send_held(workspace: Workspace, saved: Schedule, clock: Clock, stop: threading.Event | None, progress: Progress | None) -> DueResult:
    if not saved.file:
        return DueResult(saved, error="the schedule does not name its issue file; run `newsletter send ISSUE` by hand")
    try:
        prepared = prepare_issue(workspace.root / saved.file)
        if prepared.key != saved.issue:
            raise SendRefused(
                f"{saved.file} was scheduled as issue {saved.issue} but now says `number: {prepared.key}`; put the number back, "
                "or cancel and schedule it again"
            )
        return DueResult(saved, send_issue(prepared, saved.provider, stop=stop, progress=progress, clock=clock))
    except Busy as exc:
        return DueResult(saved, error=str(exc), busy=True)
    except NewsletterError as exc:
        return DueResult(saved, error=str(exc))


# --- a test copy, a dry run, and status ------------------------------------------------------------


@dataclass(frozen=True)
class TestCopies:
    """What `send --test` did: one line per address, "sent" or the provider's words."""

    __test__ = False  # not a pytest test class

    results: list[tuple[str, str | None]]  # (normalized address, why it was not sent; None: sent)
    draft: bool  # the issue still holds TODO placeholders: subjects say [DRAFT], not [TEST]
    folder: Path | None = None  # where the outbox wrote them (outbox/test/), when it was the outbox

    @property
    def failed(self) -> int:
        return sum(1 for _, problem in self.results if problem is not None)


def _is_placeholder(finding: Finding) -> bool:
    """A field still holding TODO."""
    return finding.code == TODO_LEFT


def _test_sender(name: str, workspace: Workspace) -> tuple[Provider, Path | None]:
    """The provider for test copies. The outbox writes them to a Maildir of their own, outbox/test/,
    never among the subscribers' messages; the outbox itself is made a Maildir first, so the test
    folder inside it never makes the real send refuse it as "a folder of other files"."""
    if name != "outbox":
        return open_provider(name, workspace), None
    from ..providers.outbox import OutboxProvider

    OutboxProvider(workspace.config, workspace.outbox).close()
    folder = workspace.outbox / "test"
    return OutboxProvider(workspace.config, folder), folder


def send_test_copy(prepared: PreparedIssue, provider: str | None, addresses: list[str]) -> TestCopies:
    """One copy to each address (once each, however often it is given), subject marked [TEST];
    the ledger is not touched. An issue whose only errors are TODO placeholders (a draft) may be
    test-sent, marked [DRAFT]; any other error refuses it. Raises SendRefused before sending
    anything if an address is unusable; a copy a provider did not take is reported, with its
    words, in the result."""
    errors = prepared.errors
    if any(not _is_placeholder(finding) for finding in errors):
        listed = "\n".join(f"  {finding}" for finding in errors)
        raise SendRefused(f"{prepared.path} is not ready even for a test copy; `newsletter check` reports:\n{listed}")
    targets: list[str] = []
    for address in addresses:
        try:
            target = normalize(address)
        except ValueError as exc:
            raise SendRefused(f"--test {address!r}: not a usable address: {str(exc).rstrip('.')}. Nothing was sent.") from None
        if target not in targets:
            targets.append(target)
    if not targets:
        raise SendRefused("no address to send a test copy to. Nothing was sent.")
    workspace = prepared.workspace
    name = provider or workspace.config.send.provider
    keys = signing_keys(name)
    url = workspace.config.unsubscribe_url_for(make_token(TEST_COPY_ID, Purpose.UNSUBSCRIBE, keys.current))
    edition = Edition(prepared.key, tracked_edition_email(prepared, keys.current), test=True, draft=bool(errors))  # its clicks count for no one
    results: list[tuple[str, str | None]] = []
    sender, folder = _test_sender(name, workspace)
    try:
        for target in targets:
            result = BatchResult()
            try:
                sender.send(Batch(edition, "test", [Letter(target, None, url)]), result.report)
            except Ambiguous as exc:
                results.append((target, f"not confirmed by {name}: {exc}"))
                continue
            except ProviderError as exc:
                results.append((target, f"not sent: {exc}"))
                continue
            status = result.statuses.get(target, RecipientStatus(Outcome.DEFERRED, "not attempted"))
            results.append((target, None if status.outcome == Outcome.ACCEPTED else f"{name} did not take it ({status.outcome}): {status.detail}"))
    finally:
        sender.close()
    return TestCopies(results, draft=bool(errors), folder=folder)


@dataclass(frozen=True)
class DryRun:
    subscribers: dict[Status, int]
    already_handled: int
    would_send: int
    first: Batch | None  # the first batch a run would hand over
    provider_problem: str | None = None  # why the provider would refuse the real send (its words); None: it would take it
    first_request: RequestPreview | None = None  # the provider's first request for that batch, as a dry run shows it
    topic: str | None = None  # the topic it would go to (None: the whole list)
    segment: str | None = None  # the segment it would go to (None: everyone of the topic or list)
    left_out: LeftOut | None = None  # whom the topic and segment leave out, and why
    sample: list[str] = field(default_factory=list)  # the first addresses it would go to


SAMPLE = 5  # addresses a dry run shows


def dry_run(prepared: PreparedIssue, provider: str | None, segment: str | None = None, clock: Clock = utc_now) -> DryRun:
    """What a send would do now, changing nothing. The provider is checked as the real send checks
    it (connect and log in, nothing sent), so a dry run that passes does not hide a send that fails."""
    workspace = prepared.workspace
    name = provider or workspace.config.send.provider
    keys = signing_keys(name)
    chosen = chosen_segment(prepared, segment)
    with Database(workspace.database, read_only=True) as db:
        selection = select(db.connection.dialect, prepared.topic, workspace.config.topic_defaults, chosen, clock())
        counts = db.subscribers.counts_by_status()
        ledger = db.ledger.counts(prepared.key)
        due, first = db.ledger.would_send(prepared.key, min(workspace.config.send.batch_size, 1000), selection)
        left_out = db.ledger.left_out(selection)
    letters = letters_for(first, workspace.config, keys.current, prepared.key, name)
    batch = Batch(Edition(prepared.key, tracked_edition_email(prepared, keys.current)), "dry-run", letters) if first else None
    problem = _provider_problem(name, workspace)
    request = first_request(name, workspace.config, batch) if batch else None
    handled = sum(ledger.values()) - ledger[State.PENDING]
    return DryRun(counts, handled, due, batch, problem, request, selection.topic, selection.segment, left_out, [r.email for r in first[:SAMPLE]])


def _provider_problem(name: str, workspace: Workspace) -> str | None:
    """Why the provider would refuse the real send, in its words; None when it would take it."""
    try:
        check_provider(name, workspace)
    except ProviderError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class IssueStatus:
    counts: dict[State, int]
    problems: list[Delivery]  # failed, unknown and in-flight rows
    schedule: Schedule | None
    record: IssueRecord | None
    events: dict[str, int] = field(default_factory=dict)  # provider events (delivered, bounce...) by address
    segments: dict[str | None, dict[State, int]] = field(default_factory=dict)  # rows by the segment they went out under
    topic: str | None = None  # the topic it went out in
    plan: list[str] = field(default_factory=list)  # a paced, canary or paused send's plan and progress, in lines


def issue_status(workspace: Workspace, key: str, clock: Clock = utc_now) -> IssueStatus:
    if not workspace.database.exists():  # nothing sent yet; reading creates nothing
        return IssueStatus({state: 0 for state in State}, [], None, None)
    with Database(workspace.database, read_only=True) as db:
        ledger = db.ledger
        schedule = ledger.schedule(key) if db.read_only else close_past_schedule(ledger, key, clock())
        problems = ledger.deliveries(key, [State.FAILED, State.UNKNOWN, State.SENDING])
        plan = plan_status(db.connection, key, clock())
        return IssueStatus(ledger.counts(key), problems, schedule, ledger.issue_record(key), db.events.counts(key), ledger.segments(key), ledger.issue_topic(key), plan)
